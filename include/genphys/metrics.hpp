#pragma once
// Sample-quality metrics: distances between a generated and a reference set. No LibTorch here.
//
// - Fréchet distance between Gaussians fitted to feature vectors (FD; FID with Inception
//   features, here with the features of a classifier trained by the toolkit).
// - Sliced Wasserstein-2 distance between point sets (random projections, exact 1D W2).
// - Squared maximum mean discrepancy with an RBF kernel (unbiased estimator).

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

namespace genphys::metrics {

/// Mean and covariance of a set of feature vectors, in double.
struct Moments {
  Eigen::VectorXd mean;
  Eigen::MatrixXd cov;  ///< unbiased (divides by count - 1)
  std::int64_t count = 0;
};

/// Accumulates Moments from rows given in batches (float or double), summing in double. Sums are
/// taken about the first row seen, so large common offsets do not cancel catastrophically.
class MomentAccumulator {
 public:
  explicit MomentAccumulator(int dim);
  /// `rows` is `count` x dim, row-major.
  void add(const float* rows, std::int64_t count);
  void add(const double* rows, std::int64_t count);
  /// Throws InputError with fewer than 2 rows.
  Moments moments() const;
  std::int64_t count() const { return count_; }
  int dim() const { return dim_; }

 private:
  void add_centred(const Eigen::MatrixXd& rows);
  int dim_;
  std::int64_t count_ = 0;
  Eigen::VectorXd shift_, sum_;
  Eigen::MatrixXd outer_;
};

/// Moments of the rows of `x`.
Moments moments_of(const Eigen::MatrixXd& x);

/// Square root of a symmetric positive semi-definite matrix by the symmetric eigensolver
/// (eigenvalues below zero from rounding are clamped to zero).
Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m);

/// Fréchet (2-Wasserstein) distance squared between N(m1, C1) and N(m2, C2):
///   |m1 - m2|^2 + tr(C1) + tr(C2) - 2 tr sqrt(sqrt(C1) C2 sqrt(C1)).
/// The inner matrix is symmetric, so both roots come from the symmetric eigensolver. Clamped at 0.
/// Throws InputError for mismatched dimensions.
double frechet_distance(const Moments& a, const Moments& b);

/// Bootstrap standard error of frechet_distance(moments of the rows of `x`, reference): the
/// standard deviation of the distance over `resamples` sets of x's rows drawn with replacement
/// (stream k of `seed` draws set k), with the reference held fixed. It is the spread another sample
/// set of the same size would show, not what another training run would. Throws InputError for
/// fewer than 2 rows, mismatched dimensions or resamples < 2.
double frechet_distance_bootstrap_se(const Eigen::MatrixXd& x, const Moments& reference, int resamples = 100,
                                     std::uint64_t seed = 0);

/// `count` directions uniform on the unit sphere in `dim` dimensions (rows), from `seed`.
Eigen::MatrixXd random_directions(int dim, int count, std::uint64_t seed);

/// Exact W2 squared between the empirical measures of two 1D samples of any sizes (n, m >= 1):
/// the integral over u in (0, 1) of (F^-1(u) - G^-1(u))^2 with both quantile functions piecewise
/// constant, evaluated on the merged breakpoints i/n and j/m. Sorts its arguments.
double wasserstein2_squared_1d(std::vector<double> a, std::vector<double> b);

/// Sliced Wasserstein-2: sqrt of the mean over `projections` random directions (random_directions
/// with `seed`) of the exact 1D W2^2 of the projected sets. Rows are points; the sets may differ
/// in size. Throws InputError for empty sets, mismatched dimensions or projections < 1.
double sliced_wasserstein(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, int projections = 256,
                          std::uint64_t seed = 0);

/// Sliced Kolmogorov-Smirnov: the largest over `projections` random directions of the two-sample
/// KS statistic of the projected sets, in [0, 1]. Unlike W2 it stays finite for heavy-tailed
/// sets (PFGM's prior has no second moment). Same errors as sliced_wasserstein.
double sliced_ks(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, int projections = 64, std::uint64_t seed = 0);
/// The same statistic along given directions (rows of `directions`, unit length).
double sliced_ks_along(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const Eigen::MatrixXd& directions);

/// The `count` principal axes of the rows of `data` (unit rows, the largest variance first; at
/// most min(count, columns) of them).
Eigen::MatrixXd principal_axes(const Eigen::MatrixXd& data, int count);

/// The median heuristic: the median Euclidean distance between distinct points of a and b pooled
/// (at most 2000 pooled points, taken evenly spaced, so the cost stays bounded).
double median_distance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b);

/// Unbiased squared MMD with k(x, y) = exp(-|x - y|^2 / (2 h^2)): the within-set means exclude
/// the diagonal. h <= 0 takes the median heuristic. May be slightly negative when the sets come
/// from one distribution. Needs at least 2 points per set; throws InputError otherwise.
double mmd_squared(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double bandwidth = 0.0);

}  // namespace genphys::metrics
