// The generic subordination route: Laplace inversion of exp(-t f(s)) against closed-form laws, the
// Bernstein test, and f read off dispersion branches.
#include <catch2/catch.hpp>

#include <boost/math/special_functions/gamma.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

#include "genphys/check.hpp"
#include "genphys/custom_pde.hpp"
#include "genphys/pde.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"
#include "physics/subordinator.hpp"

using namespace genphys;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;

double normal_cdf(double z) { return 0.5 * std::erfc(-z / std::sqrt(2.0)); }

// A law with closed-form CDF and density, and its Laplace exponent.
struct ClosedLaw {
  const char* name;
  LaplaceExponent f;
  std::function<double(double, double)> cdf, log_pdf;
};

// E exp(-s A) = exp(-t (sqrt(s + m^2) - m)): A ~ IG(mean t/(2m), shape t^2/2).
ClosedLaw inverse_gaussian(double m) {
  ClosedLaw law{"inverse Gaussian", {[m](complex s) { return std::sqrt(s + m * m) - m; }, "sqrt(s + m^2) - m"}, {}, {}};
  law.cdf = [m](double a, double t) {
    const double mu = t / (2 * m), lam = 0.5 * t * t, sq = std::sqrt(lam / a);
    const double z1 = sq * (a / mu - 1.0), z2 = sq * (a / mu + 1.0);
    // e^(2 lam/mu) Phi(-z2) = phi(z1) M(z2), M(z) = Phi(-z)/phi(z) (Mills' ratio; e^(2 lam/mu)
    // alone overflows at m t > 350): erfc below z = 25, the asymptotic series beyond.
    double mills;
    if (z2 < 25.0) {
      mills = std::sqrt(0.5 * kPi) * std::exp(0.5 * z2 * z2) * std::erfc(z2 / std::sqrt(2.0));
    } else {
      double term = 1.0, sum = 1.0;
      for (int k = 1; k <= 8; ++k) sum += (term *= -(2.0 * k - 1.0) / (z2 * z2));
      mills = sum / z2;
    }
    return normal_cdf(z1) + std::exp(-0.5 * z1 * z1) / std::sqrt(2 * kPi) * mills;
  };
  law.log_pdf = [m](double a, double t) {
    const double mu = t / (2 * m), lam = 0.5 * t * t, d = a - mu;
    return 0.5 * std::log(lam / (2 * kPi)) - 1.5 * std::log(a) - lam * d * d / (2 * mu * mu * a);
  };
  return law;
}

// f = sqrt(s): the Levy law with c = t^2/2.
ClosedLaw levy() {
  ClosedLaw law{"Levy (stable 1/2)", {[](complex s) { return std::sqrt(s); }, "sqrt(s)"}, {}, {}};
  law.cdf = [](double a, double t) { return std::erfc(t / (2.0 * std::sqrt(a))); };
  law.log_pdf = [](double a, double t) { return std::log(t / (2.0 * std::sqrt(kPi))) - 1.5 * std::log(a) - t * t / (4 * a); };
  return law;
}

// f = log(1 + s): A_t ~ Gamma(shape t, rate 1).
ClosedLaw gamma_law() {
  ClosedLaw law{"gamma", {[](complex s) { return std::log(1.0 + s); }, "log(1 + s)"}, {}, {}};
  law.cdf = [](double a, double t) { return boost::math::gamma_p(t, a); };
  law.log_pdf = [](double a, double t) { return (t - 1) * std::log(a) - a - std::lgamma(t); };
  return law;
}

double closed_quantile(const ClosedLaw& law, double u, double t) {
  double lo = -700, hi = 700;
  for (int i = 0; i < 200; ++i) {
    const double mid = 0.5 * (lo + hi);
    (law.cdf(std::exp(mid), t) < u ? lo : hi) = mid;
  }
  return std::exp(0.5 * (lo + hi));
}

}  // namespace

