#pragma once
// Log-likelihood through the probability-flow ODE (score-SDE's change of variables): integrate
// x from sigma_min (the data side) up to sigma_max together with the divergence of the field,
//   log p_sigma_min(x) = log p_prior(x_T) + int_{lambda_min}^{lambda_max} div(dx/dlambda) dlambda,
// in the module's own step variable lambda. The prior is the module's kernel at t_max around the
// data mean, so its log-density is log_kernel(|x_T - centre|, t_max) (Gaussian for diffusion, a
// Student t for PFGM++). Modules with birth/death (R != 0) have no likelihood here: their flow
// does not carry the normalised density. No LibTorch here.

#include <cstdint>
#include <functional>
#include <string>

#include <Eigen/Dense>

#include "genphys/empirical.hpp"
#include "genphys/generative.hpp"

namespace genphys {

struct LikelihoodOptions {
  int steps = 200;  ///< Heun steps (2 field evaluations each) on the reversed EDM schedule in lambda
  double sigma_min = 0.002, sigma_max = 80.0;
  double rho = 7.0;  ///< the schedule's exponent (EDM's): steps crowd the data side
};

/// Throws InputError for steps < 1, a bad sigma range or rho; and for a module with birth/death,
/// one line naming the reason (likelihood_refusal).
void check_likelihood(const GenerativeProcess& process, const LikelihoodOptions& options, const std::string& pde);

/// "" when the module has a likelihood here, else why not (one line).
std::string likelihood_refusal(const GenerativeProcess& process, const std::string& pde);

/// The field dx/dlambda at rows x (lambda, t = step_time(lambda), sigma = sigma(t)) and K
/// estimates of its divergence per row (rows x K; K = 1 for an exact divergence, K probes for
/// Hutchinson's estimator, each probe kept through the whole path so each column integrates to
/// one unbiased estimate of the log-density change).
struct FieldPoint {
  double lambda = 0, t = 0, sigma = 0;
};
using DivergenceField =
    std::function<void(const Eigen::MatrixXd& x, const FieldPoint& at, Eigen::MatrixXd& velocity, Eigen::MatrixXd& divergence)>;

struct LogLikelihood {
  Eigen::VectorXd log_p;       ///< log density at sigma_min of each row (nats): the mean over the K estimates
  Eigen::VectorXd log_p_se;    ///< its standard error over the K estimates (0 when K = 1)
  Eigen::VectorXd log_prior;   ///< log p_prior(x_T)
  Eigen::MatrixXd x_end;       ///< x at sigma_max
  long evaluations = 0;        ///< field evaluations (2 per step)
};

/// log p_prior(x) = log_kernel(|x - centre|, time(sigma_max)) per row; centre empty: the origin.
Eigen::VectorXd prior_log_density(const GenerativeProcess& process, const Eigen::MatrixXd& x, double sigma_max,
                                  const Eigen::RowVectorXd& centre = {});

/// Integrates rows x0 (the data side, at sigma_min) up to sigma_max with Heun's method and returns
/// their log-densities at sigma_min. Throws InputError as check_likelihood.
LogLikelihood log_likelihood(const GenerativeProcess& process, const Eigen::MatrixXd& x0, const DivergenceField& field,
                             const LikelihoodOptions& options, const Eigen::RowVectorXd& centre = {});

/// The exact empirical field of `field`'s data in lambda with its exact divergence by central
/// differences (2N + 1 evaluations; small N), h = fd_step times the noise level.
DivergenceField empirical_divergence_field(const EmpiricalField& field, double fd_step = 1e-4);

/// log of the kernel mixture (1/M) sum_i q_t(x - y_i) at each row x: the exact field's own
/// density at time t, the answer log_likelihood must reproduce for it (up to the prior gap).
Eigen::VectorXd mixture_log_density(const EmpiricalField& field, const Eigen::MatrixXd& x, double t);

/// Bits per dimension of 8-bit data scaled as x = u / 127.5 - 1 (engine/data.cpp) and uniformly
/// dequantised, x = (u + U(-1/2, 1/2)) / 127.5 - 1: the density of the dequantised pixels is
/// p_x / 127.5^N, so bpd = (N ln 127.5 - log p_x) / (N ln 2) = log2(127.5) - log p_x / (N ln 2).
double bits_per_dim(double log_p, int dim);
inline constexpr double kPixelScale = 127.5;

}  // namespace genphys
