#include "engine/sampler.hpp"

#include <cmath>

#include "genphys/errors.hpp"
#include "genphys/ode.hpp"

// ode.hpp's integrators need State + State and double * State; torch::Tensor has both.
namespace genphys::engine {

void validate_ode_options(const OdeOptions& o) {
  if (o.solver == "heun") {
    heun_steps_for_nfe(o.nfe);
  } else if (o.solver == "euler") {
    if (o.nfe < 1) throw InputError("euler needs --nfe >= 1, got " + std::to_string(o.nfe));
  } else if (o.solver == "rk45") {
    if (!(o.rtol > 0) || !(o.atol > 0)) throw InputError("rk45 needs positive --rtol and --atol");
  } else {
    throw InputError("unknown --solver '" + o.solver + "' (valid: heun, euler, rk45)");
  }
  if (!(o.sigma_min > 0) || !(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max))
    throw InputError("need 0 < sigma_min < sigma_max < inf");
}

double time_derivative(const GenerativeProcess& process, double sigma) {
  const double h = 1e-4;
  return (process.time(sigma * (1 + h)) - process.time(sigma * (1 - h))) / (2 * h * sigma);
}

double sigma_velocity_scale(const GenerativeProcess& process, double sigma) {
  return process.velocity_scale(process.time(sigma)) * time_derivative(process, sigma);
}

namespace {
double tensor_error_norm(const torch::Tensor& err, const torch::Tensor& x0, const torch::Tensor& x1, double rtol,
                         double atol) {
  auto scale = atol + rtol * torch::maximum(x0.abs(), x1.abs());
  // Scaled RMS per sample; the batch steps together, so the worst sample decides.
  return (err / scale).square().flatten(1).mean(1).sqrt().max().item<double>();
}
}  // namespace

torch::Tensor integrate_denoiser(const GenerativeProcess& process, torch::Tensor x, const Denoiser& denoiser,
                                 const OdeOptions& o, std::int64_t& nfe) {
  validate_ode_options(o);
  SigmaVelocity velocity = [&](const torch::Tensor& state, double sigma) -> torch::Tensor {
    auto s = torch::full({state.size(0)}, sigma, state.options());
    auto D = denoiser(state, s).to(state.dtype());
    return sigma_velocity_scale(process, sigma) * (state - D);
  };
  return integrate_velocity(std::move(x), velocity, o, nfe);
}

SigmaVelocity model_velocity(EdmPrecond& model, const GenerativeProcess& process) {
  if (model->predicts_velocity())
    return [&model](const torch::Tensor& state, double sigma) -> torch::Tensor {
      auto s = torch::full({state.size(0)}, sigma, state.options());
      return model->forward(state, s).to(state.dtype());
    };
  return [&model, &process](const torch::Tensor& state, double sigma) -> torch::Tensor {
    auto s = torch::full({state.size(0)}, sigma, state.options());
    auto D = model->forward(state, s).to(state.dtype());
    return sigma_velocity_scale(process, sigma) * (state - D);
  };
}

torch::Tensor integrate_velocity(torch::Tensor x, const SigmaVelocity& velocity, const OdeOptions& o,
                                 std::int64_t& nfe) {
  validate_ode_options(o);
  int count = 0;
  // Noise injection for robustness probes: the callback's tensor shares storage with the state.
  StepCallback<torch::Tensor> inject = nullptr;
  if (o.noise_alpha > 0)
    inject = [&](int, double sigma, const torch::Tensor& state) {
      if (sigma > 0) state.add_(torch::randn_like(state), o.noise_alpha * sigma);
    };
  if (o.solver == "heun") {
    const auto grid = edm_sigma_schedule(heun_steps_for_nfe(o.nfe), o.sigma_min, o.sigma_max);
    x = integrate_heun(x, grid, velocity, count, inject);
  } else if (o.solver == "euler") {
    const auto grid = edm_sigma_schedule(o.nfe, o.sigma_min, o.sigma_max);
    x = integrate_euler(x, grid, velocity, count, inject);
  } else {
    if (o.noise_alpha > 0) throw InputError("noise injection needs a fixed-step solver (heun or euler), not rk45");
    Rk45Options ro;
    ro.rtol = o.rtol;
    ro.atol = o.atol;
    x = integrate_rk45(x, o.sigma_max, o.sigma_min, velocity, tensor_error_norm, count, ro);
    x = integrate_euler(x, std::vector<double>{o.sigma_min, 0.0}, velocity, count);
  }
  nfe += count;
  return x;
}

torch::Tensor draw_prior(const GenerativeProcess& process, const std::vector<std::int64_t>& indices,
                         std::uint64_t seed, const std::vector<std::int64_t>& shape, double sigma_max,
                         const std::vector<double>& centre) {
  std::int64_t dim = 1;
  for (auto s : shape) dim *= s;
  if (dim != process.dim())
    throw InputError("process dimension " + std::to_string(process.dim()) + " does not match the data's " +
                     std::to_string(dim));
  if (!centre.empty() && std::int64_t(centre.size()) != dim) throw InputError("prior centre has the wrong size");
  std::vector<std::int64_t> sizes{std::int64_t(indices.size())};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  auto x = torch::empty(sizes, torch::kFloat64);
  double* p = x.data_ptr<double>();
  const double t_max = process.time(sigma_max);
  for (size_t i = 0; i < indices.size(); ++i) {
    Rng rng = sample_rng(seed, std::uint64_t(indices[i]));
    double* row = p + i * dim;
    process.sample_prior(rng, t_max, row);
    for (std::size_t j = 0; j < centre.size(); ++j) row[j] += centre[j];
  }
  return x;
}

torch::Tensor generate(EdmPrecond& model, const GenerativeProcess& process, const std::vector<std::int64_t>& shape,
                       const std::vector<std::int64_t>& indices, std::uint64_t seed, const OdeOptions& o, int batch,
                       torch::Device device, std::int64_t& nfe, const std::vector<double>& centre) {
  validate_ode_options(o);
  if (batch < 1) throw InputError("--batch must be >= 1");
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  const SigmaVelocity velocity = model_velocity(model, process);
  std::vector<torch::Tensor> parts;
  nfe = 0;
  for (size_t start = 0; start < indices.size(); start += size_t(batch)) {
    const size_t end = std::min(indices.size(), start + size_t(batch));
    std::vector<std::int64_t> chunk(indices.begin() + std::ptrdiff_t(start), indices.begin() + std::ptrdiff_t(end));
    auto x = draw_prior(process, chunk, seed, shape, o.sigma_max, centre).to(device);
    std::int64_t batch_nfe = 0;
    x = integrate_velocity(x, velocity, o, batch_nfe);
    nfe = std::max(nfe, batch_nfe);
    parts.push_back(x.to(torch::kCPU, torch::kFloat32));
  }
  if (was_training) model->train();
  return parts.empty() ? torch::empty({0}) : torch::cat(parts, 0);
}

}  // namespace genphys::engine
