// The s-generative check: closed-form dispersion branches at chosen k, the C2 analysis, and the
// verdicts of every row of the GenPhys tables (seed 003, Tables 3 and 4).
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <nlohmann/json.hpp>

#include "genphys/check.hpp"
#include "genphys/generative.hpp"

using namespace genphys;
using Catch::Matchers::Contains;

namespace {

// The branch values of a module at k, as a multiset matched to `expected` (order free).
void require_branches(const std::string& name, const ParamValues& params, double k,
                      std::vector<complex> expected) {
  const auto m = make_module(name, params);
  const auto branches = m->dispersion();
  REQUIRE(branches.size() == expected.size());
  std::vector<bool> used(expected.size(), false);
  for (const auto& b : branches) {
    const complex w = b.omega(k);
    bool found = false;
    for (size_t i = 0; i < expected.size() && !found; ++i)
      if (!used[i] && std::abs(w - expected[i]) <= 1e-12 * (1 + std::abs(expected[i]))) used[i] = found = true;
    INFO(name << " k=" << k << " branch " << b.label << " = " << w);
    CHECK(found);
  }
}

}  // namespace

TEST_CASE("closed-form dispersion branches at chosen k") {
  const complex i(0, 1);
  require_branches("diffusion", {}, 1.5, {-2.25 * i});
  require_branches("poisson", {}, 0.7, {-0.7 * i, 0.7 * i});
  require_branches("screened-poisson", {{"m", 0.6}}, 0.8, {-1.0 * i, 1.0 * i});
  require_branches("helmholtz", {{"k0", 0.5}}, 0.3, {-0.4, 0.4});
  require_branches("helmholtz", {{"k0", 0.5}}, 1.3, {-1.2 * i, 1.2 * i});
  require_branches("dissipative-wave", {{"eps", 1.0}}, 0.6, {-0.2 * i, -1.8 * i});
  require_branches("dissipative-wave", {{"eps", 1.0}}, 2.0, {-i + std::sqrt(3.0), -i - std::sqrt(3.0)});
  require_branches("biharmonic", {}, 2.0, {-16.0 * i});
  require_branches("ideal-wave", {}, 1.25, {-1.25, 1.25});
  require_branches("schrodinger", {}, 3.0, {9.0});
  require_branches("mixed-diffusion-poisson", {{"a", 2.0}, {"b", 3.0}}, 1.0,
                   {0.25 * i * (3 - std::sqrt(17.0)), 0.25 * i * (3 + std::sqrt(17.0))});
  require_branches("fractional-diffusion", {{"beta", 0.25}}, 16.0, {-4.0 * i});
  require_branches("third-order", {}, 8.0,
                   {-4.0 * i, 4.0 * std::polar(1.0, M_PI / 6), 4.0 * std::polar(1.0, 5 * M_PI / 6)});
}

TEST_CASE("C2 verdicts reproduce the dispersion tables") {
  struct Row {
    const char* pde;
    ParamValues params;
    Verdict c2;
  };
  const std::vector<Row> rows = {
      {"diffusion", {}, Verdict::yes},
      {"poisson", {}, Verdict::yes},
      {"ideal-wave", {}, Verdict::no},
      {"dissipative-wave", {{"eps", 1.0}}, Verdict::conditional},
      {"helmholtz", {{"k0", 0.5}}, Verdict::conditional},
      {"screened-poisson", {{"m", 1.0}}, Verdict::yes},
      {"schrodinger", {}, Verdict::no},
      {"mixed-diffusion-poisson", {{"a", 1.0}, {"b", 1.0}}, Verdict::yes},
      {"fractional-diffusion", {{"beta", 0.5}}, Verdict::yes},
      {"fractional-diffusion", {{"beta", 2.0}}, Verdict::yes},
      {"third-order", {}, Verdict::yes},
      {"biharmonic", {}, Verdict::yes},
  };
  for (const auto& row : rows) {
    INFO(row.pde);
    CHECK(analyse_c2(make_module(row.pde, row.params)->dispersion()).verdict.verdict == row.c2);
  }
}

