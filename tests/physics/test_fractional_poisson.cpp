// The fractional Poisson module phi_tt - (-lap)^alpha phi = 0 (pdes/fractional_poisson.cpp):
// dispersion and verdicts; its kernel two independent ways (the stable scale mixture of the
// generative process and the Fourier route of the module, each against a direct quadrature of
// the 1D inverse transform of exp(-t k^alpha)); closed forms at alpha = 1 and 2; p = -phi_t and
// the continuity equation by finite differences; sampled radii against the integrated CDF.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

#include <boost/math/quadrature/gauss_kronrod.hpp>

#include "genphys/check.hpp"
#include "genphys/generative.hpp"
#include "genphys/kernels.hpp"
#include "genphys/pde.hpp"
#include "genphys/random.hpp"

using namespace genphys;

namespace {

// int_0^inf exp(-t k^alpha) w(k) dk for a bounded weight w, by Gauss-Kronrod on panels of width
// <= 0.25 up to where t k^alpha = 45 (the rest is below e^-45): independent of the radial
// transform (Bessel panels) and of the stable-law quadrature used by the library.
double laplace_quadrature(double alpha, double t, const std::function<double(double)>& w) {
  const double k_max = std::pow(45.0 / t, 1.0 / alpha);
  const int panels = std::max(8, static_cast<int>(std::ceil(k_max / 0.25)));
  auto f = [&](double k) { return std::exp(-t * std::pow(k, alpha)) * w(k); };
  double sum = 0.0;
  for (int i = 0; i < panels; ++i) {
    const double a = k_max * i / panels, b = k_max * (i + 1) / panels;
    sum += boost::math::quadrature::gauss_kronrod<double, 31>::integrate(f, a, b, 10, 1e-14);
  }
  return sum;
}

// The 1D kernel p(x, t) = (1/pi) int_0^inf exp(-t k^alpha) cos(k x) dk.
double density_1d(double alpha, double t, double x) {
  return laplace_quadrature(alpha, t, [x](double k) { return std::cos(k * x); }) / M_PI;
}

// P(|X| <= r) in 1D = (2/pi) int_0^inf exp(-t k^alpha) sin(k r)/k dk.
double radial_cdf_1d(double alpha, double t, double r) {
  return 2.0 / M_PI * laplace_quadrature(alpha, t, [r](double k) { return k > 0 ? std::sin(k * r) / k : r; });
}

// Five-point central first derivative.
double d1(const std::function<double(double)>& f, double x, double h) {
  return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h);
}

}  // namespace

TEST_CASE("fractional-poisson: branches w = -+ i k^alpha, C2 always, C1 exactly for alpha <= 2") {
  const auto m = make_module("fractional-poisson", {{"alpha", 1.5}});
  const auto branches = m->dispersion();
  REQUIRE(branches.size() == 2);
  CHECK(branches[0].omega(0.49).imag() == Approx(-std::pow(0.49, 1.5)).epsilon(1e-14));
  CHECK(branches[1].omega(0.49).imag() == Approx(std::pow(0.49, 1.5)).epsilon(1e-14));
  CHECK(m->green_hat(2.0, 0.5).real() == Approx(std::exp(-0.5 * std::pow(2.0, 1.5))).epsilon(1e-15));

  const CheckResult ok = check(*m, 2);
  CHECK(ok.c2.verdict == Verdict::yes);
  CHECK(ok.c1.verdict == Verdict::yes);
  CHECK(ok.verdict == Verdict::yes);
  // Across alpha = 2 the 1D kernel of exp(-k^alpha) grows negative lobes (Levy's bound).
  CHECK(min_relative_kernel_1d(*make_module("fractional-poisson", {{"alpha", 1.9}})) > -1e-9);
  const double lobe = min_relative_kernel_1d(*make_module("fractional-poisson", {{"alpha", 2.5}}));
  CHECK(lobe < -1e-3);
  const CheckResult bad = check(*make_module("fractional-poisson", {{"alpha", 2.5}}), 2);
  CHECK(bad.c1.verdict == Verdict::no);
  CHECK(bad.c2.verdict == Verdict::yes);
  CHECK(bad.verdict == Verdict::no);
  CHECK(make_module("fractional-poisson", {{"alpha", 2.5}})->generative(2) == nullptr);
  CHECK_THROWS_AS(make_fractional_poisson_process(2, 2.5), NotSupported);
  CHECK_THROWS_AS(make_fractional_poisson_process(2, 0.0), InputError);
}

