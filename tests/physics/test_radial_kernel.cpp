// Radial kernels sampled by inverting their tabulated radial CDF (radial_kernel.hpp): Helmholtz
// (truncated to its positive region) and the N = 1 dissipative wave. Every law is checked against
// a CDF computed here by a different route: Boost quadrature (tanh-sinh, Gauss-Kronrod) of the
// closed form with Boost's own Bessel functions in low N, and a plain trapezoid rule in r on log
// densities in N = 784 and 3072.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/tanh_sinh.hpp>
#include <boost/math/special_functions/bessel.hpp>

#include "ks.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"
#include "genphys/pde.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/random.hpp"
#include "genphys/special.hpp"

using namespace genphys;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
using Fn = std::function<double(double)>;

// One-sample KS statistic of sorted x against the CDF values F at those points.
double ks_sorted(const std::vector<double>& F) {
  const double n = static_cast<double>(F.size());
  double d = 0.0;
  for (std::size_t i = 0; i < F.size(); ++i) d = std::max({d, std::fabs(F[i] - i / n), std::fabs(F[i] - (i + 1) / n)});
  return d;
}

using genphys::test::kKsFactor;
using genphys::test::kSamples;
using genphys::test::ks_two_sample;
using genphys::test::sample_radii;
using genphys::test::quantile;

// CDF of a density f on [0, b] at the sorted points x (all <= b), normalised by the integral over
// [0, b]: tanh-sinh on the end pieces, 20-point Gauss-Legendre between neighbouring points.
std::vector<double> quadrature_cdf(const Fn& f, std::vector<double> x, double b, double* total_out = nullptr) {
  boost::math::quadrature::tanh_sinh<double> ts;
  std::vector<double> F(x.size());
  double acc = x.empty() ? 0.0 : ts.integrate(f, 0.0, x[0], 1e-13);
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (i > 0 && x[i] > x[i - 1])
      acc += boost::math::quadrature::gauss<double, 20>::integrate(f, x[i - 1], x[i]);
    F[i] = acc;
  }
  const double rest = x.empty() ? ts.integrate(f, 0.0, b, 1e-13) : (x.back() < b ? ts.integrate(f, x.back(), b, 1e-13) : 0.0);
  const double total = acc + rest;
  for (double& v : F) v /= total;
  if (total_out) *total_out = total;
  return F;
}

// ---- Helmholtz, written here from the closed form --------------------------------------------

// Radial density r^(N-1) t rho^-(nu+1) (-Y_(nu+1)(k0 rho)) with Boost's cyl_neumann (low N).
Fn helmholtz_radial_boost(int n, double k0, double t) {
  const double mu = 0.5 * (n + 1);
  return [=](double r) {
    const double rho = std::hypot(t, r);
    const double y = boost::math::cyl_neumann(mu, k0 * rho);
    if (!(y < 0.0)) return 0.0;
    return std::pow(r, n - 1) * t * std::pow(rho, -mu) * (-y);
  };
}

// The same as a log, through special::bessel_y called directly (high N).
double helmholtz_log_radial(int n, double k0, double t, double r) {
  const double mu = 0.5 * (n + 1), rho = std::hypot(t, r);
  const SignedLog y = special::bessel_y(mu, k0 * rho);
  if (y.sign >= 0 || !(r > 0.0)) return -std::numeric_limits<double>::infinity();
  return (n - 1) * std::log(r) + std::log(t) - mu * std::log(rho) + y.log_abs;
}

// A radial law tabulated by the trapezoid rule in r on [lo, hi], where lo, hi bracket the points
// with log density within 40 of the maximum on a coarse scan of [0, b].
class TrapezoidLaw {
 public:
  TrapezoidLaw(const Fn& logf, double b, int coarse = 2000, int fine = 6000) {
    double best = -std::numeric_limits<double>::infinity();
    std::vector<double> v(coarse + 1);
    for (int i = 0; i <= coarse; ++i) {
      v[i] = logf(b * i / coarse);
      best = std::max(best, v[i]);
    }
    int first = coarse, last = 0;
    for (int i = 0; i <= coarse; ++i)
      if (v[i] > best - 40.0) {
        first = std::min(first, i);
        last = i;
      }
    lo_ = b * std::max(first - 1, 0) / coarse;
    hi_ = b * std::min(last + 1, coarse) / coarse;
    h_ = (hi_ - lo_) / fine;
    std::vector<double> l(fine + 1);
    lmax_ = -std::numeric_limits<double>::infinity();
    for (int i = 0; i <= fine; ++i) {
      l[i] = logf(lo_ + h_ * i);
      lmax_ = std::max(lmax_, l[i]);
    }
    cum_.assign(fine + 1, 0.0);
    dens_.resize(fine + 1);
    for (int i = 0; i <= fine; ++i) dens_[i] = std::isfinite(l[i]) ? std::exp(l[i] - lmax_) : 0.0;
    for (int i = 0; i < fine; ++i) cum_[i + 1] = cum_[i] + 0.5 * h_ * (dens_[i] + dens_[i + 1]);
    total_ = cum_.back();
  }
  double cdf(double r) const {
    if (r <= lo_) return 0.0;
    if (r >= hi_) return 1.0;
    const std::size_t i = std::min(cum_.size() - 2, static_cast<std::size_t>((r - lo_) / h_));
    const double w = (r - lo_ - h_ * i) / h_;
    // Exact integral of the linear interpolant of the density over the partial cell.
    const double part = h_ * w * (dens_[i] + 0.5 * w * (dens_[i + 1] - dens_[i]));
    return (cum_[i] + part) / total_;
  }
  /// log of the integral of exp(logf) over [lo, hi].
  double log_mass() const { return lmax_ + std::log(total_); }

