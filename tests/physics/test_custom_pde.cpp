#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>

#include "genphys/custom_pde.hpp"
#include "genphys/generative.hpp"
#include "genphys/pde.hpp"

using namespace genphys;
using Catch::Matchers::Contains;

namespace {

const complex I(0.0, 1.0);
const double kPi = std::acos(-1.0);
const std::vector<double> kValues = {0.0, 0.1, 0.5, 1.0, 3.0, 10.0};

void check_terms(const std::string& expr, const std::vector<OperatorTerm>& expected) {
  INFO("expression: " << expr);
  const auto got = parse_operator(expr);
  REQUIRE(got.size() == expected.size());
  for (std::size_t j = 0; j < got.size(); ++j) {
    INFO("term " << j);
    CHECK(got[j].time_order == expected[j].time_order);
    CHECK(got[j].space_power == Approx(expected[j].space_power).margin(1e-15));
    CHECK(std::abs(got[j].coefficient - expected[j].coefficient) <= 1e-14 * std::abs(expected[j].coefficient));
  }
}

std::string error_of(const std::string& expr) {
  try {
    parse_operator(expr);
  } catch (const InputError& e) {
    return e.what();
  }
  return "no InputError";
}

// Matches each expected root to the nearest unused numeric root: the two lists must agree as
// multisets to 1e-9 relative (absolute 1e-15 of the largest root for roots that are 0).
void check_same_roots(std::vector<complex> numeric, const std::vector<complex>& expected, const std::string& what) {
  INFO(what);
  REQUIRE(numeric.size() == expected.size());
  double scale = 0.0;
  for (const auto& e : expected) scale = std::max(scale, std::abs(e));
  for (const auto& e : expected) {
    std::size_t best = 0;
    for (std::size_t j = 1; j < numeric.size(); ++j)
      if (std::abs(numeric[j] - e) < std::abs(numeric[best] - e)) best = j;
    const double err = std::abs(numeric[best] - e);
    INFO("expected " << e << ", nearest numeric " << numeric[best]);
    CHECK(err <= 1e-9 * std::abs(e) + 1e-15 * scale);
    numeric.erase(numeric.begin() + static_cast<std::ptrdiff_t>(best));
  }
}

struct ClosedForm {
  std::string name;
  std::string expr;
  std::function<std::vector<complex>(double)> omega;
};

std::vector<ClosedForm> closed_forms() {
  const double eps = 0.7, k0 = 0.5, m = 1.3, a = 2.0, b = 3.0, beta = 0.3;
  return {
      {"diffusion", "phi_t - lap phi", [](double k) { return std::vector<complex>{-I * k * k}; }},
      {"poisson", "phi_tt + lap phi", [](double k) { return std::vector<complex>{I * k, -I * k}; }},
      {"ideal wave", "phi_tt - lap phi", [](double k) { return std::vector<complex>{k, -k}; }},
      {"dissipative wave", "phi_tt + 2*0.7 phi_t - lap phi",
       [=](double k) {
         const complex r = std::sqrt(complex(k * k - eps * eps, 0.0));
         return std::vector<complex>{-I * eps + r, -I * eps - r};
       }},
      {"helmholtz", "phi_tt + lap phi + 0.5*0.5 phi",
       [=](double k) {
         const complex r = std::sqrt(complex(k0 * k0 - k * k, 0.0));
         return std::vector<complex>{r, -r};
       }},
      {"screened poisson", "phi_tt + lap phi - 1.3*1.3 phi",
       [=](double k) {
         const double r = std::sqrt(k * k + m * m);
         return std::vector<complex>{I * r, -I * r};
       }},
      {"schrodinger", "i phi_t + lap phi", [](double k) { return std::vector<complex>{k * k}; }},
      {"mixed diffusion-poisson", "2 phi_tt - 3 phi_t + lap phi",
       [=](double k) {
         const double r = std::sqrt(b * b + 4 * a * k * k);
         return std::vector<complex>{I / (2 * a) * (b + r), I / (2 * a) * (b - r)};
       }},
      {"fractional diffusion", "phi_t + (-lap)^0.3 phi",
       [=](double k) { return std::vector<complex>{-I * std::pow(k, 2 * beta)}; }},
      {"third order", "phi_ttt - lap phi",
       [=](double k) {
         const double r = std::pow(k, 2.0 / 3.0);
         return std::vector<complex>{-I * r, std::polar(r, kPi / 6), std::polar(r, 5 * kPi / 6)};
       }},
      {"biharmonic", "phi_t + lap lap phi", [](double k) { return std::vector<complex>{-I * std::pow(k, 4)}; }},
  };
}

}  // namespace