TEST_CASE("Laplace inversion reproduces closed-form subordinator laws: CDF, density, time derivative, quantile") {
  const std::vector<ClosedLaw> laws = {inverse_gaussian(0.5), levy(), gamma_law()};
  for (const ClosedLaw& law : laws) {
    const SubordinatorLaw inv(law.f);
    for (double t : {0.05, 1.0, 30.0, 1600.0}) {
      if (std::string(law.name) == "gamma" && t > 100) continue;  // Gamma(1600): fine, but slow closed form
      double cdf_err = 0.0, logpdf_err = 0.0, dt_err = 0.0, q_err = 0.0;
      // The body (u in [1e-6, 1 - 1e-6]) for the CDF; the density also far into both tails.
      for (double u : {1e-6, 1e-4, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.9999, 1 - 1e-6}) {
        const double a = closed_quantile(law, u, t);
        cdf_err = std::max(cdf_err, std::fabs(inv.cdf(a, t) - law.cdf(a, t)));
        const double lerr = std::fabs(inv.log_pdf(a, t) - law.log_pdf(a, t));
        if (lerr > 1e-6) std::printf("  log pdf err %.2e at u = %g\n", lerr, u);
        logpdf_err = std::max(logpdf_err, lerr);
        // d/dt P(A_t <= a) by central differences of the closed form.
        const double h = 1e-5 * t;
        const double dt = (law.cdf(a, t + h) - law.cdf(a, t - h)) / (2 * h);
        dt_err = std::max(dt_err, std::fabs(inv.cdf_time_derivative(a, t) - dt) / (1.0 / t));
        // The quantile's own error is the CDF's divided by the density: judged in u.
        if (u >= 1e-4 && u <= 0.9999) q_err = std::max(q_err, std::fabs(law.cdf(inv.quantile(u, t), t) - u));
      }
      std::printf("%-18s t = %-6g  max |CDF err| %.2e  max |log pdf err| %.2e  max |dF/dt err| t %.2e  max |F(q(u)) - u| %.2e\n",
                  law.name, t, cdf_err, logpdf_err, dt_err, q_err);
      INFO(law.name << " t = " << t);
      CHECK(cdf_err < 1e-8);
      CHECK(logpdf_err < 2e-7);
      CHECK(dt_err < 1e-6);
      CHECK(q_err < 1e-8);
    }
  }
}

TEST_CASE("Laplace inversion: the left tail of the density in log space") {
  // Levy at t = 1: P(A <= 1e-3) = erfc(15.8) ~ 1e-110; the tilted inversion keeps its digits.
  const ClosedLaw law = levy();
  const SubordinatorLaw inv(law.f);
  for (double a : {1e-3, 1e-2, 0.05}) {
    INFO("a = " << a);
    CHECK(inv.log_pdf(a, 1.0) == Approx(law.log_pdf(a, 1.0)).epsilon(1e-8));
    CHECK(std::log(inv.cdf(a, 1.0)) == Approx(std::log(law.cdf(a, 1.0))).epsilon(1e-7));
  }
}

TEST_CASE("Bernstein test: accepts Bernstein functions, refuses the others with the reason") {
  auto f = [](std::function<complex(complex)> fn) { return LaplaceExponent{std::move(fn), ""}; };
  CHECK(bernstein_test(f([](complex s) { return s; })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return std::sqrt(s); })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return std::pow(s, 0.9); })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return std::log(1.0 + s); })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return std::sqrt(s + 0.25) - 0.5; })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return std::pow(s + 0.25, 0.3) - std::pow(0.25, 0.3); })).bernstein);
  const BernsteinVerdict square = bernstein_test(f([](complex s) { return s * s; }));
  CHECK_FALSE(square.bernstein);
  CHECK_THAT(square.reason, Catch::Contains("f''"));
  // s^1.2 has f'' > 0; s - s^2/1e4 turns negative derivative at s > 5e3; 1 - e^(-s) is Bernstein.
  CHECK_FALSE(bernstein_test(f([](complex s) { return std::pow(s, 1.2); })).bernstein);
  CHECK_FALSE(bernstein_test(f([](complex s) { return s - s * s / 1e4; })).bernstein);
  CHECK(bernstein_test(f([](complex s) { return 1.0 - std::exp(-s); })).bernstein);
  // Oscillating: not real on s > 0.
  CHECK_FALSE(bernstein_test(f([](complex s) { return complex(0, 1) * s; })).bernstein);
}

