#include "genphys/special.hpp"

#include <array>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/math/constants/constants.hpp>
#include <boost/math/special_functions/bessel.hpp>
#include <boost/math/special_functions/gamma.hpp>

namespace genphys::special {

namespace {

namespace bmp = boost::math::policies;
// Overflow and underflow come back as inf / 0 (the callers then take another route) instead of
// throwing; evaluation errors still throw.
using Pol = bmp::policy<bmp::overflow_error<bmp::ignore_error>, bmp::underflow_error<bmp::ignore_error>,
                        bmp::denorm_error<bmp::ignore_error>>;

constexpr double kPi = boost::math::constants::pi<double>();
constexpr double kInf = std::numeric_limits<double>::infinity();
// Boost values outside [kTiny, kHuge] are treated as out of range (denormals lose digits).
constexpr double kTiny = 1e-290;
constexpr double kHuge = 1e290;
constexpr int kTerms = 16;  // u_0 .. u_15

void require(bool ok, const char* what, double nu, double x) {
  if (!ok)
    throw std::domain_error(std::string("genphys::special::") + what + ": bad argument nu = " +
                            std::to_string(nu) + ", x = " + std::to_string(x));
}

bool in_range(double v) {
  const double a = std::fabs(v);
  return std::isfinite(a) && a >= kTiny && a <= kHuge;
}

// Debye polynomials u_k(p) (DLMF 10.41.10) and v_k(p) (10.41.12). Both are p^k times a polynomial
// of degree k in p^2; `c[k][j]` is the coefficient of p^(k + 2j).
struct DebyeTables {
  std::array<std::vector<double>, kTerms> u, v;
  // max over p in [0, 1] of |u_k(p)|, |v_k(p)| (times 2 for safety): bounds the modified-Bessel
  // terms, so the number of terms depends on nu only.
  std::array<double, kTerms> u_max{}, v_max{};

  DebyeTables() {
    // Dense coefficients in p, built by the recurrence
    // u_{k+1} = p^2 (1 - p^2) u_k' / 2 + (1/8) int_0^p (1 - 5 t^2) u_k(t) dt.
    std::vector<std::vector<double>> ud(kTerms), vd(kTerms);
    ud[0] = {1.0};
    for (int k = 0; k + 1 < kTerms; ++k) {
      const auto& a = ud[k];
      std::vector<double> b(a.size() + 3, 0.0);
      for (std::size_t i = 1; i < a.size(); ++i) {
        const double d = static_cast<double>(i) * a[i];
        b[i + 1] += 0.5 * d;
        b[i + 3] -= 0.5 * d;
      }
      for (std::size_t i = 0; i < a.size(); ++i) {
        b[i + 1] += a[i] / (8.0 * static_cast<double>(i + 1));
        b[i + 3] -= 5.0 * a[i] / (8.0 * static_cast<double>(i + 3));
      }
      ud[k + 1] = b;
    }
    // v_k = u_k + p (p^2 - 1) (u_{k-1} / 2 + p u_{k-1}').
    vd[0] = {1.0};
    for (int k = 1; k < kTerms; ++k) {
      std::vector<double> b = ud[k];
      const auto& a = ud[k - 1];
      for (std::size_t i = 0; i < a.size(); ++i) {
        const double w = (0.5 + static_cast<double>(i)) * a[i];  // of u_{k-1}/2 + p u_{k-1}'
        b[i + 3] += w;
        b[i + 1] -= w;
      }
      vd[k] = b;
    }
    for (int k = 0; k < kTerms; ++k) {
      u[k].resize(k + 1);
      v[k].resize(k + 1);
      for (int j = 0; j <= k; ++j) {
        u[k][j] = ud[k][k + 2 * j];
        v[k][j] = vd[k][k + 2 * j];
      }
      double mu = 0.0, mv = 0.0;
      for (int i = 0; i <= 2000; ++i) {
        const double p = i / 2000.0;
        mu = std::max(mu, std::fabs(eval(u[k], k, p)));
        mv = std::max(mv, std::fabs(eval(v[k], k, p)));
      }
      u_max[k] = 2.0 * mu;
      v_max[k] = 2.0 * mv;
    }
  }