TEST_CASE("parse_operator reads the table's PDEs") {
  check_terms("phi_t - lap phi", {{1, 0, 1.0}, {0, 1, 1.0}});
  check_terms("phi_tt + lap phi", {{2, 0, 1.0}, {0, 1, -1.0}});
  check_terms("phi_tt - lap phi", {{2, 0, 1.0}, {0, 1, 1.0}});
  check_terms("phi_tt + 2*0.5 phi_t - lap phi", {{2, 0, 1.0}, {1, 0, 1.0}, {0, 1, 1.0}});
  check_terms("phi_tt + lap phi + 0.25 phi", {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, 0.25}});
  check_terms("phi_tt + lap phi - 0.25 phi", {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, -0.25}});
  check_terms("i phi_t + lap phi", {{1, 0, I}, {0, 1, -1.0}});
  check_terms("2 phi_tt - 3 phi_t + lap phi", {{2, 0, 2.0}, {1, 0, -3.0}, {0, 1, -1.0}});
  check_terms("phi_t + (-lap)^0.3 phi", {{1, 0, 1.0}, {0, 0.3, 1.0}});
  check_terms("phi_ttt - lap phi", {{3, 0, 1.0}, {0, 1, 1.0}});
  check_terms("phi_t + lap lap phi", {{1, 0, 1.0}, {0, 2, 1.0}});
  check_terms("phi_t + lap^2 phi", {{1, 0, 1.0}, {0, 2, 1.0}});
  check_terms("phi_t + (-lap)^0.5 phi", {{1, 0, 1.0}, {0, 0.5, 1.0}});
}

TEST_CASE("parse_operator: numbers, signs, i, powers and like terms") {
  // Trailing "= 0", free whitespace, numbers like 1e-3, .5 and 2.
  check_terms("phi_t - lap phi = 0", {{1, 0, 1.0}, {0, 1, 1.0}});
  check_terms("  phi_tt+lap   phi-0.25phi ", {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, -0.25}});
  check_terms("1e-3 phi_t - .5 lap phi + 2. phi", {{1, 0, 1e-3}, {0, 1, 0.5}, {0, 0, 2.0}});
  check_terms("2.5E+2 phi_tt + 1/4 phi", {{2, 0, 250.0}, {0, 0, 0.25}});
  // Numeric factors multiply; i and lap factors with or without '*'.
  check_terms("-phi_t + 3*i*lap phi_t", {{1, 0, -1.0}, {1, 1, -3.0 * I}});
  check_terms("2 0.5 * i phi_t", {{1, 0, I}});
  check_terms("i i phi_t + lap^0 phi", {{1, 0, -1.0}, {0, 0, 1.0}});
  // lap^n = (-1)^n (-lap)^n; lap (-lap)^0.5 has power 1.5 and sign -1.
  check_terms("phi_t + lap^3 phi", {{1, 0, 1.0}, {0, 3, -1.0}});
  check_terms("phi_t + lap (-lap)^0.5 phi", {{1, 0, 1.0}, {0, 1.5, -1.0}});
  check_terms("phi_t + (-lap) phi", {{1, 0, 1.0}, {0, 1, 1.0}});
  // Like terms combine in order of first appearance; sums that cancel are dropped.
  check_terms("phi_t + lap phi - 2 lap phi + phi - phi", {{1, 0, 1.0}, {0, 1, 1.0}});
  check_terms("0.1 phi + phi_t + 0.2 phi - 0.3 phi", {{1, 0, 1.0}});
  check_terms("phi_t + (-lap)^1 phi + lap phi + 2 phi_t", {{1, 0, 3.0}});
  check_terms("2 phi_t + 3 i phi_t - lap lap phi + (-lap)^2 phi + 0 phi", {{1, 0, complex(2, 3)}});
  check_terms("lap phi_tt + phi_t", {{2, 1, -1.0}, {1, 0, 1.0}});
  // Tempered: (k^2 + c)^s, like terms only with the same shift.
  const auto tempered = parse_operator("phi_t + (-lap + 0.25)^0.5 phi + 2 (-lap + 0.25)^0.5 phi + (-lap)^0.5 phi");
  REQUIRE(tempered.size() == 3);
  CHECK(tempered[1].shift == 0.25);
  CHECK(tempered[1].coefficient == complex(3.0));
  CHECK(tempered[2].shift == 0.0);
  CHECK(std::abs(dispersion_roots(tempered, 2.0).front() - complex(0, -(3 * std::sqrt(4.25) + 2.0))) < 1e-13);
}

