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

/// Screened Poisson phi_tt + Lap phi - m^2 phi = 0, density p = -phi_t normalised. sigma =
/// sqrt(t/m) (RMS); velocity 1/t; mass dies: birth_death_ratio is the per-source R/p. m > 0.
std::unique_ptr<GenerativeProcess> make_yukawa_process(int dim, double m);

/// Fractional diffusion phi_t = -(-Lap)^beta phi, G-hat = exp(-t k^(2 beta)), 0 < beta <= 1
/// (beta = 1/2 is the Poisson kernel at the same t, beta = 1/3 the third-order equation's decaying
/// branch). Throws NotSupported for beta > 1 (the kernel is not positive), InputError for
/// beta <= 0. sigma = sqrt(2) t^(1/(2 beta)) is a scale, not an RMS (infinite for beta < 1).
std::unique_ptr<GenerativeProcess> make_stable_process(int dim, double beta);

/// a phi_tt - b phi_t + Lap phi = 0 (a, b > 0), density p = b phi - a phi_t, mass conserved.
/// sigma = sqrt(2t/b) (RMS). Not self-similar in t: affine_velocity() is false and
/// velocity_scale() throws NotSupported; the per-source velocity is quantile_radial_velocity.
std::unique_ptr<GenerativeProcess> make_mixed_diffusion_poisson_process(int dim, double a, double b);

/// log of the radial density of |x - y| at r: log(|S^(N-1)| r^(N-1) q_t(r)).
double log_radial_density(const GenerativeProcess& process, double r, double t);

/// Per-source radial speed dR/dt that keeps every radial quantile fixed,
/// -(d/dt F_t)(r) / f_t(r) (physics.md section 4); equals velocity_scale(t) * r for the
/// self-similar kernels. Numerical (finite differences of radial_cdf): trust it where
/// 1e-8 < F_t(r) < 1 - 1e-8.
double quantile_radial_velocity(const GenerativeProcess& process, double r, double t);

}  // namespace genphys
