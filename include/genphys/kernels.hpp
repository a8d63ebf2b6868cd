#pragma once
// Exact samplers and densities of the normalised perturbation kernels q_t(x | y) (physics.md
// section 3). Every kernel here is a Gaussian scale mixture x = y + sqrt(A) xi, xi ~ N(0, I_N),
// over a mixing law A that depends on the module's own time t:
//   diffusion                 A = 2t
//   PFGM++ (D >= 1, t = r_D)  A ~ InvGamma(D/2, scale t^2/2)
//   Yukawa (mass m)           A ~ InverseGaussian(mean t/m, shape t^2)
//   fractional (0 < beta <= 1) A = 2 t^(1/beta) S, S positive beta-stable
//   a phi_tt - b phi_t + Lap phi = 0   the Yukawa law with m' = b/(2 sqrt a) at t' = t/sqrt a
// so radii are drawn as sqrt(A * chi2_N) in O(1) for any N.

#include <memory>

#include "genphys/generative.hpp"

namespace genphys {

/// phi_t = Lap phi. sigma = sqrt(2t); velocity 1/(2t).
std::unique_ptr<GenerativeProcess> make_diffusion_process(int dim);

/// PFGM++ with D extra dimensions (D = 1 is PFGM), t = r_D. sigma = t / sqrt(D) (EDM transfer
/// r_D = sigma sqrt(D)); velocity 1/t. D >= 1 and finite.
std::unique_ptr<GenerativeProcess> make_pfgmpp_process(int dim, double D);

/// Screened Poisson phi_tt + Lap phi - m^2 phi = 0 generates from its normalised kernel's own
/// mass-conserving flow: phi = e^(-m t) psi gives psi_tt - 2m psi_t + Lap psi = 0, the mixed
/// diffusion-Poisson equation with a = 1, b = 2m, whose kernel is Yukawa's normalised (the
/// inverse-Gaussian mixture). sigma = sqrt(t/m) (RMS); velocity by radial quantile transport
/// (source_radial_speed, not affine in E[y|x,t]); R = 0; steps in t/sqrt(1 + m t). m > 0.
std::unique_ptr<GenerativeProcess> make_yukawa_process(int dim, double m);

/// Yukawa's own unnormalised flow: density -phi_t, velocity (x - y)/t, birth/death R/p =
/// -(m rho/t) K_nu(m rho)/K_(nu+1)(m rho). Its plain ODE ignores R and misweights the data, and
/// reweighting has infinite variance (physics.md section 4); kept as the measured alternative.
std::unique_ptr<GenerativeProcess> make_unnormalised_yukawa_process(int dim, double m);

/// Fractional diffusion phi_t = -(-Lap)^beta phi, G-hat = exp(-t k^(2 beta)), 0 < beta <= 1
/// (beta = 1/2 is the Poisson kernel at the same t, beta = 1/3 the third-order equation's decaying
/// branch). Throws NotSupported for beta > 1 (the kernel is not positive), InputError for
/// beta <= 0. sigma = sqrt(2) t^(1/(2 beta)) is a scale, not an RMS (infinite for beta < 1).
std::unique_ptr<GenerativeProcess> make_stable_process(int dim, double beta);

/// a phi_tt - b phi_t + Lap phi = 0 (a, b > 0), density p = b phi - a phi_t, mass conserved.
/// sigma = sqrt(2t/b) (RMS). Not self-similar in t: affine_velocity() is false and
/// velocity_scale() throws NotSupported; each source moves by radial quantile transport,
/// dx/dt = (x - y)/2 E[A'/A | x] over the inverse-Gaussian mixing variable A (A' its quantile
/// speed, closed form); steps in lambda = t/sqrt(a + b t/2).
std::unique_ptr<GenerativeProcess> make_mixed_diffusion_poisson_process(int dim, double a, double b);

/// log of the radial density of |x - y| at r: log(|S^(N-1)| r^(N-1) q_t(r)).
double log_radial_density(const GenerativeProcess& process, double r, double t);

/// The sigma at which the kernel's q-quantile radius equals that of a Gaussian of standard
/// deviation `gaussian_sigma` in the same N: the end of the sampling range for heavy-tailed
/// kernels. At EDM's sigma_min = 0.002 the PFGM (D = 1) kernel in N = 2 still puts 1% of its mass
/// beyond 100 sigma, so the marginal there has not concentrated on the data and the last step
/// (to E[y|x]) lands between points; matching the Gaussian's tail puts it at ~6e-5.
/// Never below kSigmaMinFloor.
inline constexpr double kSigmaMinFloor = 1e-6;
double tail_matched_sigma_min(const GenerativeProcess& process, double gaussian_sigma = 0.002, double q = 0.99);

/// Per-source radial speed dR/dt that keeps every radial quantile fixed,
/// -(d/dt F_t)(r) / f_t(r) (physics.md section 4); equals velocity_scale(t) * r for the
/// self-similar kernels. Numerical (finite differences of radial_cdf): trust it where
/// 1e-8 < F_t(r) < 1 - 1e-8.
double quantile_radial_velocity(const GenerativeProcess& process, double r, double t);

}  // namespace genphys
