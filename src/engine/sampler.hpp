#pragma once
// The network as the velocity of the module's ODE, integrated with the solvers of ode.hpp.
// Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/network.hpp"
#include "genphys/generative.hpp"

namespace genphys::engine {

/// D(x, sigma): x (B, ...) float64, sigma (B); returns the denoised batch (any float dtype).
using Denoiser = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& sigma)>;

struct OdeOptions {
  std::string solver = "heun";  ///< heun | euler | rk45
  int nfe = 35;
  double sigma_min = 0.002, sigma_max = 80.0;
  double rtol = 1e-4, atol = 1e-4;
  double noise_alpha = 0.0;  ///< > 0: after each step to sigma_i > 0, x += alpha sigma_i eps (torch's generator)
};

/// Throws InputError for an unknown solver or an NFE the solver cannot hit exactly.
void validate_ode_options(const OdeOptions& options);

/// dt/dsigma of the module's time-noise map (central differences).
double time_derivative(const GenerativeProcess& process, double sigma);

/// The factor g(sigma) in dx/dsigma = g(sigma) (x - D(x, sigma)): the module's velocity scale
/// times dt/dsigma (1/sigma for diffusion and PFGM++).
double sigma_velocity_scale(const GenerativeProcess& process, double sigma);

/// dx/dsigma at (x, sigma): x (B, ...) float64.
using SigmaVelocity = std::function<torch::Tensor(const torch::Tensor& x, double sigma)>;

/// The ODE velocity of a trained model: its output for a velocity model, g(sigma)(x - D) for a
/// denoiser. Holds references to both arguments.
SigmaVelocity model_velocity(EdmPrecond& model, const GenerativeProcess& process);

/// Integrates dx/dsigma = velocity from sigma_max to 0, as integrate_denoiser does.
torch::Tensor integrate_velocity(torch::Tensor x, const SigmaVelocity& velocity, const OdeOptions& options,
                                 std::int64_t& nfe);

/// Integrates x (float64) from sigma_max to 0 on the EDM schedule (heun: nfe = 2n - 1 exactly;
/// euler: nfe steps) or adaptively (rk45 to sigma_min, then one Euler step to 0). Adds the
/// denoiser evaluations to `nfe`.
torch::Tensor integrate_denoiser(const GenerativeProcess& process, torch::Tensor x, const Denoiser& denoiser,
                                 const OdeOptions& options, std::int64_t& nfe);

/// Prior draws at sigma_max, one stream sample_rng(seed, index) per sample, around `centre` (the
/// data mean; empty: the origin): (n, shape...) float64.
torch::Tensor draw_prior(const GenerativeProcess& process, const std::vector<std::int64_t>& indices,
                         std::uint64_t seed, const std::vector<std::int64_t>& shape, double sigma_max,
                         const std::vector<double>& centre = {});

/// Samples `indices` with `model` in batches of `batch`; returns (n, shape...) float32 on the CPU.
/// `nfe` receives the largest per-batch NFE.
torch::Tensor generate(EdmPrecond& model, const GenerativeProcess& process, const std::vector<std::int64_t>& shape,
                       const std::vector<std::int64_t>& indices, std::uint64_t seed, const OdeOptions& options,
                       int batch, torch::Device device, std::int64_t& nfe, const std::vector<double>& centre = {});

}  // namespace genphys::engine
