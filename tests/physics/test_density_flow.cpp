// The density flow of many sources: dp/dt + div(p v) - R = 0 by finite differences, and the
// posterior-mean form of v in N = 784 (log-space sums that do not overflow).
#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "genphys/density_flow.hpp"
#include "genphys/pde.hpp"

using namespace genphys;

namespace {

// Five-point central first derivative.
double d1(const std::function<double(double)>& f, double x, double h) {
  return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h);
}

// |dp/dt + div J - R| / (|dp/dt| + sum |d_j J_j| + |R|) at (x, t), J = p v.
double flow_residual(const PdeModule& m, const Eigen::MatrixXd& y, const Eigen::VectorXd& x, double t) {
  const double ht = 1e-3 * t, hx = 1e-3;
  const double dpdt = d1([&](double tt) { return density_flow(m, y, x, tt).p.value(); }, t, ht);
  double div = 0, scale = std::fabs(dpdt);
  for (int j = 0; j < x.size(); ++j) {
    auto flux_j = [&](double xj) {
      Eigen::VectorXd z = x;
      z(j) = xj;
      return density_flow(m, y, z, t).flux[j].value();
    };
    const double term = d1(flux_j, x(j), hx);
    div += term;
    scale += std::fabs(term);
  }
  const double rate = density_flow(m, y, x, t).rate.value();
  scale += std::fabs(rate);
  return std::fabs(dpdt + div - rate) / scale;
}

}  // namespace

TEST_CASE("density flows of 3-5 random sources satisfy dp/dt + div(p v) - R = 0 (relative 1e-6)") {
  // Five-point differences with h = 1e-3: truncation ~1e-11, rounding ~1e-12 relative.
  struct Case {
    std::string pde;
    ParamValues params;
  };
  const std::vector<Case> cases = {{"diffusion", {}},
                                   {"poisson", {{"D", 1}}},
                                   {"poisson", {{"D", 3}}},
                                   {"screened-poisson", {{"m", 0.8}}},
                                   // k0 rho < 1.2 here, inside the positive region (first zero >= 2.8)
                                   {"helmholtz", {{"k0", 0.3}}},
                                   // numerical flows (radial transforms in N and N + 2)
                                   {"mixed-diffusion-poisson", {{"a", 1}, {"b", 2}}},
                                   {"biharmonic", {}},
                                   // inside every light cone: t > max |x - y_i|
                                   {"dissipative-wave", {{"eps", 0.7}}}};
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (const auto& c : cases) {
    const auto m = make_module(c.pde, c.params);
    for (int dim : {2, 3})
      for (int trial = 0; trial < 2; ++trial) {
        const int k = 3 + trial * 2;
        Eigen::MatrixXd y(k, dim);
        for (int i = 0; i < k; ++i)
          for (int j = 0; j < dim; ++j) y(i, j) = 0.8 * u(rng);
        Eigen::VectorXd x(dim);
        for (int j = 0; j < dim; ++j) x(j) = 0.6 * u(rng);
        const double t = c.pde == "dissipative-wave" ? 4.0 : trial == 0 ? 0.6 : 1.3;
        INFO(c.pde << " " << m->equation() << " N = " << dim << " sources = " << k << " t = " << t);
        CHECK(flow_residual(*m, y, x, t) < 1e-6);
        // v = J / p
        const auto f = density_flow(*m, y, x, t);
        for (int j = 0; j < dim; ++j) CHECK(f.v(j) * f.p.value() == Approx(f.flux[j].value()).epsilon(1e-12));
      }
  }
}

TEST_CASE("Poisson-family velocity is the posterior mean form (x - E[y|x,t])/t, stable in N = 784") {
  // physics.md section 4: each source's J_i / p_i = (x - y_i)/t (Poisson, PFGM++, Yukawa,
  // Helmholtz) or (x - y_i)/(2t) (diffusion), so v = (x - sum_i w_i y_i)/t with w_i ~ p_i.
  // In N = 784 the p_i are ~e^-1000 and differ by e^100s: the sums must stay in log space.
  const int dim = 784, k = 6;
  std::mt19937 rng(7);
  std::normal_distribution<double> g(0.0, 1.0);
  Eigen::MatrixXd y(k, dim);
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < dim; ++j) y(i, j) = g(rng);
  Eigen::VectorXd x = y.row(2).transpose();
  for (int j = 0; j < dim; ++j) x(j) += 0.05 * g(rng);
  struct Case {
    std::string pde;
    ParamValues params;
    double scale;  // v = (x - E[y]) * scale / t
  };
  for (const auto& c : std::vector<Case>{{"diffusion", {}, 0.5},
                                         {"poisson", {{"D", 1}}, 1.0},
                                         {"poisson", {{"D", 2048}}, 1.0},
                                         {"screened-poisson", {{"m", 1}}, 1.0}})
    for (double t : {0.5, 3.0, 40.0}) {
      const auto m = make_module(c.pde, c.params);
      INFO(c.pde << " t = " << t);
      const auto f = density_flow(*m, y, x, t);
      REQUIRE(f.p.sign == 1);
      CHECK(std::isfinite(f.p.log_abs));
      if (t == 0.5 && c.pde != "poisson") CHECK(std::fabs(f.p.log_abs) > 709.8);  // beyond double range
      std::vector<double> logp(k);
      for (int i = 0; i < k; ++i) logp[i] = m->point_flow((x - y.row(i).transpose()).norm(), t, dim).p.log_abs;
      const double lse = log_sum_exp(logp);
      Eigen::VectorXd mean = Eigen::VectorXd::Zero(dim);
      for (int i = 0; i < k; ++i) mean += std::exp(logp[i] - lse) * y.row(i).transpose();
      const Eigen::VectorXd expected = (x - mean) * c.scale / t;
      REQUIRE(f.v.allFinite());
      CHECK((f.v - expected).norm() <= 1e-9 * expected.norm());
      CHECK(f.p.log_abs == Approx(lse - std::log(k)).epsilon(1e-13));
      if (c.pde == "screened-poisson") CHECK(f.rate_over_p < 0);
    }
}

TEST_CASE("density_flow rejects mismatched input and reports v = NaN where p = 0") {
  const auto m = make_module("diffusion");
  Eigen::MatrixXd y = Eigen::MatrixXd::Zero(2, 3);
  CHECK_THROWS_AS(density_flow(*m, y, Eigen::VectorXd::Zero(2), 1.0), InputError);
  CHECK_THROWS_AS(density_flow(*m, y, Eigen::VectorXd::Zero(3), 1.0, Eigen::VectorXd::Ones(3)), InputError);
  CHECK_THROWS_AS(density_flow(*m, Eigen::MatrixXd(0, 3), Eigen::VectorXd::Zero(3), 1.0), InputError);
  CHECK_THROWS_AS(density_flow(*m, y, Eigen::VectorXd::Zero(3), -1.0), InputError);
  // Outside every light cone the dissipative wave has p = 0.
  const auto w = make_module("dissipative-wave");
  const auto f = density_flow(*w, y, Eigen::VectorXd::Constant(3, 5.0), 1.0);
  CHECK(f.p.sign == 0);
  CHECK(std::isnan(f.v(0)));
}
