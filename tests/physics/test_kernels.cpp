// Perturbation kernels: every sampler is checked against a law computed a second, independent way
// (quadrature of the analytic radial density, or of the analytic mixing density against the
// chi-square CDF), and against the PDE's Fourier-space Green's function.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>
#include <iomanip>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>
#include <boost/math/special_functions/bessel.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "ks.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

using namespace genphys;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;

using Fn = std::function<double(double)>;

// ---- quadrature ---------------------------------------------------------------------------

// Composite 10-point Gauss-Legendre on `panels` equal panels.
double gauss_panels(const Fn& f, double a, double b, int panels) {
  if (!(b > a)) return 0.0;
  const double h = (b - a) / panels;
  double s = 0.0;
  for (int i = 0; i < panels; ++i) s += boost::math::quadrature::gauss<double, 10>::integrate(f, a + i * h, a + (i + 1) * h);
  return s;
}

// A law on the real line given by an unnormalised log density l(u): the window where l is within
// 50 of its maximum (found by scanning), and a cumulative table on 4000 cells of it.
class TabulatedLaw {
 public:
  TabulatedLaw(Fn l, double scan_lo, double scan_hi, double scan_step) : l_(std::move(l)) {
    double best = -std::numeric_limits<double>::infinity();
    std::vector<double> u, v;
    for (double x = scan_lo; x <= scan_hi; x += scan_step) {
      u.push_back(x);
      v.push_back(l_(x));
      best = std::max(best, v.back());
    }
    std::size_t first = u.size(), last = 0;
    for (std::size_t i = 0; i < u.size(); ++i)
      if (v[i] > best - 50.0) {
        first = std::min(first, i);
        last = i;
      }
    REQUIRE(first > 0);
    REQUIRE(last + 1 < u.size());
    lo_ = u[first - 1];
    hi_ = u[last + 1];
    lmax_ = best;
    h_ = (hi_ - lo_) / kCells;
    cum_.assign(kCells + 1, 0.0);
    for (int i = 0; i < kCells; ++i) cum_[i + 1] = cum_[i] + cell(lo_ + i * h_, lo_ + (i + 1) * h_);
    total_ = cum_.back();
  }
  double lo() const { return lo_; }
  double hi() const { return hi_; }
  /// log of the integral of exp(l).
  double log_norm() const { return lmax_ + std::log(total_); }
  /// Normalised log density.
  double log_density(double u) const { return l_(u) - log_norm(); }
  double cdf(double u) const {
    if (u <= lo_) return 0.0;
    if (u >= hi_) return 1.0;
    const int i = std::min(kCells - 1, static_cast<int>((u - lo_) / h_));
    return (cum_[i] + cell(lo_ + i * h_, u)) / total_;
  }

 private:
  static constexpr int kCells = 4000;
  double cell(double a, double b) const {
    return boost::math::quadrature::gauss<double, 10>::integrate([&](double x) { return std::exp(l_(x) - lmax_); }, a, b);
  }
  Fn l_;
  double lo_, hi_, lmax_, h_, total_;
  std::vector<double> cum_;
};

// Radial CDF of a Gaussian scale mixture, P(R <= r) = E[P(N/2, r^2 / 2A)], from the law of
// u = log A: below u_lo the chi-square CDF is 1 to 1e-16, above u_hi it is 0.
class MixtureCdf {
 public:
  MixtureCdf(const TabulatedLaw& law, int n) : law_(law), n_(n) {
    x_lo_ = boost::math::gamma_p_inv(0.5 * n, 1e-16);
    x_hi_ = boost::math::gamma_q_inv(0.5 * n, 1e-16);
  }
  double operator()(double r) const {
    const double l2 = 2.0 * std::log(r) - std::log(2.0);
    const double u_lo = l2 - std::log(x_hi_), u_hi = l2 - std::log(x_lo_);
    const double a = std::max(u_lo, law_.lo()), b = std::min(u_hi, law_.hi());
    double f = law_.cdf(u_lo);
    if (b > a) {
      const double width = std::min(0.5 * std::sqrt(2.0 / n_), (law_.hi() - law_.lo()) / 200.0);
      const int panels = std::max(1, static_cast<int>(std::ceil((b - a) / width)));
      f += gauss_panels(
          [&](double u) { return std::exp(law_.log_density(u)) * boost::math::gamma_p(0.5 * n_, std::exp(l2 - u)); }, a,
          b, panels);
    }
    return f;
  }

 private:
  const TabulatedLaw& law_;
  int n_;
  double x_lo_, x_hi_;
};

// ---- Kolmogorov-Smirnov -------------------------------------------------------------------

// One-sample KS statistic of the samples against F. F is evaluated on a grid in log r refined
// until neighbouring values differ by < 0.004 and interpolated linearly in log r.
double ks_statistic(std::vector<double> x, const Fn& F) {
  std::sort(x.begin(), x.end());
  const double a = std::log(x.front()), b = std::log(x.back());
  std::vector<double> gu, gf;
  for (int i = 0; i <= 64; ++i) {
    gu.push_back(a + (b - a) * i / 64.0);
    gf.push_back(F(std::exp(gu.back())));
  }
  for (int pass = 0; pass < 12; ++pass) {
    std::vector<double> nu, nf;
    bool refined = false;
    for (std::size_t i = 0; i + 1 < gu.size(); ++i) {
      nu.push_back(gu[i]);
      nf.push_back(gf[i]);
      if (gf[i + 1] - gf[i] > 0.004) {
        const double m = 0.5 * (gu[i] + gu[i + 1]);
        nu.push_back(m);
        nf.push_back(F(std::exp(m)));
        refined = true;
      }
    }
    nu.push_back(gu.back());
    nf.push_back(gf.back());
    gu.swap(nu);
    gf.swap(nf);
    if (!refined) break;
  }
  const double n = static_cast<double>(x.size());
  double d = 0.0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const double u = std::log(x[i]);
    while (j + 2 < gu.size() && gu[j + 1] < u) ++j;
    const double w = gu[j + 1] > gu[j] ? std::clamp((u - gu[j]) / (gu[j + 1] - gu[j]), 0.0, 1.0) : 0.0;
    const double f = gf[j] + w * (gf[j + 1] - gf[j]);
    d = std::max({d, std::fabs(f - i / n), std::fabs(f - (i + 1) / n)});
  }
  return d;
}

using genphys::test::kKsFactor;
using genphys::test::kSamples;
using genphys::test::ks_two_sample;
using genphys::test::quantile;
using genphys::test::sample_radii;

// ---- analytic laws written here, independently of the library ------------------------------