TEST_CASE("fractional-poisson: the 1D kernel from the stable mixture and from the Fourier route match direct quadrature") {
  for (double alpha : {0.8, 1.5, 1.9}) {
    const auto m = make_module("fractional-poisson", {{"alpha", alpha}});
    // The mixture's log-density is fitted once per process, for every t (seconds each; longest near alpha = 2).
    const auto process = alpha < 1.8 ? m->generative(1) : nullptr;
    for (double t : {0.5, 2.0})
      for (double x : {0.0, 0.3, 1.0, 3.0, 10.0}) {
        INFO("alpha = " << alpha << " t = " << t << " x = " << x);
        const double ref = density_1d(alpha, t, x);
        REQUIRE(ref > 0.0);
        if (process) CHECK(std::exp(process->log_kernel(x, t)) == Approx(ref).epsilon(1e-7));
        CHECK(m->point_flow(x, t, 1).p.value() == Approx(ref).epsilon(1e-8));
      }
  }
}

TEST_CASE("fractional-poisson: alpha = 1 is the Poisson kernel and alpha = 2 the heat kernel") {
  const auto one = make_module("fractional-poisson", {{"alpha", 1.0}});
  const auto two = make_module("fractional-poisson", {{"alpha", 2.0}});
  for (int n : {2, 3})
    for (double t : {0.5, 1.5})
      for (double r : {0.0, 0.4, 2.0}) {
        INFO("N = " << n << " t = " << t << " r = " << r);
        const double poisson = std::tgamma(0.5 * (n + 1)) / std::pow(M_PI, 0.5 * (n + 1)) * t /
                               std::pow(t * t + r * r, 0.5 * (n + 1));
        const double heat = std::pow(4 * M_PI * t, -0.5 * n) * std::exp(-r * r / (4 * t));
        CHECK(one->point_flow(r, t, n).p.value() == Approx(poisson).epsilon(1e-9));
        CHECK(two->point_flow(r, t, n).p.value() == Approx(heat).epsilon(1e-9));
        CHECK(std::exp(two->generative(n)->log_kernel(r, t)) == Approx(heat).epsilon(1e-12));
      }
}

TEST_CASE("fractional-poisson: p = -phi_t and p_t + div J = 0 (finite differences, N = 3)") {
  const int n = 3;
  const auto m = make_module("fractional-poisson", {{"alpha", 1.5}});
  CHECK_THROWS_AS(m->green(1.0, 1.0, 1), NotSupported);  // phi-hat ~ k^-1.5 not integrable in 1D
  const double t = 1.0, h = 1e-3;
  for (double r : {0.3, 1.0, 2.5}) {
    INFO("r = " << r);
    const auto flow = m->point_flow(r, t, n);
    const double p = flow.p.value(), J = flow.flux.value();
    REQUIRE(p > 0.0);
    REQUIRE(J > 0.0);  // mass moves outwards as the kernel spreads
    const double phi_t = d1([&](double s) { return m->green(r, s, n).value(); }, t, h * t);
    CHECK(-phi_t == Approx(p).epsilon(1e-6));
    const double p_t = d1([&](double s) { return m->point_flow(r, s, n).p.value(); }, t, h * t);
    const double div_j =
        d1([&](double s) { return s * s * m->point_flow(s, t, n).flux.value(); }, r, h * r) / (r * r);
    CHECK(std::abs(p_t + div_j) < 1e-6 * (std::abs(p_t) + std::abs(div_j)));
  }
}

TEST_CASE("fractional-poisson: sampled radii follow the independently integrated CDF (N = 1)") {
  const double alpha = 1.5, t = 0.7;
  const auto process = make_fractional_poisson_process(1, alpha);
  const std::vector<double> rs = {0.1, 0.3, 0.7, 1.5, 4.0, 12.0};
  std::vector<double> ref;
  for (double r : rs) {
    ref.push_back(radial_cdf_1d(alpha, t, r));
    INFO("r = " << r);
    CHECK(process->radial_cdf(r, t) == Approx(ref.back()).margin(1e-8));
  }
  const int n = 40000;
  std::vector<int> below(rs.size(), 0);
  Rng rng = sample_rng(2027, 0);
  for (int i = 0; i < n; ++i) {
    const double r = process->sample_radius(rng, t);
    for (std::size_t j = 0; j < rs.size(); ++j) below[j] += r <= rs[j];
  }
  for (std::size_t j = 0; j < rs.size(); ++j) {
    INFO("r = " << rs[j] << " reference " << ref[j]);
    const double emp = static_cast<double>(below[j]) / n;
    CHECK(std::abs(emp - ref[j]) < 5.0 * std::sqrt(ref[j] * (1 - ref[j]) / n) + 1e-4);
  }
}
