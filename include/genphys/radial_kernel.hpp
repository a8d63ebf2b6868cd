#pragma once
// Exact samplers for radial perturbation kernels that have no scale-mixture representation
// (physics.md section 3, last paragraph): the radial CDF is tabulated per t in log space and
// inverted numerically.
//
// The radius R = |x - y| of a kernel q_t on R^N has density f(r) ~ r^(N-1) q_t(r); in s = log r
// the density is exp(g(s)), g(s) = N s + log q_t(e^s). g is evaluated only as a log (r^(N-1)
// overflows double for N in the thousands). RadialCdfTable scans g on a grid in s (step 0.05, plus
// geometric probes towards a finite support edge, where the Helmholtz mass sits in high N), keeps
// the window where g is within 50 of its maximum, fits exp(g - g_max) there by degree-20
// Chebyshev interpolants on adaptively bisected panels (until the tail coefficients are below
// 1e-12 of the panel's maximum, or their mass error below 1e-15 of the peak times the window's
// width, or they stop shrinking at the values' own rounding level), integrates them exactly, and inverts the cumulative by a safeguarded Newton
// iteration on the panel's polynomial (|delta log r| ~ 1e-13). A radius at a tabulated t costs
// no special-function evaluation.
//
// log_radial_density, quantile_radial_velocity and tail_matched_sigma_min work on any
// GenerativeProcess through its log_kernel and radial_cdf.
//
// RadialKernelProcess turns a kernel given as log q_t(r) up to normalisation on a support
// [0, r_max(t)] (plus, optionally, a point mass on the sphere r = r_max(t): a wave front) into a
// GenerativeProcess. Tables are cached for the few most recent t (prior sampling and tests call
// at one t many times; training draws a fresh t per sample and pays one table build each, unless
// the subclass tabulates over t once per process, as Helmholtz does).

#include <cmath>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "genphys/generative.hpp"

namespace genphys {

/// The distribution of s = log r with unnormalised log density g(s), as an exact piecewise-
/// polynomial CDF.
class RadialCdfTable {
 public:
  /// g: unnormalised log density of s (-inf where zero). The mass is searched for on a grid of
  /// [scan_lo, min(scan_hi, s_max)] (spacing <= 0.05) and the window kept is where g is within 50
  /// of the largest value seen, extended with growing steps when it touches scan_lo or (for
  /// s_max = +inf) scan_hi. s_max: the support's upper end (+inf when unbounded). Throws
  /// std::runtime_error when g has no finite value on the grid.
  RadialCdfTable(const std::function<double(double)>& g, double scan_lo, double scan_hi, double s_max);

  /// log of the integral of exp(g(s)) ds over the window (the mass outside is < e^-50 of it).
  double log_mass() const { return g_ref_ + std::log(total_); }
  /// P(S <= s).
  double cdf(double s) const;
  /// The s with P(S <= s) = u, u in [0, 1] (to |delta s| < 1e-13 against the tabulated CDF).
  double quantile(double u) const;
  /// The window [lo, hi] in s that carries the mass.
  double lo() const { return edges_.front(); }
  double hi() const { return edges_.back(); }
  std::size_t panels() const { return edges_.size() - 1; }
  /// Panel edges in s (panel p is [edges()[p], edges()[p + 1]]).
  const std::vector<double>& edges() const { return edges_; }
  /// Number of evaluations of g the build took.
  std::size_t evaluations() const { return evaluations_; }

  /// Chebyshev degree of the density on each panel.
  static constexpr int kDegree = 20;

 private:
  struct Panel {
    double a, b;
    std::vector<double> h;  // Chebyshev coefficients of exp(g - g_ref) on [a, b], degree kDegree
  };
  void fit(const std::function<double(double)>& g, double a, double b, int depth, double parent_tail,
           std::vector<Panel>& out);
  double local_cdf(std::size_t p, double x) const;  // mass in panel p from its left end to x in [-1, 1]
  double local_density(std::size_t p, double x) const;