double log_sphere_area(int n) { return std::log(2.0) + 0.5 * n * std::log(kPi) - std::lgamma(0.5 * n); }

// log K_nu(z): Boost where it is finite, else Hankel's large-z series.
double log_bessel_k_small_order(double nu, double z) {
  if (z < 600.0) return std::log(boost::math::cyl_bessel_k(nu, z));
  const double mu = 4.0 * nu * nu;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 8; ++k) {
    term *= (mu - (2.0 * k - 1.0) * (2.0 * k - 1.0)) / (k * 8.0 * z);
    sum += term;
  }
  return 0.5 * std::log(kPi / (2.0 * z)) - z + std::log(sum);
}

// log K_nu(z) for large nu: Debye's expansion, A&S 9.3.7 with u_1..u_4 (9.3.9-9.3.10).
double log_bessel_k_debye(double nu, double z) {
  const double x = z / nu, s = std::sqrt(1.0 + x * x), p = 1.0 / s;
  const double eta = s + std::log(x / (1.0 + s));
  const double p2 = p * p;
  const double u[5] = {1.0, (3.0 * p - 5.0 * p * p2) / 24.0,
                       (81.0 * p2 - 462.0 * p2 * p2 + 385.0 * p2 * p2 * p2) / 1152.0,
                       (30375.0 * std::pow(p, 3) - 369603.0 * std::pow(p, 5) + 765765.0 * std::pow(p, 7) -
                        425425.0 * std::pow(p, 9)) /
                           414720.0,
                       (4465125.0 * std::pow(p, 4) - 94121676.0 * std::pow(p, 6) + 349922430.0 * std::pow(p, 8) -
                        446185740.0 * std::pow(p, 10) + 185910725.0 * std::pow(p, 12)) /
                           39813120.0};
  double sum = 0.0;
  for (int k = 0; k < 5; ++k) sum += ((k % 2) ? -1.0 : 1.0) * u[k] / std::pow(nu, k);
  return 0.5 * std::log(kPi / (2.0 * nu)) - nu * eta - 0.25 * std::log(1.0 + x * x) + std::log(sum);
}

// Inverse Gaussian log density.
double log_ig_pdf(double a, double mean, double shape) {
  return 0.5 * std::log(shape / (2.0 * kPi * a * a * a)) - shape * (a - mean) * (a - mean) / (2.0 * mean * mean * a);
}

// The 1/2-stable law with E exp(-sS) = exp(-sqrt s): Levy with scale 1/2.
double log_levy_pdf(double s) { return -0.5 * std::log(4.0 * kPi) - 1.5 * std::log(s) - 0.25 / s; }
// The 1/3-stable law with E exp(-sS) = exp(-s^(1/3)): s^(-3/2) K_{1/3}(2 / (3^(3/2) sqrt s)) / (3 pi).
double log_third_stable_pdf(double s) {
  return -std::log(3.0 * kPi) - 1.5 * std::log(s) + log_bessel_k_small_order(1.0 / 3.0, 2.0 / (std::pow(3.0, 1.5) * std::sqrt(s)));
}

// Zolotarev's integral for the positive beta-stable CDF, in the Chambers-Mallows-Stuck form
// S = sin(beta V) / sin(V)^(1/beta) * (sin((1-beta) V) / E)^((1-beta)/beta): P(S <= s) = E_V exp(-E*(V, s)).
double zolotarev_cdf(double beta, double s) {
  auto g = [&](double v) {
    const double a = std::sin(beta * v) / std::pow(std::sin(v), 1.0 / beta);
    // S <= s  <=>  E >= sin((1-beta) v) (a / s)^(beta / (1 - beta))
    const double e = std::sin((1.0 - beta) * v) * std::pow(a / s, beta / (1.0 - beta));
    return std::exp(-e);
  };
  double err;
  return boost::math::quadrature::gauss_kronrod<double, 61>::integrate(g, 0.0, kPi, 12, 1e-10, &err) / kPi;
}

}  // namespace

// =============================================================================================
// Random variates
// =============================================================================================

TEST_CASE("normal, exponential, gamma, beta and inverse-Gaussian variates follow their laws") {
  const int n = 20000;
  Rng rng = sample_rng(11, 0);
  const double crit = kKsFactor / std::sqrt(double(n));

  std::vector<double> z(n);
  standard_normals(rng, z.data(), z.size());
  double m1 = 0, m2 = 0, m4 = 0;
  for (double v : z) m1 += v, m2 += v * v, m4 += v * v * v * v;
  m1 /= n, m2 /= n, m4 /= n;
  CHECK(std::fabs(m1) < 5.0 / std::sqrt(n));
  CHECK(std::fabs(m2 - 1.0) < 5.0 * std::sqrt(2.0 / n));
  CHECK(std::fabs(m4 - 3.0) < 5.0 * std::sqrt(96.0 / n));
  // KS of z against Phi, through exp(z) because ks_statistic works in log r.
  {
    std::vector<double> ez(n);
    for (int i = 0; i < n; ++i) ez[i] = std::exp(z[i]);
    CHECK(ks_statistic(ez, [](double r) { return 0.5 * std::erfc(-std::log(r) / std::sqrt(2.0)); }) < crit);
  }
  {
    std::vector<double> e(n);
    for (double& v : e) v = standard_exponential(rng);
    CHECK(ks_statistic(e, [](double x) { return -std::expm1(-x); }) < crit);
  }
  for (double shape : {0.5, 1.0, 2.5, 392.0, 1536.0, 5e5}) {
    INFO("gamma shape " << shape);
    GammaVariate g(shape);
    std::vector<double> x(n);
    for (double& v : x) v = g(rng);
    CHECK(ks_statistic(x, [&](double v) { return boost::math::gamma_p(shape, v); }) < crit);
  }
  for (auto ab : {std::pair<double, double>{0.5, 0.5}, {1.0, 64.0}, {392.0, 0.5}}) {
    INFO("beta " << ab.first << ", " << ab.second);
    std::vector<double> x(n);
    for (double& v : x) v = beta_variate(rng, ab.first, ab.second);
    CHECK(ks_statistic(x, [&](double v) { return boost::math::ibeta(ab.first, ab.second, v); }) < crit);
  }
  // Inverse Gaussian against the quadrature of its density, from heavy (mean/shape >> 1) to
  // nearly normal.
  for (auto ms : {std::pair<double, double>{100.0, 1e-2}, {1.0, 1.0}, {2.0, 400.0}}) {
    const double mean = ms.first, shape = ms.second;
    INFO("inverse Gaussian mean " << mean << " shape " << shape);
    std::vector<double> x(n);
    for (double& v : x) v = inverse_gaussian_variate(rng, mean, shape);
    TabulatedLaw law([&](double u) { return log_ig_pdf(std::exp(u), mean, shape) + u; }, -60.0, 60.0, 0.01);
    CHECK(std::fabs(law.log_norm()) < 1e-9);
    CHECK(ks_statistic(x, [&](double v) { return law.cdf(std::log(v)); }) < crit);
  }
}

