#include "genphys/exact_sampler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <stdexcept>

#include <fmt/format.h>

#include "genphys/errors.hpp"
#include "genphys/metrics.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

namespace genphys {

namespace {

// The resampling stream; sample streams use indices 0 .. n-1, far below this one.
constexpr std::uint64_t kResampleStream = ~std::uint64_t{0};

struct Range {
  double sigma_min, sigma_max, t_min, t_max;
};

Range resolve_range(const GenerativeProcess& process, const ExactSamplerOptions& opt) {
  Range r{};
  r.sigma_min = opt.sigma_min > 0 ? opt.sigma_min : process.sigma_min();
  r.sigma_max = opt.sigma_max > 0 ? opt.sigma_max : process.sigma_max();
  if (!std::isfinite(r.sigma_min) || !std::isfinite(r.sigma_max) || !(r.sigma_min > 0) ||
      !(r.sigma_max > r.sigma_min))
    throw InputError(fmt::format("sampling needs 0 < sigma_min < sigma_max (finite), got {} and {}",
                                 r.sigma_min, r.sigma_max));
  r.t_min = process.time(r.sigma_min);
  r.t_max = process.time(r.sigma_max);
  if (!std::isfinite(r.t_min) || !std::isfinite(r.t_max) || !(r.t_min > 0) || !(r.t_max > r.t_min))
    throw InputError(fmt::format("sigma range [{}, {}] maps to module times [{}, {}]; need 0 < t_min < t_max",
                                 r.sigma_min, r.sigma_max, r.t_min, r.t_max));
  return r;
}

void check_options(const ExactSamplerOptions& opt) {
  check_solver(opt.solver, opt.nfe, opt.rk45.rtol, opt.rk45.atol);
  check_rho(opt.rho);
  if (opt.batch_size < 1) throw InputError(fmt::format("batch size must be >= 1, got {}", opt.batch_size));
  if (opt.keep_trajectories < 0)
    throw InputError(fmt::format("trajectory count must be >= 0, got {}", opt.keep_trajectories));
  check_churn(opt.churn, opt.solver);
  const bool plain_state = opt.solver == Solver::dpmpp_2m || opt.churn.active();
  if (plain_state && opt.birth_death == BirthDeath::reweight)
    throw InputError("--birth-death reweight carries log-weights through heun, euler or rk45 only (not churn or "
                     "dpmpp-2m)");
}


// The variable the integrators step in: the module's own step_variable lambda(t), in which each
// source's path is (near) a straight line. For affine modules dx/dlambda = (x - E[y|x]) / lambda,
// so with the field frozen a step is exact (EDM's sigma for diffusion and PFGM++). Stepping in t
// instead loses most of Heun's accuracy for diffusion (t = sigma^2 / 2).
struct Clock {
  const GenerativeProcess* process;

