#pragma once
// Numbers that live outside double's range: values held as sign * exp(log_abs), and
// log-sum-exp. Header-only, no dependencies.

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace genphys {

/// A real value held as sign * exp(log_abs); zero is sign 0 (log_abs = -inf). Green's functions
/// and kernels in N = 784 or 3072 dimensions overflow double (K_391.5 ~ 1e956), their logs do not.
struct SignedLog {
  double log_abs = -std::numeric_limits<double>::infinity();
  int sign = 0;

  static SignedLog from(double x) {
    if (x == 0.0) return {};
    return {std::log(std::fabs(x)), x > 0 ? 1 : -1};
  }
  double value() const { return sign == 0 ? 0.0 : sign * std::exp(log_abs); }
};

inline SignedLog operator*(SignedLog a, SignedLog b) {
  if (a.sign == 0 || b.sign == 0) return {};
  return {a.log_abs + b.log_abs, a.sign * b.sign};
}

/// a + b without leaving log space.
inline SignedLog operator+(SignedLog a, SignedLog b) {
  if (a.sign == 0) return b;
  if (b.sign == 0) return a;
  if (a.log_abs < b.log_abs) std::swap(a, b);
  const double d = std::exp(b.log_abs - a.log_abs);  // in (0, 1]
  if (a.sign == b.sign) return {a.log_abs + std::log1p(d), a.sign};
  if (d == 1.0) return {};
  return {a.log_abs + std::log1p(-d), a.sign};
}

/// log(sum_i exp(x_i)); -inf for an empty range or all -inf.
inline double log_sum_exp(const double* x, std::size_t n) {
  double m = -std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < n; ++i) m = std::max(m, x[i]);
  if (!std::isfinite(m)) return m;
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i) s += std::exp(x[i] - m);
  return m + std::log(s);
}
inline double log_sum_exp(const std::vector<double>& x) { return log_sum_exp(x.data(), x.size()); }

}  // namespace genphys
