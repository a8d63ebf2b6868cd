#pragma once
// EDM's stochastic sampler (Karras et al. 2022, Algorithm 2) in the module's own step variable:
// before each Heun step from lambda_i, raise the noise to lambda_hat = (1 + gamma_i) lambda_i by
// adding the kernel's own increment, then take the Heun step from lambda_hat. Written once against
// an abstract state like ode.hpp, so the exact field (Eigen) and a network (torch) share it.
//
// Re-noising must keep the module's marginal: x at t ~ p_t = p_data * q_t must become x' ~ p_t'.
// Adding an independent draw of q_(t' - t) does that exactly when the kernels form a convolution
// semigroup, q_t' = q_t * q_(t' - t) (GenerativeProcess::kernel_semigroup): diffusion (EDM's rule,
// x' = x + sqrt(sigma'^2 - sigma^2) eps), fractional diffusion and fractional Poisson (stable
// kernels exp(-t |k|^a)), third order, PFGM (D = 1: the Poisson kernel exp(-t |k|)). PFGM++ with
// D > 1 is not: its kernel is a multivariate Student t (D degrees of freedom), whose
// characteristic function phi(k t) is no exponential in t, and a fixed-D family is not closed
// under convolution. The increment law exists (the Student t is self-decomposable) but has no
// known sampler, and the Gaussian-scale-mixture route (x = y + sqrt(A) xi, add N(0, (A' - A) I)
// with A' = A t'^2 / t^2) needs the latent A of each sample, whose posterior depends on the
// unknown source y; a denoiser does not give it. Churn is refused for such modules.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "genphys/generative.hpp"
#include "genphys/ode.hpp"
#include "genphys/random.hpp"

namespace genphys {

/// EDM's churn settings (its generate.py's defaults): off at s_churn = 0.
struct Churn {
  double s_churn = 0.0;  ///< total churn over the schedule; gamma_i = min(s_churn / steps, sqrt 2 - 1)
  double s_tmin = 0.0;   ///< churn only where s_tmin <= sigma_i <= s_tmax (the module's sigma)
  double s_tmax = std::numeric_limits<double>::infinity();
  double s_noise = 1.0;  ///< scale of the added increment (EDM: 1.003-1.007 offsets a denoiser's overshoot)
  bool active() const { return s_churn > 0.0; }
};

/// OptionError (field "churn", "s_tmin", "s_tmax" or "s_noise") for a negative or non-finite
/// churn, s_tmin < 0, s_tmax <= s_tmin, or s_noise not in (0, inf); InputError for churn with a
/// solver other than Heun.
void check_churn(const Churn& churn, Solver solver);

/// InputError (one line) unless `solver` and `churn` can drive `process`: dpmpp-2m needs an affine
/// field (it recovers the denoiser from the velocity), churn require_churn_support.
void require_sampler_fits(const GenerativeProcess& process, Solver solver, const Churn& churn);

/// InputError (one line, naming `module`) unless churn can keep the process's marginals:
/// an affine field whose kernels form a convolution semigroup.
void require_churn_support(const GenerativeProcess& process, const std::string& module);

/// gamma_i for the steps of a grid whose entries have noise levels `sigmas` (n + 1 entries, the
/// last 0): min(s_churn / n, sqrt 2 - 1) where s_tmin <= sigma_i <= s_tmax, else 0.
std::vector<double> churn_gammas(const Churn& churn, const std::vector<double>& sigmas);

/// The stream the increments of sample `index` are drawn from (independent of its prior stream).
Rng churn_rng(std::uint64_t seed, std::uint64_t index);

/// One increment of the kernel from time t to t_hat > t: a draw of q_(t_hat - t) into out[0 .. N),
/// times s_noise. The process must pass require_churn_support.
void sample_churn_increment(const GenerativeProcess& process, Rng& rng, double t, double t_hat, double s_noise,
                            double* out);

/// EDM Algorithm 2 on the grid `lambdas` (the schedule's levels, then 0), gamma_i from
/// churn_gammas. For each step: lambda_hat = lambda_i + gamma_i lambda_i; when gamma_i > 0,
/// renoise(x, lambda_i, lambda_hat) adds the increment in place; then Heun from lambda_hat to
/// lambda_(i+1) (Euler on the step to 0). The churn costs no evaluation: NFE = 2n - 1 as Heun's.
/// With every gamma_i = 0 the arithmetic is integrate_heun's, operation for operation.
template <class State, class Velocity, class Renoise>
State integrate_heun_churn(State x, const std::vector<double>& lambdas, const std::vector<double>& gammas,
                           Velocity&& velocity, Renoise&& renoise, int& nfe,
                           const StepCallback<State>& callback = nullptr) {
  for (size_t i = 0; i + 1 < lambdas.size(); ++i) {
    double t0 = lambdas[i];
    if (gammas[i] > 0.0) {
      const double t_hat = t0 + gammas[i] * t0;
      renoise(x, t0, t_hat);
      t0 = t_hat;
    }
    x = heun_step(x, t0, lambdas[i + 1], velocity, nfe);
    if (callback) callback(static_cast<int>(i + 1), lambdas[i + 1], x);
  }
  return x;
}

}  // namespace genphys
