#include "physics/subordinator.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cmath>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include <boost/math/special_functions/gamma.hpp>
#include <fmt/format.h>

#include "genphys/check.hpp"
#include "genphys/custom_pde.hpp"
#include "genphys/errors.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"
#include "physics/kernel_common.hpp"

namespace genphys {
namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kInf = std::numeric_limits<double>::infinity();
const complex kI(0.0, 1.0);

std::string num(double x) { return fmt::format("{:.4g}", x); }

// ---- the exponent of a dispersion branch ------------------------------------------------------

complex nearest_root(const std::vector<OperatorTerm>& terms, complex s, complex guess) {
  const auto roots = laplace_roots_unchecked(terms, s);
  complex best = guess;
  double dist = kInf;
  for (const complex& r : roots)
    if (std::norm(r - guess) < dist) {
      dist = std::norm(r - guess);
      best = r;
    }
  return best;
}

// Follows a root from (s0, lambda0) to s along the straight segment (inside Re s > 0, where the
// branch is analytic), in steps of at most 0.35 |s|, each taking the root nearest the linear
// extrapolation of the last two.
complex follow_root(const std::vector<OperatorTerm>& terms, complex s0, complex lambda0, complex s) {
  const int steps = std::max(1, static_cast<int>(std::ceil(std::abs(s - s0) / (0.35 * std::min(std::abs(s), std::abs(s0))))));
  complex prev = lambda0, before = lambda0;
  for (int j = 1; j <= steps; ++j) {
    const complex guess = j == 1 ? prev : 2.0 * prev - before;
    const complex next = nearest_root(terms, s0 + (s - s0) * (static_cast<double>(j) / steps), guess);
    before = prev;
    prev = next;
  }
  return prev;
}

// The branch's lambda = -i omega at a complex s: from s = |s| (where the branch itself names the
// root) along the arc of radius |s|; or, when this thread's last point of the same exponent is
// near (the inversions walk along Bromwich lines), from there along a short segment.
struct ContinuationMemo {
  std::uint64_t owner = 0;
  complex s, lambda;
};
thread_local ContinuationMemo memo, memo_real;  // the last point, and the last real one

complex continued_root(const std::vector<OperatorTerm>& terms, const DispersionBranch& branch, complex s,
                       std::uint64_t owner) {
  const double rho = std::abs(s), phi = std::arg(s);
  for (ContinuationMemo* m : {&memo, &memo_real})
    if (m->owner == owner && std::abs(s - m->s) <= 0.3 * rho && m->s.real() > 0.0 && s.real() > 0.0) {
      const complex lambda = follow_root(terms, m->s, m->lambda, s);
      memo = {owner, s, lambda};
      if (phi == 0.0) memo_real = memo;
      return lambda;
    }
  complex prev = -kI * branch.omega(std::sqrt(rho));
  if (phi == 0.0) {
    memo = memo_real = {owner, s, prev};
    return prev;
  }
  prev = nearest_root(terms, rho, prev);
  const int steps = std::max(2, static_cast<int>(std::ceil(std::fabs(phi) / 0.15)));
  complex before = prev;
  for (int j = 1; j <= steps; ++j) {
    const complex guess = j == 1 ? prev : 2.0 * prev - before;
    const complex next = nearest_root(terms, std::polar(rho, phi * j / steps), guess);
    before = prev;
    prev = next;
  }
  memo = {owner, s, prev};
  return prev;
}

// e^z - 1 without cancellation for small |z| (std::expm1 has no complex overload).
complex expm1(complex z) {
  if (std::abs(z) > 0.5) return std::exp(z) - 1.0;
  complex term = z, sum = z;
  for (int k = 2; k < 30 && std::abs(term) > 1e-17 * std::abs(sum); ++k) {
    term *= z / static_cast<double>(k);
    sum += term;
  }
  return sum;
}

// s + th where the Bromwich line would pass within rounding of the removable point s + th = 0
// (possible only for th < 0), nudged off it.
complex off_zero(complex u, double th) { return std::abs(u) < 1e-7 * std::fabs(th) ? u + complex(0.0, 1e-7 * std::fabs(th)) : u; }

// ---- numerical Laplace inversion ----------------------------------------------------------------

// Abate & Whitt (1995), EULER: h(a) = (e^(A/2) / a) [Re H(x)/2 + sum_j (-1)^j Re H(x + i j pi/a)],
// x = A/(2a), the alternating series summed by binomial (Euler) averaging of the partial sums
// n .. n + kEulerM. Discretisation error ~ e^(-A) max|h| (aliasing of h(3a), h(5a), ... damped by
// e^(-A)); rounding ~ 1e-16 e^(A/2) |H|. A = 23: 1e-10 and 1e-11.
constexpr double kEulerA = 23.0;
constexpr int kEulerM = 11;

template <class H>
double euler_invert(const H& transform, double a, int n) {
  static const std::array<double, kEulerM + 1> weights = [] {
    std::array<double, kEulerM + 1> w{};
    double c = 1.0;
    for (int k = 0; k <= kEulerM; ++k) {
      w[static_cast<std::size_t>(k)] = c / std::ldexp(1.0, kEulerM);
      c = c * (kEulerM - k) / (k + 1);
    }
    return w;
  }();
  const double x = kEulerA / (2.0 * a), h = kPi / a;
  double partial = 0.5 * transform(complex(x, 0.0)).real();
  double sign = 1.0;
  for (int j = 1; j <= n; ++j) {
    sign = -sign;
    partial += sign * transform(complex(x, j * h)).real();
  }
  double result = weights[0] * partial;
  for (int k = 1; k <= kEulerM; ++k) {
    sign = -sign;
    partial += sign * transform(complex(x, (n + k) * h)).real();
    result += weights[static_cast<std::size_t>(k)] * partial;
  }
  return std::exp(0.5 * kEulerA) / a * result;
}

}  // namespace