 private:
  double lo_, hi_, h_, lmax_, total_;
  std::vector<double> cum_, dens_;
};

RadialKernelProcess& radial(GenerativeProcess& p) {
  auto* r = dynamic_cast<RadialKernelProcess*>(&p);
  REQUIRE(r != nullptr);
  return *r;
}

// ---- dissipative wave, N = 1, from the closed form with Boost's cyl_bessel_i -----------------

double dw_bulk(double eps, double t, double x) {
  const double w = std::sqrt(std::max(0.0, (t - x) * (t + x)));
  const double z = eps * w;
  const double i1_over_w = z < 1e-8 ? 0.5 * eps : boost::math::cyl_bessel_i(1, z) / w;
  return 0.5 * eps * std::exp(-eps * t) * (boost::math::cyl_bessel_i(0, z) + t * i1_over_w);
}

}  // namespace

// ================================================================================================

TEST_CASE("Helmholtz N = 1, 2, 5: sampled radii and radial_cdf against tanh-sinh of the closed form") {
  for (int n : {1, 2, 5})
    for (double k0 : {0.5, 0.05}) {
      auto p = make_helmholtz_process(n, k0);
      const double bound = helmholtz_time_bound(n, k0);
      const double z = boost::math::cyl_neumann_zero(0.5 * (n + 1), 1);
      CHECK(bound == Approx(z / k0).epsilon(1e-12));
      for (double tf : {0.02, 0.3, 0.6, 0.95}) {
        const double t = tf * bound, rmax = std::sqrt(bound * bound - t * t);
        INFO("N = " << n << ", k0 = " << k0 << ", t = " << t);
        auto radii = sample_radii(*p, t, 1000 * n + static_cast<std::uint64_t>(100 * tf) + (k0 < 0.1 ? 7 : 0));
        std::sort(radii.begin(), radii.end());
        CHECK(radii.front() > 0.0);
        CHECK(radii.back() <= rmax);
        const Fn f = helmholtz_radial_boost(n, k0, t);
        double total = 0.0;
        const auto F = quadrature_cdf(f, radii, rmax, &total);
        const double d = ks_sorted(F);
        CHECK(d < kKsFactor / std::sqrt(double(kSamples)));
        // The library's CDF at every 400th sample, to quadrature accuracy.
        double worst = 0.0;
        for (std::size_t i = 0; i < radii.size(); i += 400) worst = std::max(worst, std::fabs(p->radial_cdf(radii[i], t) - F[i]));
        CHECK(worst < 1e-9);
        // log_kernel is normalised: |S^(N-1)| r^(N-1) exp(log_kernel) integrates to 1.
        const double c = std::log(total) - std::log(f(radii[2000]));
        const double lk = p->log_kernel(radii[2000], t) + special::log_unit_sphere_area(n) + (n - 1) * std::log(radii[2000]);
        CHECK(std::exp(lk + c) == Approx(1.0).epsilon(1e-9));
        WARN("Helmholtz N = " << n << " k0 = " << k0 << " t = " << t << ": KS D = " << d << ", max |F - F_ts| = " << worst);
      }
    }
}