TEST_CASE("positive stable variates: Laplace transform, Levy law and Zolotarev's CDF") {
  const int n = 40000;
  for (double beta : {1.0 / 3.0, 0.5, 0.7, 0.9}) {
    INFO("beta " << beta);
    Rng rng = sample_rng(12, static_cast<std::uint64_t>(beta * 1000));
    std::vector<double> s(n);
    for (double& v : s) v = positive_stable_variate(rng, beta);
    // E exp(-lambda S) = exp(-lambda^beta), within 5 standard errors.
    for (double lambda : {0.1, 1.0, 10.0}) {
      double m = 0, m2 = 0;
      for (double v : s) {
        const double e = std::exp(-lambda * v);
        m += e;
        m2 += e * e;
      }
      m /= n;
      const double se = std::sqrt((m2 / n - m * m) / n);
      CHECK(std::fabs(m - std::exp(-std::pow(lambda, beta))) < 5.0 * se);
    }
    const double crit = kKsFactor / std::sqrt(double(n));
    CHECK(ks_statistic(s, [&](double x) { return zolotarev_cdf(beta, x); }) < crit);
    if (beta == 0.5) CHECK(ks_statistic(s, [](double x) { return std::erfc(0.5 / std::sqrt(x)); }) < crit);
  }
  Rng rng(1);
  CHECK(positive_stable_variate(rng, 1.0) == 1.0);
}

TEST_CASE("stable CDF and density: exact laws and the Laplace identity") {
  // beta = 1/2 is Levy's law in closed form.
  for (double s : {1e-3, 0.02, 0.3, 1.0, 7.0, 99.0, 101.0, 1e4}) {
    INFO("s " << s);
    CHECK(positive_stable_cdf(0.5, s) == Approx(std::erfc(0.5 / std::sqrt(s))).epsilon(1e-10).margin(1e-300));
    CHECK(positive_stable_log_pdf(0.5, s) == Approx(log_levy_pdf(s)).epsilon(1e-10));
    CHECK(positive_stable_log_pdf(1.0 / 3.0, s) == Approx(log_third_stable_pdf(s)).epsilon(1e-8));
  }
  // The test's own closed forms and the library's integrals all have E exp(-lambda S) = exp(-lambda^beta):
  // int p(s) e^(-lambda s) ds and lambda int F(s) e^(-lambda s) ds, in u = log s on [-12, 8]
  // (10-point Gauss-Legendre panels; each law is evaluated once on the nodes).
  const int panels = 160;
  std::vector<double> nodes, weights;
  {
    const auto& x = boost::math::quadrature::gauss<double, 10>::abscissa();
    const auto& w = boost::math::quadrature::gauss<double, 10>::weights();
    const double h = 20.0 / panels;
    for (int i = 0; i < panels; ++i) {
      const double mid = -12.0 + (i + 0.5) * h;
      for (std::size_t k = 0; k < x.size(); ++k) {
        nodes.push_back(mid + 0.5 * h * x[k]);
        weights.push_back(0.5 * h * w[k]);
        if (x[k] != 0.0) {
          nodes.push_back(mid - 0.5 * h * x[k]);
          weights.push_back(0.5 * h * w[k]);
        }
      }
    }
  }
  auto laplace = [&](const std::vector<double>& logp, double lambda) {
    double s = 0.0;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      s += weights[i] * std::exp(logp[i] + nodes[i] - lambda * std::exp(nodes[i]));
    return s;
  };
  auto on_nodes = [&](const Fn& f) {
    std::vector<double> v;
    for (double u : nodes) v.push_back(f(std::exp(u)));
    return v;
  };
  const auto levy = on_nodes(log_levy_pdf), third = on_nodes(log_third_stable_pdf);
  for (double lambda : {0.3, 1.0, 3.0}) {
    INFO("lambda " << lambda);
    CHECK(laplace(levy, lambda) == Approx(std::exp(-std::sqrt(lambda))).epsilon(1e-8));
    CHECK(laplace(third, lambda) == Approx(std::exp(-std::cbrt(lambda))).epsilon(1e-8));
  }
  for (double beta : {0.3, 0.7, 0.9}) {
    const auto logp = on_nodes([&](double s) { return positive_stable_log_pdf(beta, s); });
    const auto logf = on_nodes([&](double s) { return std::log(positive_stable_cdf(beta, s)); });
    for (double lambda : {0.3, 1.0, 3.0}) {
      INFO("beta " << beta << ", lambda " << lambda);
      CHECK(laplace(logp, lambda) == Approx(std::exp(-std::pow(lambda, beta))).epsilon(1e-7));
      CHECK(lambda * laplace(logf, lambda) == Approx(std::exp(-std::pow(lambda, beta))).epsilon(1e-7));
    }
  }
}

TEST_CASE("Rng is xoshiro256** and its per-sample streams are uniform and uncorrelated") {
  // The reference sequence from state {1, 2, 3, 4}, computed by an independent script.
  Rng ref(std::array<std::uint64_t, 4>{1, 2, 3, 4});
  CHECK(ref() == 11520ULL);
  CHECK(ref() == 0ULL);
  CHECK(ref() == 1509978240ULL);
  CHECK(ref() == 1215971899390074240ULL);

  // The first draw of 2^16 consecutive streams: a chi-square test of uniformity on 256 cells,
  // and the correlation between the uniforms of neighbouring streams (the one per-sample seeding
  // could break).
  constexpr int n = 1 << 16, cells = 256;
  std::vector<double> u(n);
  std::vector<int> count(cells, 0);
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(9, static_cast<std::uint64_t>(i));
    u[i] = uniform01(rng);
    ++count[static_cast<int>(u[i] * cells)];
  }
  double chi2 = 0;
  const double expected = double(n) / cells;
  for (int c : count) chi2 += (c - expected) * (c - expected) / expected;
  // 255 degrees of freedom: the 0.1% and 99.9% points are about 184 and 339.
  INFO("chi-square " << chi2);
  CHECK(chi2 > 184);
  CHECK(chi2 < 339);
  double sxy = 0;
  for (int i = 0; i + 1 < n; ++i) sxy += (u[i] - 0.5) * (u[i + 1] - 0.5);
  const double corr = sxy / (n - 1) * 12.0;  // Var U = 1/12
  INFO("neighbour correlation " << corr);
  CHECK(std::fabs(corr) < 4.0 / std::sqrt(double(n)));
  // Copies replay; distinct seeds and indices differ.
  Rng a = sample_rng(1, 2), b = a;
  CHECK(a() == b());
  CHECK(sample_rng(1, 2) != sample_rng(2, 1));
  CHECK(sample_rng(1, 2) != sample_rng(1, 3));
}

