#pragma once
// ODE integrators written once against an abstract velocity, so the exact empirical field
// (double-precision Eigen matrices) and a trained network (torch tensors) use the same code.
//
// State needs: State + State, double * State, copy. Velocity: State v(const State& x, double t).
// Every integrator counts network/field evaluations exactly in `nfe` (k-diffusion's one-signature
// style: state, time grid or interval, velocity, options, callback).

#include <algorithm>
#include <cmath>
#include <functional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace genphys {

/// EDM's time-step discretisation: n levels from sigma_max down to sigma_min with exponent rho,
/// followed by a final 0 (n + 1 entries).
std::vector<double> edm_sigma_schedule(int n, double sigma_min, double sigma_max, double rho = 7.0);

/// EDM's rho on the schedule: 1 spaces the levels evenly, larger values put more of them at low
/// noise, and as rho grows the schedule tends to geometric spacing; below kMinRho the powers
/// sigma^(1/rho) leave double's range.
inline constexpr double kMinRho = 0.1, kMaxRho = 1000.0;
/// OptionError("rho", ...) unless kMinRho <= rho <= kMaxRho.
void check_rho(double rho);

/// Number of Heun steps n such that heun on an n-step grid costs exactly `nfe` = 2n - 1
/// evaluations; throws InputError unless nfe is odd and >= 1.
int heun_steps_for_nfe(int nfe);

/// The samplers' solvers. Named once where a user names one (the CLI: parse_solver) and passed on
/// typed, to the exact sampler and the network sampler alike. dpmpp_2m is DPM-Solver++(2M) (Lu et
/// al. 2022; k-diffusion's sample_dpmpp_2m), for affine fields only (integrate_dpmpp_2m).
enum class Solver { euler, heun, rk45, dpmpp_2m };
/// "euler" | "heun" | "rk45" | "dpmpp-2m"; OptionError("solver", ...) listing the valid names otherwise.
Solver parse_solver(const std::string& name);
std::string to_string(Solver s);

/// Throws OptionError (field "nfe", "rtol" or "atol") unless `solver` can run: Heun an odd NFE >= 1
/// (2 steps - 1), Euler and DPM-Solver++(2M) NFE >= 1 (one per step), RK45 positive tolerances (it
/// ignores NFE).
void check_solver(Solver solver, int nfe, double rtol, double atol);

/// Levels of the fixed grid on which Euler, Heun or DPM-Solver++(2M) makes exactly `nfe`
/// evaluations: nfe for Euler and DPM-Solver++(2M), heun_steps_for_nfe(nfe) for Heun.
int solver_levels(Solver solver, int nfe);

template <class State>
using StepCallback = std::function<void(int step, double t, const State& x)>;

/// Explicit Euler along the grid times[0] -> times.back(): NFE = times.size() - 1.
template <class State, class Velocity>
State integrate_euler(State x, const std::vector<double>& times, Velocity&& velocity, int& nfe,
                      const StepCallback<State>& callback = nullptr) {
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    const double h = times[i + 1] - times[i];
    State d = velocity(x, times[i]);
    ++nfe;
    x = x + h * d;
    if (callback) callback(static_cast<int>(i + 1), times[i + 1], x);
  }
  return x;
}

/// One step of Heun's second-order method (EDM Algorithm 1) from t0 to t1: the correction is
/// skipped on a step that ends at time 0 (Euler), so a grid of n steps ending at 0 costs 2n - 1
/// evaluations.
template <class State, class Velocity>
State heun_step(const State& x, double t0, double t1, Velocity&& velocity, int& nfe) {
  const double h = t1 - t0;
  State d0 = velocity(x, t0);
  ++nfe;
  State x1 = x + h * d0;
  if (t1 != 0.0) {
    State d1 = velocity(x1, t1);
    ++nfe;
    x1 = x + (0.5 * h) * (d0 + d1);
  }
  return x1;
}

template <class State, class Velocity>
State integrate_heun(State x, const std::vector<double>& times, Velocity&& velocity, int& nfe,
                     const StepCallback<State>& callback = nullptr) {
  for (size_t i = 0; i + 1 < times.size(); ++i) {
    x = heun_step(x, times[i], times[i + 1], velocity, nfe);
    if (callback) callback(static_cast<int>(i + 1), times[i + 1], x);
  }
  return x;
}