TEST_CASE("Helmholtz N = 784 and 3072: sampled radii against a trapezoid rule on the log density") {
  for (int n : {784, 3072})
    for (double k0 : {0.5, 0.05}) {
      auto p = make_helmholtz_process(n, k0);
      auto& rp = radial(*p);
      const double bound = helmholtz_time_bound(n, k0);
      for (double t : {1.0, 0.5 * bound, 0.9 * bound}) {
        INFO("N = " << n << ", k0 = " << k0 << ", t = " << t);
        const double rmax = std::sqrt(bound * bound - t * t);
        const TrapezoidLaw law([&](double r) { return helmholtz_log_radial(n, k0, t, r); }, rmax);
        auto radii = sample_radii(*p, t, 100 + n + static_cast<std::uint64_t>(10 * t / bound) + (k0 < 0.1 ? 50 : 0));
        std::sort(radii.begin(), radii.end());
        std::vector<double> F;
        for (double r : radii) F.push_back(law.cdf(r));
        const double d = ks_sorted(F);
        CHECK(d < kKsFactor / std::sqrt(double(kSamples)));
        double worst = 0.0;
        for (std::size_t i = 0; i < radii.size(); i += 200) worst = std::max(worst, std::fabs(p->radial_cdf(radii[i], t) - F[i]));
        CHECK(worst < 1e-5);
        // Normalisation: log of the unnormalised mass against the trapezoid's (same constants).
        const double log_mass_trap = special::log_unit_sphere_area(n) + law.log_mass() +
                                     std::log(kPi) - 0.5 * (n + 1) * std::log(2 * kPi) + 0.5 * (n + 1) * std::log(k0);
        CHECK(rp.log_unnormalised_mass(t) == Approx(log_mass_trap).margin(1e-5));
        // log_kernel (Bessel factor from the per-process Chebyshev fit) against special::bessel_y
        // called directly: their difference is the constant log mass.
        double spread = 0.0;
        for (std::size_t i = 0; i < radii.size(); i += 100) {
          const double r = radii[i];
          const double direct = helmholtz_log_radial(n, k0, t, r) - (n - 1) * std::log(r) + std::log(kPi) -
                                0.5 * (n + 1) * std::log(2 * kPi) + 0.5 * (n + 1) * std::log(k0);
          spread = std::max(spread, std::fabs(p->log_kernel(r, t) + rp.log_unnormalised_mass(t) - direct));
        }
        CHECK(spread < 1e-9);
        WARN("Helmholtz N = " << n << " k0 = " << k0 << " t = " << t << ": median radius " << radii[2000] << " (bound "
                              << bound << "), KS D = " << d << ", max |F - F_trap| = " << worst
                              << ", log mass of p>0 part = " << rp.log_unnormalised_mass(t)
                              << ", |log_kernel - direct| spread = " << spread);
      }
    }
}

TEST_CASE("Helmholtz with k0 -> 0 is PFGM (D = 1) in low N; in high N the positive region dominates") {
  for (int n : {1, 2, 3, 8})
    for (double t : {0.1, 1.0}) {
      INFO("N = " << n << ", t = " << t);
      auto h = make_helmholtz_process(n, 1e-6);
      auto pf = make_pfgmpp_process(n, 1.0);
      const auto a = sample_radii(*h, t, 7 + 10 * n + (t < 0.5)), b = sample_radii(*pf, t, 8 + 10 * n + (t < 0.5));
      const double d2 = ks_two_sample(a, b);
      CHECK(d2 < kKsFactor * std::sqrt(2.0 / kSamples));
      auto s = a;
      std::sort(s.begin(), s.end());
      std::vector<double> F;
      for (double r : s) F.push_back(pf->radial_cdf(r, t));
      CHECK(ks_sorted(F) < kKsFactor / std::sqrt(double(kSamples)));
      // The CDFs themselves: the truncation and the Bessel correction are O(k0 t) here.
      double worst = 0.0;
      for (double q : {0.01, 0.1, 0.5, 0.9, 0.99}) {
        const double r = s[static_cast<std::size_t>(q * (s.size() - 1))];
        worst = std::max(worst, std::fabs(h->radial_cdf(r, t) - pf->radial_cdf(r, t)));
      }
      CHECK(worst < 1e-4);
      WARN("k0 = 1e-6, N = " << n << ", t = " << t << ": two-sample KS D = " << d2 << ", max |F_helm - F_pfgm| = " << worst);
    }
  // N = 100: x^(nu+1) |Y_(nu+1)(x)| grows by ~e^15 towards x ~ nu, so the part of the kernel at
  // rho ~ nu / k0 = 5e7 outweighs the PFGM bump even for k0 t = 1e-6: the limit is not uniform in N.
  auto h = make_helmholtz_process(100, 1e-6);
  auto pf = make_pfgmpp_process(100, 1.0);
  CHECK(pf->radial_cdf(1e4, 1.0) > 0.999);
  CHECK(h->radial_cdf(1e4, 1.0) < 0.95);
  CHECK(h->radial_cdf(4e7, 1.0) < 0.9 * h->radial_cdf(1e4, 1.0) + 0.1);
}