// ---- f from a dispersion branch ------------------------------------------------------------------

std::optional<LaplaceExponent> branch_laplace_exponent(const PdeModule& module, int branch_index, std::string* why) {
  const auto branches = module.dispersion();
  if (branch_index < 0 || branch_index >= static_cast<int>(branches.size())) {
    if (why) *why = "no decaying dispersion branch";
    return std::nullopt;
  }
  const DispersionBranch branch = branches[static_cast<std::size_t>(branch_index)];
  const complex f0 = kI * branch.omega(0.0);
  if (!(std::fabs(f0.imag()) <= 1e-12 * (1.0 + std::abs(f0)))) {
    if (why) *why = fmt::format("i w(0) = {} + {} i is not real: the zero mode oscillates", num(f0.real()), num(f0.imag()));
    return std::nullopt;
  }
  // f real on s > 0: an oscillating mode (Helmholtz below k0, waves) has no subordinator.
  for (int i = 0; i <= 120; ++i) {
    const double s = std::pow(10.0, -6.0 + 0.1 * i);
    const complex v = kI * branch.omega(std::sqrt(s)) - f0;
    if (!(std::fabs(v.imag()) <= 1e-9 * (std::abs(v) + std::abs(f0)) + 1e-300)) {
      if (why)
        *why = fmt::format("f(s) = i w(sqrt s) - i w(0) is not real at s = {} (f = {} + {} i): modes oscillate, no subordinator",
                           num(s), num(v.real()), num(v.imag()));
      return std::nullopt;
    }
  }
  const std::vector<OperatorTerm> terms = module.operator_terms();
  laplace_roots(terms, 1.0);  // validates the terms once; the evaluations skip it
  const double f0r = f0.real();
  LaplaceExponent out;
  // The memo's owner: one id per exponent (never reused), shared by its copies.
  static std::atomic<std::uint64_t> next_id{1};
  const std::uint64_t owner = next_id++;
  out.f = [terms, branch, f0r, owner](complex s) -> complex {
    const complex f = -continued_root(terms, branch, s, owner) - f0r;
    return s.imag() == 0.0 && s.real() > 0.0 ? complex(f.real(), 0.0) : f;
  };
  out.formula = fmt::format("i w(sqrt s) - ({}) on branch {}", num(f0r), branch.label);
  return out;
}

// ---- the Bernstein test ---------------------------------------------------------------------------

BernsteinVerdict bernstein_test(const LaplaceExponent& f) {
  constexpr int kCircle = 64;
  std::array<complex, kCircle> roots_of_unity;
  for (int k = 0; k < kCircle; ++k) roots_of_unity[static_cast<std::size_t>(k)] = std::polar(1.0, 2.0 * kPi * k / kCircle);
  double factorial = 1.0;
  for (int i = 0; i < kBernsteinPoints; ++i) {
    const double s = std::pow(10.0, -6.0 + 12.0 * i / (kBernsteinPoints - 1)), radius = 0.5 * s;
    std::array<complex, kCircle> values;
    double scale = 0.0;
    for (int k = 0; k < kCircle; ++k) {
      values[static_cast<std::size_t>(k)] = f.f(s + radius * roots_of_unity[static_cast<std::size_t>(k)]);
      scale = std::max(scale, std::abs(values[static_cast<std::size_t>(k)]));
    }
    if (!std::isfinite(scale))
      return {false, fmt::format("f is not finite near s = {}", num(s))};
    // Taylor coefficients c_n = f^(n)(s) radius^n / n!; their signs are the derivatives' signs.
    const double tol = 1e-9 * scale + 1e-300;
    factorial = 1.0;
    for (int n = 0; n <= kBernsteinOrders; ++n) {
      if (n > 0) factorial *= n;
      complex c = 0.0;
      for (int k = 0; k < kCircle; ++k)
        c += values[static_cast<std::size_t>(k)] * std::conj(roots_of_unity[static_cast<std::size_t>((n * k) % kCircle)]);
      c /= static_cast<double>(kCircle);
      const double sign = n == 0 ? 1.0 : (n % 2 == 1 ? 1.0 : -1.0);
      const double derivative = c.real() * factorial / std::pow(radius, n);
      if (std::fabs(c.imag()) > tol)
        return {false, fmt::format("f^({})(s) is not real at s = {}", n, num(s))};
      if (sign * c.real() < -tol) {
        const std::string what = n == 0 ? "f" : n == 1 ? "f'" : n == 2 ? "f''" : fmt::format("f^({})", n);
        return {false, fmt::format("not Bernstein: {}(s) = {} at s = {} ({} must be {} 0)", what, num(derivative),
                                   num(s), n == 0 ? "f" : "(-1)^(n-1) f^(n)", n == 0 ? ">=" : ">=")};
      }
    }
  }
  return {true, fmt::format("f >= 0 and (-1)^(n-1) f^(n) >= 0 for n = 1..{} at {} s in [1e-6, 1e6] (Cauchy-integral "
                            "derivatives); f(1) = {}",
                            kBernsteinOrders, kBernsteinPoints, num(f.f(1.0).real()))};
}