TEST_CASE("parse_operator rejects bad input with a position") {
  CHECK_THAT(error_of(""), Contains("custom PDE: empty expression"));
  CHECK_THAT(error_of("   "), Contains("empty expression"));
  CHECK_THAT(error_of("= 0"), Contains("empty expression"));
  CHECK_THAT(error_of("phi_t + x phi"), Contains("unexpected 'x' at position 9 in 'phi_t + x phi'"));
  CHECK_THAT(error_of("phi_t + eps phi"), Contains("unexpected 'eps' at position 9"));
  CHECK_THAT(error_of("phi_x - lap phi"), Contains("unexpected 'phi_x' at position 1"));
  CHECK_THAT(error_of("phi_t + 2"), Contains("unexpected end of input at position 10"));
  CHECK_THAT(error_of("phi_t + lap"), Contains("expected a factor ending in 'phi'"));
  CHECK_THAT(error_of("phi_t +"), Contains("unexpected end of input"));
  CHECK_THAT(error_of("phi_t phi"), Contains("unexpected 'phi' at position 7"));
  CHECK_THAT(error_of("phi_t + lap^0.5 phi"), Contains("unexpected '0.5' at position 13"));
  CHECK_THAT(error_of("phi_t + (lap) phi"), Contains("unexpected 'lap' at position 10"));
  CHECK_THAT(error_of("phi_t + * phi"), Contains("unexpected '*' at position 9"));
  CHECK_THAT(error_of("phi_t + 2 ** phi"), Contains("unexpected '*' at position 12"));
  CHECK_THAT(error_of("1/0 phi_t"), Contains("division by zero"));
  CHECK_THAT(error_of("phi_t = 1"), Contains("the right-hand side must be 0"));
  CHECK_THAT(error_of("phi_t = 0 + phi"), Contains("unexpected '+' at position 11"));
  CHECK_THAT(error_of("lap phi - 0.25 phi"), Contains("no time derivative"));
  CHECK_THAT(error_of("0 phi_t + lap phi"), Contains("no time derivative"));
  CHECK_THAT(error_of("phi_t - phi_t + lap phi"), Contains("no time derivative"));
  CHECK_THAT(error_of("phi_t - phi_t"), Contains("every coefficient is zero"));
  CHECK_THAT(error_of("0 phi_tt + 0*3 phi"), Contains("every coefficient is zero"));
  CHECK_THAT(error_of("1e999 phi_t"), Contains("number '1e999' at position 1 is not finite"));
  CHECK_THAT(error_of("phi_t + 1e200 1e200 phi"), Contains("overflows"));
  CHECK_THAT(error_of("phi_t + nan phi"), Contains("unexpected 'nan'"));
  // The tempered factor (-lap + c)^s: c a number, alone among the term's spatial factors.
  CHECK_THAT(error_of("phi_t + (-lap + x)^0.5 phi"), Contains("expected a non-negative number in '(-lap + c)'"));
  CHECK_THAT(error_of("phi_t + (-lap + 1 phi"), Contains("expected ')' closing"));
  CHECK_THAT(error_of("phi_t + lap (-lap + 1)^0.5 phi"), Contains("cannot be multiplied"));
  CHECK_THAT(error_of("phi_t + (-lap + 1)^0.5 lap phi"), Contains("cannot be multiplied"));
}

