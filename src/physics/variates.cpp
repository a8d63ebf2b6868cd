#include "genphys/variates.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>

#include <boost/math/special_functions/sin_pi.hpp>
#include <boost/math/tools/roots.hpp>

#include "physics/kernel_quadrature.hpp"

namespace genphys {

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;

// ---- ziggurat tables ------------------------------------------------------------------------
// 256 layers of equal area V under f(x) = exp(-x^2/2); R is the base layer's edge.
struct Ziggurat {
  static constexpr double R = 3.6541528853610088;
  std::array<double, 257> x{};  // layer i spans [0, x[i]) x [f[i], f[i+1]); x[0] = V / f(R)
  std::array<double, 257> f{};
  Ziggurat() {
    const double fr = std::exp(-0.5 * R * R);
    // Area of the base layer: rectangle plus tail; every layer has this area.
    const double V = R * fr + std::sqrt(0.5 * kPi) * std::erfc(R / std::sqrt(2.0));
    x[0] = V / fr;
    x[1] = R;
    for (int i = 1; i < 255; ++i) x[i + 1] = std::sqrt(-2.0 * std::log(V / x[i] + std::exp(-0.5 * x[i] * x[i])));
    x[256] = 0.0;
    for (int i = 0; i < 257; ++i) f[i] = std::exp(-0.5 * x[i] * x[i]);
  }
};

const Ziggurat& ziggurat() {
  static const Ziggurat z;
  return z;
}

inline double normal_with(const Ziggurat& z, Rng& rng) {
  for (;;) {
    const std::uint64_t b = rng();
    const unsigned i = static_cast<unsigned>(b & 0xFF);
    const bool negative = (b >> 8) & 1;
    const double u = static_cast<double>(b >> 11) * 0x1.0p-53;
    const double x = u * z.x[i];
    if (x < z.x[i + 1]) return negative ? -x : x;
    if (i == 0) {
      // Marsaglia's tail beyond R.
      double t, y;
      do {
        t = -std::log(uniform_open(rng)) / Ziggurat::R;
        y = -std::log(uniform_open(rng));
      } while (y + y < t * t);
      const double v = Ziggurat::R + t;
      return negative ? -v : v;
    }
    if (z.f[i] + uniform01(rng) * (z.f[i + 1] - z.f[i]) < std::exp(-0.5 * x * x)) return negative ? -x : x;
  }
}

// ---- helpers for the stable law ------------------------------------------------------------
double integrate(const std::function<double(double)>& g, double a, double b, double abs_tol = 0.0) {
  return detail::adaptive_integrate(g, a, b, 1e-11, abs_tol);
}

// log(sin(x) / x), with its Taylor series where the quotient is too close to 1 to take a log of.
double log_sinc(double x) {
  const double x2 = x * x;
  if (x2 < 1e-2) return -x2 * (1.0 / 6.0 + x2 * (1.0 / 180.0 + x2 * (1.0 / 2835.0 + x2 / 37800.0)));
  return std::log(std::sin(x) / x);
}

// log K(0+) = [beta log beta + (1-beta) log(1-beta)] / (1-beta).
double log_kanter0(double beta) { return beta / (1.0 - beta) * std::log(beta) + std::log1p(-beta); }

// log K(phi) - log K(0+) ~ beta phi^2 / 2, accurate to its last digits for small phi: the left tail
// of the stable law weighs exp(-c K0 (K/K0 - 1)) with c K0 up to ~700.
double log_kanter_excess(double beta, double phi) {
  return (beta * log_sinc(beta * phi) + (1.0 - beta) * log_sinc((1.0 - beta) * phi) - log_sinc(phi)) / (1.0 - beta);
}

// phi in (0, pi) where log K(phi) = target; K increases from K(0+) to +inf.
double kanter_solve(double beta, double target) {
  auto h = [&](double phi) { return log_kanter(beta, phi) - target; };
  double lo = 1e-300, hi = kPi * (1.0 - 1e-16);
  if (h(lo) >= 0.0) return lo;
  if (h(hi) <= 0.0) return hi;
  std::uintmax_t it = 200;
  auto tol = boost::math::tools::eps_tolerance<double>(50);
  auto r = boost::math::tools::toms748_solve(h, lo, hi, tol, it);
  return 0.5 * (r.first + r.second);
}

// Series in x = s^-beta, convergent for all s and fast for small x:
// 1 - F(s) = (1/pi) sum_k (-1)^(k+1) Gamma(k beta) / k! sin(k pi beta) x^k,
// p(s)     = (1/(pi s)) sum_k (-1)^(k+1) Gamma(k beta + 1) / k! sin(k pi beta) x^k.
double stable_series(double beta, double x, bool density) {
  double sum = 0.0;
  for (int k = 1; k <= 200; ++k) {
    const double lg = std::lgamma(k * beta + (density ? 1.0 : 0.0)) - std::lgamma(k + 1.0) + k * std::log(x);
    const double bound = std::exp(lg);  // |term| without the sine, which can vanish (beta = 1/2)
    sum += ((k % 2) ? 1.0 : -1.0) * bound * boost::math::sin_pi(k * beta);
    if (bound < 1e-17 * std::fabs(sum)) break;
  }
  return sum / kPi;
}

constexpr double kSeriesX = 0.1;  // switch to the series when s^-beta is below this

void check_beta(double beta) {
  if (!(beta > 0.0 && beta < 1.0)) throw std::invalid_argument("positive stable law needs 0 < beta < 1");
}

}  // namespace