SubordinatorRoute subordinator_route(const PdeModule& module) {
  const C2Analysis c2 = analyse_c2(module.dispersion());
  if (c2.verdict.verdict != Verdict::yes)
    return {std::nullopt, "not applicable: C2 does not hold on every mode, so there is no normalised decaying kernel"};
  std::string why;
  auto f = branch_laplace_exponent(module, c2.branch, &why);
  if (!f) return {std::nullopt, "not applicable: " + why};
  const BernsteinVerdict b = bernstein_test(*f);
  if (!b.bernstein) return {std::nullopt, "f(s) = i w(sqrt s) - i w(0) is " + b.reason};
  // A bounded f is a compound-Poisson subordinator: A_t = 0 with probability exp(-t f(inf)),
  // so the kernel keeps an atom at its source and is no density.
  const double f20 = f->f(1e20).real(), f30 = f->f(1e30).real();
  if (!(f30 > 1.001 * f20))
    return {std::nullopt, fmt::format("f is Bernstein but bounded (f(1e20) = {}, f(1e30) = {}): a compound-Poisson "
                                      "subordinator, whose kernel keeps an atom at the source",
                                      num(f20), num(f30))};
  return {std::move(f), "the normalised kernel exp(-t f(k^2)), f(s) = i w(sqrt s) - i w(0) on branch " +
                            module.dispersion()[static_cast<std::size_t>(c2.branch)].label + ", is a Gaussian scale "
                            "mixture x - y = sqrt(2 A_t) xi over the subordinator with Laplace exponent f: " + b.reason};
}

// ---- the law of A_t ---------------------------------------------------------------------------------

SubordinatorLaw::SubordinatorLaw(LaplaceExponent f) : f_(std::move(f)) {
  // A drift b = lim f(s)/s: f(s)/s settled and log-slope 1 at s ~ 1e30.
  const double s1 = 1e28, s2 = 1e30;
  const double r1 = f_.f(s1).real() / s1, r2 = f_.f(s2).real() / s2;
  if (r2 > 0.0 && std::fabs(r2 - r1) <= 1e-9 * r2) drift_ = r2;
  if (drift_ > 0.0 && std::fabs(g_real(1.0)) <= 1e-9 * drift_)
    throw NotSupported("f(s) = " + num(drift_) + " s is pure drift: A_t = " + num(drift_) +
                       " t is deterministic, the heat kernel (--pde diffusion, time scaled by " + num(drift_) + ")");
  // Exponential moments: g real and finite on (-kappa, 0] (IG, gamma, tempered stable); the saddle
  // point may then be negative, which gives the right tail its relative accuracy too.
  auto real_at = [this](double k) {
    const complex v = g(complex(-k, 0.0));
    return std::isfinite(v.real()) && std::fabs(v.imag()) <= 1e-12 * (1.0 + std::abs(v));
  };
  for (double k = 1e-12; k < 1e8 && real_at(k); k *= 2.0) neg_limit_ = k;
  if (neg_limit_ > 0.0) {  // the edge (-m^2 for IG, -1 for gamma) to 1e-12
    double lo = neg_limit_, hi = 2.0 * neg_limit_;
    for (int i = 0; i < 45; ++i) (real_at(0.5 * (lo + hi)) ? lo : hi) = 0.5 * (lo + hi);
    neg_limit_ = lo;
  }
}

double SubordinatorLaw::g_prime(double s) const {
  const double h = 1e-4 * std::fabs(s);
  return (g_real(s + h) - g_real(s - h)) / (2.0 * h);
}

// th with t g'(th) = a: g' decreases (g Bernstein), so bisection in th, in log scale where th > 0.
double SubordinatorLaw::saddle(double a, double t) const {
  const double target = a / t;
  const double lo = 1e-8 / a;
  if (g_prime(lo) > target) {
    double l = std::log(lo), hi = std::log(1e10 / a);
    if (g_prime(std::exp(hi)) > target) return std::exp(hi);
    // Any th > 0 gives an exact formula; the saddle only conditions it: 2^-24 of the range.
    for (int i = 0; i < 24; ++i) {
      const double mid = 0.5 * (l + hi);
      (g_prime(std::exp(mid)) > target ? l : hi) = mid;
    }
    return std::exp(0.5 * (l + hi));
  }
  if (neg_limit_ <= 0.0) return 0.0;
  // a beyond the mean: a negative saddle inside (-kappa, 0).
  double l = -0.999 * neg_limit_, hi = 0.0;
  if (g_prime(l) < target) return l;
  for (int i = 0; i < 30; ++i) {
    const double mid = 0.5 * (l + hi);
    (g_prime(mid) > target ? l : hi) = mid;
  }
  return hi;
}