TEST_CASE("parse_operator's messages stay one line whatever the expression holds") {
  // Found by fuzzing (tests/fuzz/fuzz_custom_pde.cpp): the expression was quoted raw.
  CHECK(error_of("phi_t\n+ x phi") == "custom PDE: unexpected 'x' at position 9 in 'phi_t\\n+ x phi' "
                                        "(known symbols: phi, phi_t, phi_tt, ..., lap, i)");
  CHECK(error_of(std::string("p$\n\0\0\0hi%pi", 11)) ==
        "custom PDE: unexpected 'p' at position 1 in 'p$\\n\\x00\\x00\\x00hi%pi' (known symbols: phi, phi_t, "
        "phi_tt, ..., lap, i)");
  CHECK_THAT(error_of("phi_t \x01 phi"), Contains("unexpected '\\x01' at position 7 in 'phi_t \\x01 phi'"));
  CHECK_THAT(error_of("phi_t\r\n= 1"), Contains("unexpected '1' at position 10 in 'phi_t\\r\\n= 1'"));
}

TEST_CASE("dispersion roots match the closed forms") {
  for (const auto& cf : closed_forms()) {
    const auto terms = parse_operator(cf.expr);
    for (double k : kValues)
      check_same_roots(dispersion_roots(terms, k), cf.omega(k), cf.name + " at k = " + std::to_string(k));
  }
}

TEST_CASE("dispersion roots: ordering, tiny roots, degree drops, generic polynomials") {
  SECTION("sorted by Im omega, ties by Re") {
    const auto third = dispersion_roots(parse_operator("phi_ttt - lap phi"), 1.0);
    REQUIRE(third.size() == 3);
    CHECK(std::abs(third[0] - complex(0, -1)) < 1e-14);
    CHECK(std::abs(third[1] - std::polar(1.0, 5 * kPi / 6)) < 1e-14);
    CHECK(std::abs(third[2] - std::polar(1.0, kPi / 6)) < 1e-14);
    const auto wave = dispersion_roots(parse_operator("phi_tt - lap phi"), 2.0);
    REQUIRE(wave.size() == 2);
    // Real roots come out with Im exactly 0 (C2 compares Im omega(k) with Im omega(0) = 0).
    CHECK(wave[0] == complex(-2.0, 0.0));
    CHECK(wave[1] == complex(2.0, 0.0));
    const auto damped = dispersion_roots(parse_operator("phi_tt + 2*0.7 phi_t - lap phi"), 3.0);
    REQUIRE(damped.size() == 2);
    CHECK(damped[0].real() < 0);
    CHECK(damped[1].real() > 0);
  }
  SECTION("a root 1e-12 the size of the other keeps its relative accuracy") {
    // Mixed a=2, b=3 at k = 1e-6: the slow root is -2 i k^2 / (b + sqrt(b^2 + 4 a k^2)),
    // written without cancellation.
    const double k = 1e-6;
    const double r = std::sqrt(9.0 + 8.0 * k * k);
    check_same_roots(dispersion_roots(parse_operator("2 phi_tt - 3 phi_t + lap phi"), k),
                     {I * (3.0 + r) / 4.0, -2.0 * I * k * k / (3.0 + r)}, "mixed at k = 1e-6");
  }
  SECTION("large k") {
    // phi_tt + lap lap phi - phi: omega = +-sqrt(k^4 - 1), near 1e12 at k = 1e3.
    const double k = 1e3;
    const double w = std::sqrt(std::pow(k, 4) - 1.0);
    check_same_roots(dispersion_roots(parse_operator("phi_tt + lap lap phi - phi"), k), {w, -w}, "k = 1e3");
  }
  SECTION("leading coefficient vanishing at one k drops the degree") {
    // -k^2 lambda^2 + lambda + k^2 = 0: two roots for k > 0, one (lambda = 0) at k = 0.
    const auto terms = parse_operator("lap phi_tt + phi_t - lap phi");
    const auto at0 = dispersion_roots(terms, 0.0);
    REQUIRE(at0.size() == 1);
    CHECK(at0[0] == complex(0.0, 0.0));
    const double s5 = std::sqrt(5.0);
    check_same_roots(dispersion_roots(terms, 1.0), {I * (1 + s5) / 2.0, I * (1 - s5) / 2.0}, "k = 1");
    const auto branches = numeric_branches(terms);
    REQUIRE(branches.size() == 2);
    CHECK(branches[0].omega(0.0) == complex(0.0, 0.0));
    CHECK(std::isnan(branches[1].omega(0.0).real()));
    // Everything vanishes at k = 0: no determined roots.
    CHECK(dispersion_roots(parse_operator("lap phi_t + lap phi"), 0.0).empty());
  }
  SECTION("roots of a k-independent polynomial built from known roots") {
    const std::vector<complex> lambda = {-1.0, complex(-2, 3), 0.5, 1e-3, -100.0, complex(0.25, -7)};
    std::vector<complex> coef = {1.0};  // prod (x - lambda_j), lowest degree first
    for (const auto& r : lambda) {
      std::vector<complex> next(coef.size() + 1, 0.0);
      for (std::size_t j = 0; j < coef.size(); ++j) {
        next[j + 1] += coef[j];
        next[j] -= r * coef[j];
      }
      coef = next;
    }
    std::vector<OperatorTerm> terms;
    for (std::size_t n = 0; n < coef.size(); ++n) terms.push_back({static_cast<int>(n), 0.0, coef[n]});
    std::vector<complex> omega;
    for (const auto& r : lambda) omega.push_back(I * r);
    check_same_roots(dispersion_roots(terms, 0.7), omega, "degree 6");
  }
  SECTION("bad input") {
    CHECK_THROWS_AS(dispersion_roots({{0, 1, 1.0}}, 1.0), InputError);
    CHECK_THROWS_AS(dispersion_roots({}, 1.0), InputError);
    const auto diffusion = parse_operator("phi_t - lap phi");
    CHECK_THROWS_AS(dispersion_roots(diffusion, -1.0), InputError);
    CHECK_THROWS_AS(dispersion_roots(diffusion, std::nan("")), InputError);
    CHECK_THROWS_AS(dispersion_roots({{1, -0.5, 1.0}}, 1.0), InputError);
    CHECK_THROWS_AS(dispersion_roots(diffusion, 1e200), InputError);
  }
}