/// DPM-Solver++(2M) (Lu et al. 2022, k-diffusion's sample_dpmpp_2m) along the grid in the step
/// variable lambda, for an affine field: dx/dlambda = (x - D(x, lambda)) / lambda (the contract of
/// GenerativeProcess::step_variable), so the denoiser is recovered as D = x - lambda v. Each step
/// is the exponential integrator x' = (lambda'/lambda) x + (1 - lambda'/lambda) D~ in
/// s = -log lambda, with D~ the second-order extrapolation (1 + 1/2r) D_i - (1/2r) D_(i-1),
/// r = h_(i-1)/h_i, after the first step; the step to lambda = 0 is x' = D (first order, as
/// k-diffusion's). One evaluation per step: NFE = times.size() - 1.
template <class State, class Velocity>
State integrate_dpmpp_2m(State x, const std::vector<double>& lambdas, Velocity&& velocity, int& nfe,
                         const StepCallback<State>& callback = nullptr) {
  State old_denoised{};
  double h_last = 0.0;
  for (size_t i = 0; i + 1 < lambdas.size(); ++i) {
    const double l0 = lambdas[i], l1 = lambdas[i + 1];
    State denoised = x + (-l0) * velocity(x, l0);
    ++nfe;
    if (l1 == 0.0) {
      x = denoised;
    } else {
      const double h = std::log(l0 / l1), ratio = l1 / l0;
      if (i == 0) {
        x = ratio * x + (1.0 - ratio) * denoised;
      } else {
        const double r = h_last / h;
        x = ratio * x + (1.0 - ratio) * ((1.0 + 0.5 / r) * denoised + (-0.5 / r) * old_denoised);
      }
      h_last = h;
    }
    old_denoised = denoised;
    if (callback) callback(static_cast<int>(i + 1), l1, x);
  }
  return x;
}

struct Rk45Options {
  double rtol = 1e-5;
  double atol = 1e-5;
  double first_step = 0.0;  ///< 0: 1% of the interval
  int max_evaluations = 100000;
};

/// Adaptive Dormand-Prince 5(4) from t0 to t1 (either direction). `error_norm(err, x0, x1, rtol,
/// atol)` returns the scaled RMS error (accept when <= 1); overloads exist per State type.
template <class State, class Velocity, class ErrorNorm>
State integrate_rk45(State x, double t0, double t1, Velocity&& velocity, ErrorNorm&& error_norm,
                     int& nfe, const Rk45Options& opt = {},
                     const StepCallback<State>& callback = nullptr) {
  static constexpr double c2 = 1.0 / 5, c3 = 3.0 / 10, c4 = 4.0 / 5, c5 = 8.0 / 9;
  static constexpr double a21 = 1.0 / 5;
  static constexpr double a31 = 3.0 / 40, a32 = 9.0 / 40;
  static constexpr double a41 = 44.0 / 45, a42 = -56.0 / 15, a43 = 32.0 / 9;
  static constexpr double a51 = 19372.0 / 6561, a52 = -25360.0 / 2187, a53 = 64448.0 / 6561,
                          a54 = -212.0 / 729;
  static constexpr double a61 = 9017.0 / 3168, a62 = -355.0 / 33, a63 = 46732.0 / 5247,
                          a64 = 49.0 / 176, a65 = -5103.0 / 18656;
  static constexpr double b1 = 35.0 / 384, b3 = 500.0 / 1113, b4 = 125.0 / 192, b5 = -2187.0 / 6784,
                          b6 = 11.0 / 84;
  // Difference between the 5th-order solution and the embedded 4th-order one.
  static constexpr double e1 = 71.0 / 57600, e3 = -71.0 / 16695, e4 = 71.0 / 1920,
                          e5 = -17253.0 / 339200, e6 = 22.0 / 525, e7 = -1.0 / 40;

  const double span = t1 - t0;
  if (span == 0.0) return x;
  const double direction = span > 0 ? 1.0 : -1.0;
  double h = opt.first_step > 0 ? direction * opt.first_step : 0.01 * span;
  double t = t0;
  State k1 = velocity(x, t);
  ++nfe;
  int step = 0;
  while (direction * (t1 - t) > 0) {
    if (nfe >= opt.max_evaluations) throw std::runtime_error("rk45: evaluation budget exhausted");
    if (direction * (t + h - t1) > 0) h = t1 - t;
    State k2 = velocity(x + (h * a21) * k1, t + c2 * h);
    State k3 = velocity(x + h * (a31 * k1 + a32 * k2), t + c3 * h);
    State k4 = velocity(x + h * (a41 * k1 + a42 * k2 + a43 * k3), t + c4 * h);
    State k5 = velocity(x + h * (a51 * k1 + a52 * k2 + a53 * k3 + a54 * k4), t + c5 * h);
    State k6 = velocity(x + h * (a61 * k1 + a62 * k2 + a63 * k3 + a64 * k4 + a65 * k5), t + h);
    State x_new = x + h * (b1 * k1 + b3 * k3 + b4 * k4 + b5 * k5 + b6 * k6);
    State k7 = velocity(x_new, t + h);
    nfe += 6;
    State err = h * (e1 * k1 + e3 * k3 + e4 * k4 + e5 * k5 + e6 * k6 + e7 * k7);
    const double norm = error_norm(err, x, x_new, opt.rtol, opt.atol);
    if (!std::isfinite(norm)) throw std::runtime_error("rk45: non-finite error estimate");
    if (norm <= 1.0) {
      t += h;
      x = x_new;
      k1 = k7;  // first-same-as-last
      ++step;
      if (callback) callback(step, t, x);
    }
    const double factor = norm == 0.0 ? 5.0 : std::clamp(0.9 * std::pow(norm, -0.2), 0.2, 5.0);
    h *= factor;
  }
  return x;
}

