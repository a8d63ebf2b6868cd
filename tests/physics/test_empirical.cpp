#include <catch2/catch.hpp>

#include <stdexcept>

#include "genphys/empirical.hpp"
#include "genphys/generative.hpp"

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