TEST_CASE("dispersion roots where shifted QR stalls on the companion matrix") {
  // Found by fuzzing (tests/fuzz/fuzz_custom_pde.cpp): at k = 1000 the polynomial in lambda = -i omega
  // is lambda^6 - 1e198 lambda + 1e6, whose scaled companion matrix is nearly a cyclic shift; the
  // eigenvalue solver gave up and the CLI reported an internal error.
  const auto roots = dispersion_roots(parse_operator("phi_tttttt + lap^33 phi_t - lap phi"), 1000.0);
  REQUIRE(roots.size() == 6);
  // Independently: one root lambda ~ 1e6 / 1e198, and five with lambda^5 ~ 1e198 (the fifth roots
  // of unity times 10^39.6); the first sort lowest in Im omega.
  const double big = std::pow(10.0, 198.0 / 5.0);
  int small_roots = 0;
  for (const auto& w : roots) {
    const complex lambda = complex(0.0, -1.0) * w;
    if (std::abs(lambda) < 1.0) {
      ++small_roots;
      CHECK(lambda.real() == Approx(1e-192).epsilon(1e-9));
      CHECK(std::abs(lambda.imag()) <= 1e-9 * 1e-192);
    } else {
      CHECK(std::abs(std::pow(lambda / big, 5) - 1.0) < 1e-9);
    }
  }
  CHECK(small_roots == 1);
  for (std::size_t j = 1; j < roots.size(); ++j) CHECK(roots[j - 1].imag() <= roots[j].imag() + 1e-12 * big);
}

TEST_CASE("dispersion roots beyond double's range are refused, not returned as NaN") {
  // Found by fuzzing (tests/fuzz/fuzz_custom_pde.cpp): c0 + c1 lambda with c0 = k^4, c1 = -k^1070,
  // so lambda = -i omega = k^-1066; at k = 0.5 that is 10^321 and came back as NaN.
  const auto terms = parse_operator("0phi_tt + lap^2 phi -(-lap)^535 phi_t");
  CHECK_THROWS_WITH(dispersion_roots(terms, 0.5), Contains("dispersion: a root overflows at k = 0.5"));
  const auto roots = dispersion_roots(terms, 0.97);  // 0.97^-1066 = 1.3e14: finite
  REQUIRE(roots.size() == 1);
  CHECK(roots[0].real() == 0.0);
  CHECK(roots[0].imag() == Approx(std::pow(0.97, -1066.0)).epsilon(1e-12));
}