  double lambda(double t) const { return t == 0.0 ? 0.0 : process->step_variable(t); }
  double time(double lambda) const { return lambda == 0.0 ? 0.0 : process->step_time(lambda); }
  double dt_dlambda(double lambda) const { return 1.0 / process->step_rate(time(lambda)); }
};

std::vector<double> grid_for(const GenerativeProcess& process, const ExactSamplerOptions& opt, const Range& r) {
  const std::vector<double> lambdas =
      step_schedule(process, solver_levels(opt.solver, opt.nfe), r.sigma_min, r.sigma_max, opt.rho);
  std::vector<double> times(lambdas.size());
  for (std::size_t i = 0; i + 1 < lambdas.size(); ++i) times[i] = process.step_time(lambdas[i]);
  times.front() = r.t_max;
  times.back() = 0.0;  // exact zero: Heun skips its correction on this step
  return times;
}

// Appends one step of the kept rows [first, first + rows.rows()) to their trajectories.
void record(std::vector<Trajectory>& trajs, Eigen::Index first, double t, const Eigen::MatrixXd& rows,
            Eigen::Index dim) {
  for (Eigen::Index i = 0; i < rows.rows(); ++i) {
    const Eigen::Index k = first + i;
    if (k >= static_cast<Eigen::Index>(trajs.size())) break;
    Trajectory& tr = trajs[static_cast<std::size_t>(k)];
    tr.t.push_back(t);
    tr.x.conservativeResize(tr.x.rows() + 1, dim);
    tr.x.row(tr.x.rows() - 1) = rows.row(i).leftCols(dim);
  }
}

void resample(ExactSamples& out, const Eigen::MatrixXd& end, Resampling scheme, std::uint64_t seed) {
  const Eigen::Index n = end.rows();
  const Eigen::VectorXd& lw = out.log_weights;
  if (!lw.allFinite()) throw std::runtime_error("birth/death reweighting produced non-finite log-weights");
  const Eigen::VectorXd w = (lw.array() - lw.maxCoeff()).exp();
  const double sum = w.sum();
  out.ess = sum * sum / w.squaredNorm();
  out.ancestors.resize(static_cast<std::size_t>(n));
  if (lw.minCoeff() == lw.maxCoeff()) {  // equal weights: keep every trajectory once
    for (Eigen::Index j = 0; j < n; ++j) out.ancestors[static_cast<std::size_t>(j)] = static_cast<int>(j);
    out.samples = end;
    return;
  }
  std::vector<double> cdf(static_cast<std::size_t>(n));
  double acc = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) cdf[static_cast<std::size_t>(i)] = (acc += w(i) / sum);
  Rng rng = sample_rng(seed, kResampleStream);
  auto pick = [&](double u) {
    const auto it = std::upper_bound(cdf.begin(), cdf.end(), u);
    return static_cast<int>(std::min<std::ptrdiff_t>(it - cdf.begin(), n - 1));
  };
  const double offset = uniform01(rng);
  out.samples.resize(n, end.cols());
  for (Eigen::Index j = 0; j < n; ++j) {
    const double u = scheme == Resampling::systematic ? (static_cast<double>(j) + offset) / static_cast<double>(n)
                                                      : uniform01(rng);
    const int a = pick(u);
    out.ancestors[static_cast<std::size_t>(j)] = a;
    out.samples.row(j) = end.row(a);
  }
}

}  // namespace

std::vector<double> step_schedule(const GenerativeProcess& process, int levels, double sigma_min, double sigma_max,
                                  double rho) {
  const double lambda_min = process.step_variable(process.time(sigma_min));
  const double lambda_max = process.step_variable(process.time(sigma_max));
  if (!std::isfinite(lambda_min) || !std::isfinite(lambda_max) || !(lambda_min > 0) || !(lambda_max > lambda_min))
    throw InputError(fmt::format("sigma range [{}, {}] maps to step variables [{}, {}]; need 0 < lambda_min < lambda_max",
                                 sigma_min, sigma_max, lambda_min, lambda_max));
  return edm_sigma_schedule(levels, lambda_min, lambda_max, rho);
}

BirthDeath parse_birth_death(const std::string& name) {
  if (name == "ignore") return BirthDeath::ignore;
  if (name == "reweight") return BirthDeath::reweight;
  throw InputError("unknown birth/death mode '" + name + "'; valid: ignore, reweight");
}

std::string to_string(BirthDeath b) { return b == BirthDeath::ignore ? "ignore" : "reweight"; }

Resampling parse_resampling(const std::string& name) {
  if (name == "systematic") return Resampling::systematic;
  if (name == "multinomial") return Resampling::multinomial;
  throw InputError("unknown resampling scheme '" + name + "'; valid: systematic, multinomial");
}

double rk45_error_norm(const Eigen::MatrixXd& err, const Eigen::MatrixXd& x0, const Eigen::MatrixXd& x1,
                       double rtol, double atol, Eigen::Index cols) {
  const Eigen::Index c = cols < 0 ? err.cols() : std::min(cols, err.cols());
  if (c == 0 || err.rows() == 0) return 0.0;
  const auto scale = atol + rtol * x0.leftCols(c).cwiseAbs().cwiseMax(x1.leftCols(c).cwiseAbs()).array();
  return std::sqrt((err.leftCols(c).array() / scale).square().mean());
}

std::vector<double> exact_time_grid(const GenerativeProcess& process, const ExactSamplerOptions& opt) {
  check_options(opt);
  if (opt.solver == Solver::rk45) throw InputError("RK45 adapts its own steps; it has no fixed grid");
  return grid_for(process, opt, resolve_range(process, opt));
}