// Terms before the Euler tail: the tilted law's characteristic function, sampled at spacing pi/a,
// must have decayed, ~2.5 a / (its standard deviation) terms.
int SubordinatorLaw::euler_terms(double a, double theta, double t) const {
  // The curvature on the scale 1/a the inversion resolves (a step relative to th alone drowns
  // in rounding when th is tiny, near the mean).
  const double s = theta != 0.0 ? theta : 1e-6 / a;
  const double h = 1e-2 * (std::fabs(s) + 1.0 / a);
  if (s - h <= -neg_limit_ && s - h <= 0.0) {
    // No room below s: one-sided second difference.
    const double second = (g_real(s + 2 * h) - 2.0 * g_real(s + h) + g_real(s)) / (h * h);
    const double sd = std::sqrt(std::max(0.0, -t * second));
    return sd > 0.0 ? static_cast<int>(std::clamp(std::ceil(2.5 * a / sd), 20.0, 1000.0)) : 20;
  }
  const double second = (g_real(s + h) - 2.0 * g_real(s) + g_real(s - h)) / (h * h);
  const double sd = std::sqrt(std::max(0.0, -t * second));
  if (!(sd > 0.0)) return 20;
  return static_cast<int>(std::clamp(std::ceil(2.5 * a / sd), 20.0, 1000.0));
}

double SubordinatorLaw::typical(double t) const {
  detail::check_kernel_time(t);
  // s* with t g(s*) = 1, by bisection in log s.
  double lo = -300.0, hi = 300.0;
  for (int i = 0; i < 80; ++i) {
    const double mid = 0.5 * (lo + hi);
    (t * g_real(std::exp(mid)) < 1.0 ? lo : hi) = mid;
  }
  return drift_ * t + std::exp(-0.5 * (lo + hi));
}

SubordinatorLaw::Tilt SubordinatorLaw::tilt(double a, double t) const {
  Tilt k;
  k.t = t;
  k.x = a - drift_ * t;
  if (!(k.x > 0.0) || std::isinf(k.x)) return k;
  k.th = saddle(k.x, t);
  k.gth = g_real(k.th);
  k.n = euler_terms(k.x, k.th, t);
  k.scale = k.th * k.x - t * k.gth;
  return k;
}

// The inverted tilted transforms: each is e^(-scale) times the quantity named.
double SubordinatorLaw::tilted_density(const Tilt& k) const {
  if (k.th == 0.0) {
    // Heavy right tail: the transform's constant 1 (an atom at 0, nothing at x > 0) would swamp
    // a density many decades below 1/x in rounding; invert exp(-t g) - 1 instead.
    auto transform = [&](complex s) { return expm1(-k.t * g(s)); };
    return euler_invert(transform, k.x, k.n);
  }
  auto transform = [&](complex s) { return std::exp(-k.t * (g(s + k.th) - k.gth)); };
  return euler_invert(transform, k.x, k.n);
}

double SubordinatorLaw::tilted_cdf(const Tilt& k) const {  // th > 0 only (the pole at s = -th < 0)
  auto transform = [&](complex s) { return std::exp(-k.t * (g(s + k.th) - k.gth)) / (s + k.th); };
  return euler_invert(transform, k.x, k.n);
}

double SubordinatorLaw::tilted_survival(const Tilt& k) const {  // th <= 0
  if (k.th == 0.0) {
    auto transform = [&](complex s) { return -expm1(-k.t * g(s)) / s; };
    return euler_invert(transform, k.x, k.n);
  }
  // th < 0: the survival's transform (1 - e^(-t g(s)))/s, shifted to s + th, is
  // e^(-t g(th)) (e^(t g(th)) - G(s)) / (s + th) with G the tilted transform; its singularity at
  // s = -th is removable (G(-th) = e^(t g(th))).
  const double c = std::exp(k.t * k.gth);
  auto transform = [&](complex s) {
    const complex u = off_zero(s + k.th, k.th);
    return (c - std::exp(-k.t * (g(u) - k.gth))) / u;
  };
  return euler_invert(transform, k.x, k.n);
}

// -(d/dt P(A_t <= a)) from the transform g(s) e^(-t g(s)) / s (no pole: g(0) = 0).
double SubordinatorLaw::tilted_rate(const Tilt& k) const {
  auto transform = [&](complex s) {
    const complex u = off_zero(s + k.th, k.th), gs = g(u);
    return gs * std::exp(-k.t * (gs - k.gth)) / u;
  };
  return euler_invert(transform, k.x, k.n);
}

double SubordinatorLaw::cdf_of(const Tilt& k) const {
  if (!(k.x > 0.0)) return 0.0;
  if (std::isinf(k.x)) return 1.0;
  if (k.th > 0.0) return std::clamp(std::exp(k.scale) * tilted_cdf(k), 0.0, 1.0);
  return std::clamp(1.0 - std::exp(k.scale) * tilted_survival(k), 0.0, 1.0);
}

double SubordinatorLaw::log_pdf(double a, double t) const {
  const Tilt k = tilt(a, t);
  if (!(k.x > 0.0) || std::isinf(k.x)) return -kInf;
  const double q = tilted_density(k);
  return q > 0.0 ? k.scale + std::log(q) : -kInf;
}

double SubordinatorLaw::cdf(double a, double t) const { return cdf_of(tilt(a, t)); }

double SubordinatorLaw::survival(double a, double t) const {
  const Tilt k = tilt(a, t);
  if (!(k.x > 0.0)) return 1.0;
  if (std::isinf(k.x)) return 0.0;
  if (k.th > 0.0) return std::clamp(1.0 - std::exp(k.scale) * tilted_cdf(k), 0.0, 1.0);
  return std::clamp(std::exp(k.scale) * tilted_survival(k), 0.0, 1.0);
}

double SubordinatorLaw::cdf_time_derivative(double a, double t) const {
  const Tilt k = tilt(a, t);
  if (!(k.x > 0.0) || std::isinf(k.x)) return 0.0;
  double d = -std::exp(k.scale) * tilted_rate(k);
  if (drift_ > 0.0) d -= drift_ * std::exp(k.scale) * tilted_density(k);
  return d;
}