TEST_CASE("f from a dispersion branch matches the closed forms, also off the real axis") {
  struct Case {
    ModuleSpec spec;
    std::function<complex(complex)> expected;
  };
  const double m = 0.5;
  const std::vector<Case> cases = {
      {{"diffusion", {}, ""}, [](complex s) { return s; }},
      {{"screened-poisson", {{"m", m}}, ""}, [m](complex s) { return std::sqrt(s + m * m) - m; }},
      {{"custom", {}, "phi_tt + lap phi - 0.25 phi"}, [m](complex s) { return std::sqrt(s + m * m) - m; }},
      {{"custom", {}, "phi_t + (-lap)^0.5 phi"}, [](complex s) { return std::sqrt(s); }},
      {{"fractional-diffusion", {{"beta", 0.3}}, ""}, [](complex s) { return std::pow(s, 0.3); }},
      // a phi_tt - b phi_t + lap phi: f = (sqrt(b^2 + 4 a s) - b) / (2a), a = 2, b = 1.
      {{"custom", {}, "2 phi_tt - phi_t + lap phi"}, [](complex s) { return (std::sqrt(1.0 + 8.0 * s) - 1.0) / 4.0; }},
  };
  for (const Case& c : cases) {
    const auto module = make_module(c.spec);
    const SubordinatorRoute route = subordinator_route(*module);
    INFO(module->equation() << ": " << route.reason);
    REQUIRE(route.f);
    double err = 0.0;
    for (double r : {1e-3, 0.3, 1.0, 7.0, 1e3})
      for (double phi : {0.0, 0.4, 1.2, 1.5, -1.0}) {
        const complex s = std::polar(r, phi);
        err = std::max(err, std::abs(route.f->f(s) - c.expected(s)) / (1e-12 + std::abs(c.expected(s))));
      }
    CHECK(err < 1e-10);
  }
}

TEST_CASE("the route refuses non-Bernstein and oscillating branches with the reason") {
  const auto biharmonic = make_module(ModuleSpec{"custom", {}, "phi_t + lap lap phi"});
  const SubordinatorRoute b = subordinator_route(*biharmonic);
  CHECK_FALSE(b.f);
  CHECK_THAT(b.reason, Catch::Contains("not Bernstein"));
  const SubordinatorRoute h = subordinator_route(*make_module("helmholtz"));
  CHECK_FALSE(h.f);
  CHECK_THAT(h.reason, Catch::Contains("not applicable"));
  CHECK(subordinator_route(*make_module("screened-poisson")).f);
}

// The tables interpolate in log t at fixed xi = log(a / median): exact for self-similar laws
// (Levy), accurate where the law's shape in log a changes slowly with t (IG). The gamma law at
// t < 0.3 is the counter-example: its mass spans ~1/t e-folds of a below a sharp cut-off at
// a ~ 1, which moves by ~1/t in xi per table; there (t in [0.01, 0.3]) the tables are off by up to
// 2e-2 in log density and 4e-4 in CDF (measured), so it is held to t >= 0.3 here.
TEST_CASE("the tables the flows use agree with the direct inversion") {
  struct Case {
    ClosedLaw law;
    double log10_t_min, log10_t_max;
  };
  for (const Case& c : {Case{inverse_gaussian(0.5), -2.0, 2.0}, Case{levy(), -2.0, 2.0}, Case{gamma_law(), std::log10(0.3), 2.0}}) {
    const ClosedLaw& law = c.law;
    const SubordinatorLaw inv(law.f);
    const SubordinatorTables tables(inv);
    Rng rng = sample_rng(3, 0);
    double err_log = 0.0, err_cdf = 0.0, err_speed = 0.0, err_q = 0.0;
    for (int i = 0; i < 60; ++i) {
      const double t = std::pow(10.0, c.log10_t_min + (c.log10_t_max - c.log10_t_min) * uniform01(rng));
      const double u = 1e-4 + (1 - 2e-4) * uniform01(rng);
      const double a = closed_quantile(law, u, t);
      const auto tab = tables.at(a, t);
      const auto direct = inv.evaluate(a, t);
      err_log = std::max(err_log, std::fabs(tab.log_pdf - direct.log_pdf));
      err_cdf = std::max(err_cdf, std::fabs(tab.cdf - direct.cdf));
      err_speed = std::max(err_speed, std::fabs(tab.speed / direct.speed - 1.0));
      err_q = std::max(err_q, std::fabs(law.cdf(tables.quantile(u, t), t) - u));
    }
    std::printf("%-18s tables vs direct: max |log pdf| %.2e  |CDF| %.2e  relative speed %.2e  |F(q(u)) - u| %.2e\n",
                law.name, err_log, err_cdf, err_speed, err_q);
    INFO(law.name);
    CHECK(err_log < 1e-4);
    CHECK(err_cdf < 1e-5);
    CHECK(err_speed < 1e-4);
    CHECK(err_q < 1e-5);
  }
}