TEST_CASE("variates are reproducible: fixed values and per-sample streams") {
  // The same (seed, index) stream gives the same draw however many other draws happen.
  auto p = make_yukawa_process(784, 1.0);
  Rng a = sample_rng(5, 17);
  const double first = p->sample_radius(a, 0.7);
  for (int index = 0; index < 20; ++index) {
    Rng other = sample_rng(5, index);
    for (int k = 0; k < index; ++k) p->sample_radius(other, 0.7);
  }
  Rng b = sample_rng(5, 17);
  CHECK(p->sample_radius(b, 0.7) == first);
  Rng c = sample_rng(5, 18);
  CHECK(p->sample_radius(c, 0.7) != first);
  // Golden values: the draws of one stream, fixed across standard libraries.
  Rng g = sample_rng(2024, 0);
  const double z = standard_normal(g), x = gamma_variate(g, 2.5), s = positive_stable_variate(g, 0.5);
  INFO(std::setprecision(17) << z << " " << x << " " << s);
  CHECK(z == Approx(1.0325751893662647).epsilon(1e-12));
  CHECK(x == Approx(1.4056938316100946).epsilon(1e-12));
  CHECK(s == Approx(0.82952553494777326).epsilon(1e-12));
}

// =============================================================================================
// Kernels: sampled radii against independently computed radial laws
// =============================================================================================

namespace {

// The radial law of a kernel at time t in dimension N, computed without the library: either the
// analytic radial density integrated numerically (a TabulatedLaw in u = log r), or the analytic
// mixing density integrated against the chi-square CDF.
struct Oracle {
  std::unique_ptr<TabulatedLaw> law;  // of log r (density) or of log A (mixture)
  std::unique_ptr<MixtureCdf> mixture;
  std::function<double(double)> log_kernel;  // independent log q(r), when there is a closed form
  double cdf(double r) const { return mixture ? (*mixture)(r) : law->cdf(std::log(r)); }
};

Oracle density_oracle(int n, Fn log_g, double u_center, double below, double above, double step) {
  Oracle o;
  // l(u) = log of r^N g(r) at r = e^u: the radial density in u = log r, unnormalised.
  o.law = std::make_unique<TabulatedLaw>([=](double u) { return n * u + log_g(std::exp(u)); }, u_center - below,
                                         u_center + above, step);
  const double log_norm = o.law->log_norm();
  o.log_kernel = [=](double r) { return log_g(r) - log_sphere_area(n) - log_norm; };
  return o;
}

Oracle mixture_oracle(int n, Fn log_pdf_a, double u_center, double below, double above, double step) {
  Oracle o;
  o.law = std::make_unique<TabulatedLaw>([=](double u) { return log_pdf_a(std::exp(u)) + u; }, u_center - below,
                                         u_center + above, step);
  o.mixture = std::make_unique<MixtureCdf>(*o.law, n);
  return o;
}

// Closed form of an inverse-Gaussian (mean mu, shape lambda) mixture of N(0, A I_N):
// sqrt(lambda / 2 pi) e^(lambda/mu) (2 pi)^(-N/2) 2 (a/b)^(p/2) K_p(2 sqrt(ab)),
// a = lambda / 2 mu^2, b = (lambda + r^2) / 2, p = (N+1)/2.
double log_ig_mixture_kernel(int n, double mu, double lambda, double r) {
  const double p = 0.5 * (n + 1);
  const double z = std::sqrt(lambda * (lambda + r * r)) / mu;
  const double log_k = p < 40.0 ? log_bessel_k_small_order(p, z) : log_bessel_k_debye(p, z);
  return 0.5 * std::log(lambda / (2.0 * kPi)) + lambda / mu - 0.5 * n * std::log(2.0 * kPi) + std::log(2.0) +
         0.5 * p * std::log(lambda / (mu * mu * (lambda + r * r))) + log_k;
}

Oracle ig_oracle(int n, double mu, double lambda) {
  const double typical = std::log(2.0 * lambda / (1.0 + std::sqrt(1.0 + 4.0 * lambda * lambda / (mu * mu))));
  Oracle o = mixture_oracle(n, [=](double a) { return log_ig_pdf(a, mu, lambda); }, typical, 60.0, 60.0, 0.01);
  o.log_kernel = [=](double r) { return log_ig_mixture_kernel(n, mu, lambda, r); };
  return o;
}

// Stable mixing law A = 2 t^(1/beta) S with the closed-form density of S.
Oracle stable_oracle(int n, double beta, double t, double (*log_pdf_s)(double)) {
  const double c = 2.0 * std::pow(t, 1.0 / beta);
  return mixture_oracle(n, [=](double a) { return log_pdf_s(a / c) - std::log(c); }, std::log(c), 40.0,
                        1.0 / beta * 55.0, 0.02);
}

// log q(r) = log int p_A(A) N(r; A) dA by quadrature over log A.
double log_mixture_kernel(int n, const Fn& log_pdf_a, double r, double u_center) {
  TabulatedLaw law(
      [&](double u) { return log_pdf_a(std::exp(u)) + u - 0.5 * n * (std::log(2.0 * kPi) + u) - 0.5 * r * r * std::exp(-u); },
      u_center - 150.0, u_center + 150.0, 0.01);
  return law.log_norm();
}

struct KsConfig {
  std::string name;
  std::function<std::unique_ptr<GenerativeProcess>(int)> make;
  std::function<Oracle(int n, double t)> oracle;
};

std::vector<KsConfig> ks_configs() {
  std::vector<KsConfig> c;
  c.push_back({"diffusion", [](int n) { return make_diffusion_process(n); },
               [](int n, double t) {
                 return density_oracle(
                     n, [=](double r) { return -0.5 * n * std::log(4.0 * kPi * t) - r * r / (4.0 * t); },
                     std::log(std::sqrt(2.0 * t * n)), 40.0, 8.0, 0.005);
               }});
  for (double D : {1.0, 128.0}) {
    c.push_back({"pfgm++ D=" + std::to_string(int(D)), [=](int n) { return make_pfgmpp_process(n, D); },
                 [=](int n, double t) {
                   // 1 / (r^2 + t^2)^((N+D)/2), normalised numerically.
                   return density_oracle(
                       n, [=](double r) { return -0.5 * (n + D) * std::log(r * r + t * t); },
                       std::log(t * std::sqrt(n / D)), 60.0, 60.0, 0.005);
                 }});
  }
  c.push_back({"yukawa m=1", [](int n) { return make_yukawa_process(n, 1.0); },
               [](int n, double t) { return ig_oracle(n, t / 1.0, t * t); }});
  c.push_back({"stable beta=1/2", [](int n) { return make_stable_process(n, 0.5); },
               [](int n, double t) {
                 Oracle o = stable_oracle(n, 0.5, t, log_levy_pdf);
                 // The Levy mixture is the Poisson kernel: t / (r^2 + t^2)^((N+1)/2) normalised.
                 o.log_kernel = [=](double r) {
                   return std::lgamma(0.5 * (n + 1)) - 0.5 * (n + 1) * std::log(kPi) + std::log(t) -
                          0.5 * (n + 1) * std::log(r * r + t * t);
                 };
                 return o;
               }});
  c.push_back({"stable beta=1/3", [](int n) { return make_stable_process(n, 1.0 / 3.0); },
               [](int n, double t) {
                 Oracle o = stable_oracle(n, 1.0 / 3.0, t, log_third_stable_pdf);
                 const double c3 = 2.0 * t * t * t;
                 o.log_kernel = [=](double r) {
                   return log_mixture_kernel(
                       n, [=](double a) { return log_third_stable_pdf(a / c3) - std::log(c3); }, r, std::log(c3));
                 };
                 return o;
               }});
  // a = 2, b = 3: inverse-Gaussian mixing with mean 2t/b and shape t^2/a.
  c.push_back({"mixed a=2 b=3", [](int n) { return make_mixed_diffusion_poisson_process(n, 2.0, 3.0); },
               [](int n, double t) { return ig_oracle(n, 2.0 * t / 3.0, t * t / 2.0); }});
  return c;
}

}  // namespace