TEST_CASE("Helmholtz: velocity, birth/death ratio against the module's point flow, sigma, refusals") {
  for (int n : {2, 784}) {
    const double k0 = 0.5;
    const auto module = make_module("helmholtz", {{"k0", k0}});
    // The module generates from the normalised kernel's own mass-conserving flow; its PDE's own
    // flow (velocity (x - y)/t, R = k0^2 phi) is the unnormalised alternative.
    auto normalised = module->generative(n);
    REQUIRE(normalised != nullptr);
    CHECK_FALSE(normalised->affine_velocity());
    CHECK_FALSE(normalised->has_birth_death());
    auto g = module->unnormalised_generative(n);
    REQUIRE(g != nullptr);
    CHECK(g->dim() == n);
    CHECK(g->affine_velocity());
    CHECK(g->has_birth_death());
    const double bound = helmholtz_time_bound(n, k0);
    CHECK(g->sigma_max() == Approx(std::min(80.0, 0.5 * bound)));
    CHECK(g->sigma_max() < bound);
    for (double t : {0.3, 0.5 * bound, 0.9 * bound})
      for (double rf : {0.0, 0.2, 0.7, 0.99}) {
        const double r = rf * std::sqrt(bound * bound - t * t);
        INFO("N = " << n << ", t = " << t << ", r = " << r);
        const auto f = module->point_flow(r, t, n);
        REQUIRE(f.p.sign > 0);
        const double rate_over_p = f.rate.sign * std::exp(f.rate.log_abs - f.p.log_abs);
        CHECK(g->birth_death_ratio(r, t) == Approx(rate_over_p).epsilon(1e-10));
        if (r > 0) CHECK(std::exp(f.flux.log_abs - f.p.log_abs) == Approx(g->velocity_scale(t) * r).epsilon(1e-12));
        CHECK(g->sigma(t) == t);
        CHECK(g->time(t) == t);
        // log_kernel is p up to its (t-dependent) normalisation.
        const double ref = g->log_kernel(0.0, t) - module->point_flow(0.0, t, n).p.log_abs;
        CHECK(g->log_kernel(r, t) - f.p.log_abs == Approx(ref).margin(1e-9 * (1 + std::fabs(ref))));
      }
    // Refusals at and beyond the bound, naming it.
    for (double t : {bound, bound * (1 + 1e-9), 2 * bound}) {
      Rng rng(1);
      CHECK_THROWS_AS(g->sample_radius(rng, t), InputError);
      CHECK_THROWS_AS(g->radial_cdf(1.0, t), InputError);
      CHECK_THROWS_AS(g->log_kernel(1.0, t), InputError);
      CHECK_THROWS_WITH(g->sample_radius(rng, t), Catch::Contains("validity region") && Catch::Contains("y_("));
    }
    CHECK_THROWS_AS(g->radial_cdf(1.0, 0.0), InputError);
    CHECK_THROWS_AS(g->radial_cdf(1.0, -1.0), InputError);
  }
  // k0 = 0 is PFGM itself; k0 tiny keeps the EDM sigma_max.
  CHECK(make_helmholtz_process(3, 0.0)->sigma_max() == 80.0);
  CHECK(!make_helmholtz_process(3, 0.0)->has_birth_death());
  CHECK(make_helmholtz_process(3, 1e-6)->sigma_max() == 80.0);
  // Tiny k0: PFGM's kernel, whose tail sets sigma_min (tail_matched_sigma_min).
  CHECK(make_helmholtz_process(3, 1e-6)->sigma_min() ==
        Approx(tail_matched_sigma_min(*make_pfgmpp_process(3, 1.0))).epsilon(1e-3));
  CHECK(make_helmholtz_process(3, 1e-6)->sigma_min() < 2e-4);
  auto tight = make_helmholtz_process(784, 1e6);  // bound ~4e-4
  CHECK(tight->sigma_max() == Approx(0.5 * helmholtz_time_bound(784, 1e6)));
  CHECK(tight->sigma_min() == Approx(1e-3 * tight->sigma_max()));
  {
    Rng rng(2);
    const double r = tight->sample_radius(rng, tight->sigma_max());
    CHECK((std::isfinite(r) && r > 0 && r < helmholtz_time_bound(784, 1e6)));
  }
  CHECK_THROWS_AS(make_helmholtz_process(0, 0.5), InputError);
  CHECK_THROWS_AS(make_helmholtz_process(3, -1.0), InputError);
  CHECK_THROWS_AS(make_helmholtz_process(3, std::nan("")), InputError);
}

