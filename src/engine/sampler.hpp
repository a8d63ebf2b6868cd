#pragma once
// The network as the velocity of the module's ODE, integrated by ode.hpp's integrate_steps (the
// exact sampler's front end too) in the module's own step variable lambda
// (GenerativeProcess::step_variable). Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/conditioning.hpp"
#include "engine/network.hpp"
#include "genphys/churn.hpp"
#include "genphys/generative.hpp"
#include "genphys/ode.hpp"
#include "genphys/source_step.hpp"

namespace genphys::engine {

/// D(x, sigma): x (B, ...) float64, sigma (B); returns the denoised batch (any float dtype).
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& sigma)>;

struct OdeOptions {
  Solver solver = Solver::heun;
  Stepping stepping = Stepping::source;  ///< velocity-target modules, Euler / Heun (source_step.hpp)
  int nfe = 35;
  double sigma_min = 0.002, sigma_max = 80.0;
  double rtol = 1e-4, atol = 1e-4;
  double noise_alpha = 0.0;  ///< > 0: after each step to sigma_i > 0, x += alpha sigma_i eps (torch's generator)
  double rho = 7.0;          ///< EDM's schedule exponent (step_schedule)
  Churn churn{};             ///< EDM's stochastic sampler (heun only; stochastic_sampler.hpp)
};

/// Throws InputError for an NFE the solver cannot hit exactly, bad tolerances, a bad sigma range,
/// rho outside (0, kMaxRho] or bad churn settings (churn needs heun and no noise injection).
void validate_ode_options(const OdeOptions& options);

/// dt/dsigma of the module's time-noise map (central differences).
double time_derivative(const GenerativeProcess& process, double sigma);

/// The factor g(sigma) in dx/dsigma = g(sigma) (x - D(x, sigma)): the module's velocity scale
/// times dt/dsigma (1/sigma for diffusion and PFGM++). Affine modules only.
double sigma_velocity_scale(const GenerativeProcess& process, double sigma);

/// The factor c(t) in dx/dlambda = c(t) (x - D): velocity_scale(t) / step_rate(t), which is
/// 1/lambda for a module whose step variable keeps its contract. Affine modules only.
double step_velocity_scale(const GenerativeProcess& process, double t);

/// One point of the sampling clock: the step variable, the module's time and the noise level
/// the network is conditioned on.
struct ClockPoint {
  double lambda = 0, t = 0, sigma = 0;
};

/// The sampling grid in the module's step variable: EDM's schedule laid out between
/// lambda(time(sigma_max)) and lambda(time(sigma_min)) (step_schedule, exact_sampler.hpp; EDM's own
/// sigmas wherever lambda = sigma), or for rk45 only those end points, with t = step_time(lambda)
/// and sigma = sigma(t) at each entry; the last entry is exactly 0. Throws InputError when the
/// grid is not finite and decreasing.
class StepClock {
 public:
  StepClock(const GenerativeProcess& process, const OdeOptions& options);
  /// heun/euler: the steps' lambdas, ending in 0; rk45: {lambda_max, lambda_min, 0}.
  const std::vector<double>& lambdas() const { return lambda_; }
  /// sigma at each grid entry (0 at the end).
  const std::vector<double>& sigmas() const { return sigma_; }
  /// t and sigma at lambda: the schedule's own values on grid entries, else through step_time.
  ClockPoint at(double lambda) const;

 private:
  const GenerativeProcess& process_;
  std::vector<double> lambda_, sigma_, t_;
};

/// dsigma/dt / (dlambda/dt) at a clock point: turns a velocity model's dx/dsigma into dx/dlambda.
double sigma_to_step_factor(const GenerativeProcess& process, const ClockPoint& at);

/// dx/dlambda at (x, point): x (B, ...) float64.
using StepVelocity = std::function<torch::Tensor(const torch::Tensor& x, const ClockPoint& at)>;

/// dx/dlambda of a trained model: for a velocity model its dx/dsigma times dsigma/dt /
/// step_rate(t); for a denoiser step_velocity_scale(t) (x - D), the model's output guided by
/// `guidance` (guided_output) for a class-conditional model. Holds references to the model and
/// the process and a copy of `guidance`. Throws InputError for a denoiser on a process that is not
/// affine (a checkpoint trained before its module became a velocity flow: retrain).
StepVelocity model_velocity(EdmPrecond& model, const GenerativeProcess& process, const Guidance& guidance = {});

/// Refuses (InputError, one line) a denoiser checkpoint for a process that is not affine.
void require_model_fits(bool predicts_velocity, const GenerativeProcess& process, const std::string& pde);

/// The frozen-source steps' tables (genphys/source_step.hpp), kept across the batches of one
/// sampling run: they depend on the process and the clock only, and cost about a second to build.
struct SourceTables {
  std::vector<double> times;  // the grid `transport` was built on
  std::shared_ptr<const SourceTransport> transport;
};

/// Integrates dx/dlambda = velocity from sigma_max to 0 on the module's clock, as
/// integrate_denoiser does. Adds the evaluations to `nfe`. `tables`: where frozen-source steps
/// find (or leave) their tables for the next call with the same process and options.
torch::Tensor integrate_velocity(const GenerativeProcess& process, torch::Tensor x, const StepVelocity& velocity,
                                 const OdeOptions& options, std::int64_t& nfe, SourceTables* tables = nullptr);

/// integrate_velocity's frozen-source steps (source_step.cpp): the StepClock's grid, a
/// SourceTransport built on its times (or taken from `tables`), velocity converted to dx/dt.
torch::Tensor integrate_source_velocity(const GenerativeProcess& process, Solver solver, const StepClock& clock,
                                        torch::Tensor x,
                                        const StepVelocity& velocity, const StepCallback<torch::Tensor>& callback,
                                        std::int64_t& nfe, SourceTables* tables = nullptr);

/// Integrates x (float64) from sigma_max to 0 on the StepClock's grid (heun: nfe = 2n - 1
/// exactly; euler: nfe steps) or adaptively (rk45 in log lambda down to lambda(sigma_min),
/// then one Euler step to 0). Adds the denoiser evaluations to `nfe`.
torch::Tensor integrate_denoiser(const GenerativeProcess& process, torch::Tensor x, const Denoiser& denoiser,
                                 const OdeOptions& options, std::int64_t& nfe);

/// Prior draws at sigma_max, one stream sample_rng(seed, index) per sample, around `centre` (the
/// data mean; empty: the origin): (n, shape...) float64.
torch::Tensor draw_prior(const GenerativeProcess& process, const std::vector<std::int64_t>& indices,
                         std::uint64_t seed, const std::vector<std::int64_t>& shape, double sigma_max,
                         const std::vector<double>& centre = {});

/// The classes a class-conditional model samples: one per index, and the guidance weight.
struct ClassCondition {
  std::vector<std::int64_t> classes;  ///< classes[i] for indices[i]; empty: unconditional
  int num_classes = 0;
  double guidance = 1.0;
};

/// Samples `indices` with `model` in batches of `batch`; returns (n, shape...) float32 on the CPU.
/// `nfe` receives the largest per-batch NFE (ODE evaluations: with guidance each is two network
/// passes, guidance_passes).
torch::Tensor generate(EdmPrecond& model, const GenerativeProcess& process, const std::vector<std::int64_t>& shape,
                       const std::vector<std::int64_t>& indices, std::uint64_t seed, const OdeOptions& options,
                       int batch, torch::Device device, std::int64_t& nfe, const std::vector<double>& centre = {},
                       const ClassCondition& condition = {});

}  // namespace genphys::engine