TEST_CASE("sampled radii follow the independently computed radial law (KS, alpha = 0.001)") {
  const double crit = kKsFactor / std::sqrt(double(kSamples));
  std::uint64_t seed = 100;
  for (const auto& cfg : ks_configs()) {
    for (int n : {2, 784, 3072}) {
      auto p = cfg.make(n);
      for (double t : {0.1, 1.0, 10.0}) {
        INFO(cfg.name << ", N = " << n << ", t = " << t);
        const Oracle o = cfg.oracle(n, t);
        const auto radii = sample_radii(*p, t, ++seed);
        const double d = ks_statistic(radii, [&](double r) { return o.cdf(r); });
        CHECK(d < crit);
        // The library's radial_cdf and log_kernel against the oracle at three quantiles.
        for (double q : {0.05, 0.5, 0.95}) {
          const double r = quantile(radii, q);
          INFO("r = " << r);
          CHECK(p->radial_cdf(r, t) == Approx(o.cdf(r)).epsilon(0).margin(1e-8));
          if (o.log_kernel) CHECK(p->log_kernel(r, t) == Approx(o.log_kernel(r)).epsilon(0).margin(1e-7));
        }
      }
    }
  }
}

TEST_CASE("inverse-Gaussian CDF and log density far from t = 1: t = 1e-3 and 1e3") {
  // The generic quadratures where the mixing law is extremely heavy (m t << 1) or narrow (m t >> 1).
  for (int n : {2, 3072}) {
    auto p = make_yukawa_process(n, 1.0);
    for (double t : {1e-3, 1e3}) {
      INFO("N = " << n << ", t = " << t);
      const Oracle o = ig_oracle(n, t, t * t);
      const auto radii = sample_radii(*p, t, 3, 400);
      for (double q : {0.01, 0.5, 0.99}) {
        const double r = quantile(radii, q);
        INFO("r = " << r);
        CHECK(p->radial_cdf(r, t) == Approx(o.cdf(r)).epsilon(0).margin(1e-8));
        CHECK(p->log_kernel(r, t) == Approx(o.log_kernel(r)).epsilon(0).margin(1e-7));
      }
    }
  }
}

TEST_CASE("beta = 1/2 fractional diffusion is the Poisson (PFGM, D = 1) kernel at the same t") {
  // exp(-t k) in both: no time rescaling. The stable process takes its density and CDF from
  // PFGM's closed forms at beta = 1/2 (the Levy-mixture oracle above checks them independently);
  // its draws still come through the stable law, so they are compared here.
  for (int n : {2, 784}) {
    auto st = make_stable_process(n, 0.5);
    auto pf = make_pfgmpp_process(n, 1.0);
    for (double t : {0.1, 10.0}) {
      INFO("N = " << n << ", t = " << t);
      const auto rs = sample_radii(*st, t, 61), rp = sample_radii(*pf, t, 62);
      CHECK(ks_two_sample(rs, rp) < kKsFactor * std::sqrt(2.0 / kSamples));
    }
  }
}

TEST_CASE("sample_displacement has the kernel's radial law") {
  const double crit = kKsFactor / std::sqrt(2000.0);
  for (const auto& cfg : ks_configs()) {
    INFO(cfg.name);
    const int n = 784;
    const double t = 1.0;
    auto p = cfg.make(n);
    const Oracle o = cfg.oracle(n, t);
    std::vector<double> x(n), radii;
    for (int i = 0; i < 2000; ++i) {
      Rng rng = sample_rng(7, i);
      p->sample_displacement(rng, t, x.data());
      double s = 0;
      for (double v : x) s += v * v;
      radii.push_back(std::sqrt(s));
    }
    CHECK(ks_statistic(radii, [&](double r) { return o.cdf(r); }) < crit);
  }
}

TEST_CASE("log Bessel K of large order: Debye's expansion against Boost where Boost is finite") {
  // The Yukawa closed form in N = 784 and 3072 needs K of order 392.5 and 1536.5.
  for (double nu : {50.5, 100.5, 392.5}) {
    for (double z : {0.5 * nu, nu, 1.5 * nu}) {  // K stays inside double's range here
      INFO("nu " << nu << " z " << z);
      const double k = boost::math::cyl_bessel_k(nu, z);
      REQUIRE((std::isfinite(k) && k > 0.0));
      CHECK(log_bessel_k_debye(nu, z) == Approx(std::log(k)).epsilon(1e-11));
    }
  }
}