double SubordinatorLaw::quantile_speed(double a, double t) const { return evaluate(a, t).speed; }

SubordinatorLaw::Point SubordinatorLaw::evaluate(double a, double t) const {
  const Tilt k = tilt(a, t);
  Point p;
  if (!(k.x > 0.0)) return {-kInf, 0.0, drift_};
  if (std::isinf(k.x)) return {-kInf, 1.0, drift_};
  // The density and the rate share the tilt: e^(scale) cancels in the speed.
  const double q = tilted_density(k);
  p.log_pdf = q > 0.0 ? k.scale + std::log(q) : -kInf;
  p.cdf = cdf_of(k);
  p.speed = drift_ + tilted_rate(k) / q;
  return p;
}

double SubordinatorLaw::quantile(double u, double t) const {
  if (!(u > 0.0 && u < 1.0)) throw std::invalid_argument("quantile: u must lie in (0, 1)");
  const double shift = drift_ * t;
  // Bracket in log x around the typical scale, then safeguarded Newton on the CDF in log x.
  const double x0 = typical(t) - shift;
  double lo = std::log(x0) - 1.0, hi = std::log(x0) + 1.0;
  while (cdf(shift + std::exp(lo), t) > u && lo > -700.0) lo -= 2.0 * (hi - lo);
  while (cdf(shift + std::exp(hi), t) < u && hi < 700.0) hi += 2.0 * (hi - lo);
  double v = 0.5 * (lo + hi);
  for (int it = 0; it < 100 && hi - lo > 1e-12; ++it) {
    const double x = std::exp(v);
    const Tilt k = tilt(shift + x, t);
    const double F = cdf_of(k);
    (F < u ? lo : hi) = v;
    const double dens = x * std::exp(k.scale) * tilted_density(k);  // dF / dlog x
    double next = dens > 0.0 ? v - (F - u) / dens : 0.5 * (lo + hi);
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (std::fabs(next - v) < 1e-13 * (1.0 + std::fabs(v))) {
      v = next;
      break;
    }
    v = next;
  }
  return shift + std::exp(v);
}

// ---- the process --------------------------------------------------------------------------------------

SubordinatorTables::SubordinatorTables(const SubordinatorLaw& law) : law_(law) {}

const SubordinatorTables::Table& SubordinatorTables::table(int j) const {
  Table* tab;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto& slot = tables_[j];
    if (!slot) slot = std::make_unique<Table>();
    tab = slot.get();
  }
  std::call_once(tab->once, [&] { build(j, *tab); });
  return *tab;
}

// Nodes xi = xi0 + i h about the typical scale: h halved until the log density's second
// difference at the centre is below 1/36 (six nodes per width of a peaked law: IG at large t has
// a relative width ~ 1/sqrt(m t)), extended both ways until the density is e^-46 below its peak or
// kReach away (beyond, its tails are extrapolated linearly in log a: power laws exactly).
void SubordinatorTables::build(int j, Table& tab) const {
  constexpr double kReach = 80.0, kDrop = 46.0, kMaxStep = 0.1;
  const double t = std::pow(10.0, static_cast<double>(j) / kPerDecade);
  // Centred on the median (the typical scale a* can sit far below the mass: for the gamma law
  // at t = 0.01, a* = e^-100 while half the mass lies in [e^-69, 1]).
  tab.c = std::log(law_.quantile(0.5, t));
  auto node = [&](double xi) {
    const double a = std::exp(tab.c + xi);
    const SubordinatorLaw::Point p = law_.evaluate(a, t);
    return std::array<double, 3>{p.log_pdf + std::log(a), std::log(t * p.speed / a), p.cdf};
  };
  double h = kMaxStep;
  std::array<double, 3> mid = node(0.0);
  for (int i = 0; i < 30; ++i) {
    const double d2 = node(h)[0] - 2.0 * mid[0] + node(-h)[0];
    if (std::fabs(d2) <= 1.0 / 36.0) break;
    h *= 0.5;
  }
  std::vector<std::array<double, 3>> right{mid}, left;
  double peak = mid[0];
  for (int i = 1; i * h <= kReach; ++i) {
    right.push_back(node(i * h));
    peak = std::max(peak, right.back()[0]);
    if (right.back()[0] < peak - kDrop) break;
  }
  for (int i = 1; i * h <= kReach; ++i) {
    left.push_back(node(-i * h));
    peak = std::max(peak, left.back()[0]);
    if (left.back()[0] < peak - kDrop) break;
  }
  tab.h = h;
  tab.xi0 = -h * static_cast<double>(left.size());
  std::vector<std::array<double, 3>> all(left.rbegin(), left.rend());
  all.insert(all.end(), right.begin(), right.end());
  for (std::size_t i = 0; i < all.size(); ++i) {
    // Where rounding leaves no speed (density below the inversion's floor), keep the neighbour's.
    if (!std::isfinite(all[i][1]) && i > 0) all[i][1] = all[i - 1][1];
    tab.ell.push_back(all[i][0]);
    tab.lts.push_back(all[i][1]);
    tab.cdf.push_back(all[i][2]);
  }
  for (std::size_t i = all.size(); i-- > 1;)
    if (!std::isfinite(tab.lts[i - 1])) tab.lts[i - 1] = tab.lts[i];
}

