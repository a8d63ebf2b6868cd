#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "genphys/empirical.hpp"
#include "genphys/generative.hpp"
#include "genphys/kernels.hpp"

using namespace genphys;

namespace {

// A 2D process whose kernel functions throw beyond r = 1, as a special function does outside its
// range: the field's parallel loops must hand the exception to the caller, not end the process.
class ThrowingProcess : public GenerativeProcess {
 public:
  explicit ThrowingProcess(bool affine) : affine_(affine) {}
  int dim() const override { return 2; }
  double sigma(double t) const override { return t; }
  double time(double sigma) const override { return sigma; }
  void sample_displacement(Rng&, double, double* out) const override { out[0] = out[1] = 0; }
  double sample_radius(Rng&, double) const override { return 0; }
  double log_kernel(double r, double) const override { return affine_ ? check(r, -r * r) : -r * r; }
  double radial_cdf(double, double) const override { return 0; }
  bool affine_velocity() const override { return affine_; }
  double velocity_scale(double) const override { return 1; }
  double source_radial_speed(double r, double) const override { return check(r, r); }
  bool has_birth_death() const override { return true; }
  double birth_death_ratio(double r, double) const override { return check(r, 0.0); }

 private:
  static double check(double r, double value) {
    if (r > 1) throw std::domain_error("r out of range");
    return value;
  }
  bool affine_;
};

}  // namespace

TEST_CASE("EmpiricalField: an exception inside its parallel loops reaches the caller") {
  Eigen::MatrixXd data(3, 2);
  data << 0, 0, 0.1, 0, 0, 0.1;
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(64, 2);
  x(40, 0) = 5;  // one row far out: r > 1 throws there
  for (const bool affine : {true, false}) {
    const ThrowingProcess process(affine);
    const EmpiricalField field(process, data);
    CHECK_THROWS_WITH(field.evaluate(x, 1.0, true), "r out of range");
    // Within range the same field evaluates.
    CHECK(field.posterior_weights(Eigen::MatrixXd::Zero(8, 2), 1.0).rowwise().sum().isApproxToConstant(1.0));
  }
}

TEST_CASE("EmpiricalField: the BLAS products equal the sums they stand for, in every row block") {
  // Rows 1 (one call), 63 (below the split) and 200 (split over the threads, unevenly).
  const int n = 37, dim = 5;
  const Eigen::MatrixXd data = Eigen::MatrixXd::Random(n, dim);
  for (const bool affine : {true, false}) {
    const auto process = affine ? make_diffusion_process(dim) : make_yukawa_process(dim, 1.0);
    const EmpiricalField field(*process, data);
    for (const int rows : {1, 63, 200}) {
      const Eigen::MatrixXd x = 1.5 * Eigen::MatrixXd::Random(rows, dim);
      const double t = process->time(0.7);
      const Eigen::MatrixXd w = field.posterior_weights(x, t);
      const Eigen::MatrixXd mean = field.posterior_mean(x, t), v = field.velocity(x, t);
      double worst_w = 0, worst_mean = 0, worst_v = 0;
      for (int i = 0; i < rows; ++i) {
        // The weights again from the kernel at directly computed distances.
        Eigen::VectorXd logq(n);
        for (int j = 0; j < n; ++j) logq(j) = process->log_kernel((x.row(i) - data.row(j)).norm(), t);
        const Eigen::VectorXd wi = (logq.array() - logq.maxCoeff()).exp().matrix();
        const Eigen::VectorXd wn = wi / wi.sum();
        Eigen::RowVectorXd m = Eigen::RowVectorXd::Zero(dim), vi = Eigen::RowVectorXd::Zero(dim);
        for (int j = 0; j < n; ++j) {
          m += wn(j) * data.row(j);
          const double r = (x.row(i) - data.row(j)).norm();
          vi += wn(j) * process->source_radial_speed(r, t) / r * (x.row(i) - data.row(j));
        }
        if (affine) vi = process->velocity_scale(t) * (x.row(i) - m);
        worst_w = std::max(worst_w, (w.row(i).transpose() - wn).cwiseAbs().maxCoeff());
        worst_mean = std::max(worst_mean, (mean.row(i) - m).cwiseAbs().maxCoeff());
        worst_v = std::max(worst_v, (v.row(i) - vi).cwiseAbs().maxCoeff() / std::max(1.0, vi.cwiseAbs().maxCoeff()));
      }
      INFO("affine " << affine << ", rows " << rows);
      CHECK(worst_w < 1e-12);
      CHECK(worst_mean < 1e-12);
      CHECK(worst_v < 1e-10);
    }
  }
}
