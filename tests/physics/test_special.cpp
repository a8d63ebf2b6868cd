#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/bessel.hpp>

#include "genphys/special.hpp"

using namespace genphys;
using namespace genphys::special;

namespace {

namespace bmp = boost::math::policies;
using Quiet = bmp::policy<bmp::overflow_error<bmp::ignore_error>, bmp::underflow_error<bmp::ignore_error>,
                          bmp::denorm_error<bmp::ignore_error>>;
using L = long double;
const double kPi = boost::math::constants::pi<double>();

// A Boost double result usable as a reference: finite and well inside the normal range.
bool usable(double v) { return std::isfinite(v) && std::fabs(v) > 1e-290 && std::fabs(v) < 1e290; }
// Long double reaches 1e+-4932: Boost's own algorithm at 64-bit precision covers orders in the
// thousands where double overflows.
bool usable_ld(L v) { return std::isfinite(v) && std::fabs(v) > 1e-4900L && std::fabs(v) < 1e4900L; }

double log_abs_ld(L v) { return static_cast<double>(std::log(std::fabs(v))); }

// log(a + b) for logs la, lb.
double log_add(double la, double lb) {
  return (SignedLog{la, 1} + SignedLog{lb, 1}).log_abs;
}

const std::vector<double> kGridNu = {0, 0.5, 1, 2.5, 10, 50, 100.5, 150};
const std::vector<double> kGridX = {1e-3, 0.1, 1, 10, 100, 700};
const std::vector<double> kLargeNu = {391.5, 392.5, 1535.5, 1536.5};
const std::vector<double> kLargeX = {1e-3, 0.01, 0.1, 1, 10, 100, 391.5, 1000, 1550, 3000, 1e4};

}  // namespace

TEST_CASE("K, I and K ratio agree with Boost where Boost is finite") {
  int checked_k = 0, checked_i = 0;
  for (double nu : kGridNu)
    for (double x : kGridX) {
      CAPTURE(nu, x);
      const double kb = boost::math::cyl_bessel_k(nu, x, Quiet());
      if (usable(kb)) {
        // relative error in the value = expm1(delta log)
        CHECK(std::fabs(std::expm1(log_bessel_k(nu, x) - std::log(kb))) < 1e-12);
        const double kb1 = boost::math::cyl_bessel_k(nu + 1.0, x, Quiet());
        if (usable(kb1)) CHECK(std::fabs(bessel_k_ratio(nu, x) / (kb1 / kb) - 1.0) < 1e-12);
        ++checked_k;
      }
      const double ib = boost::math::cyl_bessel_i(nu, x, Quiet());
      if (usable(ib)) {
        CHECK(std::fabs(std::expm1(log_bessel_i(nu, x) - std::log(ib))) < 1e-12);
        ++checked_i;
      }
    }
  // 12 of the 48 points are out of range (x = 700: beyond 1e+-290; high order at small x).
  CHECK(checked_k >= 36);
  CHECK(checked_i >= 36);
  // x = 650 is on the large-argument route for small orders and still inside Boost's range
  for (double nu : {0.0, 0.5, 1.0, 2.5, 10.0, 24.5}) {
    CAPTURE(nu);
    const double kb = boost::math::cyl_bessel_k(nu, 650.0, Quiet());
    const double ib = boost::math::cyl_bessel_i(nu, 650.0, Quiet());
    REQUIRE(usable(kb));
    REQUIRE(usable(ib));
    CHECK(std::fabs(std::expm1(log_bessel_k(nu, 650.0) - std::log(kb))) < 1e-12);
    CHECK(std::fabs(std::expm1(log_bessel_i(nu, 650.0) - std::log(ib))) < 1e-12);
  }
}

TEST_CASE("J and Y agree with Boost where Boost is finite") {
  int checked = 0;
  for (double nu : kGridNu)
    for (double x : kGridX) {
      CAPTURE(nu, x);
      const double jb = boost::math::cyl_bessel_j(nu, x, Quiet());
      const double yb = boost::math::cyl_neumann(nu, x, Quiet());
      if (usable(jb)) {
        const SignedLog j = bessel_j(nu, x);
        CHECK(j.sign == (jb > 0 ? 1 : -1));
        CHECK(std::fabs(std::expm1(j.log_abs - std::log(std::fabs(jb)))) < 1e-12);
        ++checked;
      }
      if (usable(yb)) {
        const SignedLog y = bessel_y(nu, x);
        CHECK(y.sign == (yb > 0 ? 1 : -1));
        CHECK(std::fabs(std::expm1(y.log_abs - std::log(std::fabs(yb)))) < 1e-12);
        ++checked;
      }
    }
  CHECK(checked >= 80);
}