TEST_CASE("Helmholtz: displacements in N = 3072 are finite with the sampled radius; timings") {
  const int n = 3072;
  auto p = make_helmholtz_process(n, 0.05);
  auto& rp = radial(*p);
  const double t = p->sigma_max();
  std::vector<double> x(n);
  Rng rng(42);
  for (int k = 0; k < 20; ++k) {
    Rng copy = rng;
    const double r = p->sample_radius(copy, t);
    p->sample_displacement(rng, t, x.data());
    double norm2 = 0.0;
    bool finite = true;
    for (double v : x) {
      finite = finite && std::isfinite(v);
      norm2 += v * v;
    }
    CHECK(finite);
    CHECK(std::sqrt(norm2) == Approx(r).epsilon(1e-12));  // the radius is drawn first from the same stream
  }
  // Same seed, same radius; radii at a cached t.
  Rng r1(5), r2(5);
  CHECK(p->sample_radius(r1, 7.0) == p->sample_radius(r2, 7.0));

  auto fresh = make_helmholtz_process(n, 0.05);
  auto& fr = radial(*fresh);
  auto t0 = std::chrono::steady_clock::now();
  fr.table(3.0);  // first table: includes the per-process fit of the Bessel factor
  const double first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  t0 = std::chrono::steady_clock::now();
  const int tables = 50;
  for (int i = 0; i < tables; ++i) fr.table(1.0 + 100.0 * i);
  const double build_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / tables;
  const int m = 400000;
  double sum = 0.0;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < m; ++i) sum += fr.sample_radius(rng, 3.0);
  const double rate = m / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(std::isfinite(sum));
  // Training draws a new t for every sample: one table per radius.
  auto fresh784 = make_helmholtz_process(784, 0.5);
  fresh784->sample_radius(rng, 1.0);  // the Bessel fit
  const int fresh_t = 200;
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < fresh_t; ++i) sum += fresh784->sample_radius(rng, 0.002 * std::pow(80.0 / 0.002, i / (fresh_t - 1.0)));
  const double fresh_rate = fresh_t / std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(std::isfinite(sum));
  const auto tab = rp.table(t);
  WARN("Helmholtz N = 3072, k0 = 0.05: first table " << first_ms << " ms, later tables " << build_ms
                                                     << " ms each, " << rate << " radii/s at a fixed t; table at t = "
                                                     << t << ": " << tab->panels() << " panels, " << tab->evaluations()
                                                     << " evaluations; N = 784 with a fresh t per radius: "
                                                     << fresh_rate << " radii/s");
}

TEST_CASE("dissipative wave N = 1: pulses, bulk, normalisation, sigma") {
  for (double eps : {0.5, 2.0})
    for (double t : {0.3, 1.0, 3.0}) {
      INFO("eps = " << eps << ", t = " << t);
      const auto module = make_module("dissipative-wave", {{"eps", eps}});
      auto p = module->generative(1);
      REQUIRE(p != nullptr);
      auto& rp = radial(*p);
      const double w = std::exp(-eps * t);
      // The bulk written here has mass 1 - e^(-eps t) (so p has mass 1 with the pulses) ...
      boost::math::quadrature::tanh_sinh<double> ts;
      const double bulk_mass = 2.0 * ts.integrate([&](double x) { return dw_bulk(eps, t, x); }, 0.0, t, 1e-13);
      CHECK(bulk_mass == Approx(1.0 - w).epsilon(1e-10));
      // ... is the module's point flow ...
      for (double xf : {0.0, 0.3, 0.9, 0.999}) {
        const double x = xf * t;
        CHECK(module->point_flow(x, t, 1).p.value() == Approx(dw_bulk(eps, t, x)).epsilon(1e-10));
        CHECK(std::exp(p->log_kernel(x, t)) == Approx(dw_bulk(eps, t, x)).epsilon(1e-10));
      }
      CHECK(rp.log_unnormalised_mass(t) == Approx(std::log1p(-w)).margin(1e-11));
      CHECK(p->log_kernel(1.0001 * t, t) == -std::numeric_limits<double>::infinity());
      // ... and the sampler: pulses with probability e^(-eps t), the bulk by inversion.
      const int m = 20000;
      auto radii = sample_radii(*p, t, 31 + static_cast<std::uint64_t>(10 * t + 100 * eps), m);
      std::vector<double> bulk;
      for (double r : radii)
        if (r == t) continue;
        else bulk.push_back(r);
      const double frac = 1.0 - double(bulk.size()) / m;
      CHECK(std::fabs(frac - w) < 4.0 * std::sqrt(w * (1 - w) / m));
      std::sort(bulk.begin(), bulk.end());
      CHECK(bulk.back() < t);
      const auto F = quadrature_cdf([&](double x) { return dw_bulk(eps, t, x); }, bulk, t);
      const double d = ks_sorted(F);
      CHECK(d < kKsFactor / std::sqrt(double(bulk.size())));
      // radial_cdf with the jump at t.
      const std::size_t mid = bulk.size() / 2;
      CHECK(p->radial_cdf(bulk[mid], t) == Approx((1 - w) * F[mid]).margin(1e-10));
      CHECK(p->radial_cdf(t, t) == 1.0);
      CHECK(p->radial_cdf(t * (1 - 1e-12), t) == Approx(1 - w).margin(1e-9));
      // sigma^2 = E[x^2]: quadrature of the bulk plus the pulses; and the sample mean.
      const double m2 = 2.0 * ts.integrate([&](double x) { return x * x * dw_bulk(eps, t, x); }, 0.0, t, 1e-13) + w * t * t;
      CHECK(p->sigma(t) * p->sigma(t) == Approx(m2).epsilon(1e-10));
      double s2 = 0.0, s4 = 0.0;
      for (double r : radii) {
        s2 += r * r;
        s4 += r * r * r * r;
      }
      const double mean = s2 / m, se = std::sqrt((s4 / m - mean * mean) / m);
      CHECK(std::fabs(mean - m2) < 5 * se);
      CHECK(p->time(p->sigma(t)) == Approx(t).epsilon(1e-12));
      // Displacements: +-radius with both signs.
      int positive = 0;
      Rng rng(3);
      for (int i = 0; i < 2000; ++i) {
        double x = 0.0;
        p->sample_displacement(rng, t, &x);
        CHECK(std::fabs(x) <= t);
        positive += x > 0;
      }
      CHECK(std::abs(positive - 1000) < 4 * std::sqrt(500.0));
      WARN("dissipative wave eps = " << eps << " t = " << t << ": pulse fraction " << frac << " (e^-eps t = " << w
                                     << "), bulk KS D = " << d << " (n = " << bulk.size() << "), sigma = " << p->sigma(t));
    }
  // sigma(t) limits: t at eps t -> 0 (pure wave), sqrt(t / eps) for eps t >> 1 (diffusion).
  auto p = make_dissipative_wave_process(1, 0.5);
  CHECK(p->sigma(1e-6) == Approx(1e-6).epsilon(1e-6));
  CHECK(p->sigma(1e4) == Approx(std::sqrt(1e4 / 0.5 - 1.0 / (2 * 0.25))).epsilon(1e-12));
  for (double s : {0.002, 0.3, 1.0, 80.0}) CHECK(p->sigma(p->time(s)) == Approx(s).epsilon(1e-12));
  // Large eps t: the pulse underflows, the bulk is a narrow Gaussian-like law.
  const auto far = sample_radii(*p, 1e4, 9, 4000);
  double s2 = 0.0, s4 = 0.0;
  for (double r : far) {
    CHECK((std::isfinite(r) && r > 0 && r < 1e4));
    s2 += r * r;
    s4 += r * r * r * r;
  }
  const double mean = s2 / far.size(), se = std::sqrt((s4 / far.size() - mean * mean) / far.size());
  CHECK(std::fabs(mean - p->sigma(1e4) * p->sigma(1e4)) < 5 * se);
  // eps = 0: the pulses carry everything.
  auto wave = make_dissipative_wave_process(1, 0.0);
  CHECK(wave->sigma(2.0) == 2.0);
  for (double r : sample_radii(*wave, 2.0, 1, 100)) CHECK(r == 2.0);
}

