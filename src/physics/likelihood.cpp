#include "genphys/likelihood.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "genphys/errors.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/numeric.hpp"
#include "genphys/ode.hpp"

namespace genphys {

std::string likelihood_refusal(const GenerativeProcess& process, const std::string& pde) {
  if (!process.has_birth_death()) return "";
  return fmt::format("PDE '{}' has birth/death (R != 0): its flow does not carry the normalised density, so it has no "
                     "likelihood here (every mass-conserving module has one: diffusion, poisson, pfgmpp, ...)",
                     pde.empty() ? "(given process)" : pde);
}

void check_likelihood(const GenerativeProcess& process, const LikelihoodOptions& o, const std::string& pde) {
  if (const std::string why = likelihood_refusal(process, pde); !why.empty()) throw InputError(why);
  if (o.steps < 1) throw InputError(fmt::format("likelihood steps must be >= 1, got {}", o.steps));
  if (!(o.sigma_min > 0) || !(o.sigma_max > o.sigma_min) || !std::isfinite(o.sigma_max))
    throw InputError("need 0 < sigma_min < sigma_max < inf");
  check_rho(o.rho);
}

Eigen::VectorXd prior_log_density(const GenerativeProcess& process, const Eigen::MatrixXd& x, double sigma_max,
                                  const Eigen::RowVectorXd& centre) {
  const double t_max = process.time(sigma_max);
  Eigen::VectorXd out(x.rows());
  for (Eigen::Index i = 0; i < x.rows(); ++i)
    out(i) = process.log_kernel(centre.size() == 0 ? x.row(i).norm() : (x.row(i) - centre).norm(), t_max);
  return out;
}

LogLikelihood log_likelihood(const GenerativeProcess& process, const Eigen::MatrixXd& x0, const DivergenceField& field,
                             const LikelihoodOptions& o, const Eigen::RowVectorXd& centre) {
  check_likelihood(process, o, "");
  // EDM's schedule (steps + 1 levels) run backwards: from the data side up to sigma_max.
  std::vector<double> lambdas = step_schedule(process, o.steps + 1, o.sigma_min, o.sigma_max, o.rho);
  lambdas.pop_back();  // the schedule's final 0
  std::reverse(lambdas.begin(), lambdas.end());
  auto point = [&](double lambda) {
    const double t = process.step_time(lambda);
    return FieldPoint{lambda, t, process.sigma(t)};
  };
  LogLikelihood out;
  Eigen::MatrixXd x = x0, v1, v2, d1, d2;
  Eigen::MatrixXd change;  // rows x K: each estimate's integral of the divergence
  for (std::size_t i = 0; i + 1 < lambdas.size(); ++i) {
    const double h = lambdas[i + 1] - lambdas[i];
    field(x, point(lambdas[i]), v1, d1);
    const Eigen::MatrixXd trial = x + h * v1;
    field(trial, point(lambdas[i + 1]), v2, d2);
    x += 0.5 * h * (v1 + v2);
    if (change.size() == 0) change = Eigen::MatrixXd::Zero(d1.rows(), d1.cols());
    change += 0.5 * h * (d1 + d2);
    out.evaluations += 2;
  }
  out.x_end = x;
  out.log_prior = prior_log_density(process, x, o.sigma_max, centre);
  const Eigen::Index k = change.cols();
  const Eigen::VectorXd mean = change.rowwise().mean();
  out.log_p = out.log_prior + mean;
  out.log_p_se = Eigen::VectorXd::Zero(x.rows());
  if (k > 1)
    out.log_p_se = ((change.colwise() - mean).rowwise().squaredNorm() / double(k - 1) / double(k)).cwiseSqrt();
  return out;
}

DivergenceField empirical_divergence_field(const EmpiricalField& empirical, double fd_step) {
  return [&empirical, fd_step](const Eigen::MatrixXd& x, const FieldPoint& at, Eigen::MatrixXd& velocity,
                               Eigen::MatrixXd& divergence) {
    const GenerativeProcess& process = empirical.process();
    const double to_lambda = 1.0 / process.step_rate(at.t);  // dx/dlambda = dx/dt / (dlambda/dt)
    velocity = to_lambda * empirical.velocity(x, at.t);
    divergence = Eigen::MatrixXd::Zero(x.rows(), 1);
    const double h = fd_step * at.sigma;
    for (Eigen::Index j = 0; j < x.cols(); ++j) {
      Eigen::MatrixXd up = x, down = x;
      up.col(j).array() += h;
      down.col(j).array() -= h;
      divergence.col(0) += to_lambda * (empirical.velocity(up, at.t).col(j) - empirical.velocity(down, at.t).col(j)) / (2 * h);
    }
  };
}

Eigen::VectorXd mixture_log_density(const EmpiricalField& field, const Eigen::MatrixXd& x, double t) {
  const Eigen::MatrixXd& y = field.data();
  Eigen::VectorXd out(x.rows());
  std::vector<double> logs(std::size_t(y.rows()));
  for (Eigen::Index i = 0; i < x.rows(); ++i) {
    for (Eigen::Index j = 0; j < y.rows(); ++j)
      logs[std::size_t(j)] = field.process().log_kernel((x.row(i) - y.row(j)).norm(), t);
    out(i) = log_sum_exp(logs) - std::log(double(y.rows()));
  }
  return out;
}

double bits_per_dim(double log_p, int dim) {
  return (double(dim) * std::log(kPixelScale) - log_p) / (double(dim) * std::log(2.0));
}

}  // namespace genphys
