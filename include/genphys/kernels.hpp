#pragma once
// The perturbation kernels q_t(x | y) of the modules (physics.md section 3), as generative
// processes: exact samplers, normalised densities and radial CDFs. Each factory is defined in its
// module's file in pdes/ (make_helmholtz_process in pdes/helmholtz.cpp, ...); the generic
// machinery they build on is in src/physics (Gaussian scale mixtures: scale_mixture.hpp; radial
// CDF tables and quantile transport: radial_kernel.hpp, included here).
//
// Gaussian scale mixtures x = y + sqrt(A) xi, xi ~ N(0, I_N), over a mixing law A that depends
// on the module's own time t, radii drawn as sqrt(A * chi2_N) in O(1) for any N:
//   diffusion                 A = 2t
//   PFGM++ (D >= 1, t = r_D)  A ~ InvGamma(D/2, scale t^2/2)
//   Yukawa (mass m)           A ~ InverseGaussian(mean t/m, shape t^2)
//   fractional (0 < beta <= 1) A = 2 t^(1/beta) S, S positive beta-stable
//   fractional Poisson (0 < alpha <= 2) the fractional law with beta = alpha/2 at the same t
//   a phi_tt - b phi_t + Lap phi = 0   the Yukawa law with m' = b/(2 sqrt a) at t' = t/sqrt a
// Radial kernels without a mixture (Helmholtz, the dissipative wave) invert a tabulated radial
// CDF (RadialKernelProcess).

#include <memory>

#include "genphys/generative.hpp"
#include "genphys/radial_kernel.hpp"

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

/// Fractional Poisson phi_tt - (-Lap)^alpha phi = 0, density p = -phi_t, G-hat = exp(-t k^alpha):
/// the fractional-diffusion kernel with beta = alpha/2 at the same t (alpha = 1 is PFGM, alpha = 2
/// the heat kernel at time t). 0 < alpha <= 2; NotSupported for alpha > 2 (no positive kernel),
/// InputError for alpha <= 0.
std::unique_ptr<GenerativeProcess> make_fractional_poisson_process(int dim, double alpha);

/// Helmholtz phi_tt + Lap phi + k0^2 phi = 0 in data dimension N = dim: the density
/// p = -phi_t = -pi C k0^(nu+1) t rho^-(nu+1) Y_(nu+1)(k0 rho) (nu = (N-1)/2, rho^2 = t^2 + r^2,
/// C = (2 pi)^(-(N+1)/2)) is positive only while k0 rho < Z = y_(nu+1,1), the first zero of
/// Y_(nu+1). Validity condition: the kernel is p restricted to rho < Z/k0 and normalised, so
/// t < Z/k0 is required (InputError otherwise) and the support is r < sqrt((Z/k0)^2 - t^2).
/// It generates from the normalised kernel's own mass-conserving flow: each source moves its
/// radial quantiles (source_radial_speed = quantile_radial_velocity, tabulated once per process in
/// (log t, r) to ~1e-7 relative; not affine in E[y|x,t]; R = 0).
/// sigma(t) = t as for PFGM (its k0 -> 0 limit, where the RMS is infinite); sigma_max =
/// min(80, Z/(2 k0)) (in low N the spread of the kernel peaks
/// near t = Z/(2 k0) and shrinks beyond as the support closes in), sigma_min = min(0.002,
/// 1e-3 sigma_max). k0 = 0 returns the PFGM (D = 1) process.
/// Note: for large N the factor x^(nu+1) |Y_(nu+1)(x)| grows by ~e^(0.3 N/2) towards its peak at
/// x = y_(nu,1), so the normalised kernel is then a thin shell at rho ~ y_(nu,1)/k0 for all but
/// astronomically small t: it agrees with PFGM only for small N and k0 t.
std::unique_ptr<GenerativeProcess> make_helmholtz_process(int dim, double k0);
/// Z/k0 = y_((N+1)/2,1)/k0, the bound on t of make_helmholtz_process (+inf for k0 = 0).
double helmholtz_time_bound(int dim, double k0);
/// Helmholtz's own (unnormalised) flow on the same truncated kernel: per-source velocity
/// (x - y)/t and birth/death R/p = k0 rho Y_nu(k0 rho) / (t Y_(nu+1)(k0 rho)); its plain ODE
/// ignores R. Kept as the measured alternative. k0 > 0.
std::unique_ptr<GenerativeProcess> make_unnormalised_helmholtz_process(int dim, double k0);

/// Dissipative wave phi_tt + 2 eps phi_t - Lap phi = 0 (eps >= 0), density p = -(phi_t + 2 eps phi),
/// in N = 1, the only dimension where the point-source p is a positive measure:
///   p(x, t) = (e^(-eps t)/2) [delta(x - t) + delta(x + t)]
///           + (eps e^(-eps t)/2) [I0(eps w) + t I1(eps w)/w] for |x| < t, w = sqrt(t^2 - x^2),
/// total mass 1 (the pulses carry e^(-eps t)). sigma(t) = sqrt(E[x^2]) with
/// E[x^2] = t/eps - (1 - e^(-2 eps t))/(2 eps^2) (t^2 at eps = 0). The per-source velocity is not
/// affine in y: affine_velocity() is false and velocity_scale() throws NotSupported. dim != 1
/// throws NotSupported.
std::unique_ptr<GenerativeProcess> make_dissipative_wave_process(int dim, double eps);

}  // namespace genphys