TEST_CASE("dissipative wave: no kernel in N >= 2, no affine velocity") {
  const auto module = make_module("dissipative-wave", {{"eps", 1.0}});
  CHECK(module->generative(2) == nullptr);
  CHECK(module->generative(784) == nullptr);
  CHECK_THROWS_AS(make_dissipative_wave_process(2, 1.0), NotSupported);
  CHECK_THROWS_AS(make_dissipative_wave_process(1, -1.0), InputError);
  auto p = module->generative(1);
  REQUIRE(p != nullptr);
  CHECK(!p->affine_velocity());
  CHECK(!p->has_birth_death());
  CHECK_THROWS_AS(p->velocity_scale(1.0), NotSupported);
  CHECK_THROWS_WITH(p->velocity_scale(1.0), Catch::Contains("not affine"));
  // The quantile-preserving velocity exists instead, and is finite inside the cone.
  CHECK(std::isfinite(quantile_radial_velocity(*p, 0.5, 1.0)));
}

namespace {

// Moves radii drawn at t0 with dr/dt = source_radial_speed(r, t) (RK4) to t1.
std::vector<double> transport_radii(const GenerativeProcess& p, std::vector<double> radii, double t0, double t1,
                                    int steps) {
  const double h = (t1 - t0) / steps;
  for (double& r : radii) {
    double t = t0;
    for (int i = 0; i < steps; ++i, t += h) {
      const double k1 = p.source_radial_speed(r, t), k2 = p.source_radial_speed(r + 0.5 * h * k1, t + 0.5 * h);
      const double k3 = p.source_radial_speed(r + 0.5 * h * k2, t + 0.5 * h);
      const double k4 = p.source_radial_speed(r + h * k3, t + h);
      r += h * (k1 + 2 * k2 + 2 * k3 + k4) / 6.0;
    }
  }
  return radii;
}

double ks_against_cdf(std::vector<double> x, const std::function<double(double)>& cdf) {
  std::sort(x.begin(), x.end());
  double d = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double f = cdf(x[i]);
    d = std::max({d, std::fabs(f - double(i) / x.size()), std::fabs(f - double(i + 1) / x.size())});
  }
  return d;
}

}  // namespace