TEST_CASE("C2 conditions are computed numbers") {
  SECTION("helmholtz: modes k <= k0 never decay") {
    for (double k0 : {0.5, 2.0}) {
      const C2Analysis a = analyse_c2(make_module("helmholtz", {{"k0", k0}})->dispersion());
      CHECK(a.k_nondecay == Approx(k0).epsilon(1e-10));
      CHECK_THAT(a.verdict.condition, Contains("do not decay"));
    }
    const C2Analysis a = analyse_c2(make_module("helmholtz", {{"k0", 0.5}})->dispersion());
    CHECK_THAT(a.verdict.condition, Contains("12.57"));  // 2 pi / 0.5
  }
  SECTION("dissipative wave: the decay gap saturates at eps") {
    for (double eps : {0.3, 1.0, 4.0}) {
      const C2Analysis a = analyse_c2(make_module("dissipative-wave", {{"eps", eps}})->dispersion());
      CHECK(a.gap_limit == Approx(eps).epsilon(1e-9));
      CHECK(a.branch == 0);  // the slow branch
    }
  }
  SECTION("third-order picks its one decaying branch") {
    const C2Analysis a = analyse_c2(make_module("third-order")->dispersion());
    CHECK(a.branch == 0);
  }
  SECTION("helmholtz with k0 = 0 is the Poisson equation") {
    CHECK(analyse_c2(make_module("helmholtz", {{"k0", 0.0}})->dispersion()).verdict.verdict == Verdict::yes);
  }
}

TEST_CASE("overall verdicts reproduce the s-generative row, C1 can veto C2") {
  struct Row {
    const char* pde;
    Verdict c1, overall;
  };
  const std::vector<Row> rows = {
      {"diffusion", Verdict::yes, Verdict::yes},
      {"poisson", Verdict::yes, Verdict::yes},
      {"screened-poisson", Verdict::yes, Verdict::yes},
      // C1 and C2 conditional, but in N = 784 the truncated kernel never concentrates (below).
      {"helmholtz", Verdict::conditional, Verdict::no},
      {"dissipative-wave", Verdict::conditional, Verdict::conditional},
      {"biharmonic", Verdict::no, Verdict::no},
      {"ideal-wave", Verdict::no, Verdict::no},
      {"schrodinger", Verdict::no, Verdict::no},
      {"mixed-diffusion-poisson", Verdict::yes, Verdict::yes},
      {"fractional-diffusion", Verdict::yes, Verdict::yes},
      {"third-order", Verdict::yes, Verdict::yes},
  };
  for (const auto& row : rows) {
    INFO(row.pde);
    const CheckResult r = check(*make_module(row.pde), 784);
    CHECK(r.c1.verdict == row.c1);
    CHECK(r.verdict == row.overall);
    CHECK(!r.c1.reason.empty());
    CHECK(!r.c2.reason.empty());
    if (r.verdict == Verdict::conditional) CHECK(!r.condition.empty());
  }
}

TEST_CASE("C1 of first-order kernels is measured: the verdict flips at beta = 1") {
  CHECK(min_relative_kernel_1d(*make_module("fractional-diffusion", {{"beta", 0.95}})) > -1e-9);
  const double lobe_105 = min_relative_kernel_1d(*make_module("fractional-diffusion", {{"beta", 1.05}}));
  CHECK(lobe_105 < -1e-6);
  // The biharmonic kernel's first negative lobe is ~10% of its peak.
  CHECK(min_relative_kernel_1d(*make_module("biharmonic")) == Approx(-0.1033).margin(5e-4));
  CHECK(check(*make_module("fractional-diffusion", {{"beta", 0.95}}), 784).c1.verdict == Verdict::yes);
  CHECK(check(*make_module("fractional-diffusion", {{"beta", 1.05}}), 784).c1.verdict == Verdict::no);
  CHECK(check(*make_module("fractional-diffusion", {{"beta", 1.05}}), 784).verdict == Verdict::no);
}

TEST_CASE("check JSON has the documented keys") {
  const auto j = nlohmann::json::parse(to_json(check(*make_module("helmholtz", {{"k0", 0.5}}), 2)));
  for (const char* key : {"pde", "params", "dim", "c1", "c2", "kernel", "verdict", "condition"}) CHECK(j.contains(key));
  CHECK(j["pde"] == "helmholtz");
  CHECK(j["params"]["k0"] == 0.5);
  CHECK(j["dim"] == 2);
  CHECK(j["c1"].contains("verdict"));
  CHECK(j["c2"]["verdict"] == "conditional");
  CHECK(j["kernel"]["verdict"] == "yes");
  CHECK(j["verdict"] == "conditional");
}

// Validity is decided in the data's own N: Helmholtz k0 = 0.5 concentrates in N = 2 (PFGM-like
// for small t) but in N = 784 its truncated kernel is a shell at rho ~ Z/k0 for every t (measured
// median radius 795 at sigma_min = 1e-6, the floor).
TEST_CASE("the kernel must concentrate in the data's N: Helmholtz accepted in N = 2, refused in N = 784") {
  const auto helmholtz = make_module("helmholtz", {{"k0", 0.5}});
  const CheckResult low = check(*helmholtz, 2), high = check(*helmholtz, 784);
  CHECK(low.kernel.verdict == Verdict::yes);
  CHECK(low.verdict == Verdict::conditional);
  CHECK(high.kernel.verdict == Verdict::no);
  CHECK(high.verdict == Verdict::no);
  CHECK_THAT(high.kernel.reason, Catch::Contains("does not concentrate") && Catch::Contains("795"));
  // Every module with a kernel sampler that check accepts concentrates, in both N.
  for (const char* name : {"diffusion", "poisson", "screened-poisson", "mixed-diffusion-poisson", "fractional-diffusion",
                           "third-order"})
    for (int n : {2, 784}) {
      INFO(name << " N = " << n);
      const CheckResult r = check(*make_module(name), n);
      CHECK(r.kernel.verdict == Verdict::yes);
      CHECK_THAT(r.kernel.reason, Catch::Contains("concentrates"));
    }
  // No kernel sampler in this N: not applicable, the verdict comes from C1 and C2.
  CHECK_THAT(check(*make_module("dissipative-wave"), 2).kernel.reason, Catch::Contains("not applicable"));
}