namespace {

// Four-point Lagrange weights at x in node units, nodes at -1, 0, 1, 2.
std::array<double, 4> lagrange4(double x) {
  return {-x * (x - 1) * (x - 2) / 6.0, (x + 1) * (x - 1) * (x - 2) / 2.0, -(x + 1) * x * (x - 2) / 2.0,
          (x + 1) * x * (x - 1) / 6.0};
}

}  // namespace

std::array<double, 3> SubordinatorTables::Table::at(double xi) const {
  const int n = static_cast<int>(ell.size());
  const double p = (xi - xi0) / h;
  if (n < 4 || p <= 0.0 || p >= n - 1) {
    const bool low = p <= 0.0;
    const int e = low ? 0 : n - 1, inner = low ? 1 : n - 2;
    const double slope = n > 1 ? (ell[e] - ell[inner]) / (low ? -h : h) : 0.0;
    const double dx = xi - (xi0 + e * h);
    return {ell[e] + slope * dx, lts[e], (low ? std::min(cdf[e], 1.0) * std::exp(std::min(0.0, slope * dx)) : cdf[e])};
  }
  const int i = std::clamp(static_cast<int>(std::floor(p)), 1, n - 3);
  const auto w = lagrange4(p - i);
  std::array<double, 3> v{0.0, 0.0, 0.0};
  for (int k = 0; k < 4; ++k) {
    v[0] += w[k] * ell[i - 1 + k];
    v[1] += w[k] * lts[i - 1 + k];
    v[2] += w[k] * cdf[i - 1 + k];
  }
  return v;
}

// The four tables about t and their Lagrange weights in log t.
SubordinatorTables::Slice SubordinatorTables::slice(double t) const {
  detail::check_kernel_time(t);
  const double lt = std::log10(t) * kPerDecade;
  const int j0 = static_cast<int>(std::floor(lt));
  Slice b;
  b.t = t;
  b.w = lagrange4(lt - j0);
  for (int k = 0; k < 4; ++k) {
    b.tabs[k] = &table(j0 - 1 + k);
    b.c += b.w[k] * b.tabs[k]->c;
  }
  return b;
}

std::array<double, 3> SubordinatorTables::Slice::values(double xi) const {
  std::array<double, 3> v{0.0, 0.0, 0.0};
  double lowest = HUGE_VAL, highest = -HUGE_VAL;
  for (int k = 0; k < 4; ++k) {
    const auto vk = tabs[k]->at(xi);
    for (int q = 0; q < 3; ++q) v[q] += w[k] * vk[q];
    lowest = std::min(lowest, vk[0]);
    highest = std::max(highest, vk[0]);
  }
  // Far in a tail the four tables' extrapolations part by hundreds (a narrow law at large t moves
  // by many of its widths between tables), and Lagrange's negative weights would turn that into a
  // huge positive log density: there the lowest is taken, a tail the integrals cut off anyway.
  if (!(highest - lowest < 50.0)) v[0] = lowest;
  return v;
}

SubordinatorTables::Value SubordinatorTables::Slice::at(double a) const {
  const double u = std::log(a);
  const auto v = values(u - c);
  return {v[0] - u, std::exp(v[1]) * a / t, std::clamp(v[2], 0.0, 1.0)};
}

double SubordinatorTables::quantile(double u, double t) const {
  const Slice b = slice(t);
  // Bisection in xi: 60 halvings of [-200, 200] leave 4e-16.
  double lo = -200.0, hi = 200.0;
  for (int i = 0; i < 60; ++i) {
    const double mid = 0.5 * (lo + hi);
    (b.values(mid)[2] < u ? lo : hi) = mid;
  }
  return std::exp(b.c + 0.5 * (lo + hi));
}

double SubordinatorTables::Slice::step() const {
  double h = HUGE_VAL;
  for (const Table* tab : tabs) h = std::min(h, tab->h);
  return h;
}

namespace {

class SubordinatedProcess final : public GaussianScaleMixture {
 public:
  SubordinatedProcess(int dim, LaplaceExponent f) : GaussianScaleMixture(dim), law_(std::move(f)), tables_(law_) {
    // Infinite mean (f'(0+) = inf): the mixture's second moment is infinite.
    heavy_ = !(law_.exponent().f(1e-12).real() / 1e-12 < 1e6 * (law_.exponent().f(1e-6).real() / 1e-6));
  }

  // sigma(t) = sqrt(2 typical(t)) costs a bisection over f (~80 evaluations, each a root of the
  // operator polynomial for a custom PDE) and time(sigma) a bisection over that: ~1 ms, three times
  // per training sample. Both are fitted once, in log-log, for sigma in [kFitSigmaLo, kFitSigmaHi].
  double sigma(double t) const override {
    const ScaleFits& fits = scale_fits();
    const double u = std::log(t);
    if (u >= fits.log_sigma.lo() && u <= fits.log_sigma.hi()) return std::exp(fits.log_sigma(u));
    return direct_sigma(t);
  }
  double time(double s) const override {
    if (!(s > 0.0)) throw InputError("sigma must be > 0, got " + num(s));
    const ScaleFits& fits = scale_fits();
    const double v = std::log(s);
    if (v >= fits.log_time.lo() && v <= fits.log_time.hi()) return std::exp(fits.log_time(v));
    return direct_time(s);
  }
  bool affine_velocity() const override { return false; }
  double velocity_scale(double) const override {
    throw NotSupported("a subordinated kernel is not self-similar in t in general: train on a velocity target");
  }
  double log_kernel(double r, double t) const override { return integrals(r, t).log_q; }
  double source_radial_speed(double r, double t) const override {
    if (!(r > 0.0)) return 0.0;
    double v;
    return tabulated_speed(r, t, v) ? v : direct_speed(r, t);
  }
  bool heavy_tailed() const override { return heavy_; }
  double sigma_min() const override { return heavy_tail_sigma_min(); }