Eigen::MatrixXd sample_prior_points(const GenerativeProcess& process, const Eigen::RowVectorXd& centre, int n,
                                    std::uint64_t seed, double t_max) {
  if (n < 1) throw InputError(fmt::format("number of samples must be >= 1, got {}", n));
  const int dim = process.dim();
  if (centre.size() != dim)
    throw InputError(fmt::format("prior centre has {} entries, the process dimension is {}", centre.size(), dim));
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> x(n, dim);
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(seed, static_cast<std::uint64_t>(i));
    process.sample_prior(rng, t_max, x.row(i).data());
    x.row(i) += centre;
  }
  return x;
}

ExactSamples integrate_exact(const EmpiricalField& field, const Eigen::MatrixXd& x0, std::uint64_t seed,
                             const ExactSamplerOptions& opt) {
  check_options(opt);
  const GenerativeProcess& process = field.process();
  require_sampler_fits(process, opt.solver, opt.churn);
  const Range range = resolve_range(process, opt);
  const Eigen::Index n = x0.rows(), dim = field.dim();
  if (n < 1) throw InputError("no starting points to integrate");
  if (x0.cols() != dim)
    throw InputError(fmt::format("starting points have {} columns, the data {}", x0.cols(), dim));
  if (!x0.allFinite()) throw InputError("starting points contain NaN or infinite values");

  const bool reweight = opt.birth_death == BirthDeath::reweight;
  const Eigen::Index cols = reweight ? dim + 1 : dim;  // extra column: log w
  const Clock clock{&process};
  // d/dlambda of the (possibly augmented) state; the log-weight column gets R/p dt/dlambda.
  auto velocity = [&](const Eigen::MatrixXd& s, double lambda) -> Eigen::MatrixXd {
    const double t = clock.time(lambda), jac = clock.dt_dlambda(lambda);
    if (!reweight) return jac * field.velocity(s, t);
    EmpiricalField::Evaluation ev = field.evaluate(s.leftCols(dim), t, true);
    Eigen::MatrixXd v(s.rows(), cols);
    v.leftCols(dim) = jac * ev.velocity;
    if (ev.ratio.size() == s.rows())
      v.col(dim) = jac * ev.ratio;
    else
      v.col(dim).setZero();
    return v;
  };

  ExactSamples out;
  out.t_max = range.t_max;
  out.t_min = range.t_min;
  out.trajectories.resize(static_cast<std::size_t>(std::min<Eigen::Index>(opt.keep_trajectories, n)));
  const long calls_before = field.evaluations();
  Eigen::MatrixXd end(n, cols);

  // Euler / Heun on the schedule's grid in lambda; RK45 adapts between the end points.
  std::vector<double> lambdas{clock.lambda(range.t_max), clock.lambda(range.t_min), 0.0};
  std::vector<double> gammas;  // churn per step
  if (opt.solver != Solver::rk45) {
    lambdas = grid_for(process, opt, range);
    std::vector<double> sigmas(lambdas.size(), 0.0);
    for (std::size_t i = 0; i + 1 < lambdas.size(); ++i) sigmas[i] = i == 0 ? range.sigma_max : process.sigma(lambdas[i]);
    gammas = churn_gammas(opt.churn, sigmas);
    for (double& t : lambdas) t = clock.lambda(t);
  }
  // Velocity-target modules: the frozen-source step on the same grid (source_step.hpp).
  std::vector<double> times;
  std::unique_ptr<SourceTransport> transport;
  if (!reweight && !opt.churn.active() && uses_source_steps(process, opt.solver, opt.stepping)) {
    times = grid_for(process, opt, range);
    transport = std::make_unique<SourceTransport>(process, times);
  }
  auto source_velocity = [&](const Eigen::MatrixXd& s, std::size_t level) -> Eigen::MatrixXd {
    return field.velocity(s, times[level]);
  };
  const SourceRows<Eigen::MatrixXd> rows{
      [](const Eigen::MatrixXd& m) {
        const Eigen::VectorXd n = m.rowwise().norm();
        return std::vector<double>(n.data(), n.data() + n.size());
      },
      [](const Eigen::MatrixXd& m, const std::vector<double>& f) -> Eigen::MatrixXd {
        Eigen::MatrixXd out(m.rows(), m.cols());
        for (Eigen::Index i = 0; i < m.rows(); ++i)
          if (f[std::size_t(i)] == 0.0)
            out.row(i).setZero();
          else
            out.row(i) = f[std::size_t(i)] * m.row(i);
        return out;
      }};
  auto norm = [dim](const Eigen::MatrixXd& err, const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double rtol,
                    double atol) { return rk45_error_norm(err, a, b, rtol, atol, dim); };
  // RK45 integrates each sample alone: a shared step size would couple the samples.
  const Eigen::Index batch = opt.solver == Solver::rk45 ? 1 : opt.batch_size;
  long total = 0;
  int worst = 0;
  for (Eigen::Index b = 0; b < n; b += batch) {
    const Eigen::Index m = std::min<Eigen::Index>(batch, n - b);
    Eigen::MatrixXd state = Eigen::MatrixXd::Zero(m, cols);
    state.leftCols(dim) = x0.middleRows(b, m);
    StepCallback<Eigen::MatrixXd> cb = nullptr, cb_in_t = nullptr;
    if (b < static_cast<Eigen::Index>(out.trajectories.size())) {
      record(out.trajectories, b, range.t_max, state, dim);
      cb = [&](int, double lambda, const Eigen::MatrixXd& x) { record(out.trajectories, b, clock.time(lambda), x, dim); };
      cb_in_t = [&](int, double t, const Eigen::MatrixXd& x) { record(out.trajectories, b, t, x, dim); };
    }
    int nfe = 0;
    if (transport) {
      state = integrate_source_steps(opt.solver, std::move(state), times, lambdas, *transport, source_velocity, rows,
                                     nfe, cb_in_t);
    } else if (opt.churn.active()) {
      // Each row draws its increments from its own stream: the path does not depend on the batch.
      std::vector<Rng> streams;
      for (Eigen::Index i = 0; i < m; ++i) streams.push_back(churn_rng(seed, static_cast<std::uint64_t>(b + i)));
      std::vector<double> increment(static_cast<std::size_t>(dim));
      auto renoise = [&](Eigen::MatrixXd& x, double lambda, double lambda_hat) {
        const double t = clock.time(lambda), t_hat = clock.time(lambda_hat);
        for (Eigen::Index i = 0; i < m; ++i) {
          sample_churn_increment(process, streams[static_cast<std::size_t>(i)], t, t_hat, opt.churn.s_noise,
                                 increment.data());
          x.row(i) += Eigen::Map<const Eigen::RowVectorXd>(increment.data(), dim);
        }
      };
      state = integrate_heun_churn(std::move(state), lambdas, gammas, velocity, renoise, nfe, cb);
    } else {
      state = integrate_steps(opt.solver, std::move(state), lambdas, velocity, norm, nfe, opt.rk45, cb);
    }
    end.middleRows(b, m) = state;
    total += static_cast<long>(nfe) * m;
    worst = std::max(worst, nfe);
  }
  out.nfe = worst;
  out.nfe_mean = static_cast<double>(total) / static_cast<double>(n);
  out.field_calls = field.evaluations() - calls_before;

  if (reweight) {
    out.log_weights = end.col(dim);
    resample(out, end.leftCols(dim), opt.resampling, seed);
  } else {
    out.samples = end;
    out.ess = static_cast<double>(n);
  }
  return out;
}