TEST_CASE("combine takes the weaker verdict") {
  CHECK(combine(Verdict::yes, Verdict::conditional) == Verdict::conditional);
  CHECK(combine(Verdict::no, Verdict::yes) == Verdict::no);
  CHECK(combine(Verdict::yes, Verdict::yes) == Verdict::yes);
}

// The dissipative wave (N = 1) ends its flow at sigma_min = sigma(ln(1e3)/eps), 2.531 for
// eps = 1, where the front still carries 1e-3 of the mass: a floor, not a choice. check names
// the smallest resolvable scale (2 sigma_min, measured: README) and the widest spread
// (0.4 sigma_max); check_data_resolution refuses data outside, naming both numbers.
TEST_CASE("dissipative wave N = 1: check names the smallest resolvable scale; finer or wider data are refused") {
  const auto m = make_module("dissipative-wave", {{"eps", 1.0}});
  const CheckResult r = check(*m, 1);
  CHECK(r.kernel.verdict == Verdict::conditional);
  CHECK(r.verdict == Verdict::conditional);
  CHECK_THAT(r.kernel.reason, Contains("sigma_min = 2.531") && Contains("smallest resolvable scale is 2 sigma_min = 5.063"));
  CHECK_THAT(r.condition, Contains("spacing >= 2 sigma_min = 5.063") && Contains("<= 0.4 sigma_max = 32"));
  CHECK_THAT(to_json(r), Contains("5.063"));

  const auto p = m->generative(1);
  const auto limit = resolution_limit(*p);
  REQUIRE(limit);
  CHECK(limit->min_spacing == Approx(2.0 * p->sigma_min()));
  CHECK(p->sigma_min() == Approx(2.531).epsilon(1e-3));
  CHECK(limit->max_spread == Approx(32.0));
  // A caller's sigma_max moves the spread limit; a sigma_min below the floor does not move the spacing.
  CHECK(resolution_limit(*p, 1.0, 200.0)->min_spacing == Approx(limit->min_spacing));
  CHECK(resolution_limit(*p, 4.0, 200.0)->min_spacing == Approx(8.0));
  CHECK(resolution_limit(*p, 1.0, 200.0)->max_spread == Approx(80.0));

  // Four points (one isolated at -c, three at c, 1.1 c, 0.95 c): spacing 0.05 c, RMS spread 0.875 c.
  auto four = [](double c) {
    Eigen::MatrixXd d(4, 1);
    d << -c, c, 1.1 * c, 0.95 * c;
    return d;
  };
  CHECK(nearest_neighbour_spacing(four(30)) == Approx(1.5));
  CHECK(rms_spread(four(30)) == Approx(0.875 * 30).epsilon(1e-3));
  const auto message = [&](const Eigen::MatrixXd& d, double sigma_max = 0.0) {
    try {
      check_data_resolution(*p, d, 0.0, sigma_max);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK_THAT(message(four(30)), Contains("spacing 1.5") && Contains("5.063"));
  CHECK_THAT(message(four(150)), Contains("spread about its mean 131.2") && Contains("0.4 sigma_max = 32"));
  // No scale fits these four points: spacing >= 5.063 needs c >= 101, spread <= 32 needs c <= 36.6.
  CHECK_THAT(message(four(100)), Contains("spacing 5"));
  CHECK_THAT(message(four(40)), Contains("spacing 2 "));
  // A larger sigma_max forgets the spread: 131.2 <= 0.4 x 400.
  CHECK(message(four(150), 400.0).empty());
  // The cluster resolved at 2.02 sigma_min, spread 17.7: accepted.
  Eigen::MatrixXd ok(4, 1);
  ok << -20.0, 20.0, 25.1, 14.9;
  CHECK(message(ok).empty());
  // Processes without a floor have no limit.
  CHECK(!resolution_limit(*make_module("diffusion")->generative(1)));
  CHECK_NOTHROW(check_data_resolution(*make_module("diffusion")->generative(1), four(30)));
}