/// The one integration front end of the exact and the network samplers: integrates
/// dx/dlambda = velocity(x, lambda) from lambdas.front() down to lambdas.back() = 0, lambda being
/// the module's step variable (step_schedule, exact_sampler.hpp).
///  heun / euler / dpmpp_2m: on the grid `lambdas` (the schedule's levels, then 0); dpmpp_2m needs
///        an affine field (the caller refuses it for others);
///  rk45: lambdas = {lambda_max, lambda_min, 0}: Dormand-Prince in s = log lambda from lambda_max
///        to lambda_min, where dx/ds = lambda dx/dlambda stays bounded (x - E[y|x] for an affine
///        field), so a trial step reaching down to lambda_min never evaluates the field of size
///        1/lambda_min far off; then one Euler step to 0, as EDM's last step.
/// `nfe` counts every evaluation (the final Euler step included); `callback` sees (step, lambda,
/// x) after each accepted step, the last one at lambda = 0.
///
/// A template over State like the integrators above, not a callback interface over an abstract
/// state: the exact sampler's Eigen matrices and the engine's torch tensors run the same loop with
/// their own arithmetic (x + h d in their own type, no conversion, no type erasure), so each keeps
/// its floating-point operations and their order, and the physics core stays free of LibTorch.
template <class State, class Velocity, class ErrorNorm>
State integrate_steps(Solver solver, State x, const std::vector<double>& lambdas, Velocity&& velocity,
                      ErrorNorm&& error_norm, int& nfe, const Rk45Options& rk45 = {},
                      const StepCallback<State>& callback = nullptr) {
  if (solver == Solver::heun) return integrate_heun(std::move(x), lambdas, velocity, nfe, callback);
  if (solver == Solver::euler) return integrate_euler(std::move(x), lambdas, velocity, nfe, callback);
  if (solver == Solver::dpmpp_2m) return integrate_dpmpp_2m(std::move(x), lambdas, velocity, nfe, callback);
  if (lambdas.size() != 3) throw std::invalid_argument("rk45 integrates over {lambda_max, lambda_min, 0}");
  const double lambda_min = lambdas[1];
  auto in_log = [&velocity](const State& state, double s) -> State {
    const double lambda = std::exp(s);
    return lambda * velocity(state, lambda);
  };
  int steps = 0;
  StepCallback<State> in_lambda = nullptr;
  if (callback)
    in_lambda = [&](int step, double s, const State& state) {
      steps = step;
      callback(step, std::exp(s), state);
    };
  x = integrate_rk45(std::move(x), std::log(lambdas[0]), std::log(lambda_min), in_log, error_norm, nfe, rk45,
                     in_lambda);
  const double h = lambdas[2] - lambda_min;
  State d = velocity(x, lambda_min);
  ++nfe;
  x = x + h * d;
  if (callback) callback(steps + 1, lambdas[2], x);
  return x;
}

}  // namespace genphys