  static double eval(const std::vector<double>& c, int k, double p) {
    const double p2 = p * p;
    double s = 0.0;
    for (int j = k; j >= 0; --j) s = s * p2 + c[j];
    return s * std::pow(p, k);
  }
};

const DebyeTables& tables() {
  static const DebyeTables t;
  return t;
}

// Number of terms for the modified-Bessel Debye sums at order nu: stop once the bound on the next
// term is below 1e-17.
int modified_terms(double nu) {
  const auto& T = tables();
  double scale = 1.0;
  for (int k = 1; k < kTerms; ++k) {
    scale /= nu;
    if (std::max(T.u_max[k], T.v_max[k]) * scale < 1e-17) return k;
  }
  return kTerms;
}

// sum_{k < n} sign^k c_k(p) / nu^k with c = u or v, evaluated with p^k folded into the scale.
double debye_sum(const std::array<std::vector<double>, kTerms>& c, int n, double p, double nu,
                 double sign) {
  const double p2 = p * p, step = sign * p / nu;
  double sum = 1.0, f = 1.0;
  for (int k = 1; k < n; ++k) {
    f *= step;
    double s = 0.0;
    for (int j = k; j >= 0; --j) s = s * p2 + c[k][j];
    sum += f * s;
  }
  return sum;
}

struct ModifiedDebye {
  double z, s, p, nu_eta;
  int n;
};

ModifiedDebye modified_debye(double nu, double x) {
  ModifiedDebye d;
  d.z = x / nu;
  d.s = std::hypot(1.0, d.z);
  d.p = 1.0 / d.s;
  // eta = s + log(z / (1 + s)); (1 + s)/z = 1 + (1 + 1/(s + z))/z keeps it accurate for large z.
  d.nu_eta = nu * (d.s - std::log1p((1.0 + 1.0 / (d.s + d.z)) / d.z));
  d.n = modified_terms(nu);
  return d;
}

double log_k_debye(double nu, double x) {
  const ModifiedDebye d = modified_debye(nu, x);
  const double U = debye_sum(tables().u, d.n, d.p, nu, -1.0);
  return 0.5 * std::log(kPi / (2.0 * nu)) - d.nu_eta - 0.5 * std::log(d.s) + std::log(U);
}

double log_i_debye(double nu, double x) {
  const ModifiedDebye d = modified_debye(nu, x);
  const double U = debye_sum(tables().u, d.n, d.p, nu, 1.0);
  return -0.5 * std::log(2.0 * kPi * nu) + d.nu_eta - 0.5 * std::log(d.s) + std::log(U);
}

// K_{nu+1}/K_nu = nu/x - K'/K with K'/K = -(s/z) V/U (DLMF 10.41.4 and 10.41.7).
double k_ratio_debye(double nu, double x) {
  const ModifiedDebye d = modified_debye(nu, x);
  const double U = debye_sum(tables().u, d.n, d.p, nu, -1.0);
  const double V = debye_sum(tables().v, d.n, d.p, nu, -1.0);
  return (1.0 + d.s * V / U) / d.z;
}

// log of sum_k (sign)^k a_k(nu) / x^k, the Hankel large-argument series (DLMF 10.40.1-2);
// sign = +1 for K, -1 for I. Used for nu < kDebyeMinOrder, x >= kLargeArgument, where the terms
// fall from the start and the truncation error is ~e^(-2x).
double log_hankel_sum(double nu, double x, double sign) {
  const double mu = 4.0 * nu * nu;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 200; ++k) {
    const double odd = 2.0 * k - 1.0;
    term *= sign * (mu - odd * odd) / (8.0 * k * x);
    sum += term;
    if (std::fabs(term) < 1e-17 * std::fabs(sum)) break;
  }
  return std::log(sum);
}

// log I_nu(x) from the power series (x/2)^nu / Gamma(nu+1) sum (x^2/4)^k / (k! (nu+1)_k); all terms
// positive, used for x <= 2.
double log_i_series(double nu, double x) {
  const double q = 0.25 * x * x;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 100; ++k) {
    term *= q / (k * (nu + k));
    sum += term;
    if (term < 1e-17 * sum) break;
  }
  return nu * std::log(0.5 * x) - boost::math::lgamma(nu + 1.0, Pol()) + std::log(sum);
}

// J_nu(x) from its power series for small x (x^2/4 < nu + 1: alternating terms that fall from the
// start); log|J| and its sign.
SignedLog j_series(double nu, double x) {
  const double q = -0.25 * x * x;
  double term = 1.0, sum = 1.0;
  for (int k = 1; k < 100; ++k) {
    term *= q / (k * (nu + k));
    sum += term;
    if (std::fabs(term) < 1e-17 * std::fabs(sum)) break;
  }
  const double log_abs =
      nu * std::log(0.5 * x) - boost::math::lgamma(nu + 1.0, Pol()) + std::log(std::fabs(sum));
  return {log_abs, sum > 0 ? 1 : -1};
}