  /// The speed from the mixture integrals, without the tables over t (what they tabulate).
  double direct_speed(double r, double t) const {
    if (!(r > 0.0)) return 0.0;
    const Integrals m = integrals(r, t);
    return 0.5 * r * std::exp(m.log_speed - m.log_q);
  }

 protected:
  // Everything from the tables: draws invert their CDF (accuracy: test_subordinated_process.cpp).
  double sample_mixing(Rng& rng, double t) const override { return 2.0 * tables_.quantile(uniform_open(rng), t); }
  double log_mixing_pdf(double a, double t) const override { return tables_.at(0.5 * a, t).log_pdf - detail::kLog2; }
  double mixing_cdf(double a, double t) const override { return tables_.at(0.5 * a, t).cdf; }
  double typical_mixing(double t) const override { return 2.0 * tables_.typical(t); }
  double mixing_speed(double a, double t) const override { return 2.0 * tables_.at(0.5 * a, t).speed; }

 private:
  // ---- sigma(t) and its inverse --------------------------------------------------------------
  static constexpr double kFitSigmaLo = 1e-6, kFitSigmaHi = 1e4;
  struct ScaleFits {
    detail::PiecewiseChebyshev log_sigma;  // in log t
    detail::PiecewiseChebyshev log_time;   // in log sigma
  };
  double direct_sigma(double t) const { return std::sqrt(2.0 * law_.typical(t)); }
  // Bisection in log t on `sigma_of` (monotone increasing).
  template <class Sigma>
  static double invert(const Sigma& sigma_of, double s, double lo = -700.0, double hi = 700.0) {
    for (int i = 0; i < 100 && hi - lo > 1e-13 * (1.0 + std::fabs(lo)); ++i) {
      const double mid = 0.5 * (lo + hi);
      (sigma_of(std::exp(mid)) < s ? lo : hi) = mid;
    }
    return std::exp(0.5 * (lo + hi));
  }
  double direct_time(double s) const {
    return invert([this](double t) { return sigma(t); }, s);
  }
  const ScaleFits& scale_fits() const {
    std::call_once(fits_once_, [this] {
      auto direct = [this](double t) { return direct_sigma(t); };
      const double u_lo = std::log(invert(direct, kFitSigmaLo)), u_hi = std::log(invert(direct, kFitSigmaHi));
      fits_.log_sigma = detail::PiecewiseChebyshev([&](double u) { return std::log(direct_sigma(std::exp(u))); }, u_lo,
                                                   u_hi, 1e-13, 8);
      // The inverse from the first fit (a bisection on it within [u_lo, u_hi]).
      auto fitted = [this](double t) { return std::exp(fits_.log_sigma(std::log(t))); };
      fits_.log_time = detail::PiecewiseChebyshev(
          [&](double v) { return std::log(invert(fitted, std::exp(v), u_lo, u_hi)); }, std::log(kFitSigmaLo),
          std::log(kFitSigmaHi), 1e-13, 8);
    });
    return fits_;
  }

  // ---- the mixture integrals ------------------------------------------------------------------
  // The integrals of scale_mixture.hpp, on a uniform grid in u = log A instead of adaptive
  // quadrature: the tables' piecewise-cubic interpolant has kinks at its nodes that drive an
  // adaptive rule to ~1e5 evaluations; the trapezoid rule on a smooth peaked integrand is
  // spectrally accurate with a step a quarter of its width (sqrt(2/N) in u from the Gaussian,
  // the law's own width >= 6 table steps).
  struct Integrals {
    double log_q, log_speed;  // log q_t(r), log of int p_A N (a'/a) dA
  };
  Integrals integrals(double r, double t) const {
    detail::check_kernel_time(t);
    const SubordinatorTables::Slice tables = tables_.slice(t);
    const double r2 = r * r, hn = 0.5 * n_;
    // At large t a drift-dominated law narrows below the Gaussian's width: its tables' step then.
    const double step = std::min({0.025, 0.25 * std::sqrt(2.0 / n_), tables.step()});
    struct Node {
      double L, log_ratio;
    };
    auto node = [&](double u) {
      const double a = std::exp(u);
      const SubordinatorTables::Value v = tables.at(0.5 * a);
      const double L = v.log_pdf - detail::kLog2 + u - hn * (detail::kLog2Pi + u) - (r2 > 0.0 ? 0.5 * r2 / a : 0.0);
      return Node{L, std::log(2.0 * v.speed / a)};
    };
    // Climb to the grid's maximum from the larger of the law's scale and r^2/N, or from the
    // law's scale when r^2/N lies beyond the tables (a narrow law at large t).
    const double typical = 2.0 * tables.typical();
    double u = std::log(std::max(typical, r2 / n_));
    Node here = node(u);
    if (!std::isfinite(here.L)) {
      u = std::log(typical);
      here = node(u);
    }
    for (int dir : {1, -1})
      for (int i = 0; i < 100000; ++i) {
        const Node next = node(u + dir * step);
        if (!(next.L > here.L)) break;
        u += dir * step;
        here = next;
      }
    const double peak = here.L;
    double sum = 0.0, sum_speed = 0.0;
    auto add = [&](const Node& n) {
      const double w = std::exp(n.L - peak);
      sum += w;
      sum_speed += w * std::exp(n.log_ratio);
    };
    add(here);
    for (int dir : {1, -1})
      for (int i = 1; i < 100000; ++i) {
        const Node n = node(u + dir * i * step);
        if (!(n.L > peak - 40.0)) break;
        add(n);
      }
    const double log_step = std::log(step);
    return {peak + std::log(sum) + log_step, peak + std::log(sum_speed) + log_step};
  }

