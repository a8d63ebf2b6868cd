#include "engine/sampler.hpp"

#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "engine/distributed.hpp"
#include "genphys/errors.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/ode.hpp"
#include "engine/stochastic_sampler.hpp"

// ode.hpp's integrators need State + State and double * State; torch::Tensor has both.
namespace genphys::engine {

void validate_ode_options(const OdeOptions& o) {
  check_solver(o.solver, o.nfe, o.rtol, o.atol);
  if (!(o.sigma_min > 0) || !(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max))
    throw InputError("need 0 < sigma_min < sigma_max < inf");
  check_rho(o.rho);
  check_stochastic_options(o);
}

double time_derivative(const GenerativeProcess& process, double sigma) {
  const double h = 1e-4;
  return (process.time(sigma * (1 + h)) - process.time(sigma * (1 - h))) / (2 * h * sigma);
}

double sigma_velocity_scale(const GenerativeProcess& process, double sigma) {
  return process.velocity_scale(process.time(sigma)) * time_derivative(process, sigma);
}

double step_velocity_scale(const GenerativeProcess& process, double t) {
  return process.velocity_scale(t) / process.step_rate(t);
}

// ---- the clock -----------------------------------------------------------------------------

StepClock::StepClock(const GenerativeProcess& process, const OdeOptions& o) : process_(process) {
  validate_ode_options(o);
  // EDM's schedule laid out in lambda (step_schedule): for lambda = sigma it is EDM's own.
  if (o.solver == Solver::rk45)
    lambda_ = {process.step_variable(process.time(o.sigma_max)), process.step_variable(process.time(o.sigma_min)), 0.0};
  else
    lambda_ = step_schedule(process, solver_levels(o.solver, o.nfe), o.sigma_min, o.sigma_max, o.rho);
  sigma_.resize(lambda_.size());
  t_.resize(lambda_.size());
  for (std::size_t i = 0; i + 1 < lambda_.size(); ++i) {
    t_[i] = i == 0 ? process.time(o.sigma_max) : process.step_time(lambda_[i]);
    sigma_[i] = i == 0 ? o.sigma_max : process.sigma(t_[i]);
    if (!std::isfinite(lambda_[i]) || !(lambda_[i] > 0) || (i > 0 && !(lambda_[i] < lambda_[i - 1])))
      throw InputError(fmt::format("the module's step variable is not positive and decreasing along the schedule: "
                                   "sigma {:g} -> t {:g} -> lambda {:g}",
                                   sigma_[i], t_[i], lambda_[i]));
  }
  lambda_.back() = 0.0;  // exact zero: Heun skips its correction on this step
  t_.back() = 0.0;
}

ClockPoint StepClock::at(double lambda) const {
  for (std::size_t i = 0; i + 1 < lambda_.size(); ++i)
    if (lambda_[i] == lambda) return {lambda, t_[i], sigma_[i]};
  const double t = process_.step_time(lambda);
  return {lambda, t, process_.sigma(t)};
}

double sigma_to_step_factor(const GenerativeProcess& process, const ClockPoint& at) {
  return 1.0 / (time_derivative(process, at.sigma) * process.step_rate(at.t));
}

// ---- velocities ----------------------------------------------------------------------------

void require_model_fits(bool predicts_velocity, const GenerativeProcess& process, const std::string& pde) {
  if (!predicts_velocity && !process.affine_velocity())
    throw InputError(fmt::format("a denoiser cannot drive PDE '{}': its velocity is not affine in E[y|x,t] (it is a "
                                 "mass-conserving flow trained on velocities); a checkpoint trained as a denoiser "
                                 "must be retrained",
                                 pde.empty() ? "(given process)" : pde));
}

namespace {

torch::Tensor sigma_column(const torch::Tensor& state, double sigma) {
  return torch::full({state.size(0)}, sigma, state.options());
}

double tensor_error_norm(const torch::Tensor& err, const torch::Tensor& x0, const torch::Tensor& x1, double rtol,
                         double atol) {
  auto scale = atol + rtol * torch::maximum(x0.abs(), x1.abs());
  // Scaled RMS per sample; the batch steps together, so the worst sample decides.
  return (err / scale).square().flatten(1).mean(1).sqrt().max().item<double>();
}

}  // namespace

torch::Tensor integrate_denoiser(const GenerativeProcess& process, torch::Tensor x, const Denoiser& denoiser,
                                 const OdeOptions& o, std::int64_t& nfe) {
  require_model_fits(false, process, "");
  StepVelocity velocity = [&](const torch::Tensor& state, const ClockPoint& at) -> torch::Tensor {
    auto D = denoiser(state, sigma_column(state, at.sigma)).to(state.dtype());
    return step_velocity_scale(process, at.t) * (state - D);
  };
  return integrate_velocity(process, std::move(x), velocity, o, nfe);
}

StepVelocity model_velocity(EdmPrecond& model, const GenerativeProcess& process, const Guidance& guidance) {
  require_model_fits(model->predicts_velocity(), process, "");
  if (model->predicts_velocity())
    // The network gives dx/dsigma; dx/dlambda = dx/dsigma (dsigma/dt) / (dlambda/dt).
    return [&model, &process, guidance](const torch::Tensor& state, const ClockPoint& at) -> torch::Tensor {
      return sigma_to_step_factor(process, at) *
             guided_output(model, state, sigma_column(state, at.sigma), guidance).to(state.dtype());
    };
  return [&model, &process, guidance](const torch::Tensor& state, const ClockPoint& at) -> torch::Tensor {
    auto D = guided_output(model, state, sigma_column(state, at.sigma), guidance).to(state.dtype());
    return step_velocity_scale(process, at.t) * (state - D);
  };
}

// ---- integration ---------------------------------------------------------------------------

torch::Tensor integrate_velocity(const GenerativeProcess& process, torch::Tensor x, const StepVelocity& velocity,
                                 const OdeOptions& o, std::int64_t& nfe, SourceTables* tables) {
  validate_ode_options(o);
  require_solver_fits(process, o);
  const StepClock clock(process, o);
  auto in_lambda = [&](const torch::Tensor& state, double lambda) { return velocity(state, clock.at(lambda)); };
  // Noise injection for robustness probes, at the schedule's sigma: the callback's tensor shares
  // storage with the state.
  StepCallback<torch::Tensor> inject = nullptr;
  if (o.noise_alpha > 0) {
    if (o.solver == Solver::rk45) throw InputError("noise injection needs a fixed-step solver (heun or euler), not rk45");
    inject = [&](int step, double, const torch::Tensor& state) {
      const double sigma = clock.sigmas()[std::size_t(step)];
      if (sigma > 0) state.add_(torch::randn_like(state), o.noise_alpha * sigma);
    };
  }
  if (uses_source_steps(process, o.solver, o.stepping))
    return integrate_source_velocity(process, o.solver, clock, std::move(x), velocity, inject, nfe, tables);
  Rk45Options rk45;
  rk45.rtol = o.rtol;
  rk45.atol = o.atol;
  int count = 0;
  x = integrate_steps(o.solver, std::move(x), clock.lambdas(), in_lambda, tensor_error_norm, count, rk45, inject);
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

namespace {

// Every rank's batches back in one-process order: rank r's k-th batch is batch r + k K.
torch::Tensor gather_batches(Ranks& ranks, const std::vector<torch::Tensor>& parts,
                             const std::vector<std::int64_t>& shape, std::int64_t batches, std::int64_t& nfe) {
  std::vector<std::int64_t> sizes{0};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  const torch::Tensor local = parts.empty() ? torch::empty(sizes, torch::kFloat32) : torch::cat(parts, 0);
  std::vector<std::int64_t> rows;  // each of this rank's batches' rows, so the others can split them
  for (const auto& p : parts) rows.push_back(p.size(0));
  const auto all = ranks.all_gather(local);
  const auto all_rows = ranks.all_gather(torch::tensor(rows, torch::kInt64));
  nfe = ranks.max(int(nfe));
  std::vector<torch::Tensor> ordered(static_cast<std::size_t>(batches));
  for (int r = 0; r < ranks.world(); ++r) {
    std::int64_t at = 0;
    for (std::int64_t k = 0; k < all_rows[std::size_t(r)].size(0); ++k) {
      const auto n = all_rows[std::size_t(r)][k].item<std::int64_t>();
      ordered[std::size_t(r + k * ranks.world())] = all[std::size_t(r)].narrow(0, at, n);
      at += n;
    }
  }
  return ordered.empty() ? torch::empty({0}) : torch::cat(ordered, 0);
}

}  // namespace

torch::Tensor generate(EdmPrecond& model, const GenerativeProcess& process, const std::vector<std::int64_t>& shape,
                       const std::vector<std::int64_t>& indices, std::uint64_t seed, const OdeOptions& o, int batch,
                       torch::Device device, std::int64_t& nfe, const std::vector<double>& centre,
                       const ClassCondition& condition) {
  validate_ode_options(o);
  if (batch < 1) throw InputError("--batch must be >= 1");
  if (!condition.classes.empty() && condition.classes.size() != indices.size())
    throw InputError("class-conditional sampling needs one class per sample");
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  nfe = 0;
  // Under several ranks each integrates whole batches (b = rank, rank + K, ...), so every batch is
  // the one a single process integrates; noise injection draws from torch's generator in batch
  // order, so there every rank integrates all.
  Ranks& ranks = Ranks::join(device);
  const bool split = ranks.active() && o.noise_alpha == 0;
  const auto batches = std::int64_t((indices.size() + size_t(batch) - 1) / size_t(batch));
  std::vector<std::int64_t> mine(std::size_t(batches), 0);
  std::iota(mine.begin(), mine.end(), 0);
  if (split) mine = batches_of_rank(ranks, batches);
  SourceTables tables;  // built by the first batch that takes frozen-source steps
  for (const std::int64_t b : mine) {
    const size_t start = size_t(b) * size_t(batch), end = std::min(indices.size(), start + size_t(batch));
    std::vector<std::int64_t> chunk(indices.begin() + std::ptrdiff_t(start), indices.begin() + std::ptrdiff_t(end));
    auto x = draw_prior(process, chunk, seed, shape, o.sigma_max, centre).to(device);
    Guidance guidance;
    if (!condition.classes.empty()) {
      guidance.labels = one_hot_labels(std::vector<std::int64_t>(condition.classes.begin() + std::ptrdiff_t(start),
                                                                 condition.classes.begin() + std::ptrdiff_t(end)),
                                       condition.num_classes)
                            .to(device);
      guidance.weight = condition.guidance;
    }
    const StepVelocity velocity = model_velocity(model, process, guidance);
    std::int64_t batch_nfe = 0;
    if (o.churn.active())
      x = integrate_churn(process, x, velocity, o, churn_streams(seed, chunk), batch_nfe);
    else
      x = integrate_velocity(process, x, velocity, o, batch_nfe, &tables);
    nfe = std::max(nfe, batch_nfe);
    parts.push_back(x.to(torch::kCPU, torch::kFloat32));
  }
  if (was_training) model->train();
  if (split) return gather_batches(ranks, parts, shape, batches, nfe);
  return parts.empty() ? torch::empty({0}) : torch::cat(parts, 0);
}

}  // namespace genphys::engine
