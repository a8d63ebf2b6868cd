#include "genphys/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <Eigen/Eigenvalues>
#include <fmt/format.h>

#include "genphys/errors.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

namespace genphys::metrics {

MomentAccumulator::MomentAccumulator(int dim)
    : dim_(dim), shift_(Eigen::VectorXd::Zero(dim)), sum_(Eigen::VectorXd::Zero(dim)),
      outer_(Eigen::MatrixXd::Zero(dim, dim)) {
  if (dim < 1) throw InputError("moment accumulator needs dimension >= 1");
}

void MomentAccumulator::add(const float* rows, std::int64_t count) {
  if (count <= 0) return;
  using RowMajorF = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  add_centred(Eigen::Map<const RowMajorF>(rows, count, dim_).cast<double>());
}

void MomentAccumulator::add(const double* rows, std::int64_t count) {
  if (count <= 0) return;
  using RowMajorD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  add_centred(Eigen::Map<const RowMajorD>(rows, count, dim_));
}

void MomentAccumulator::add_centred(const Eigen::MatrixXd& rows) {
  if (count_ == 0) shift_ = rows.row(0).transpose();
  const Eigen::MatrixXd centred = rows.rowwise() - shift_.transpose();
  sum_ += centred.colwise().sum().transpose();
  outer_.selfadjointView<Eigen::Lower>().rankUpdate(centred.transpose());
  count_ += rows.rows();
}

Moments MomentAccumulator::moments() const {
  if (count_ < 2) throw InputError(fmt::format("moments need at least 2 samples, got {}", count_));
  const double n = double(count_);
  const Eigen::VectorXd mean_shifted = sum_ / n;
  Moments m;
  m.count = count_;
  m.mean = shift_ + mean_shifted;
  const Eigen::MatrixXd outer = outer_.selfadjointView<Eigen::Lower>();
  m.cov = (outer - n * mean_shifted * mean_shifted.transpose()) / (n - 1.0);
  return m;
}

Moments moments_of(const Eigen::MatrixXd& x) {
  MomentAccumulator acc(int(x.cols()));
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = x;
  acc.add(rows.data(), rows.rows());
  return acc.moments();
}

Eigen::MatrixXd sqrt_psd(const Eigen::MatrixXd& m) {
  const Eigen::MatrixXd sym = 0.5 * (m + m.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sym);
  const Eigen::VectorXd roots = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt();
  return eig.eigenvectors() * roots.asDiagonal() * eig.eigenvectors().transpose();
}

double frechet_distance(const Moments& a, const Moments& b) {
  if (a.mean.size() != b.mean.size() || a.cov.rows() != a.mean.size() || b.cov.rows() != b.mean.size())
    throw InputError(fmt::format("Fréchet distance between features of dimension {} and {}", a.mean.size(),
                                 b.mean.size()));
  const Eigen::MatrixXd root_a = sqrt_psd(a.cov);
  const Eigen::MatrixXd inner = root_a * b.cov * root_a;
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(0.5 * (inner + inner.transpose()), Eigen::EigenvaluesOnly);
  const double trace_root = eig.eigenvalues().cwiseMax(0.0).cwiseSqrt().sum();
  const double fd = (a.mean - b.mean).squaredNorm() + a.cov.trace() + b.cov.trace() - 2.0 * trace_root;
  return std::max(fd, 0.0);
}

double frechet_distance_bootstrap_se(const Eigen::MatrixXd& x, const Moments& reference, int resamples,
                                     std::uint64_t seed) {
  const Eigen::Index n = x.rows(), dim = x.cols();
  if (n < 2) throw InputError("bootstrap of the Fréchet distance needs at least 2 rows");
  if (resamples < 2) throw InputError(fmt::format("bootstrap of the Fréchet distance needs >= 2 resamples, got {}", resamples));
  if (reference.mean.size() != dim || reference.cov.rows() != dim)
    throw InputError(fmt::format("Fréchet distance between features of dimension {} and {}", dim, reference.mean.size()));
  std::vector<double> fds(std::size_t(resamples), 0.0);
#pragma omp parallel for schedule(static)
  for (int k = 0; k < resamples; ++k) {
    Rng rng = sample_rng(seed, std::uint64_t(k));
    Eigen::VectorXd counts = Eigen::VectorXd::Zero(n);  // multiplicities of the rows drawn
    for (Eigen::Index i = 0; i < n; ++i) counts(Eigen::Index(rng() % std::uint64_t(n))) += 1.0;
    Moments drawn;
    drawn.mean = (counts.transpose() * x).transpose() / double(n);
    const Eigen::MatrixXd centred = x.rowwise() - drawn.mean.transpose();
    drawn.cov = (centred.transpose() * counts.asDiagonal() * centred) / double(n - 1);
    drawn.count = n;
    fds[std::size_t(k)] = frechet_distance(drawn, reference);
  }
  double mean_fd = 0.0;
  for (double v : fds) mean_fd += v / resamples;
  double var = 0.0;
  for (double v : fds) var += (v - mean_fd) * (v - mean_fd) / (resamples - 1);
  return std::sqrt(var);
}

Eigen::MatrixXd random_directions(int dim, int count, std::uint64_t seed) {
  Eigen::MatrixXd dirs(count, dim);
  for (int k = 0; k < count; ++k) {
    Rng rng = sample_rng(seed, std::uint64_t(k));
    double norm = 0.0;
    do {
      for (int j = 0; j < dim; ++j) dirs(k, j) = standard_normal(rng);
      norm = dirs.row(k).norm();
    } while (norm == 0.0);
    dirs.row(k) /= norm;
  }
  return dirs;
}

double wasserstein2_squared_1d(std::vector<double> a, std::vector<double> b) {
  if (a.empty() || b.empty()) throw InputError("1D Wasserstein distance of an empty set");
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  // Quantile levels in units of 1/(n m): a's breakpoints are (i+1) m, b's are (j+1) n.
  const std::int64_t n = std::int64_t(a.size()), m = std::int64_t(b.size());
  std::int64_t i = 0, j = 0, level = 0;
  double total = 0.0;
  while (i < n && j < m) {
    const std::int64_t next_a = (i + 1) * m, next_b = (j + 1) * n, next = std::min(next_a, next_b);
    const double diff = a[std::size_t(i)] - b[std::size_t(j)];
    total += double(next - level) * diff * diff;
    level = next;
    if (next_a == next) ++i;
    if (next_b == next) ++j;
  }
  return total / (double(n) * double(m));
}

namespace {

// Both sets projected on `projections` random directions (columns), after the checks shared by
// the sliced statistics.
std::pair<Eigen::MatrixXd, Eigen::MatrixXd> project(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, int projections,
                                                    std::uint64_t seed, const char* what) {
  if (a.rows() == 0 || b.rows() == 0) throw InputError(fmt::format("{} of an empty set", what));
  if (a.cols() != b.cols()) throw InputError(fmt::format("{} between {}D and {}D points", what, a.cols(), b.cols()));
  if (projections < 1) throw InputError(fmt::format("{} needs at least one projection", what));
  const Eigen::MatrixXd dirs = random_directions(int(a.cols()), projections, seed);
  return {a * dirs.transpose(), b * dirs.transpose()};
}

}  // namespace

double sliced_wasserstein(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, int projections, std::uint64_t seed) {
  const auto [pa, pb] = project(a, b, projections, seed, "sliced Wasserstein distance");
  double total = 0.0;
  for (int k = 0; k < projections; ++k) {
    std::vector<double> va(pa.col(k).data(), pa.col(k).data() + pa.rows());
    std::vector<double> vb(pb.col(k).data(), pb.col(k).data() + pb.rows());
    total += wasserstein2_squared_1d(std::move(va), std::move(vb));
  }
  return std::sqrt(total / projections);
}

double sliced_ks(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, int projections, std::uint64_t seed) {
  if (projections < 1) throw InputError("sliced KS statistic needs at least one projection");
  if (a.cols() != b.cols()) throw InputError(fmt::format("sliced KS statistic between {}D and {}D points", a.cols(), b.cols()));
  return sliced_ks_along(a, b, random_directions(int(a.cols()), projections, seed));
}

Eigen::MatrixXd principal_axes(const Eigen::MatrixXd& data, int count) {
  if (data.rows() < 2) throw InputError("principal axes of fewer than 2 points");
  const Eigen::MatrixXd centred = data.rowwise() - data.colwise().mean();
  const Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(centred.transpose() * centred);
  const Eigen::Index keep = std::min<Eigen::Index>(count, data.cols());
  // Eigenvalues come in increasing order: the last columns are the largest.
  return eig.eigenvectors().rightCols(keep).rowwise().reverse().transpose();
}

double sliced_ks_along(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const Eigen::MatrixXd& directions) {
  if (a.rows() == 0 || b.rows() == 0) throw InputError("sliced KS statistic of an empty set");
  if (a.cols() != b.cols() || directions.cols() != a.cols())
    throw InputError(fmt::format("sliced KS statistic between {}D and {}D points", a.cols(), b.cols()));
  const Eigen::MatrixXd pa = a * directions.transpose(), pb = b * directions.transpose();
  const Eigen::Index projections = directions.rows();
  double worst = 0.0;
  for (Eigen::Index k = 0; k < projections; ++k) {
    std::vector<double> va(pa.col(k).data(), pa.col(k).data() + pa.rows());
    std::vector<double> vb(pb.col(k).data(), pb.col(k).data() + pb.rows());
    std::sort(va.begin(), va.end());
    std::sort(vb.begin(), vb.end());
    std::size_t i = 0, j = 0;
    while (i < va.size() && j < vb.size()) {
      const double x = std::min(va[i], vb[j]);
      while (i < va.size() && va[i] == x) ++i;
      while (j < vb.size() && vb[j] == x) ++j;
      worst = std::max(worst, std::fabs(double(i) / double(va.size()) - double(j) / double(vb.size())));
    }
  }
  return worst;
}

namespace {

// Rows of a and b stacked, at most `limit` of them, evenly spaced over the stack.
Eigen::MatrixXd pooled_subset(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, Eigen::Index limit) {
  const Eigen::Index total = a.rows() + b.rows(), keep = std::min(total, limit);
  Eigen::MatrixXd out(keep, a.cols());
  for (Eigen::Index k = 0; k < keep; ++k) {
    const Eigen::Index r = Eigen::Index(double(k) * double(total) / double(keep));
    out.row(k) = r < a.rows() ? a.row(r) : b.row(r - a.rows());
  }
  return out;
}

// Sum of k(x_i, y_j) over all pairs; excluding the diagonal when x and y are the same set.
double kernel_sum(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double inv_two_h2, bool same) {
  const Eigen::VectorXd xn = x.rowwise().squaredNorm(), yn = y.rowwise().squaredNorm();
  const Eigen::Index chunk = 512;
  double total = 0.0;
  for (Eigen::Index r0 = 0; r0 < x.rows(); r0 += chunk) {
    const Eigen::Index rows = std::min(chunk, x.rows() - r0);
    Eigen::MatrixXd d2 = -2.0 * x.middleRows(r0, rows) * y.transpose();
    d2.colwise() += xn.segment(r0, rows);
    d2.rowwise() += yn.transpose();
    for (Eigen::Index i = 0; i < rows; ++i)
      for (Eigen::Index j = 0; j < y.rows(); ++j)
        if (!(same && r0 + i == j)) total += std::exp(-std::max(d2(i, j), 0.0) * inv_two_h2);
  }
  return total;
}

}  // namespace

double median_distance(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  const Eigen::MatrixXd pool = pooled_subset(a, b, 2000);
  std::vector<double> d;
  d.reserve(std::size_t(pool.rows() * (pool.rows() - 1) / 2));
  for (Eigen::Index i = 0; i < pool.rows(); ++i)
    for (Eigen::Index j = i + 1; j < pool.rows(); ++j) d.push_back((pool.row(i) - pool.row(j)).norm());
  if (d.empty()) throw InputError("median distance needs at least 2 points");
  const auto mid = d.begin() + std::ptrdiff_t(d.size() / 2);
  std::nth_element(d.begin(), mid, d.end());
  return *mid;
}

double mmd_squared(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, double bandwidth) {
  if (a.rows() < 2 || b.rows() < 2)
    throw InputError(fmt::format("MMD needs at least 2 points per set (got {} and {})", a.rows(), b.rows()));
  if (a.cols() != b.cols()) throw InputError(fmt::format("MMD between {}D and {}D points", a.cols(), b.cols()));
  const double h = bandwidth > 0 ? bandwidth : median_distance(a, b);
  if (!(h > 0) || !std::isfinite(h)) throw InputError("MMD bandwidth is zero: all points coincide");
  const double g = 1.0 / (2.0 * h * h);
  const double n = double(a.rows()), m = double(b.rows());
  return kernel_sum(a, a, g, true) / (n * (n - 1)) + kernel_sum(b, b, g, true) / (m * (m - 1)) -
         2.0 * kernel_sum(a, b, g, false) / (n * m);
}

}  // namespace genphys::metrics
