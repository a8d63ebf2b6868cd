#pragma once
// Globally adaptive Gauss-Kronrod (15-point Kronrod with embedded 7-point Gauss, QUADPACK QAG
// style: always split the panel with the largest error). Used by the kernel and stable-law
// quadratures. Boost's recursive integrator halves its absolute tolerance per level without
// scaling the panel error, so near rounding level it refines to max depth everywhere; this one
// stops at a fixed panel budget and at the rounding floor of each panel.

#include <algorithm>
#include <cmath>
#include <limits>
#include <queue>
#include <vector>

#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/quadrature/gauss_kronrod.hpp>

namespace genphys {
namespace detail {

struct QuadPanel {
  double a, b, value, error;
  bool operator<(const QuadPanel& o) const { return error < o.error; }
};

template <class F>
QuadPanel gk15_panel(F& f, double a, double b) {
  using GK = boost::math::quadrature::gauss_kronrod<double, 15>;
  using G = boost::math::quadrature::gauss<double, 7>;
  const auto& x = GK::abscissa();
  const auto& wk = GK::weights();
  const auto& wg = G::weights();
  const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
  double fp[8], fm[8];
  fp[0] = fm[0] = f(mid);
  double k = fp[0] * wk[0], g = fp[0] * wg[0], l1 = std::fabs(fp[0]) * wk[0];
  for (std::size_t i = 1; i < x.size(); ++i) {
    fp[i] = f(mid + half * x[i]);
    fm[i] = f(mid - half * x[i]);
    k += (fp[i] + fm[i]) * wk[i];
    l1 += (std::fabs(fp[i]) + std::fabs(fm[i])) * wk[i];
    if (i % 2 == 0) g += (fp[i] + fm[i]) * wg[i / 2];  // Gauss nodes sit at even indices for 7 points
  }
  // QUADPACK's error estimate: |K - G| rescaled by the integrand's variation over the panel,
  // (200 |K - G| / resasc)^1.5, far less pessimistic than |K - G| for smooth integrands.
  const double kh = 0.5 * k;
  double resasc = std::fabs(fp[0] - kh) * wk[0];
  for (std::size_t i = 1; i < x.size(); ++i) resasc += (std::fabs(fp[i] - kh) + std::fabs(fm[i] - kh)) * wk[i];
  resasc *= half;
  double err = std::fabs(k - g) * half;
  if (resasc != 0.0 && err != 0.0) err = resasc * std::min(1.0, std::pow(200.0 * err / resasc, 1.5));
  const double floor = 50.0 * std::numeric_limits<double>::epsilon() * l1 * half;
  return {a, b, k * half, std::max(err, floor)};
}

/// Integral of f over [a, b] to about max(abs_tol, rel_tol |I|), with at most max_panels panels.
template <class F>
double adaptive_integrate(F&& f, double a, double b, double rel_tol = 1e-12, double abs_tol = 0.0,
                          int max_panels = 2000) {
  if (!(b > a)) return 0.0;
  std::priority_queue<QuadPanel> heap;
  QuadPanel first = gk15_panel(f, a, b);
  double value = first.value, error = first.error;
  heap.push(first);
  int panels = 1;
  while (error > std::max(abs_tol, rel_tol * std::fabs(value)) && panels < max_panels) {
    const QuadPanel worst = heap.top();
    const double m = 0.5 * (worst.a + worst.b);
    if (!(m > worst.a && m < worst.b)) break;  // cannot split further
    heap.pop();
    const QuadPanel left = gk15_panel(f, worst.a, m), right = gk15_panel(f, m, worst.b);
    value += left.value + right.value - worst.value;
    error += left.error + right.error - worst.error;
    heap.push(left);
    heap.push(right);
    ++panels;
  }
  // Re-sum to shed the drift of the running totals.
  double sum = 0.0;
  while (!heap.empty()) {
    sum += heap.top().value;
    heap.pop();
  }
  return sum;
}

}  // namespace detail
}  // namespace genphys