TEST_CASE("numeric branches follow dispersion_roots") {
  const auto terms = parse_operator("phi_ttt - lap phi");
  const auto branches = numeric_branches(terms);
  REQUIRE(branches.size() == 3);
  CHECK(branches[0].label == "root 1");
  CHECK(branches[2].label == "root 3");
  for (double k : kValues) {
    const auto roots = dispersion_roots(terms, k);
    for (std::size_t j = 0; j < 3; ++j) CHECK(branches[j].omega(k) == roots[j]);
  }
  CHECK(numeric_branches(parse_operator("phi_t + lap lap phi")).size() == 1);
  CHECK_THROWS_AS(numeric_branches({{0, 1, 1.0}}), InputError);
}

TEST_CASE("custom module") {
  const auto m = make_custom_module("phi_tt+lap phi-0.25phi");
  CHECK(m->name() == "custom");
  CHECK(m->params().empty());
  CHECK(m->equation() == "phi_tt + lap phi - 0.25 phi = 0");
  CHECK(m->operator_terms().size() == 3);
  const auto branches = m->dispersion();
  REQUIRE(branches.size() == 2);
  CHECK(branches[1].label == "root 2");
  // Screened Poisson with m = 0.5: omega = +-i sqrt(k^2 + 0.25); root 2 has Im > 0.
  CHECK(std::abs(branches[1].omega(1.0) - I * std::sqrt(1.25)) < 1e-14);
  const auto flow = m->density_flow_form();
  CHECK(flow.p == "the decaying branch's normalised density");
  CHECK(flow.R == "0");
  // C1 and the process through the subordination route: f = sqrt(s + 0.25) - 0.5 is Bernstein.
  const auto c1 = m->c1(2);
  CHECK(c1.verdict == Verdict::yes);
  CHECK_THAT(c1.reason, Catch::Contains("Gaussian scale mixture") && Catch::Contains("(-1)^(n-1) f^(n) >= 0"));
  CHECK_THROWS_AS(m->green_hat(1.0, 1.0), NotSupported);
  CHECK_THROWS_AS(m->green(1.0, 1.0, 2), NotSupported);
  const auto process = m->generative(2);
  REQUIRE(process);
  CHECK(process->dim() == 2);
  CHECK_FALSE(process->affine_velocity());
  CHECK_THROWS_AS(make_custom_module("lap phi"), InputError);

  // Not Bernstein, first order in t: the kernel's negative lobes are measured, C1 fails, and
  // there is no process, with the reason.
  const auto bi = make_custom_module("phi_t + lap lap phi");
  CHECK(std::abs(bi->green_hat(1.0, 1.0) - std::exp(-1.0)) < 1e-14);
  const auto c1_bi = bi->c1(2);
  CHECK(c1_bi.verdict == Verdict::no);
  CHECK_THAT(c1_bi.reason, Catch::Contains("negative lobes") && Catch::Contains("not Bernstein"));
  CHECK_THROWS_WITH(bi->generative(2), Catch::Contains("not Bernstein"));
  // Oscillating (Helmholtz-like): no subordinator, C1 unknown.
  const auto osc = make_custom_module("phi_tt + lap phi + 0.25 phi");
  CHECK(osc->c1(2).verdict == Verdict::conditional);
  CHECK_THROWS_AS(osc->generative(2), NotSupported);

  // The equation text reads back to the same terms.
  for (const std::string expr : {"i phi_t + lap phi", "2 phi_t + 3 i phi_t - lap^3 phi", "phi_t + (-lap)^0.3 phi",
                                 "-1e-20 phi_ttt + lap lap phi_t - 1.5 i phi", "lap phi_tt + phi_t - lap phi",
                                 "phi_t + (-lap + 0.25)^0.3 phi - 2 phi"}) {
    INFO(expr);
    const auto custom = make_custom_module(expr);
    const auto text = custom->equation();
    const auto again = parse_operator(text);
    const auto first = parse_operator(expr);
    REQUIRE(again.size() == first.size());
    for (std::size_t j = 0; j < again.size(); ++j) {
      CHECK(again[j].time_order == first[j].time_order);
      CHECK(again[j].space_power == first[j].space_power);
      CHECK(again[j].coefficient == first[j].coefficient);
      CHECK(again[j].shift == first[j].shift);
    }
  }
}