TEST_CASE("PFGM++ with D = 1e6 is diffusion at the same sigma") {
  for (int n : {2, 784, 3072}) {
    for (double sigma : {0.1, 1.0, 10.0}) {
      INFO("N = " << n << ", sigma = " << sigma);
      auto pf = make_pfgmpp_process(n, 1e6);
      auto df = make_diffusion_process(n);
      const double tp = pf->time(sigma), td = df->time(sigma);
      CHECK(pf->sigma(tp) == Approx(sigma).epsilon(1e-14));
      const auto a = sample_radii(*pf, tp, 300 + n), b = sample_radii(*df, td, 400 + n);
      CHECK(ks_two_sample(a, b) < kKsFactor * std::sqrt(2.0 / kSamples));
      // Medians of the two laws (from their CDFs) agree to O(N/D); sample medians to their noise.
      auto median = [](const GenerativeProcess& p, double t) {
        double lo = 0.0, hi = 1.0;
        while (p.radial_cdf(hi, t) < 0.5) hi *= 2.0;
        for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; ++i) {
          const double m = 0.5 * (lo + hi);
          (p.radial_cdf(m, t) < 0.5 ? lo : hi) = m;
        }
        return 0.5 * (lo + hi);
      };
      const double mp = median(*pf, tp), md = median(*df, td);
      CHECK(mp / md == Approx(1.0).epsilon(1e-3));
      const double spread = quantile(b, 0.75) / quantile(b, 0.25) - 1.0;  // relative width of the law
      CHECK(quantile(a, 0.5) / quantile(b, 0.5) == Approx(1.0).epsilon(0.1 * spread));
      // The log densities differ by O(N^2 / D) at typical radii (the (N+D)/2 power's expansion).
      for (double r : {0.5 * md, md, 1.5 * md})
        CHECK(std::fabs(pf->log_kernel(r, tp) - df->log_kernel(r, td)) < double(n) * n / 1e6 + 1e-9);
    }
  }
}

TEST_CASE("samplers reproduce the PDE's Fourier-space Green's function: E cos(k x_1) = G-hat(k, t)") {
  // One coordinate of the displacement has characteristic function G-hat(k, t) (normalised).
  struct F {
    std::string name;
    std::unique_ptr<GenerativeProcess> p;
    std::function<double(double k, double t)> ghat;
  };
  const double m = 0.7, a = 2.0, b = 3.0;
  std::vector<F> fs;
  fs.push_back({"diffusion", make_diffusion_process(3), [](double k, double t) { return std::exp(-k * k * t); }});
  for (double D : {1.0, 4.0, 64.0}) {
    // E exp(-A k^2 / 2), A ~ InvGamma(D/2, t^2/2): 2 (kt/2)^(D/2) K_{D/2}(kt) / Gamma(D/2).
    fs.push_back({"pfgm++ D=" + std::to_string(D), make_pfgmpp_process(3, D), [D](double k, double t) {
                    const double al = 0.5 * D, z = k * t;
                    return std::exp(std::log(2.0) + al * std::log(0.5 * z) + std::log(boost::math::cyl_bessel_k(al, z)) -
                                    std::lgamma(al));
                  }});
  }
  fs.push_back({"yukawa", make_yukawa_process(3, m),
                [m](double k, double t) { return std::exp(-t * (std::sqrt(k * k + m * m) - m)); }});
  for (double beta : {1.0 / 3.0, 0.5, 0.7, 1.0})
    fs.push_back({"stable " + std::to_string(beta), make_stable_process(3, beta),
                  [beta](double k, double t) { return std::exp(-t * std::pow(k, 2.0 * beta)); }});
  // Dispersion branch of a phi_tt - b phi_t + Lap phi = 0 that decays.
  fs.push_back({"mixed", make_mixed_diffusion_poisson_process(3, a, b), [=](double k, double t) {
                  return std::exp(t * (b - std::sqrt(b * b + 4.0 * a * k * k)) / (2.0 * a));
                }});
  const int draws = 100000;
  for (auto& f : fs) {
    for (double t : {0.5, 2.0}) {
      std::vector<double> x1(draws);
      double x[3];
      Rng rng = sample_rng(55, static_cast<std::uint64_t>(t * 10));
      for (int i = 0; i < draws; ++i) {
        f.p->sample_displacement(rng, t, x);
        x1[i] = x[0];
      }
      for (double k : {0.2, 0.7, 1.5}) {
        INFO(f.name << ", t = " << t << ", k = " << k);
        double s = 0, s2 = 0;
        for (double v : x1) {
          const double c = std::cos(k * v);
          s += c;
          s2 += c * c;
        }
        const double mean = s / draws, se = std::sqrt((s2 / draws - mean * mean) / draws);
        CHECK(std::fabs(mean - f.ghat(k, t)) < 5.0 * se + 1e-12);
      }
    }
  }
}

TEST_CASE("mixed diffusion-Poisson is Yukawa with m' = b / (2 sqrt a) at t' = t / sqrt a") {
  const double a = 2.0, b = 3.0, mp = b / (2.0 * std::sqrt(a));
  // Exponents of the normalised G-hat agree for every k.
  for (double t : {0.1, 1.0, 10.0})
    for (double k : {0.0, 1e-3, 0.3, 1.0, 10.0, 1e3}) {
      const double mixed = t * (b - std::sqrt(b * b + 4.0 * a * k * k)) / (2.0 * a);
      const double yukawa = -(t / std::sqrt(a)) * (std::sqrt(k * k + mp * mp) - mp);
      CHECK(mixed == Approx(yukawa).epsilon(1e-12).margin(1e-15));
    }
  for (int n : {2, 784}) {
    auto mix = make_mixed_diffusion_poisson_process(n, a, b);
    auto yuk = make_yukawa_process(n, mp);
    for (double t : {0.3, 3.0}) {
      INFO("N = " << n << ", t = " << t);
      const double tp = t / std::sqrt(a);
      CHECK(mix->sigma(t) == Approx(yuk->sigma(tp)).epsilon(1e-14));
      const auto rm = sample_radii(*mix, t, 900), ry = sample_radii(*yuk, tp, 901);
      CHECK(ks_two_sample(rm, ry) < kKsFactor * std::sqrt(2.0 / kSamples));
      for (double q : {0.1, 0.5, 0.9}) {
        const double r = quantile(rm, q);
        CHECK(mix->radial_cdf(r, t) == Approx(yuk->radial_cdf(r, tp)).margin(1e-10));
        CHECK(mix->log_kernel(r, t) == Approx(yuk->log_kernel(r, tp)).epsilon(1e-10));
      }
    }
  }
  // Mass is conserved: no birth/death, unlike Yukawa's own unnormalised flow; Yukawa generates
  // from the normalised (mass-conserving) one.
  CHECK_FALSE(make_mixed_diffusion_poisson_process(10, a, b)->has_birth_death());
  CHECK_FALSE(make_yukawa_process(10, mp)->has_birth_death());
  CHECK(make_unnormalised_yukawa_process(10, mp)->has_birth_death());
}