TEST_CASE("large orders match Boost run in long double, where double overflows") {
  // K_391.5(1) ~ 1e956: out of double's range, inside long double's.
  CHECK(log_bessel_k(391.5, 1.0) == Approx(static_cast<double>(std::log(
                                        boost::math::cyl_bessel_k(391.5L, 1.0L, Quiet())))).epsilon(1e-14));
  CHECK(log_bessel_k(391.5, 1.0) > 2200.0);  // ~1e956
  int checked = 0;
  for (double nu : kLargeNu)
    for (double x : kLargeX) {
      CAPTURE(nu, x);
      const L k = boost::math::cyl_bessel_k(L(nu), L(x), Quiet());
      const L i = boost::math::cyl_bessel_i(L(nu), L(x), Quiet());
      if (usable_ld(k)) {
        CHECK(std::fabs(log_bessel_k(nu, x) - log_abs_ld(k)) < 1e-10);
        ++checked;
      }
      if (usable_ld(i)) CHECK(std::fabs(log_bessel_i(nu, x) - log_abs_ld(i)) < 1e-10);
      if (x < nu) {  // below the turning point J and Y are far from their zeros
        const L j = boost::math::cyl_bessel_j(L(nu), L(x), Quiet());
        const L y = boost::math::cyl_neumann(L(nu), L(x), Quiet());
        if (usable_ld(j)) CHECK(std::fabs(bessel_j(nu, x).log_abs - log_abs_ld(j)) < 1e-10);
        if (usable_ld(y)) {
          CHECK(bessel_y(nu, x).sign == -1);
          CHECK(std::fabs(bessel_y(nu, x).log_abs - log_abs_ld(y)) < 1e-10);
        }
      }
    }
  CHECK(checked >= 25);
}

TEST_CASE("large orders: K recurrence, I-K Wronskian, K ratio") {
  for (double nu : kLargeNu)
    for (double x : kLargeX) {
      CAPTURE(nu, x);
      const double km = log_bessel_k(nu - 1.0, x), k0 = log_bessel_k(nu, x),
                   kp = log_bessel_k(nu + 1.0, x);
      REQUIRE(std::isfinite(k0));
      // K_{nu+1} = K_{nu-1} + (2 nu / x) K_nu
      CHECK(std::fabs(kp - log_add(km, std::log(2.0 * nu / x) + k0)) < 1e-10);
      // I_nu K_{nu+1} + I_{nu+1} K_nu = 1/x
      const double i0 = log_bessel_i(nu, x), ip = log_bessel_i(nu + 1.0, x);
      CHECK(std::fabs(log_add(i0 + kp, ip + k0) + std::log(x)) < 1e-10);
      CHECK(std::fabs(std::log(bessel_k_ratio(nu, x)) - (kp - k0)) < 1e-10);
    }
}

TEST_CASE("large orders: J-Y Wronskian and Y recurrence") {
  for (double nu : kLargeNu) {
    std::vector<double> xs = kLargeX;
    for (double f : {0.5, 0.9, 0.99, 1.0, 1.01, 1.1, 2.0}) xs.push_back(f * nu);
    xs.push_back(jy_debye_limit(nu));
    xs.push_back(std::nextafter(jy_debye_limit(nu), 0.0));
    for (double x : xs) {
      CAPTURE(nu, x);
      const SignedLog j0 = bessel_j(nu, x), j1 = bessel_j(nu + 1.0, x);
      const SignedLog y0 = bessel_y(nu, x), y1 = bessel_y(nu + 1.0, x);
      // J_{nu+1} Y_nu - J_nu Y_{nu+1} = 2 / (pi x)
      SignedLog minus = j0 * y1;
      minus.sign = -minus.sign;
      const SignedLog w = j1 * y0 + minus;
      CHECK(w.sign == 1);
      CHECK(std::fabs(w.log_abs - std::log(2.0 / (kPi * x))) < 1e-10);
      if (x < nu) {
        // Y_{nu+1} = (2 nu / x) Y_nu - Y_{nu-1}; all negative below the turning point
        const SignedLog ym = bessel_y(nu - 1.0, x);
        REQUIRE(ym.sign == -1);
        const SignedLog rhs = SignedLog{std::log(2.0 * nu / x), 1} * y0 + SignedLog{ym.log_abs, 1};
        CHECK(rhs.sign == -1);
        CHECK(std::fabs(rhs.log_abs - y1.log_abs) < 1e-10);
      }
    }
  }
}