namespace {

// Combines like terms, drops zeros, sorts by (time order, space power) descending and divides by
// the first coefficient: an overall factor leaves the PDE (and its dispersion) unchanged.
std::vector<OperatorTerm> normalised(const std::vector<OperatorTerm>& terms) {
  std::map<std::tuple<int, double, double>, complex> sum;
  for (const auto& t : terms) sum[{-t.time_order, -t.space_power, t.shift}] += t.coefficient;
  std::vector<OperatorTerm> out;
  for (const auto& [key, c] : sum)
    if (c != 0.0) out.push_back({-std::get<0>(key), -std::get<1>(key), c, std::get<2>(key)});
  if (!out.empty()) {
    const complex lead = out.front().coefficient;
    for (auto& t : out) t.coefficient /= lead;
  }
  return out;
}

}  // namespace

TEST_CASE("module closed forms agree with the parser") {
  struct Case {
    ParamValues params;
    std::string expr;
  };
  const std::map<std::string, Case> cases = {
      {"diffusion", {{}, "phi_t - lap phi"}},
      {"poisson", {{}, "phi_tt + lap phi"}},
      {"screened-poisson", {{{"m", 1.3}}, "phi_tt + lap phi - 1.3*1.3 phi"}},
      {"helmholtz", {{{"k0", 0.5}}, "phi_tt + lap phi + 0.5*0.5 phi"}},
      {"dissipative-wave", {{{"eps", 0.7}}, "phi_tt + 2*0.7 phi_t - lap phi"}},
      {"biharmonic", {{}, "phi_t + lap lap phi"}},
      {"ideal-wave", {{}, "phi_tt - lap phi"}},
      {"schrodinger", {{}, "i phi_t + lap phi"}},
      {"mixed-diffusion-poisson", {{{"a", 2.0}, {"b", 3.0}}, "2 phi_tt - 3 phi_t + lap phi"}},
      {"fractional-diffusion", {{{"beta", 0.3}}, "phi_t + (-lap)^0.3 phi"}},
      {"third-order", {{}, "phi_ttt - lap phi"}},
      {"fractional-poisson", {{{"alpha", 1.5}}, "phi_tt - (-lap)^1.5 phi"}},
      {"tempered-diffusion",
       {{{"beta", 0.3}, {"m", 0.5}}, fmt::format("phi_t + (-lap + 0.25)^0.3 phi - {:.17g} phi", std::pow(0.25, 0.3))}},
  };
  // Every registered module has a case here.
  for (const auto& info : module_registry()) {
    INFO("module " << info.name);
    CHECK(cases.count(info.name) == 1);
  }
  for (const auto& [name, c] : cases) {
    INFO("module " << name << ": " << c.expr);
    const auto module = make_module(name, c.params);
    const auto mine = normalised(parse_operator(c.expr));
    const auto theirs = normalised(module->operator_terms());
    REQUIRE(theirs.size() == mine.size());
    for (std::size_t j = 0; j < mine.size(); ++j) {
      CHECK(theirs[j].time_order == mine[j].time_order);
      CHECK(theirs[j].space_power == Approx(mine[j].space_power).margin(1e-14));
      CHECK(theirs[j].shift == Approx(mine[j].shift).margin(1e-14));
      CHECK(std::abs(theirs[j].coefficient - mine[j].coefficient) <= 1e-12 * std::abs(mine[j].coefficient));
    }
    const auto branches = module->dispersion();
    for (double k : kValues) {
      std::vector<complex> closed;
      for (const auto& b : branches) closed.push_back(b.omega(k));
      check_same_roots(dispersion_roots(module->operator_terms(), k), closed,
                       name + " branches at k = " + std::to_string(k));
    }
  }
}
