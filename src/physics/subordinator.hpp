#pragma once
// The generic subordination route (physics.md section 3): a PDE whose normalised point-source
// density has Fourier transform exp(-t f(k^2)) with f a Bernstein function has the kernel
// x - y = sqrt(2 A_t) xi, xi ~ N(0, I_N), A_t the subordinator with E exp(-s A_t) = exp(-t f(s)).
// This file reads f off a dispersion branch, tests it for the Bernstein property, recovers the
// law of A_t by numerical Laplace inversion, and turns it into a GaussianScaleMixture (mixing
// variable 2 A_t, the convention of scale_mixture.hpp) that samples and flows in any N.

#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <optional>
#include <string>

#include "genphys/pde.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {

/// A Laplace exponent f(s): real and >= 0 on s > 0, f(0+) = 0, analytic in Re s > 0 (where the
/// inversion evaluates it).
struct LaplaceExponent {
  std::function<complex(complex)> f;
  std::string formula;  ///< in words, e.g. "sqrt(s + 0.25) - 0.5"
};

/// f(s) = i omega(sqrt s) - i omega(0) on dispersion branch `branch` of `module` (the k = 0 mass
/// decay removed: the normalised kernel), continued into Re s > 0 through the roots of the
/// module's operator polynomial, following the branch from the real axis along an arc. nullopt,
/// with the reason in *why, when f is not real on s > 0 (oscillating modes: no subordinator).
std::optional<LaplaceExponent> branch_laplace_exponent(const PdeModule& module, int branch, std::string* why);

/// The numerical Bernstein test: f >= 0 and (-1)^(n-1) f^(n) >= 0 for n = 1..kBernsteinOrders at
/// kBernsteinPoints s log-spaced in [1e-6, 1e6], derivatives from Cauchy integrals on circles of
/// radius s/2 (64-point trapezoid, spectrally accurate for f analytic in Re s > 0). A finite
/// test of complete monotonicity of f': it proves nothing beyond its grid and orders, but every
/// Bernstein function passes it and s^2 (biharmonic) fails it at n = 2.
inline constexpr int kBernsteinOrders = 6;
inline constexpr int kBernsteinPoints = 121;
struct BernsteinVerdict {
  bool bernstein = false;
  std::string reason;
};
BernsteinVerdict bernstein_test(const LaplaceExponent& f);

/// The route for one module in one verdict: C2's branch, its f, and the Bernstein test. `f` is
/// set only when f is Bernstein (then `reason` says so with the test's numbers); otherwise
/// `reason` says why the route does not apply.
struct SubordinatorRoute {
  std::optional<LaplaceExponent> f;
  std::string reason;
};
SubordinatorRoute subordinator_route(const PdeModule& module);

/// The law of A_t from its Laplace transform exp(-t f(s)) by numerical inversion: Abate and
/// Whitt's Fourier-series method with Euler summation (EULER), on the Bromwich line Re s = A/(2a)
/// > 0, so f is only ever evaluated in the right half plane, where |exp(-t f)| <= 1 (Talbot's
/// contour wraps the negative axis, where exp(-t f) grows like e^(t f(-inf)), e^(t m) for Yukawa:
/// it overflows at t m ~ 700 and loses all digits long before). Each value is computed from an
/// exponentially tilted transform exp(-t (f(s + th) - f(th))) with th >= 0 the saddle point
/// t f'(th) = a, so the left tail comes out with relative (log-space) accuracy; the right tail
/// comes from the survival function. A drift f ~ b s at infinity is split off exactly
/// (A_t = b t + G_t). Measured accuracy: tests/physics/test_subordinator.cpp.
class SubordinatorLaw {
 public:
  explicit SubordinatorLaw(LaplaceExponent f);

  double cdf(double a, double t) const;
  double survival(double a, double t) const;
  double log_pdf(double a, double t) const;
  /// d/dt P(A_t <= a) (<= 0: A_t grows with t), from the transform -f(s) exp(-t f(s)) / s.
  double cdf_time_derivative(double a, double t) const;
  /// dA/dt at A_t = a keeping P(A_t <= a) fixed: -(d/dt P(A_t <= a)) / p(a), both from one tilt.
  double quantile_speed(double a, double t) const;
  /// Inverse CDF: P(A_t <= quantile(u, t)) = u, 0 < u < 1.
  double quantile(double u, double t) const;
  /// A scale of A_t: b t + a* with t g(1/a*) = 1 (g = f without drift).
  double typical(double t) const;
  /// log_pdf, cdf and quantile_speed at one point, sharing the saddle point and the density.
  struct Point {
    double log_pdf = 0.0, cdf = 0.0, speed = 0.0;
  };
  Point evaluate(double a, double t) const;
  double drift() const { return drift_; }
  const LaplaceExponent& exponent() const { return f_; }