double standard_normal(Rng& rng) { return normal_with(ziggurat(), rng); }

void standard_normals(Rng& rng, double* out, std::size_t n) {
  const Ziggurat& z = ziggurat();
  for (std::size_t i = 0; i < n; ++i) out[i] = normal_with(z, rng);
}

double standard_exponential(Rng& rng) { return -std::log(uniform_open(rng)); }

GammaVariate::GammaVariate(double shape) : shape_(shape) {
  if (!(shape > 0.0) || !std::isfinite(shape)) throw std::invalid_argument("Gamma shape must be positive and finite");
  boost_ = shape < 1.0;
  half_ = shape == 0.5;
  const double a = boost_ ? shape + 1.0 : shape;
  d_ = a - 1.0 / 3.0;
  c_ = 1.0 / std::sqrt(9.0 * d_);
  inv_shape_ = 1.0 / shape;
}

double GammaVariate::operator()(Rng& rng) const {
  const Ziggurat& z = ziggurat();
  if (half_) {  // Gamma(1/2) = Z^2 / 2: PFGM's D = 1 and N = 1
    const double x = normal_with(z, rng);
    return 0.5 * x * x;
  }
  double g;
  for (;;) {
    double x, v;
    do {
      x = normal_with(z, rng);
      v = 1.0 + c_ * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = uniform_open(rng);
    const double x2 = x * x;
    if (u < 1.0 - 0.0331 * x2 * x2 || std::log(u) < 0.5 * x2 + d_ * (1.0 - v + std::log(v))) {
      g = d_ * v;
      break;
    }
  }
  if (boost_) g *= std::exp(std::log(uniform_open(rng)) * inv_shape_);
  return g;
}

double gamma_variate(Rng& rng, double shape) { return GammaVariate(shape)(rng); }

double beta_variate(Rng& rng, double a, double b) {
  const double ga = gamma_variate(rng, a);
  const double gb = gamma_variate(rng, b);
  return ga / (ga + gb);
}

double inverse_gaussian_variate(Rng& rng, double mean, double shape) {
  const double nu = standard_normal(rng);
  const double z = mean * nu * nu / (2.0 * shape);
  // The two roots of the chi-square equation are mean / w and mean * w, w >= 1.
  const double w = 1.0 + z + std::sqrt(z * (z + 2.0));
  const double small = mean / w;
  // Take the small root with probability mean / (mean + small) = w / (w + 1).
  return uniform01(rng) * (w + 1.0) <= w ? small : mean * w;
}

double log_kanter(double beta, double phi) { return log_kanter0(beta) + log_kanter_excess(beta, phi); }

double log_positive_stable_variate(Rng& rng, double beta) {
  if (beta == 1.0) return 0.0;
  const double u = uniform_open(rng);
  const double e = standard_exponential(rng);
  const double phi = kPi * u;
  // sin(pi u) from the nearer end keeps its relative accuracy as u -> 1.
  const double s = std::sin(kPi * std::min(u, 1.0 - u));
  // log S = log sin(beta phi) + [(1-beta) log(sin((1-beta) phi) / E) - log sin(phi)] / beta.
  return std::log(std::sin(beta * phi)) + ((1.0 - beta) * std::log(std::sin((1.0 - beta) * phi) / e) - std::log(s)) / beta;
}

double positive_stable_variate(Rng& rng, double beta) { return std::exp(log_positive_stable_variate(rng, beta)); }

double positive_stable_cdf(double beta, double s) {
  check_beta(beta);
  if (!(s > 0.0)) return 0.0;
  if (std::isinf(s)) return 1.0;
  const double logx = -beta * std::log(s);
  if (logx < std::log(kSeriesX)) return 1.0 - stable_series(beta, std::exp(logx), false);
  // F(s) = (1/pi) int_0^pi exp(-c K(phi)) dphi with c = s^(-beta/(1-beta)); K is smallest at 0.
  const double gamma = beta / (1.0 - beta);
  const double logc = -gamma * std::log(s);
  const double logK0 = log_kanter0(beta);
  const double cK0 = std::exp(logc + logK0);
  if (cK0 > 745.0) return 0.0;
  // Window: every Taylor coefficient of log K - log K0 = beta phi^2 / 2 + ... is positive, so the
  // integrand is below e^-50 beyond the quadratic estimate (doubled for margin).
  const double phi_hi = std::min(kPi, 2.0 * std::sqrt(2.0 * std::log1p(50.0 / cK0) / beta));
  auto g = [&](double phi) { return std::exp(-cK0 * std::expm1(log_kanter_excess(beta, phi))); };
  return std::exp(-cK0) * integrate(g, 0.0, phi_hi, 1e-15) / kPi;
}

double positive_stable_log_pdf(double beta, double s) {
  check_beta(beta);
  if (!(s > 0.0) || std::isinf(s)) return -std::numeric_limits<double>::infinity();
  const double logx = -beta * std::log(s);
  if (logx < std::log(kSeriesX)) return std::log(stable_series(beta, std::exp(logx), true) / s);
  // p(s) = gamma / (pi s) int_0^pi w exp(-w) dphi, w = c K(phi); log w - w peaks at w = 1.
  const double gamma = beta / (1.0 - beta);
  const double logc = -gamma * std::log(s);
  const double logK0 = log_kanter0(beta);
  const double logw0 = logc + logK0;
  if (logw0 > 700.0) return -std::numeric_limits<double>::infinity();  // below e^(-e^700)
  const double w0 = std::exp(logw0);
  double phi_star, hmax;
  if (logw0 < 0.0) {
    phi_star = kanter_solve(beta, -logc);
    hmax = -1.0;
  } else {
    phi_star = 0.0;
    hmax = logw0 - w0;
  }
  // h - hmax without cancelling two huge w's: with d = log K - log K0, h = logw0 + d - w0 e^d.
  auto h_rel = [&](double phi) {
    const double d = log_kanter_excess(beta, phi);
    return logw0 < 0.0 ? logw0 + d - w0 * std::exp(d) + 1.0 : d - w0 * std::expm1(d);
  };
  // h is monotone on each side of phi_star: the window is where it is within 50 of hmax.
  auto edge = [&](double a, double b) {
    std::uintmax_t it = 200;
    auto r = boost::math::tools::toms748_solve([&](double phi) { return h_rel(phi) + 50.0; }, a, b,
                                               boost::math::tools::eps_tolerance<double>(40), it);
    return 0.5 * (r.first + r.second);
  };
  const double phi_top = kPi * (1.0 - 1e-15);
  const double phi_hi = h_rel(phi_top) < -50.0 ? edge(phi_star, phi_top) : phi_top;
  const double phi_lo = (phi_star > 0.0 && h_rel(0.0) < -50.0) ? edge(0.0, phi_star) : 0.0;
  auto g = [&](double phi) { return std::exp(h_rel(phi)); };
  const double integral = integrate(g, phi_lo, phi_star) + integrate(g, phi_star, phi_hi);
  return std::log(gamma / (kPi * s)) + hmax + std::log(integral);
}

}  // namespace genphys
