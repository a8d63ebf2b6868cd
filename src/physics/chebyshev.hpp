#pragma once
// Chebyshev interpolation on adaptively bisected panels, shared by the radial-CDF tables and the
// tabulated kernels. Internal to the physics core.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <vector>

namespace genphys::detail {

// sum_k c[k] T_k(x), Clenshaw.
inline double clenshaw(const double* c, int n, double x) {
  double b1 = 0.0, b2 = 0.0;
  const double x2 = 2.0 * x;
  for (int k = n - 1; k >= 1; --k) {
    const double b = c[k] + x2 * b1 - b2;
    b2 = b1;
    b1 = b;
  }
  return c[0] + x * b1 - b2;
}

// A smooth function on [a, b] as Chebyshev interpolants (first-kind nodes, so the end points are
// never evaluated) on adaptively bisected panels: split until the tail coefficients are below
// tol (1 + |f|), or until halving stops shrinking them (rounding noise of f).
class PiecewiseChebyshev {
 public:
  static constexpr int kDeg = 20;
  PiecewiseChebyshev() = default;
  PiecewiseChebyshev(const std::function<double(double)>& f, double a, double b, double tol, int initial_panels) {
    for (int k = 0; k <= kDeg; ++k) node_[k] = std::cos(M_PI * (k + 0.5) / (kDeg + 1));
    for (int i = 0; i < initial_panels; ++i)
      fit(f, a + (b - a) * i / initial_panels, i + 1 == initial_panels ? b : a + (b - a) * (i + 1) / initial_panels,
          tol, 0, std::numeric_limits<double>::infinity());
    edges_.push_back(b);
  }
  double lo() const { return edges_.front(); }
  double hi() const { return edges_.back(); }
  std::size_t panels() const { return edges_.size() - 1; }
  double operator()(double x) const {
    std::size_t p = static_cast<std::size_t>(std::upper_bound(edges_.begin(), edges_.end(), x) - edges_.begin());
    p = std::clamp<std::size_t>(p, 1, edges_.size() - 1) - 1;
    const double a = edges_[p], b = edges_[p + 1];
    const double y = std::clamp((2.0 * x - a - b) / (b - a), -1.0, 1.0);
    return clenshaw(&coef_[p * (kDeg + 1)], kDeg + 1, y);
  }

 private:
  void fit(const std::function<double(double)>& f, double a, double b, double tol, int depth, double parent_tail) {
    const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
    double v[kDeg + 1], c[kDeg + 1], vmax = 0.0;
    for (int j = 0; j <= kDeg; ++j) {
      v[j] = f(mid + half * node_[j]);
      vmax = std::max(vmax, std::fabs(v[j]));
    }
    for (int k = 0; k <= kDeg; ++k) {
      double sum = 0.0;
      for (int j = 0; j <= kDeg; ++j) sum += v[j] * std::cos(M_PI * k * (j + 0.5) / (kDeg + 1));
      c[k] = (k == 0 ? 1.0 : 2.0) * sum / (kDeg + 1);
    }
    const double tail = std::fabs(c[kDeg - 2]) + std::fabs(c[kDeg - 1]) + std::fabs(c[kDeg]);
    const bool stalled = depth >= 2 && tail > 0.1 * parent_tail && tail <= 1e-9 * (1.0 + vmax);
    const bool done = tail <= tol * (1.0 + vmax) || stalled || depth >= 30 || !std::isfinite(tail);
    if (done) {
      edges_.push_back(a);
      coef_.insert(coef_.end(), c, c + kDeg + 1);
      return;
    }
    fit(f, a, mid, tol, depth + 1, tail);
    fit(f, mid, b, tol, depth + 1, tail);
  }
  double node_[kDeg + 1];
  std::vector<double> edges_, coef_;
};

// A grid in u = log t for quantities that a process tabulates once (Helmholtz's per-source speed
// and its kernel's quantiles): [log t_lo, log t_hi] in equal panels no wider than max_width, each
// with kNodes first-kind Chebyshev nodes; a value at t is the barycentric interpolant of the
// values at its panel's nodes (weights (-1)^j sin((2j+1) pi / 2 kNodes)). What is stored per
// panel is the caller's.
class LogTimePanels {
 public:
  static constexpr int kNodes = 12;
  struct Position {
    std::size_t panel;
    double x;  // in [-1, 1] across the panel
  };
  LogTimePanels() = default;
  LogTimePanels(double t_lo, double t_hi, double max_width) : u_lo_(std::log(t_lo)) {
    const double u_hi = std::log(t_hi);
    panels_ = std::max(1, static_cast<int>(std::ceil((u_hi - u_lo_) / max_width)));
    du_ = (u_hi - u_lo_) / panels_;
  }
  std::size_t size() const { return static_cast<std::size_t>(panels_); }
  static double node(int j) { return std::cos(M_PI * (j + 0.5) / kNodes); }
  double node_time(std::size_t panel, int j) const {
    return std::exp(u_lo_ + du_ * double(panel) + 0.5 * du_ * (1.0 + node(j)));
  }
  /// The panel holding t and t's place in it; nullopt outside the grid (or for NaN).
  std::optional<Position> locate(double t) const {
    const double pos = (std::log(t) - u_lo_) / du_;
    if (!(pos >= 0.0) || !(pos <= double(panels_))) return std::nullopt;
    const std::size_t p = std::min(static_cast<std::size_t>(pos), size() - 1);
    return Position{p, std::clamp(2.0 * (pos - double(p)) - 1.0, -1.0, 1.0)};
  }
  /// sum_j l_j(x) value(j), l_j the Lagrange basis of the nodes.
  template <class Value>
  static double interpolate(double x, Value&& value) {
    double num = 0.0, den = 0.0;
    for (int j = 0; j < kNodes; ++j) {
      const double d = x - node(j), v = value(j);
      if (d == 0.0) return v;
      const double c = (j % 2 ? -1.0 : 1.0) * std::sin(M_PI * (j + 0.5) / kNodes) / d;
      num += c * v;
      den += c;
    }
    return num / den;
  }

 private:
  double u_lo_ = 0.0, du_ = 1.0;
  int panels_ = 1;
};

}  // namespace genphys::detail
