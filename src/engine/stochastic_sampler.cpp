#include "engine/stochastic_sampler.hpp"

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys::engine {

void check_stochastic_options(const OdeOptions& o) {
  check_churn(o.churn, o.solver);
  if (o.churn.active() && o.noise_alpha > 0) throw InputError("noise injection and --churn cannot be combined");
}

void require_solver_fits(const GenerativeProcess& process, const OdeOptions& o) {
  require_sampler_fits(process, o.solver, o.churn);
}

std::vector<Rng> churn_streams(std::uint64_t seed, const std::vector<std::int64_t>& indices) {
  std::vector<Rng> streams;
  streams.reserve(indices.size());
  for (const auto index : indices) streams.push_back(churn_rng(seed, static_cast<std::uint64_t>(index)));
  return streams;
}

torch::Tensor integrate_churn(const GenerativeProcess& process, torch::Tensor x, const StepVelocity& velocity,
                              const OdeOptions& o, std::vector<Rng>&& streams, std::int64_t& nfe) {
  validate_ode_options(o);
  require_solver_fits(process, o);
  if (std::int64_t(streams.size()) != x.size(0)) throw std::invalid_argument("integrate_churn: one stream per sample");
  const StepClock clock(process, o);
  const std::vector<double> gammas = churn_gammas(o.churn, clock.sigmas());
  auto in_lambda = [&](const torch::Tensor& state, double lambda) { return velocity(state, clock.at(lambda)); };
  auto renoise = [&](torch::Tensor& state, double lambda, double lambda_hat) {
    const double t = clock.at(lambda).t, t_hat = clock.at(lambda_hat).t;
    auto increment = torch::empty({state.size(0), process.dim()}, torch::kFloat64);
    double* row = increment.data_ptr<double>();
    for (auto& stream : streams) {
      sample_churn_increment(process, stream, t, t_hat, o.churn.s_noise, row);
      row += process.dim();
    }
    state = state + increment.view(state.sizes()).to(state.device());
  };
  int count = 0;
  x = integrate_heun_churn(std::move(x), clock.lambdas(), gammas, in_lambda, renoise, count);
  nfe += count;
  return x;
}

}  // namespace genphys::engine