  double g_ref_ = 0.0, total_ = 0.0;
  std::vector<double> edges_;  // panel p is [edges_[p], edges_[p + 1]]
  std::vector<double> cum_;    // mass before panel p; cum_.back() = total_
  std::vector<double> h_coef_, H_coef_;  // per panel: kDegree + 1 and kDegree + 2 coefficients
  static constexpr int kSub = 8;
  std::vector<double> H_sub_;  // per panel: the cumulative at kSub + 1 equispaced points (inversion brackets)
  std::size_t evaluations_ = 0;
  double max_seen_ = 0.0;  // largest g met while fitting
  double window_ = 0.0;    // width of the fitted window in s
};

/// A GenerativeProcess for a radial kernel given by its unnormalised log density on a support
/// [0, r_max(t)], with an optional point mass on the sphere r = r_max(t). Implements sampling,
/// the normalised log_kernel and radial_cdf; the subclass supplies the physics (sigma, time,
/// velocity, birth/death).
class RadialKernelProcess : public GenerativeProcess {
 public:
  explicit RadialKernelProcess(int dim, std::size_t cache_size = 8);

  int dim() const override { return n_; }
  void sample_displacement(Rng& rng, double t, double* out) const override;
  double sample_radius(Rng& rng, double t) const override;
  /// Normalised log density of the absolutely continuous part (mass 1 - edge_atom(t)); -inf
  /// outside the support. The atom on r = r_max(t), if any, is not a density and is left out.
  double log_kernel(double r, double t) const override;
  /// P(|x - y| <= r), including the atom at r_max(t).
  double radial_cdf(double r, double t) const override;

  /// log of the integral over R^N of exp(log_kernel_unnormalised(|x|, t)) d^N x (over the support).
  double log_unnormalised_mass(double t) const;
  /// The table at t (built or taken from the cache); nullptr when edge_atom(t) = 1.
  std::shared_ptr<const RadialCdfTable> table(double t) const;

 protected:
  /// Throws InputError when t is not a valid time for this kernel.
  virtual void check_time(double t) const;
  /// log q_t(r) up to a constant in r, for 0 <= r <= support_radius(t) (-inf where q = 0).
  virtual double log_kernel_unnormalised(double r, double t) const = 0;
  /// r_max(t); +inf for an unbounded support.
  virtual double support_radius(double t) const = 0;
  /// Radii [lo, hi] between which the mass is searched for (the window is extended beyond lo,
  /// and beyond hi for an unbounded support, when the density has not dropped there).
  virtual std::pair<double, double> scan_range(double t) const = 0;
  /// Probability of the point mass on the sphere r = support_radius(t) (default none).
  virtual double edge_atom(double t) const { return 0.0; }

  int n_;

 private:
  std::shared_ptr<const RadialCdfTable> build(double t) const;

  struct Entry {
    double t;
    std::shared_ptr<const RadialCdfTable> table;
    std::size_t stamp;
  };
  std::size_t cache_size_;
  mutable std::mutex mutex_;
  mutable std::vector<Entry> cache_;
  mutable std::size_t clock_ = 0;
};

/// log of the radial density of |x - y| at r: log(|S^(N-1)| r^(N-1) q_t(r)).
double log_radial_density(const GenerativeProcess& process, double r, double t);

/// The sigma at which the kernel's q-quantile radius equals that of a Gaussian of standard
/// deviation `gaussian_sigma` in the same N: the end of the sampling range for heavy-tailed
/// kernels. At EDM's sigma_min = 0.002 the PFGM (D = 1) kernel in N = 2 still puts 1% of its mass
/// beyond 100 sigma, so the marginal there has not concentrated on the data and the last step
/// (to E[y|x]) lands between points; matching the Gaussian's tail puts it at ~6e-5.
/// Never below kSigmaMinFloor.
inline constexpr double kSigmaMinFloor = 1e-6;
double tail_matched_sigma_min(const GenerativeProcess& process, double gaussian_sigma = 0.002, double q = 0.99);

/// Per-source radial speed dR/dt that keeps every radial quantile fixed,
/// -(d/dt F_t)(r) / f_t(r) (physics.md section 4); equals velocity_scale(t) * r for the
/// self-similar kernels. Numerical (finite differences of radial_cdf): trust it where
/// 1e-8 < F_t(r) < 1 - 1e-8.
double quantile_radial_velocity(const GenerativeProcess& process, double r, double t);

}  // namespace genphys
