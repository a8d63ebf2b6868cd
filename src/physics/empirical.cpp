#include "genphys/empirical.hpp"

#include <cmath>
#include <exception>
#include <limits>
#include <stdexcept>

#include <fmt/format.h>

#include "blas.hpp"
#include "genphys/errors.hpp"

namespace genphys {

namespace {
constexpr double kNegligibleWeight = 1e-30;

// An exception may not leave an OpenMP region (it would end the process): run() keeps the first
// one thrown by its loop bodies, and rethrow() raises it after the region.
class FirstException {
 public:
  template <class F>
  void run(F&& body) noexcept {
    try {
      body();
    } catch (...) {
#pragma omp critical(empirical_first_exception)
      if (!error_) error_ = std::current_exception();
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::exception_ptr error_;
};
}  // namespace

EmpiricalField::EmpiricalField(const GenerativeProcess& process, Eigen::MatrixXd data)
    : process_(process), data_(std::move(data)) {
  if (data_.rows() < 1) throw InputError("empirical field needs at least one data point");
  if (data_.cols() != process_.dim())
    throw InputError(fmt::format("data has {} columns but the process has dimension {}", data_.cols(),
                                 process_.dim()));
  if (!data_.allFinite()) throw InputError("data contain NaN or infinite values");
  data_sq_norm_ = data_.rowwise().squaredNorm();
}

void EmpiricalField::check_query(const Eigen::MatrixXd& x, double t) const {
  if (x.cols() != data_.cols())
    throw InputError(fmt::format("query points have {} columns, the data {}", x.cols(), data_.cols()));
  if (!(t > 0) || !std::isfinite(t)) throw InputError(fmt::format("field time must be finite and > 0, got {}", t));
}

EmpiricalField::RowMatrix EmpiricalField::distances(const Eigen::MatrixXd& x) const {
  // The matrix product keeps this O(rows * size * dim) at BLAS speed; cancellation near a data
  // point costs ~1e-16 |x|^2 absolute in r^2, far below the kernel widths used (sigma >= 1e-3).
  RowMatrix sq = detail::times_transpose(x, data_, -2.0);
  const Eigen::VectorXd x_sq = x.rowwise().squaredNorm();
#pragma omp parallel for schedule(static) if (sq.rows() > 1)
  for (Eigen::Index i = 0; i < sq.rows(); ++i)
    for (Eigen::Index j = 0; j < sq.cols(); ++j)
      sq(i, j) = std::sqrt(std::max(0.0, sq(i, j) + x_sq(i) + data_sq_norm_(j)));
  return sq;
}

EmpiricalField::RowMatrix EmpiricalField::weights_from_distances(const RowMatrix& r, double t) const {
  RowMatrix w(r.rows(), r.cols());
  const Eigen::Index n = r.cols();
  // Rows are independent (one row, as in per-sample RK45, runs without waking the threads); an
  // exception may not leave an OpenMP region, so the first bad value (or exception) is
  // recorded and thrown after it.
  double bad_r = 0;
  int bad = 0;  // 1: a NaN log-kernel at bad_r, 2: +inf
  FirstException error;
#pragma omp parallel for schedule(static) if (r.rows() > 1)
  for (Eigen::Index i = 0; i < r.rows(); ++i) error.run([&] {
    double* wi = w.row(i).data();
    const double* ri = r.row(i).data();
    double max_log = -std::numeric_limits<double>::infinity();
    bool nan = false;
    for (Eigen::Index j = 0; j < n; ++j) {
      const double l = process_.log_kernel(ri[j], t);
      if (std::isnan(l)) {
        nan = true;
#pragma omp critical(empirical_bad)
        if (!bad) bad = 1, bad_r = ri[j];
        break;
      }
      wi[j] = l;
      max_log = std::max(max_log, l);
    }
    if (nan) return;
    if (max_log == -std::numeric_limits<double>::infinity()) {
      // No data point within the kernel's support: fall back on the nearest one.
      Eigen::Index nearest = 0;
      for (Eigen::Index j = 1; j < n; ++j)
        if (ri[j] < ri[nearest]) nearest = j;
      for (Eigen::Index j = 0; j < n; ++j) wi[j] = j == nearest ? 1.0 : 0.0;
      return;
    }
    if (max_log == std::numeric_limits<double>::infinity()) {
#pragma omp critical(empirical_bad)
      if (!bad) bad = 2;
      return;
    }
    double sum = 0.0;
    for (Eigen::Index j = 0; j < n; ++j) {
      wi[j] = std::exp(wi[j] - max_log);
      sum += wi[j];
    }
    const double inv = 1.0 / sum;  // sum >= 1: the maximum contributes exp(0)
    for (Eigen::Index j = 0; j < n; ++j) wi[j] *= inv;
  });
  error.rethrow();
  if (bad == 1) throw std::runtime_error(fmt::format("log_kernel({}, {}) is NaN", bad_r, t));
  if (bad == 2) throw std::runtime_error(fmt::format("log_kernel is +inf at t = {}", t));
  return w;
}

Eigen::MatrixXd EmpiricalField::posterior_weights(const Eigen::MatrixXd& x, double t) const {
  check_query(x, t);
  return weights_from_distances(distances(x), t);
}

Eigen::MatrixXd EmpiricalField::posterior_mean(const Eigen::MatrixXd& x, double t) const {
  check_query(x, t);
  return detail::times(weights_from_distances(distances(x), t), data_);
}

Eigen::MatrixXd EmpiricalField::velocity(const Eigen::MatrixXd& x, double t) const {
  return evaluate(x, t, false).velocity;
}

Eigen::VectorXd EmpiricalField::birth_death_ratio(const Eigen::MatrixXd& x, double t) const {
  check_query(x, t);
  if (!process_.has_birth_death()) return Eigen::VectorXd::Zero(x.rows());
  const RowMatrix r = distances(x);
  return ratio_from_weights(r, weights_from_distances(r, t), t);
}

Eigen::VectorXd EmpiricalField::ratio_from_weights(const RowMatrix& r, const RowMatrix& w, double t) const {
  Eigen::VectorXd out = Eigen::VectorXd::Zero(r.rows());
  FirstException error;
#pragma omp parallel for schedule(static) if (r.rows() > 1)
  for (Eigen::Index i = 0; i < r.rows(); ++i) error.run([&] {
    double sum = 0.0;
    for (Eigen::Index j = 0; j < r.cols(); ++j)
      if (w(i, j) > kNegligibleWeight) sum += w(i, j) * process_.birth_death_ratio(r(i, j), t);
    out(i) = sum;
  });
  error.rethrow();
  return out;
}

EmpiricalField::Evaluation EmpiricalField::evaluate(const Eigen::MatrixXd& x, double t, bool with_ratio) const {
  check_query(x, t);
  ++evaluations_;
  const RowMatrix r = distances(x);
  const RowMatrix w = weights_from_distances(r, t);
  Evaluation out;
  if (process_.affine_velocity()) {
    out.velocity = process_.velocity_scale(t) * (x - detail::times(w, data_));
  } else {
    // The posterior average of each source's own velocity speed(r)/r (x - y_j).
    RowMatrix c = RowMatrix::Zero(r.rows(), r.cols());
    FirstException error;
#pragma omp parallel for schedule(static) if (r.rows() > 1)
    for (Eigen::Index i = 0; i < r.rows(); ++i) error.run([&] {
      for (Eigen::Index j = 0; j < r.cols(); ++j)
        if (w(i, j) > kNegligibleWeight && r(i, j) > 0)
          c(i, j) = w(i, j) * process_.source_radial_speed(r(i, j), t) / r(i, j);
    });
    error.rethrow();
    out.velocity = c.rowwise().sum().asDiagonal() * x - detail::times(c, data_);
  }
  if (with_ratio && process_.has_birth_death()) out.ratio = ratio_from_weights(r, w, t);
  return out;
}

}  // namespace genphys