TEST_CASE("continuity and monotonicity across route switches") {
  SECTION("J, Y at the Debye / Boost switch below the turning point") {
    for (double nu : {25.5, 100.5, 391.5, 392.5, 1535.5, 1536.5, 5000.5}) {
      CAPTURE(nu);
      const double xs = jy_debye_limit(nu);
      REQUIRE(xs > 0.0);
      REQUIRE(xs < nu);
      const double below = std::nextafter(xs, 0.0);
      const SignedLog ja = bessel_j(nu, below), jb = bessel_j(nu, xs);
      const SignedLog ya = bessel_y(nu, below), yb = bessel_y(nu, xs);
      CHECK(ja.sign == jb.sign);
      CHECK(ya.sign == yb.sign);
      CHECK(std::fabs(ja.log_abs - jb.log_abs) < 1e-10);
      CHECK(std::fabs(ya.log_abs - yb.log_abs) < 1e-10);
      // |J| rises and |Y| falls through the switch on a grid of relative step 1e-9
      double lj = -std::numeric_limits<double>::infinity(), ly = std::numeric_limits<double>::infinity();
      for (int i = -5; i <= 5; ++i) {
        const double x = xs * (1.0 + 1e-9 * i);
        const double nj = bessel_j(nu, x).log_abs, ny = bessel_y(nu, x).log_abs;
        CHECK(nj > lj);
        CHECK(ny < ly);
        lj = nj;
        ly = ny;
      }
    }
    CHECK(jy_debye_limit(10.0) == 0.0);  // no switch below kDebyeMinOrder
  }
  SECTION("K, I, K ratio across the order switch to Debye") {
    const double lo = std::nextafter(kDebyeMinOrder, 0.0);
    for (double x : {1e-3, 0.1, 1.0, 10.0, 25.0, 100.0, 700.0, 1e4}) {
      CAPTURE(x);
      CHECK(std::fabs(log_bessel_k(lo, x) - log_bessel_k(kDebyeMinOrder, x)) < 1e-10);
      CHECK(std::fabs(log_bessel_i(lo, x) - log_bessel_i(kDebyeMinOrder, x)) < 1e-10);
      CHECK(std::fabs(bessel_k_ratio(lo, x) / bessel_k_ratio(kDebyeMinOrder, x) - 1.0) < 1e-10);
      // K and I increase with the order (for x > 0), Boost side to Debye side
      CHECK(log_bessel_k(kDebyeMinOrder - 1e-6, x) < log_bessel_k(kDebyeMinOrder + 1e-6, x));
    }
  }
  SECTION("K, I across the large-argument switch, and I across its series switch") {
    for (double nu : {0.0, 0.5, 1.0, 2.5, 10.0, 24.5}) {
      CAPTURE(nu);
      const double a = std::nextafter(kLargeArgument, 0.0);
      CHECK(std::fabs(log_bessel_k(nu, a) - log_bessel_k(nu, kLargeArgument)) < 1e-10);
      CHECK(std::fabs(log_bessel_i(nu, a) - log_bessel_i(nu, kLargeArgument)) < 1e-10);
      CHECK(std::fabs(bessel_k_ratio(nu, a) / bessel_k_ratio(nu, kLargeArgument) - 1.0) < 1e-10);
      CHECK(std::fabs(log_bessel_i(nu, 2.0) - log_bessel_i(nu, std::nextafter(2.0, 3.0))) < 1e-10);
      // K falls and I rises with x through the switch (relative steps of 1e-9)
      double lk = std::numeric_limits<double>::infinity(), li = -lk;
      for (int i = -5; i <= 5; ++i) {
        const double x = kLargeArgument * (1.0 + 1e-9 * i);
        CHECK(log_bessel_k(nu, x) < lk);
        CHECK(log_bessel_i(nu, x) > li);
        lk = log_bessel_k(nu, x);
        li = log_bessel_i(nu, x);
      }
    }
  }
}