  // ---- the per-source speed, tabulated over t ---------------------------------------------------
  // direct_speed costs ~1e2 us (hundreds of table lookups) and training asks for it at a fresh
  // (r, t) per sample. As Helmholtz's (pdes/helmholtz.cpp) it is tabulated once per process on a
  // LogTimePanels grid in log t over the sigma range of the fits (panels of kSpeedPanelWidth, each
  // built on first use under std::call_once), in
  //   w = v t / r (d log r / d log t along a radial quantile: 1/2 for diffusion, 1 for Poisson),
  //   x = log(r^2 / (N sigma(t)^2)):
  // at each node t_j a PiecewiseChebyshev fit of w(x, t_j) between the x below and above which at
  // most 2 kSpeedTail of the kernel's mass lies (quantiles kSpeedTail and 1 - kSpeedTail of A and
  // of chi2_N, a union bound), interpolated to t across the panel's nodes. Outside the grid, and
  // beyond the x range common to a panel's nodes, the speed is computed directly.
  static constexpr double kSpeedPanelWidth = 1.0, kSpeedTail = 1e-6, kSpeedTol = 1e-9;
  static constexpr int kNodes = detail::LogTimePanels::kNodes;
  struct SpeedPanel {
    std::once_flag once;
    double x_lo = 0.0, x_hi = -1.0;  // common to the nodes
    std::vector<detail::PiecewiseChebyshev> w;
  };
  double x_of(double r, double t) const {
    const double s = sigma(t);
    return 2.0 * std::log(r / s) - std::log(static_cast<double>(n_));
  }
  const detail::LogTimePanels& speed_grid() const {
    std::call_once(grid_once_, [this] {
      grid_ = detail::LogTimePanels(time(kFitSigmaLo), time(kFitSigmaHi), kSpeedPanelWidth);
      for (std::size_t i = 0; i < grid_.size(); ++i) panels_.push_back(std::make_unique<SpeedPanel>());
    });
    return grid_;
  }
  void build_speed_panel(std::size_t p, SpeedPanel& panel) const {
    const double chi_lo = 2.0 * boost::math::gamma_p_inv(0.5 * n_, kSpeedTail) / n_;
    const double chi_hi = 2.0 * boost::math::gamma_q_inv(0.5 * n_, kSpeedTail) / n_;
    double lo = -HUGE_VAL, hi = HUGE_VAL;
    for (int j = 0; j < kNodes; ++j) {
      const double t = grid_.node_time(p, j), s2 = sigma(t) * sigma(t);
      const double a = std::log(2.0 * tables_.quantile(kSpeedTail, t) * chi_lo / s2);
      const double b = std::log(2.0 * tables_.quantile(1.0 - kSpeedTail, t) * chi_hi / s2);
      auto w = [&](double x) {
        const double r = std::sqrt(n_ * s2) * std::exp(0.5 * x);
        return direct_speed(r, t) * t / r;
      };
      panel.w.emplace_back(w, a, b, kSpeedTol, 4);
      lo = std::max(lo, a);
      hi = std::min(hi, b);
    }
    panel.x_lo = lo;
    panel.x_hi = hi;
  }
  bool tabulated_speed(double r, double t, double& v) const {
    const auto at = speed_grid().locate(t);
    if (!at) return false;
    SpeedPanel& panel = *panels_[at->panel];
    std::call_once(panel.once, [&] { build_speed_panel(at->panel, panel); });
    const double x = x_of(r, t);
    if (!(x >= panel.x_lo && x <= panel.x_hi)) return false;
    v = detail::LogTimePanels::interpolate(at->x, [&](int j) { return panel.w[std::size_t(j)](x); }) * r / t;
    return true;
  }

  SubordinatorLaw law_;
  SubordinatorTables tables_;
  bool heavy_ = false;
  mutable std::once_flag fits_once_;
  mutable ScaleFits fits_;
  mutable std::once_flag grid_once_;
  mutable detail::LogTimePanels grid_;
  mutable std::vector<std::unique_ptr<SpeedPanel>> panels_;
};

}  // namespace

double subordinated_direct_speed(const GenerativeProcess& process, double r, double t) {
  const auto* p = dynamic_cast<const SubordinatedProcess*>(&process);
  if (!p) throw std::invalid_argument("subordinated_direct_speed: not a subordinated process");
  return p->direct_speed(r, t);
}

std::unique_ptr<GenerativeProcess> make_subordinated_process(int dim, LaplaceExponent f) {
  detail::check_kernel_dim(dim);
  return std::make_unique<SubordinatedProcess>(dim, std::move(f));
}

std::unique_ptr<GenerativeProcess> make_subordinated_process(const PdeModule& module, int dim) {
  SubordinatorRoute route = subordinator_route(module);
  if (!route.f) return nullptr;
  return make_subordinated_process(dim, std::move(*route.f));
}

}  // namespace genphys