// The per-source velocity is what training regresses on when the field is not affine. Two
// checks: it equals the quantile velocity -dF/dt / f (closed form vs finite differences), and
// radii drawn at t0 and moved with it are distributed as the kernel at t1 (KS). Measured, 1000
// radii: D = 0.025, 0.021, 0.025, 0.022 against a critical 0.062; the unmoved t0 draws give
// 0.47, 0.56, 0.18, 0.64.
TEST_CASE("per-source velocities transport the kernel: screened Poisson, mixed diffusion-Poisson, Helmholtz, dissipative wave, diffusion") {
  const int n = 1000;
  const double critical = kKsFactor / std::sqrt(double(n));
  struct Case {
    std::string name;
    std::shared_ptr<GenerativeProcess> p;
    double t0, t1;
  };
  std::vector<Case> cases;
  cases.push_back({"mixed N = 2", make_mixed_diffusion_poisson_process(2, 2.0, 3.0), 0.5, 2.0});
  cases.push_back({"mixed N = 784", make_mixed_diffusion_poisson_process(784, 1.0, 1.0), 0.3, 1.0});
  // Screened Poisson generates from its normalised kernel's own flow: Poisson-like at m t << 1,
  // diffusion-like beyond; the transport crosses over.
  cases.push_back({"screened Poisson m = 1, N = 2", make_yukawa_process(2, 1.0), 0.1, 3.0});
  cases.push_back({"screened Poisson m = 2, N = 784", make_yukawa_process(784, 2.0), 0.05, 1.0});
  // Helmholtz's truncated, normalised kernel in N = 2 (bound y_(3/2,1)/k0 = 8.99 for k0 = 0.5).
  cases.push_back({"helmholtz k0 = 0.5, N = 2", make_helmholtz_process(2, 0.5), 0.5, 3.0});
  // eps t0 = 8: the front pulses hold e^-8 = 3e-4 of the mass, which the bulk velocity ignores.
  cases.push_back({"dissipative wave", make_dissipative_wave_process(1, 1.0), 8.0, 16.0});
  cases.push_back({"diffusion N = 3", make_diffusion_process(3), 0.2, 1.0});
  for (auto& c : cases) {
    INFO(c.name);
    const auto moved = transport_radii(*c.p, sample_radii(*c.p, c.t0, 17, n), c.t0, c.t1, 16);
    const double d = ks_against_cdf(moved, [&](double r) { return c.p->radial_cdf(r, c.t1); });
    CHECK(d < critical);
    // Not transported, the t0 draws are far from the t1 kernel: the test can tell.
    const double d0 = ks_against_cdf(sample_radii(*c.p, c.t0, 17, n), [&](double r) { return c.p->radial_cdf(r, c.t1); });
    CHECK(d0 > 2.5 * critical);
    for (double q : {0.3, 0.7}) {
      const double r = c.name == "dissipative wave" ? q * c.t1 : quantile(moved, q);
      CHECK(c.p->source_radial_speed(r, c.t1) == Approx(quantile_radial_velocity(*c.p, r, c.t1)).epsilon(1e-5));
    }
  }
}

// Helmholtz k0 = 0.5 in N, with its radial-kernel base (for tables and the direct draws) and its
// sampling range.
struct HelmholtzAtDefaults {
  std::unique_ptr<GenerativeProcess> p;
  const RadialKernelProcess* rk;
  double t_lo, t_hi;
  explicit HelmholtzAtDefaults(int n)
      : p(make_helmholtz_process(n, 0.5)), rk(&radial(*p)), t_lo(p->sigma_min()), t_hi(p->sigma_max()) {}
};