namespace {

// The gap's slices: 64 random directions and the data's 8 principal axes. A random direction in
// N = 784 sees about 1/784 of the data's variance, so random slices alone found Fashion-MNIST
// forgotten at sigma 1.8 (sigma_max 3.5) for every module.
Eigen::MatrixXd gap_directions(const Eigen::MatrixXd& data, std::uint64_t seed) {
  const Eigen::MatrixXd random = metrics::random_directions(int(data.cols()), 64, seed);
  if (data.rows() < 2) return random;
  const Eigen::MatrixXd axes = metrics::principal_axes(data, 8);
  Eigen::MatrixXd all(random.rows() + axes.rows(), data.cols());
  all << random, axes;
  return all;
}

PriorGap prior_gap_along(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n, std::uint64_t seed,
                         double sigma_max, const Eigen::MatrixXd& directions) {
  PriorGap g;
  g.n = n;
  g.sigma_max = sigma_max;
  g.t_max = process.time(sigma_max);
  const Eigen::RowVectorXd centre = data.colwise().mean();
  const Eigen::MatrixXd prior = sample_prior_points(process, centre, n, seed, g.t_max);
  const Eigen::MatrixXd other = sample_prior_points(process, centre, n, mix_seed(seed ^ 0x7072696f72ULL), g.t_max);
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> forward(n, data.cols());
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(mix_seed(seed ^ 0x666f7277ULL), static_cast<std::uint64_t>(i));
    process.sample_displacement(rng, g.t_max, forward.row(i).data());
    forward.row(i) += data.row(i % data.rows());
  }
  g.sliced_ks = metrics::sliced_ks_along(prior, forward, directions);
  g.noise_floor = metrics::sliced_ks_along(prior, other, directions);
  return g;
}

