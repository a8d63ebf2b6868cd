#pragma once
// Sampling with the exact empirical field: prior at t_max, then the backward ODE
// dx/dt = velocity_scale(t) (x - E[y | x, t]) down to t = 0 with ode.hpp's integrate_steps, the
// front end the network sampler uses too (Solver is ode.hpp's).
// With the exact field the samples memorise the data; this is the reference a trained network's
// sampler is compared against. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

#include "genphys/churn.hpp"
#include "genphys/empirical.hpp"
#include "genphys/generative.hpp"
#include "genphys/ode.hpp"
#include "genphys/source_step.hpp"

namespace genphys {

/// How a module with birth/death (R != 0) is sampled.
///  ignore:   follow the plain ODE; the R term is dropped (biased where R/p varies in space).
///  reweight: carry a log-weight along each trajectory, d log w / dt = R/p evaluated in forward
///            time, integrated on the same backward grid (so log w(0) = -int_0^t_max R/p dt), then
///            resample the n trajectories by their weights (sequential Monte Carlo, one step).
enum class BirthDeath { ignore, reweight };
BirthDeath parse_birth_death(const std::string& name);  ///< "ignore" | "reweight"
std::string to_string(BirthDeath b);

/// Resampling scheme for BirthDeath::reweight. Systematic: one uniform offset, n evenly spaced
/// points on the weights' CDF (lower variance). Multinomial: n independent draws.
enum class Resampling { systematic, multinomial };
Resampling parse_resampling(const std::string& name);  ///< "systematic" | "multinomial"

struct ExactSamplerOptions {
  Solver solver = Solver::heun;
  /// Euler / Heun on a module that is not affine: the frozen-source step (source_step.hpp) or the
  /// plain step in lambda. Affine modules and RK45 ignore it; so does BirthDeath::reweight.
  Stepping stepping = Stepping::source;
  /// Euler: number of steps (= NFE). Heun: NFE = 2 steps - 1, odd (EDM's 35 = 18 steps).
  /// Ignored by RK45, which adapts.
  int nfe = 35;
  double rho = 7.0;         ///< EDM schedule exponent
  double sigma_min = 0.0;   ///< <= 0: process.sigma_min()
  double sigma_max = 0.0;   ///< <= 0: process.sigma_max()
  Rk45Options rk45{};       ///< rtol / atol / evaluation budget for RK45
  BirthDeath birth_death = BirthDeath::ignore;
  Resampling resampling = Resampling::systematic;
  bool center_prior = true;  ///< prior drawn around the data mean (else around the origin)
  int batch_size = 256;      ///< rows per batched field evaluation (Euler / Heun)
  int keep_trajectories = 0; ///< record every step of the first k samples
  /// EDM's churn (Heun only; modules whose kernels form a semigroup, churn.hpp). Sample i draws
  /// its increments from churn_rng(seed, i), so its path still does not depend on n or batch_size.
  Churn churn{};
};

/// Every step of one sample's path: t[s] and the point x.row(s), starting at the prior.
struct Trajectory {
  std::vector<double> t;
  Eigen::MatrixXd x;
};

struct ExactSamples {
  Eigen::MatrixXd samples;  ///< n x dim; after resampling when reweighting
  /// Field evaluations per trajectory: exact for Euler / Heun; for RK45 the maximum over samples
  /// (the final Euler step to t = 0 included).
  int nfe = 0;
  double nfe_mean = 0.0;    ///< mean over samples (differs from nfe only for RK45)
  long field_calls = 0;     ///< batched field evaluations made
  double t_max = 0.0, t_min = 0.0;  ///< process.time(sigma_max), process.time(sigma_min)
  /// Reweight only (else empty): log w per trajectory before resampling, = -int_0^t_max R/p dt
  /// along it (on the solver's grid); ancestors[j] = the trajectory output sample j copies.
  Eigen::VectorXd log_weights;
  std::vector<int> ancestors;
  double ess = 0.0;         ///< effective sample size (sum w)^2 / sum w^2; n without weights
  std::vector<Trajectory> trajectories;  ///< first keep_trajectories samples, before resampling
};

/// EDM's schedule (n levels, exponent rho, then 0) laid out in the module's own step variable
/// between lambda(time(sigma_max)) and lambda(time(sigma_min)). For the self-similar kernels
/// lambda = sigma and this is EDM's sigma schedule; where lambda is not proportional to sigma
/// (screened Poisson: t = m sigma^2 at small t, so a fixed sigma ratio is its square in lambda) the
/// steps are spread evenly in the variable the paths are straight in. Shared by the exact and the
/// network samplers. Throws InputError for a bad range.
std::vector<double> step_schedule(const GenerativeProcess& process, int levels, double sigma_min, double sigma_max,
                                  double rho = 7.0);

/// The integration grid for Euler / Heun: step_schedule (n = nfe levels for Euler,
/// heun_steps_for_nfe(nfe) for Heun) mapped to the module's time by step_time, ending in an exact
/// 0. Throws InputError for NFE < 1, even Heun NFE, or a bad sigma range.
std::vector<double> exact_time_grid(const GenerativeProcess& process, const ExactSamplerOptions& opt);

/// n prior points: row i = process.sample_prior(sample_rng(seed, i), t_max) + centre.
Eigen::MatrixXd sample_prior_points(const GenerativeProcess& process, const Eigen::RowVectorXd& centre,
                                    int n, std::uint64_t seed, double t_max);

/// How far the prior the samplers start from is from the forward marginal of the data at t_max:
/// the sliced KS statistic (metrics::sliced_ks) between n prior draws around the data mean and n
/// draws y_(i mod K) + (kernel displacement at t_max), next to the same statistic between two
/// independent prior sets (the noise floor at this n). A gap near the floor means the module has
/// forgotten the data by t_max.
struct PriorGap {
  double sigma_max = 0.0, t_max = 0.0;
  double sliced_ks = 0.0;    ///< prior vs forward marginal
  double noise_floor = 0.0;  ///< prior vs an independent prior draw
  int n = 0;
};
PriorGap prior_gap(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n, std::uint64_t seed,
                   double sigma_max);

/// The prior from the module and the data: the smallest sigma_max at which the module's prior has
/// forgotten the data, by the module's own kernel. Walks down the ladder S 2^(-k/2) from the
/// module's S = process.sigma_max() (never below kForgetFloorFactor sigma_min) and stops at the
/// first sigma whose prior gap (kForgetDraws draws a side) exceeds kForgetMargin times the noise
/// floor measured at S; the choice is kForgetSafety times that sigma, capped at S (when nothing
/// fails down to the ladder's floor, the data are a point at this scale and the floor is the
/// choice). Measured on four points in 2D (README, "Priors from
/// the module"): every module's shares at Heun 35 stay within 4 standard errors of 1/4 at the
/// choice, and at 9 and 17 NFE they are much closer than at EDM's 80.
inline constexpr int kForgetDraws = 4000;
inline constexpr double kForgetMargin = 1.25, kForgetSafety = 2.0, kForgetFloorFactor = 100.0;
struct ForgettingChoice {
  double sigma_max = 0.0;
  double failed_at = 0.0;  ///< the largest sigma on the ladder whose gap exceeded the margin (0: none)
  double forgotten_to = 0.0;  ///< the smallest sigma on the ladder whose gap (and every larger one's) passed
  PriorGap gap;            ///< at the choice
  double noise_floor = 0.0;  ///< at S, the reference
  int probes = 0;
};
ForgettingChoice forgetting_sigma_max(const GenerativeProcess& process, const Eigen::MatrixXd& data,
                                      std::uint64_t seed);

/// Draws n samples from the exact field of `data`. Sample i starts from its own stream
/// sample_rng(seed, i) and its path does not depend on n or batch_size (RK45 adapts per sample).
/// The ODE runs from t_max = time(sigma_max) to t_min = time(sigma_min) and a final Euler step to
/// t = 0 (for Euler / Heun the last step of the grid). The solvers step in the module's own
/// variable lambda = process.step_variable(t) (sigma for diffusion, PFGM++ and fractional
/// diffusion: EDM's own steps; t/sqrt(1 + m t) for screened Poisson), in which each source's path
/// is (near) a straight line; the grid points are the same times either way. RK45 adapts its
/// steps in log lambda (as the original PFGM sampler in log z). Fields that are not affine
/// (screened Poisson, mixed diffusion-Poisson, Helmholtz, the dissipative wave) average
/// per-source velocities. Throws InputError for bad options.
ExactSamples sample_exact(const GenerativeProcess& process, const Eigen::MatrixXd& data, int n,
                          std::uint64_t seed, const ExactSamplerOptions& opt = {});
/// The same on a prepared field (its evaluation counter sees every call).
ExactSamples sample_exact(const EmpiricalField& field, int n, std::uint64_t seed,
                          const ExactSamplerOptions& opt = {});

/// Integrates given starting points x0 (rows, at t_max) instead of prior draws; `seed` is used only
/// for resampling.
ExactSamples integrate_exact(const EmpiricalField& field, const Eigen::MatrixXd& x0, std::uint64_t seed,
                             const ExactSamplerOptions& opt = {});

/// Scaled RMS error for integrate_rk45 over Eigen states (scipy's rule): sqrt(mean((err /
/// (atol + rtol max(|x0|, |x1|)))^2)) over the first `cols` columns (all when cols < 0).
double rk45_error_norm(const Eigen::MatrixXd& err, const Eigen::MatrixXd& x0, const Eigen::MatrixXd& x1,
                       double rtol, double atol, Eigen::Index cols = -1);

}  // namespace genphys