// Below the turning point, x = nu sech(alpha): exponent nu (alpha - tanh alpha) and t = tanh alpha.
struct TurningGeometry {
  double t, exponent;
};

TurningGeometry below_turning(double nu, double x) {
  const double r = x / nu;
  const double t = std::sqrt((1.0 - r) * (1.0 + r));
  double a_minus_t;
  if (t < 0.1) {
    // atanh(t) - t = t^3/3 + t^5/5 + ... (the direct difference cancels for small t)
    const double t2 = t * t;
    double pw = t * t2, s = 0.0;
    for (int k = 1; k < 30; ++k) {
      const double term = pw / (2.0 * k + 1.0);
      s += term;
      if (term < 1e-17 * s) break;
      pw *= t2;
    }
    a_minus_t = s;
  } else {
    a_minus_t = std::log1p(t) - std::log(r) - t;  // alpha = log((1 + t) / r)
  }
  return {t, nu * a_minus_t};
}

bool jy_use_debye(double nu, double x) {
  if (nu < kDebyeMinOrder || x >= nu) return false;
  return below_turning(nu, x).exponent > kJYDebyeExponent;
}

// DLMF 10.19.3: sum_k (sign)^k u_k(coth alpha) / nu^k, coth alpha > 1, summed until two successive
// terms are negligible (a single term can vanish near a zero of u_k).
double debye_jy_sum(double nu, double p, double sign) {
  const auto& c = tables().u;
  const double p2 = p * p, step = sign * p / nu;
  double sum = 1.0, f = 1.0;
  int small = 0;
  for (int k = 1; k < kTerms; ++k) {
    f *= step;
    double s = 0.0;
    for (int j = k; j >= 0; --j) s = s * p2 + c[k][j];
    const double term = f * s;
    sum += term;
    small = std::fabs(term) < 1e-17 * std::fabs(sum) ? small + 1 : 0;
    if (small == 2) break;
  }
  return sum;
}

SignedLog j_debye(double nu, double x) {
  const TurningGeometry g = below_turning(nu, x);
  const double S = debye_jy_sum(nu, 1.0 / g.t, 1.0);
  return {-g.exponent - 0.5 * std::log(2.0 * kPi * nu * g.t) + std::log(std::fabs(S)),
          S > 0 ? 1 : -1};
}

SignedLog y_debye(double nu, double x) {
  const TurningGeometry g = below_turning(nu, x);
  const double S = debye_jy_sum(nu, 1.0 / g.t, -1.0);
  return {g.exponent - 0.5 * std::log(0.5 * kPi * nu * g.t) + std::log(std::fabs(S)),
          S > 0 ? -1 : 1};
}

}  // namespace

double log_bessel_k(double nu, double x) {
  require(nu >= 0.0 && x > 0.0 && std::isfinite(nu) && !std::isnan(x), "log_bessel_k", nu, x);
  if (x == kInf) return -kInf;
  if (nu >= kDebyeMinOrder) return log_k_debye(nu, x);
  if (x >= kLargeArgument) return 0.5 * std::log(kPi / (2.0 * x)) - x + log_hankel_sum(nu, x, 1.0);
  const double k = boost::math::cyl_bessel_k(nu, x, Pol());
  if (in_range(k)) return std::log(k);
  // Only for tiny x (K_nu(x) > 1e290 needs x < ~1e-9 when nu < 25, and nu >= 2), where
  // K_nu ~ Gamma(nu) (2/x)^nu / 2 with relative corrections ~x^2 / (4 (nu - 1)) < 1e-18.
  return boost::math::lgamma(nu, Pol()) - std::log(2.0) + nu * std::log(2.0 / x);
}

double log_bessel_i(double nu, double x) {
  require(nu >= 0.0 && x >= 0.0 && std::isfinite(nu) && !std::isnan(x), "log_bessel_i", nu, x);
  if (x == 0.0) return nu == 0.0 ? 0.0 : -kInf;
  if (x == kInf) return kInf;
  if (nu >= kDebyeMinOrder) return log_i_debye(nu, x);
  if (x >= kLargeArgument) return x - 0.5 * std::log(2.0 * kPi * x) + log_hankel_sum(nu, x, -1.0);
  if (x <= 2.0) return log_i_series(nu, x);
  return std::log(boost::math::cyl_bessel_i(nu, x, Pol()));  // in [1e-26, 1e260] here
}