void check_gap_input(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n) {
  if (n < 2) throw InputError(fmt::format("the prior gap needs at least 2 draws, got {}", n));
  if (data.rows() < 1 || data.cols() != process.dim())
    throw InputError(fmt::format("data of {} columns for a process of dimension {}", data.cols(), process.dim()));
}

}  // namespace

PriorGap prior_gap(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n, std::uint64_t seed,
                   double sigma_max) {
  check_gap_input(process, data, n);
  return prior_gap_along(process, data, n, seed, sigma_max, gap_directions(data, seed));
}

ForgettingChoice forgetting_sigma_max(const GenerativeProcess& process, const Eigen::MatrixXd& data,
                                      std::uint64_t seed) {
  check_gap_input(process, data, kForgetDraws);
  const Eigen::MatrixXd directions = gap_directions(data, seed);
  auto prior_gap = [&](const GenerativeProcess& p, const Eigen::MatrixXd& d, int n, std::uint64_t s, double sigma) {
    return prior_gap_along(p, d, n, s, sigma, directions);
  };
  ForgettingChoice c;
  const double top = process.sigma_max(), floor = std::min(top, kForgetFloorFactor * process.sigma_min());
  const PriorGap at_top = prior_gap(process, data, kForgetDraws, seed, top);
  c.noise_floor = at_top.noise_floor;
  c.probes = 1;
  double sigma = top;
  if (at_top.sliced_ks > kForgetMargin * c.noise_floor) {
    c.failed_at = top;
  } else {
    while (sigma > floor) {
      const double next = std::max(floor, sigma / std::sqrt(2.0));
      ++c.probes;
      if (prior_gap(process, data, kForgetDraws, seed, next).sliced_ks > kForgetMargin * c.noise_floor) {
        c.failed_at = next;
        break;
      }
      sigma = next;
    }
  }
  c.forgotten_to = c.failed_at == top ? 0.0 : sigma;
  c.sigma_max = c.failed_at > 0.0 ? std::min(top, kForgetSafety * c.failed_at) : sigma;
  c.gap = c.sigma_max == top ? at_top : prior_gap(process, data, kForgetDraws, seed, c.sigma_max);
  return c;
}

ExactSamples sample_exact(const EmpiricalField& field, int n, std::uint64_t seed, const ExactSamplerOptions& opt) {
  check_options(opt);
  if (n < 1) throw InputError(fmt::format("number of samples must be >= 1, got {}", n));
  const Range range = resolve_range(field.process(), opt);
  const Eigen::RowVectorXd centre =
      opt.center_prior ? field.data_mean() : Eigen::RowVectorXd::Zero(field.dim()).eval();
  const Eigen::MatrixXd x0 = sample_prior_points(field.process(), centre, n, seed, range.t_max);
  return integrate_exact(field, x0, seed, opt);
}

ExactSamples sample_exact(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n, std::uint64_t seed,
                          const ExactSamplerOptions& opt) {
  const EmpiricalField field(process, data);
  return sample_exact(field, n, seed, opt);
}

}  // namespace genphys