TEST_CASE("half-integer orders match their closed forms") {
  // K_{1/2}(x) = sqrt(pi / 2x) e^-x, I_{1/2} = sqrt(2 / pi x) sinh x, J_{1/2} = sqrt(2 / pi x) sin x,
  // Y_{1/2} = -sqrt(2 / pi x) cos x
  for (double x : {1e-3, 0.1, 1.0, 10.0, 100.0, 1000.0, 1e4}) {
    CAPTURE(x);
    CHECK(std::fabs(log_bessel_k(0.5, x) - (0.5 * std::log(kPi / (2 * x)) - x)) < 1e-12 * std::max(1.0, x / 1e3));
    const double log_sinh = x + std::log(-std::expm1(-2 * x)) - std::log(2.0);
    CHECK(std::fabs(log_bessel_i(0.5, x) - (0.5 * std::log(2 / (kPi * x)) + log_sinh)) < 1e-12 * std::max(1.0, x / 1e3));
  }
  for (double x : {1e-3, 0.1, 1.0, 2.0, 10.0}) {
    CAPTURE(x);
    CHECK(bessel_j(0.5, x).value() == Approx(std::sqrt(2 / (kPi * x)) * std::sin(x)).epsilon(1e-13));
    CHECK(bessel_y(0.5, x).value() == Approx(-std::sqrt(2 / (kPi * x)) * std::cos(x)).epsilon(1e-13));
  }
  // K_{n+1/2}(x) = sqrt(pi / 2x) e^-x sum_{k<=n} (n+k)! / (k! (n-k)!) (2x)^-k: exact, positive terms.
  // Orders up to 30.5 cross the switch to the Debye route at 25.
  double worst = 0.0;
  for (int n = 0; n <= 30; ++n)
    for (double x : {1e-3, 0.01, 0.1, 1.0, 5.0, 30.0, 100.0, 700.0, 1000.0, 1e4}) {
      CAPTURE(n, x);
      double term = 1.0, sum = 1.0;
      for (int k = 1; k <= n; ++k) {
        term *= static_cast<double>(n + k) * (n - k + 1) / (k * 2.0 * x);
        sum += term;
      }
      const double exact = 0.5 * std::log(kPi / (2 * x)) - x + std::log(sum);
      const double err = std::fabs(log_bessel_k(n + 0.5, x) - exact);
      // at x = 1e4 the log itself is ~ -1e4, whose last bit is 1.8e-12
      CHECK(err < (x > 1e3 ? 4e-12 : 1e-12));
      if (x <= 1e3) worst = std::max(worst, err);
    }
  CHECK(worst < 1e-12);
}

TEST_CASE("tiny arguments where Boost in double under- or overflows") {
  // Leading small-x terms (K, Y) and the power series (J, I) against Boost in long double.
  struct Case {
    double nu, x;
  };
  for (Case c : {Case{24.5, 1e-12}, Case{10.0, 1e-40}, Case{3.5, 1e-120}, Case{20.0, 1e-20}}) {
    CAPTURE(c.nu, c.x);
    const L nu = c.nu, x = c.x;
    CHECK(log_bessel_k(c.nu, c.x) == Approx(log_abs_ld(boost::math::cyl_bessel_k(nu, x, Quiet()))).epsilon(1e-14));
    CHECK(log_bessel_i(c.nu, c.x) == Approx(log_abs_ld(boost::math::cyl_bessel_i(nu, x, Quiet()))).epsilon(1e-14));
    CHECK(bessel_j(c.nu, c.x).log_abs == Approx(log_abs_ld(boost::math::cyl_bessel_j(nu, x, Quiet()))).epsilon(1e-14));
    CHECK(bessel_y(c.nu, c.x).log_abs == Approx(log_abs_ld(boost::math::cyl_neumann(nu, x, Quiet()))).epsilon(1e-14));
    CHECK(bessel_j(c.nu, c.x).sign == 1);
    CHECK(bessel_y(c.nu, c.x).sign == -1);
  }
  CHECK(log_bessel_k(10.0, 1e-40) > 900.0);  // past double's range: the fallback was needed
  CHECK(bessel_j(10.0, 1e-40).log_abs < -900.0);
}