double bessel_k_ratio(double nu, double x) {
  require(nu >= 0.0 && x > 0.0 && std::isfinite(nu) && std::isfinite(x), "bessel_k_ratio", nu, x);
  if (nu >= kDebyeMinOrder) return k_ratio_debye(nu, x);
  if (x >= kLargeArgument)
    return std::exp(log_hankel_sum(nu + 1.0, x, 1.0) - log_hankel_sum(nu, x, 1.0));
  const double k0 = boost::math::cyl_bessel_k(nu, x, Pol());
  const double k1 = boost::math::cyl_bessel_k(nu + 1.0, x, Pol());
  if (in_range(k0) && in_range(k1)) return k1 / k0;
  return std::exp(log_bessel_k(nu + 1.0, x) - log_bessel_k(nu, x));
}

SignedLog bessel_j(double nu, double x) {
  require(nu >= 0.0 && x >= 0.0 && std::isfinite(nu) && std::isfinite(x), "bessel_j", nu, x);
  if (x == 0.0) return nu == 0.0 ? SignedLog{0.0, 1} : SignedLog{};
  if (jy_use_debye(nu, x)) return j_debye(nu, x);
  const double j = boost::math::cyl_bessel_j(nu, x, Pol());
  if (in_range(j)) return SignedLog::from(j);
  // Underflow at tiny x (only reachable for nu < kDebyeMinOrder).
  if (0.25 * x * x < nu + 1.0) return j_series(nu, x);
  return SignedLog::from(j);
}

SignedLog bessel_y(double nu, double x) {
  require(nu >= 0.0 && x > 0.0 && std::isfinite(nu) && std::isfinite(x), "bessel_y", nu, x);
  if (jy_use_debye(nu, x)) return y_debye(nu, x);
  const double y = boost::math::cyl_neumann(nu, x, Pol());
  if (std::isfinite(y) && std::fabs(y) <= kHuge) return SignedLog::from(y);
  // Overflow at tiny x (nu < kDebyeMinOrder, nu > 0): Y_nu ~ -Gamma(nu) (2/x)^nu / pi, with
  // relative corrections below 1e-18 wherever |Y| > 1e290.
  return {boost::math::lgamma(nu, Pol()) + nu * std::log(2.0 / x) - std::log(kPi), -1};
}

double log_hankel1_modulus(double nu, double x) {
  const SignedLog j = bessel_j(nu, x), y = bessel_y(nu, x);
  if (j.sign == 0) return y.log_abs;
  if (y.sign == 0) return j.log_abs;
  const double hi = std::max(j.log_abs, y.log_abs), lo = std::min(j.log_abs, y.log_abs);
  return hi + 0.5 * std::log1p(std::exp(2.0 * (lo - hi)));
}

double bessel_j_first_zero(double nu) {
  require(nu >= 0.0 && std::isfinite(nu), "bessel_j_first_zero", nu, 0.0);
  return boost::math::cyl_bessel_j_zero(nu, 1, Pol());
}

double bessel_y_first_zero(double nu) {
  require(nu >= 0.0 && std::isfinite(nu), "bessel_y_first_zero", nu, 0.0);
  return boost::math::cyl_neumann_zero(nu, 1, Pol());
}

double log_gamma(double x) {
  require(!(x <= 0.0 && std::floor(x) == x) && !std::isnan(x), "log_gamma", 0.0, x);
  return boost::math::lgamma(x, Pol());
}

double log_unit_sphere_area(double n) {
  require(n > 0.0 && std::isfinite(n), "log_unit_sphere_area", 0.0, n);
  return std::log(2.0) + 0.5 * n * std::log(kPi) - boost::math::lgamma(0.5 * n, Pol());
}

double jy_debye_limit(double nu) {
  require(nu >= 0.0 && std::isfinite(nu), "jy_debye_limit", nu, 0.0);
  if (nu < kDebyeMinOrder) return 0.0;
  // Bisection on the route predicate itself, down to adjacent doubles: lo is on the Debye side.
  double lo = std::numeric_limits<double>::min(), hi = nu;
  while (true) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (jy_use_debye(nu, mid) ? lo : hi) = mid;
  }
  return hi;
}

}  // namespace genphys::special