TEST_CASE("Yukawa's unnormalised flow: birth/death ratio R/p = m^2 phi / phi_t") {
  const double m = 1.3;
  // Against finite differences of the closed form phi = rho^-nu K_nu(m rho), small N.
  for (int n = 1; n <= 6; ++n) {
    auto p = make_unnormalised_yukawa_process(n, m);
    const double nu = 0.5 * (n - 1);
    auto phi = [&](double r, double t) {
      const double rho = std::hypot(r, t);
      return std::pow(rho, -nu) * boost::math::cyl_bessel_k(nu, m * rho);
    };
    for (double t : {0.2, 1.0, 3.0})
      for (double r : {0.0, 0.5, 2.0}) {
        INFO("N = " << n << ", t = " << t << ", r = " << r);
        const double h = 1e-4 * t;
        const double phi_t = (phi(r, t - 2 * h) - 8 * phi(r, t - h) + 8 * phi(r, t + h) - phi(r, t + 2 * h)) / (12 * h);
        CHECK(p->birth_death_ratio(r, t) == Approx(m * m * phi(r, t) / phi_t).epsilon(1e-8));
      }
  }
  // Large order: K_nu / K_{nu+1} by the upward recurrence from K_{1/2} = K_{-1/2}.
  for (int n : {102, 784, 3072}) {
    auto p = make_unnormalised_yukawa_process(n, m);
    for (double t : {0.01, 1.0, 100.0})
      for (double r : {0.0, 3.0, 300.0}) {
        const double z = m * std::hypot(r, t);
        double ratio = 1.0;  // K_{mu+1} / K_mu at mu = -1/2
        for (double mu = -0.5; mu < 0.5 * (n - 1) - 0.25; mu += 1.0) ratio = 1.0 / ratio + 2.0 * (mu + 1.0) / z;
        INFO("N = " << n << ", t = " << t << ", r = " << r);
        CHECK(p->birth_death_ratio(r, t) == Approx(-(z / t) / ratio).epsilon(1e-10));
      }
  }
  // Total mass decays as exp(-m t), so the kernel average of R/p is -m.
  for (int n : {2, 784, 3072}) {
    auto p = make_unnormalised_yukawa_process(n, m);
    for (double t : {0.1, 1.0, 10.0}) {
      INFO("N = " << n << ", t = " << t);
      const auto radii = sample_radii(*p, t, 77, 20000);
      double s = 0, s2 = 0;
      for (double r : radii) {
        const double v = p->birth_death_ratio(r, t);
        s += v;
        s2 += v * v;
      }
      const double mean = s / radii.size(), se = std::sqrt((s2 / radii.size() - mean * mean) / radii.size());
      CHECK(std::fabs(mean + m) < 5.0 * se);
    }
  }
}