TEST_CASE("first zeros of J and Y") {
  // Exact for order 1/2: Y_{1/2} ~ cos x, J_{1/2} ~ sin x.
  CHECK(bessel_y_first_zero(0.5) == Approx(kPi / 2).epsilon(1e-14));
  CHECK(bessel_j_first_zero(0.5) == Approx(kPi).epsilon(1e-14));
  CHECK(bessel_j_first_zero(0.0) == Approx(2.404825557695773).epsilon(1e-14));
  CHECK(bessel_y_first_zero(0.0) == Approx(0.8935769662791675).epsilon(1e-14));
  for (double nu : {0.5, 10.5, 391.5, 392.5, 1535.5, 1536.5, 2000.5}) {
    CAPTURE(nu);
    const double zy = bessel_y_first_zero(nu), zj = bessel_j_first_zero(nu);
    CHECK(bessel_y(nu, zy - 1e-6).sign == -1);
    CHECK(bessel_y(nu, zy + 1e-6).sign == 1);
    CHECK(bessel_j(nu, zj - 1e-6).sign == 1);
    CHECK(bessel_j(nu, zj + 1e-6).sign == -1);
    // the zero is the first: no sign change on a grid below it (Debye and Boost routes)
    int y_changes = 0, j_changes = 0;
    for (int i = 1; i < 400; ++i) {
      const double x = zy * i / 400.0;
      if (bessel_y(nu, x).sign != -1) ++y_changes;
      if (bessel_j(nu, zj * i / 400.0).sign != 1) ++j_changes;
    }
    CHECK(y_changes == 0);
    CHECK(j_changes == 0);
    if (nu > 100) {
      // y_{nu,1} ~ nu + 0.9315768 nu^(1/3) + 0.260351 nu^(-1/3), next term ~0.012 / nu
      const double c = std::cbrt(nu);
      CHECK(std::fabs(zy - (nu + 0.9315768 * c + 0.260351 / c)) < 0.02 / nu);
      CHECK(std::fabs(zj - (nu + 1.8557571 * c + 1.033150 / c)) < 0.02 / nu);
    }
  }
  // N = 784 (order (N+1)/2 = 392.5): the Helmholtz kernel keeps its sign while k0 rho < this zero
  CHECK(bessel_y_first_zero(392.5) == Approx(399.3563350196).epsilon(1e-10));
}

TEST_CASE("helpers: log_gamma, sphere area, Hankel modulus, argument checks") {
  CHECK(log_gamma(5.0) == Approx(std::log(24.0)).epsilon(1e-15));
  CHECK(log_gamma(0.5) == Approx(0.5 * std::log(kPi)).epsilon(1e-15));
  CHECK(log_gamma(1e4) == Approx(std::lgamma(1e4)).epsilon(1e-15));
  CHECK(log_unit_sphere_area(2.0) == Approx(std::log(2 * kPi)).epsilon(1e-15));
  CHECK(log_unit_sphere_area(3.0) == Approx(std::log(4 * kPi)).epsilon(1e-15));
  // S^783 has area 2 pi^392 / 391!, far below double's range
  CHECK(log_unit_sphere_area(784.0) ==
        Approx(std::log(2.0) + 392 * std::log(kPi) - std::lgamma(392.0)).epsilon(1e-14));
  // |H^(1)_{1/2}(x)| = sqrt(2 / (pi x))
  for (double x : {0.01, 1.0, 50.0})
    CHECK(log_hankel1_modulus(0.5, x) == Approx(0.5 * std::log(2 / (kPi * x))).epsilon(1e-13));
  // far below the turning point |H| is |Y|
  CHECK(log_hankel1_modulus(391.5, 10.0) == Approx(bessel_y(391.5, 10.0).log_abs).epsilon(1e-15));
  CHECK(log_bessel_i(0.0, 0.0) == 0.0);
  CHECK(log_bessel_i(2.0, 0.0) == -std::numeric_limits<double>::infinity());
  CHECK(bessel_j(3.0, 0.0).sign == 0);
  CHECK_THROWS_AS(log_bessel_k(-1.0, 1.0), std::domain_error);
  CHECK_THROWS_AS(log_bessel_k(1.0, 0.0), std::domain_error);
  CHECK_THROWS_AS(bessel_y(1.0, -1.0), std::domain_error);
  CHECK_THROWS_AS(log_gamma(-2.0), std::domain_error);
}