// Helmholtz's normalised flow tabulates its per-source speed once per process (pdes/helmholtz.cpp:
// Chebyshev in log t, piecewise Chebyshev in eta = log(rho/t)/log(B/t)). Two checks, for N = 1, 2
// and 10: (1) against the direct quantile_radial_velocity on a grid of t (log-spaced over the
// sampling range, off the table's nodes) and r at the kernel's quantiles 1e-5 .. 1 - 1e-5 (near
// r = 0 and the support's edge; the table covers 1e-4 .. 1 - 1e-4 and computes directly beyond);
// (2) moving the radius of quantile u at t0 with the speed (RK4) must land on quantile u at t1.
TEST_CASE("Helmholtz: the tabulated per-source speed against the direct quantile velocity, and transport of quantiles") {
  const std::vector<double> levels{1e-5, 1.001e-4, 1e-3, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.99, 0.999, 1 - 1.001e-4, 1 - 1e-5};
  for (int n : {1, 2, 10}) {
    INFO("N = " << n);
    const HelmholtzAtDefaults h(n);
    const auto& [p, rk, t_lo, t_hi] = h;
    double worst = 0.0;
    int points = 0;
    for (int i = 0; i <= 20; ++i) {
      const double t = t_lo * std::pow(t_hi / t_lo, (i + 0.37) / 20.37);
      const auto tab = rk->table(t);
      for (double u : levels) {
        const double r = std::exp(tab->quantile(u));
        const double direct = quantile_radial_velocity(*p, r, t), fast = p->source_radial_speed(r, t);
        worst = std::max(worst, std::fabs(fast - direct) / std::fabs(direct));
        ++points;
      }
    }
    std::printf("helmholtz k0 = 0.5, N = %d: tabulated speed vs direct, max relative difference %.2e over %d (r, t)\n", n,
                worst, points);
    // Measured: 8.8e-8 (N = 1), 1.5e-7 (N = 2, at t = sigma_max, u = 0.5), 5.6e-8 (N = 10).
    CHECK(worst < 3e-7);

    // Transport: quantiles 0.01 .. 0.99 from t0 to t1 = 4 t0 (t0 = 0.5 and 1e-3).
    for (double t0 : {1e-3, 0.5}) {
      const double t1 = 4.0 * t0;
      const auto tab0 = rk->table(t0), tab1 = rk->table(t1);
      for (double u : {0.01, 0.3, 0.7, 0.99}) {
        const std::vector<double> moved = transport_radii(*p, {std::exp(tab0->quantile(u))}, t0, t1, 400);
        const double target = std::exp(tab1->quantile(u));
        INFO("t0 = " << t0 << ", u = " << u);
        CHECK(moved[0] == Approx(target).epsilon(1e-7));
      }
    }
  }
}

// Helmholtz's draws come from the radial-CDF tables at the same log-t grid's nodes (one
// inversion per node at one uniform, eta interpolated to t). Three checks, N = 1, 2, 10:
// (1) the same uniform gives the same radius as the table built at t itself
// (RadialKernelProcess::sample_radius, the direct draw), on t off the nodes and every 37th of
// 4000 streams; (2) KS of 4000 tabulated draws against the direct radial_cdf at t; (3) draws
// with a fresh t each, as training makes them, are much faster than the direct ones.
TEST_CASE("Helmholtz: draws from the per-process quantile tables against draws from a table at t") {
  for (int n : {1, 2, 10}) {
    INFO("N = " << n);
    const HelmholtzAtDefaults h(n);
    const auto& [p, rk, t_lo, t_hi] = h;
    double worst = 0.0, worst_ks = 0.0;
    for (int i = 0; i <= 6; ++i) {
      const double t = t_lo * std::pow(t_hi / t_lo, (i + 0.41) / 6.41);
      std::vector<double> radii(kSamples);
      for (int k = 0; k < kSamples; ++k) {
        Rng a = sample_rng(31 + n, static_cast<std::uint64_t>(k)), b = a;
        radii[std::size_t(k)] = p->sample_radius(a, t);
        if (k % 37 == 0) {
          const double direct = rk->RadialKernelProcess::sample_radius(b, t);
          worst = std::max(worst, std::fabs(radii[std::size_t(k)] - direct) / direct);
        }
      }
      std::sort(radii.begin(), radii.end());
      std::vector<double> F;
      for (double r : radii) F.push_back(p->radial_cdf(r, t));
      const double d = ks_sorted(F);
      worst_ks = std::max(worst_ks, d);
      CHECK(d < kKsFactor / std::sqrt(double(kSamples)));
    }
    std::printf("helmholtz k0 = 0.5, N = %d: tabulated draws vs a table at t, max relative difference %.2e; "
                "max KS D against radial_cdf %.4f (critical %.4f)\n",
                n, worst, worst_ks, kKsFactor / std::sqrt(double(kSamples)));
    CHECK(worst < 1e-6);

    // A fresh t per draw, 200 t log-uniform over the sampling range: tabulated (after a first pass
    // that builds the grid's panels) against direct.
    std::mt19937_64 g(3);
    std::uniform_real_distribution<double> log_t(std::log(t_lo), std::log(t_hi));
    std::vector<double> ts(200);
    for (double& t : ts) t = std::exp(log_t(g));
    Rng rng(9);
    auto rate = [&](auto draw) {
      const auto start = std::chrono::steady_clock::now();
      double sum = 0.0;
      for (double t : ts) sum += draw(t);
      CHECK(std::isfinite(sum));
      return double(ts.size()) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    };
    // (h, not its structured bindings: lambdas capture those only from C++20.)
    auto tabulated = [&](double t) { return h.p->sample_radius(rng, t); };
    rate(tabulated);
    const double fast = rate(tabulated);
    const double direct = rate([&](double t) { return h.rk->RadialKernelProcess::sample_radius(rng, t); });
    std::printf("helmholtz k0 = 0.5, N = %d: %.0f draws/s tabulated, %.0f direct (fresh t each)\n", n, fast, direct);
    CHECK(fast > 10.0 * direct);
  }
}