 private:
  double g_real(double s) const { return g(complex(s, 0.0)).real(); }
  complex g(complex s) const { return f_.f(s) - drift_ * s; }
  double g_prime(double s) const;
  double saddle(double a, double t) const;
  int euler_terms(double a, double theta, double t) const;

  // One point's exponential tilt: x = a - drift t, the saddle th, g(th), the Euler terms, and
  // the log of the factor e^(th x - t g(th)) that the tilted inversions are divided by.
  struct Tilt {
    double t = 0.0, x = 0.0, th = 0.0, gth = 0.0, scale = 0.0;
    int n = 20;
  };
  Tilt tilt(double a, double t) const;
  double tilted_density(const Tilt& k) const;
  double tilted_cdf(const Tilt& k) const;
  double tilted_survival(const Tilt& k) const;
  double tilted_rate(const Tilt& k) const;
  double cdf_of(const Tilt& k) const;

  LaplaceExponent f_;
  double drift_ = 0.0;
  double neg_limit_ = 0.0;  ///< g is real on (-neg_limit_, 0]: exponential moments
};

/// The law of A_t tabulated for the flows, which ask for densities, CDFs and quantile speeds at
/// fresh (a, t) millions of times: tables on a log-t grid (kPerDecade per decade, built on first
/// use, thread-safe), each over xi = log a - log typical(t) with a step that resolves the law's
/// width; values between by four-point Lagrange interpolation in xi and in log t, of the log
/// density of log a, log(t a'(a)/a) (constant in t for self-similar laws) and the CDF.
class SubordinatorTables {
 private:
  struct Table {
    std::once_flag once;
    double c = 0.0, xi0 = 0.0, h = 0.0;
    std::vector<double> ell, lts, cdf;
    std::array<double, 3> at(double xi) const;
  };

 public:
  static constexpr int kPerDecade = 16;
  explicit SubordinatorTables(const SubordinatorLaw& law);
  struct Value {
    double log_pdf, speed, cdf;
  };
  /// The four tables about one t and their weights in log t: values at many a for one t (a
  /// mixture integral's nodes) without finding the tables again.
  class Slice {
   public:
    Value at(double a) const;
    double typical() const { return std::exp(c); }
    /// The finest step in log a of the four tables (a fraction of the law's width there).
    double step() const;

   private:
    friend class SubordinatorTables;
    std::array<double, 3> values(double xi) const;
    const Table* tabs[4] = {nullptr, nullptr, nullptr, nullptr};
    std::array<double, 4> w{};
    double c = 0.0;  ///< log median at t
    double t = 0.0;
  };
  Slice slice(double t) const;
  Value at(double a, double t) const { return slice(t).at(a); }
  /// The inverse of the tabulated CDF (bisection in xi).
  double quantile(double u, double t) const;
  double typical(double t) const { return slice(t).typical(); }

 private:
  const Table& table(int j) const;
  void build(int j, Table& tab) const;

  const SubordinatorLaw& law_;
  mutable std::mutex mutex_;
  mutable std::map<int, std::unique_ptr<Table>> tables_;
};

/// The Gaussian scale mixture over 2 A_t: the generic process of a PDE on the route. sigma(t) is
/// the scale sqrt(2 typical(t)); velocity by radial quantile transport (not affine), with the
/// mixing variable's quantile speed from the inverted t-derivative of its CDF.
std::unique_ptr<GenerativeProcess> make_subordinated_process(int dim, LaplaceExponent f);

/// The process through the route for `module`, or nullptr when the route does not apply
/// (subordinator_route's reason then says why).
std::unique_ptr<GenerativeProcess> make_subordinated_process(const PdeModule& module, int dim);

/// A subordinated process's per-source radial speed from its mixture integrals, bypassing the
/// tables over t that source_radial_speed reads (what they tabulate): for tests and benchmarks.
double subordinated_direct_speed(const GenerativeProcess& process, double r, double t);

}  // namespace genphys