TEST_CASE("velocities: affine for self-similar kernels, a velocity target for the inverse-Gaussian ones") {
  const int n = 784;
  struct V {
    std::unique_ptr<GenerativeProcess> p;
    double t, scale;
  };
  std::vector<V> vs;
  vs.push_back({make_diffusion_process(n), 0.7, 0.5 / 0.7});
  vs.push_back({make_pfgmpp_process(n, 128.0), 5.0, 1.0 / 5.0});
  vs.push_back({make_pfgmpp_process(n, 1.0), 2.0, 1.0 / 2.0});
  vs.push_back({make_stable_process(2, 1.0 / 3.0), 1.5, 1.0 / (2.0 / 3.0 * 1.5)});
  vs.push_back({make_unnormalised_yukawa_process(n, 1.0), 2.0, 1.0 / 2.0});
  for (auto& v : vs) {
    INFO("N = " << v.p->dim() << ", t = " << v.t);
    CHECK(v.p->affine_velocity());
    CHECK(v.p->velocity_scale(v.t) == Approx(v.scale).epsilon(1e-14));
    // The step variable is exp(int velocity_scale dt) up to a constant: d ln lambda/dt = scale.
    CHECK(v.p->step_rate(v.t) / v.p->step_variable(v.t) == Approx(v.scale).epsilon(1e-12));
  }
  // Self-similar kernels move each radial quantile as r * velocity_scale.
  for (std::size_t i = 0; i < 4; ++i) {
    auto& v = vs[i];
    const auto radii = sample_radii(*v.p, v.t, 31, 1000);
    for (double q : {0.1, 0.5, 0.9}) {
      const double r = quantile(radii, q);
      INFO("N = " << v.p->dim() << ", r = " << r);
      CHECK(quantile_radial_velocity(*v.p, r, v.t) == Approx(v.scale * r).epsilon(1e-6));
    }
  }
  // The mixed equation: the quantile velocity, checked by moving quantiles, is not r * const;
  // the closed-form mixture speed (source_radial_speed) agrees with it.
  auto mix = make_mixed_diffusion_poisson_process(n, 2.0, 3.0);
  CHECK_FALSE(mix->affine_velocity());
  CHECK_THROWS_AS(mix->velocity_scale(1.0), NotSupported);
  CHECK_FALSE(make_yukawa_process(n, 1.0)->affine_velocity());
  const double t = 1.0;
  auto quantile_at = [&](double q, double s) {
    double lo = 0.0, hi = 1.0;
    while (mix->radial_cdf(hi, s) < q) hi *= 2.0;
    for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; ++i) {
      const double mid = 0.5 * (lo + hi);
      (mix->radial_cdf(mid, s) < q ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
  };
  std::vector<double> ratio;
  for (double q : {0.02, 0.5, 0.98}) {
    const double r = quantile_at(q, t), h = 1e-3;
    const double moved = (quantile_at(q, t + h) - quantile_at(q, t - h)) / (2.0 * h);
    INFO("q = " << q << ", r = " << r);
    CHECK(quantile_radial_velocity(*mix, r, t) == Approx(moved).epsilon(1e-5));
    CHECK(mix->source_radial_speed(r, t) == Approx(moved).epsilon(1e-5));
    ratio.push_back(moved / r);
  }
  CHECK(std::fabs(ratio.back() / ratio.front() - 1.0) > 0.01);
}

TEST_CASE("finite radii, log densities and CDFs over t = 1e-3 .. 1e3 and N up to 3072") {
  std::vector<std::pair<std::string, std::function<std::unique_ptr<GenerativeProcess>(int)>>> makers = {
      {"diffusion", [](int n) { return make_diffusion_process(n); }},
      {"pfgm++ 1", [](int n) { return make_pfgmpp_process(n, 1.0); }},
      {"pfgm++ 1e6", [](int n) { return make_pfgmpp_process(n, 1e6); }},
      {"yukawa", [](int n) { return make_yukawa_process(n, 1.0); }},
      {"stable 1/3", [](int n) { return make_stable_process(n, 1.0 / 3.0); }},
      {"stable 0.8", [](int n) { return make_stable_process(n, 0.8); }},
      {"mixed", [](int n) { return make_mixed_diffusion_poisson_process(n, 2.0, 3.0); }},
  };
  for (auto& [name, make] : makers) {
    for (int n : {1, 2, 784, 3072}) {
      auto p = make(n);
      for (double t : {1e-3, 1e-1, 10.0, 1e3}) {
        INFO(name << ", N = " << n << ", t = " << t);
        const auto radii = sample_radii(*p, t, 5, 200);
        bool finite = true;
        for (double r : radii) finite = finite && std::isfinite(r) && r > 0.0;
        CHECK(finite);
        const bool slow = name.rfind("stable", 0) == 0;  // nested quadrature: fewer points
        std::vector<double> rs = {quantile(radii, 0.5)};
        if (!slow || n == 3072) rs.insert(rs.end(), {0.0, quantile(radii, 0.01), 1e3 * quantile(radii, 0.99)});
        double last = -1.0;
        std::sort(rs.begin(), rs.end());
        for (double r : rs) {
          INFO("r = " << r);
          CHECK(std::isfinite(p->log_kernel(r, t)));
          const double f = p->radial_cdf(r, t);
          CHECK((f >= 0.0 && f <= 1.0 && f >= last));
          last = f;
        }
        if (p->has_birth_death()) CHECK(std::isfinite(p->birth_death_ratio(radii[0], t)));
      }
    }
  }
}

TEST_CASE("sigma and time are inverses; factories validate their parameters") {
  std::vector<std::unique_ptr<GenerativeProcess>> ps;
  ps.push_back(make_diffusion_process(5));
  ps.push_back(make_pfgmpp_process(5, 1.0));
  ps.push_back(make_pfgmpp_process(5, 2048.0));
  ps.push_back(make_yukawa_process(5, 0.3));
  ps.push_back(make_stable_process(5, 1.0 / 3.0));
  ps.push_back(make_stable_process(5, 1.0));
  ps.push_back(make_mixed_diffusion_poisson_process(5, 0.5, 2.0));
  for (auto& p : ps)
    for (double s : {0.002, 0.3, 1.0, 80.0}) {
      CHECK(p->sigma(p->time(s)) == Approx(s).epsilon(1e-13));
      CHECK(p->dim() == 5);
    }
  CHECK(make_diffusion_process(5)->sigma(2.0) == Approx(2.0));
  CHECK(make_pfgmpp_process(5, 64.0)->sigma(8.0) == Approx(1.0));
  CHECK(make_yukawa_process(5, 0.5)->sigma(2.0) == Approx(2.0));
  CHECK(make_stable_process(5, 0.5)->sigma(2.0) == Approx(std::sqrt(2.0) * 2.0));
  CHECK(make_stable_process(5, 0.25)->sigma(2.0) == Approx(std::sqrt(2.0) * 4.0));

  const double nan = std::nan("");
  CHECK_THROWS_AS(make_diffusion_process(0), InputError);
  CHECK_THROWS_AS(make_pfgmpp_process(3, 0.5), InputError);
  CHECK_THROWS_AS(make_pfgmpp_process(3, nan), InputError);
  CHECK_THROWS_AS(make_pfgmpp_process(3, std::numeric_limits<double>::infinity()), InputError);
  CHECK_THROWS_AS(make_yukawa_process(3, 0.0), InputError);
  CHECK_THROWS_AS(make_yukawa_process(-1, 1.0), InputError);
  CHECK_THROWS_AS(make_stable_process(3, 0.0), InputError);
  CHECK_THROWS_AS(make_stable_process(3, nan), InputError);
  CHECK_THROWS_AS(make_stable_process(3, 1.5), NotSupported);
  CHECK_THROWS_AS(make_mixed_diffusion_poisson_process(3, 0.0, 1.0), InputError);
  CHECK_THROWS_AS(make_mixed_diffusion_poisson_process(3, 1.0, -1.0), InputError);
  CHECK_THROWS_AS(make_diffusion_process(3)->log_kernel(1.0, 0.0), InputError);
}

// The normalised screened-Poisson flow (the mixed equation with a = 1, b = 2m) three ways: the
// mixture's quantile speed (source_radial_speed: (x - y)/2 E[A'/A | r] with the inverse-Gaussian
// A' in closed form), finite differences of the radial CDF (quantile_radial_velocity), and in
// N = 2 the closed form v_r = r (1/t + m rho/(rho + t)) / (1 + m rho), rho^2 = r^2 + t^2.
// Measured: all three agree to 1e-10 at these points.
TEST_CASE("screened Poisson's normalised flow: mixture speed, quantile transport and the N = 2 closed form agree") {
  for (double m : {0.5, 1.0, 3.0}) {
    const auto p = make_yukawa_process(2, m);
    for (double t : {0.05, 0.3, 1.0, 3.0})
      for (double r : {0.02, 0.2, 1.0, 4.0}) {
        INFO("m = " << m << ", t = " << t << ", r = " << r);
        const double rho = std::hypot(r, t);
        const double closed = r * (1.0 / t + m * rho / (rho + t)) / (1.0 + m * rho);
        CHECK(p->source_radial_speed(r, t) == Approx(closed).epsilon(1e-8));
        CHECK(quantile_radial_velocity(*p, r, t) == Approx(closed).epsilon(1e-6));
      }
  }
  // High N and the step variable lambda = t/sqrt(1 + m t): its inverse and rate.
  const auto p = make_yukawa_process(784, 2.0);
  for (double t : {1e-4, 0.1, 10.0, 1e4}) {
    INFO("t = " << t);
    CHECK(p->step_time(p->step_variable(t)) == Approx(t).epsilon(1e-12));
    const double h = 1e-6 * t;
    CHECK(p->step_rate(t) == Approx((p->step_variable(t + h) - p->step_variable(t - h)) / (2 * h)).epsilon(1e-7));
    CHECK(p->step_variable(t) == Approx(t / std::sqrt(1.0 + 2.0 * t)).epsilon(1e-14));
  }
  for (double t : {0.05, 1.0})
    for (double q : {0.1, 0.5, 0.9}) {
      const auto radii = sample_radii(*p, t, 5, 400);
      const double r = quantile(radii, q);
      INFO("N = 784, t = " << t << ", r = " << r);
      CHECK(p->source_radial_speed(r, t) == Approx(quantile_radial_velocity(*p, r, t)).epsilon(1e-5));
    }
}
