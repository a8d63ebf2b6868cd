#include "genphys/radial_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include <boost/math/special_functions/gamma.hpp>

#include "genphys/errors.hpp"
#include "genphys/special.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"
#include "physics/kernel_common.hpp"

namespace genphys {

using detail::clenshaw;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr int kM = RadialCdfTable::kDegree;
// The window keeps s where g is within kDrop of its maximum: the mass left out is < ~e^-kDrop.
constexpr double kDrop = 50.0;
constexpr double kScanStep = 0.05;
// A bound on the panels of one table (a density this rough is beyond the method anyway).
constexpr std::size_t kMaxPanels = 4000;

// Chebyshev-Lobatto nodes cos(pi j / kM) and the DCT-I matrix that maps values at them to
// coefficients (first and last halved, so that f = sum_k c_k T_k).
struct Chebyshev {
  double node[kM + 1];
  double dct[kM + 1][kM + 1];
  Chebyshev() {
    for (int j = 0; j <= kM; ++j) node[j] = std::cos(kPi * j / kM);
    for (int k = 0; k <= kM; ++k)
      for (int j = 0; j <= kM; ++j) {
        double w = 2.0 / kM * std::cos(kPi * j * k / kM);
        if (j == 0 || j == kM) w *= 0.5;
        if (k == 0 || k == kM) w *= 0.5;
        dct[k][j] = w;
      }
  }
};
const Chebyshev& chebyshev() {
  static const Chebyshev c;
  return c;
}

double safe_g(const std::function<double(double)>& g, double s) {
  const double v = g(s);
  return std::isnan(v) ? -kInf : v;
}

}  // namespace

// ---- RadialCdfTable ----------------------------------------------------------------------------

RadialCdfTable::RadialCdfTable(const std::function<double(double)>& g_in, double scan_lo, double scan_hi,
                               double s_max) {
  auto g = [&](double s) {
    ++evaluations_;
    return safe_g(g_in, s);
  };
  if (!(scan_lo < kInf) || std::isnan(scan_lo) || std::isnan(scan_hi) || std::isnan(s_max))
    throw std::runtime_error("RadialCdfTable: bad scan range");
  double hi = std::min(scan_hi, s_max);
  double lo = std::min(scan_lo, hi - 1.0);
  if (!std::isfinite(hi) || !std::isfinite(lo)) throw std::runtime_error("RadialCdfTable: scan range must be finite");
  const int cells = std::clamp(static_cast<int>(std::ceil((hi - lo) / kScanStep)), 64, 20000);
  std::vector<double> gs(cells + 1), gv(cells + 1);
  for (int i = 0; i <= cells; ++i) {
    gs[i] = i == cells ? hi : lo + (hi - lo) * i / cells;
    gv[i] = g(gs[i]);
  }
  g_ref_ = *std::max_element(gv.begin(), gv.end());
  // A peak hugging a finite support edge (Helmholtz in high N: within ~1e-3 of log r_max, 60-140
  // below it at the nearest grid point) is found by probing geometrically towards the edge.
  std::vector<double> edge_probes;
  if (hi == s_max) {
    double best = -kInf;
    int k_best = 0;
    for (int k = 1; k <= 30; ++k) {
      const double s = s_max - (hi - lo) / cells * std::ldexp(1.0, -k);
      const double v = g(s);
      if (v > best) {
        best = v;
        k_best = k;
      }
      if (k <= k_best + 2) edge_probes.push_back(s);  // panel edges down to a quarter of the peak's distance
      if (k > k_best + 2 && !(v > best - kDrop)) break;
    }
    if (best > g_ref_) g_ref_ = best;
    else edge_probes.clear();
  }
  if (!std::isfinite(g_ref_)) throw std::runtime_error("RadialCdfTable: the density has no finite value on the scan grid");

  // Window: the hull of the grid points above g_ref - kDrop, one cell more on each side; extended
  // with growing steps where the hull touches the scan range and the support goes on.
  // (When only the edge probes rose above the threshold, the window is the last cell.)
  int first = 0, last = cells;
  while (first < cells && !(gv[first] > g_ref_ - kDrop)) ++first;
  while (last > first && !(gv[last] > g_ref_ - kDrop)) --last;
  if (!(gv[first] > g_ref_ - kDrop)) first = last = cells;
  std::vector<double> ext_left, ext_right;  // extra panel edges outside the grid
  if (first == 0) {
    double d = kScanStep, s = lo;
    for (int i = 0; i < 400; ++i) {
      s -= d;
      const double v = g(s);
      ext_left.push_back(s);
      if (v > g_ref_) g_ref_ = v;  // still rising: the scan range was too narrow
      if (!(v > g_ref_ - kDrop)) break;
      d *= 1.6;
    }
  }
  if (last == cells && hi < s_max) {
    double d = kScanStep, s = hi;
    for (int i = 0; i < 400; ++i) {
      s = std::min(s + d, s_max);
      const double v = g(s);
      ext_right.push_back(s);
      if (v > g_ref_) g_ref_ = v;
      if (!(v > g_ref_ - kDrop) || s >= s_max) break;
      d *= 1.6;
    }
  }

  // Initial panels: grid cells, merged while g is smooth on the grid (steps <= 5, second
  // differences < 1) up to a width of 1; outside the grid the extension points.
  std::vector<double> init(ext_left.rbegin(), ext_left.rend());
  const int i0 = std::max(first - 1, 0), i1 = std::min(last + 1, cells);
  init.push_back(gs[i0]);
  for (int i = i0 + 1; i <= i1; ++i) {
    if (i == i1) {
      init.push_back(gs[i]);
      break;
    }
    const bool smooth = std::isfinite(gv[i - 1]) && std::isfinite(gv[i]) && std::isfinite(gv[i + 1]) &&
                        std::fabs(gv[i] - gv[i - 1]) <= 5.0 && std::fabs(gv[i + 1] - gv[i]) <= 5.0 &&
                        std::fabs(gv[i + 1] - 2.0 * gv[i] + gv[i - 1]) < 1.0;
    if (!smooth || gs[i + 1] - init.back() > 1.0) init.push_back(gs[i]);
  }
  init.insert(init.end(), ext_right.begin(), ext_right.end());
  if (!edge_probes.empty() && init.back() == s_max) {
    init.pop_back();
    init.insert(init.end(), edge_probes.begin(), edge_probes.end());  // decreasing distance to the edge
    init.push_back(s_max);
  }
  // Split anything wider than 1.
  std::vector<double> edges{init.front()};
  for (std::size_t i = 1; i < init.size(); ++i) {
    const double a = edges.back(), b = init[i];
    if (!(b > a)) continue;
    const int k = std::max(1, static_cast<int>(std::ceil((b - a) / 1.0)));
    for (int j = 1; j < k; ++j) edges.push_back(a + (b - a) * j / k);
    edges.push_back(b);
  }

  // Fit; if the density rises far above g_ref somewhere the scan did not see (exp(g - g_ref)
  // could overflow), refit with the reference raised.
  std::vector<Panel> panels;
  for (int pass = 0; pass < 3; ++pass) {
    panels.clear();
    max_seen_ = -kInf;
    window_ = edges.back() - edges.front();
    for (std::size_t i = 0; i + 1 < edges.size(); ++i) fit(g, edges[i], edges[i + 1], 0, kInf, panels);
    if (!(max_seen_ > g_ref_ + 100.0)) break;
    g_ref_ = max_seen_;
  }

  // Assemble: coefficients of the density and of its antiderivative from each panel's left end.
  edges_.clear();
  cum_.assign(1, 0.0);
  h_coef_.clear();
  H_coef_.clear();
  H_sub_.clear();
  for (const Panel& p : panels) {
    const double half = 0.5 * (p.b - p.a);
    const std::vector<double>& c = p.h;
    double C[kM + 2] = {0.0};
    auto cc = [&](int k) { return k <= kM ? c[k] : 0.0; };
    C[1] = cc(0) - 0.5 * cc(2);
    for (int j = 2; j <= kM + 1; ++j) C[j] = (cc(j - 1) - cc(j + 1)) / (2.0 * j);
    double at_minus1 = 0.0;
    for (int j = 1; j <= kM + 1; ++j) at_minus1 += (j % 2 ? -1.0 : 1.0) * C[j];
    C[0] = -at_minus1;
    for (double& v : C) v *= half;
    double mass = 0.0;
    for (double v : C) mass += v;  // H(1)
    if (edges_.empty()) edges_.push_back(p.a);
    edges_.push_back(p.b);
    cum_.push_back(cum_.back() + std::max(0.0, mass));
    h_coef_.insert(h_coef_.end(), c.begin(), c.end());
    H_coef_.insert(H_coef_.end(), C, C + kM + 2);
    double prev = 0.0;
    for (int j = 0; j <= kSub; ++j) {  // nondecreasing, from 0 to the panel's mass
      const double v = j == 0 ? 0.0 : j == kSub ? std::max(0.0, mass) : clenshaw(C, kM + 2, -1.0 + 2.0 * j / kSub);
      prev = std::clamp(v, prev, std::max(0.0, mass));
      H_sub_.push_back(prev);
    }
  }
  total_ = cum_.back();
  if (!(total_ > 0.0) || !std::isfinite(total_)) throw std::runtime_error("RadialCdfTable: the density has no mass");
}

void RadialCdfTable::fit(const std::function<double(double)>& g, double a, double b, int depth, double parent_tail,
                         std::vector<Panel>& out) {
  const Chebyshev& ch = chebyshev();
  const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
  double v[kM + 1], vmax = 0.0;
  for (int j = 0; j <= kM; ++j) {
    const double gj = g(mid + half * ch.node[j]);
    max_seen_ = std::max(max_seen_, gj);
    v[j] = std::exp(std::min(gj - g_ref_, 700.0));
    vmax = std::max(vmax, v[j]);
  }
  Panel p{a, b, std::vector<double>(kM + 1, 0.0)};
  for (int k = 0; k <= kM; ++k) {
    double s = 0.0;
    for (int j = 0; j <= kM; ++j) s += ch.dct[k][j] * v[j];
    p.h[k] = s;
  }
  const double tail = std::fabs(p.h[kM - 2]) + std::fabs(p.h[kM - 1]) + std::fabs(p.h[kM]);
  // Converged: tail below 1e-12 of the panel's maximum, or its mass error (tail times width)
  // below 1e-15 of the peak (h ~ 1) times the window's width.
  // Stalled: already within 1e-9 and halving gained less than a factor 10 (the values' own
  // rounding noise or kinks at that level, e.g. near a zero of the density or where a special
  // function switches route; a resolved smooth density gains ~2^kDegree per halving).
  const bool converged = tail <= 1e-12 * vmax || tail * half <= 1e-15 * window_;
  const bool stalled = depth >= 2 && tail > 0.1 * parent_tail && tail <= 1e-9 * vmax + 1e-12;
  const bool too_small = half < 1e-12 * (1.0 + std::fabs(mid)) || depth >= 40 || out.size() >= kMaxPanels;
  if (converged || stalled || too_small) {
    out.push_back(std::move(p));
    return;
  }
  fit(g, a, mid, depth + 1, tail, out);
  fit(g, mid, b, depth + 1, tail, out);
}

double RadialCdfTable::local_cdf(std::size_t p, double x) const {
  return clenshaw(&H_coef_[p * (kM + 2)], kM + 2, x);
}

double RadialCdfTable::local_density(std::size_t p, double x) const {
  return clenshaw(&h_coef_[p * (kM + 1)], kM + 1, x);
}

double RadialCdfTable::cdf(double s) const {
  if (!(s > edges_.front())) return 0.0;
  if (s >= edges_.back()) return 1.0;
  const std::size_t p = static_cast<std::size_t>(std::upper_bound(edges_.begin(), edges_.end(), s) - edges_.begin()) - 1;
  const double a = edges_[p], b = edges_[p + 1];
  const double x = std::clamp((2.0 * s - a - b) / (b - a), -1.0, 1.0);
  const double mass = cum_[p + 1] - cum_[p];
  const double local = std::clamp(local_cdf(p, x), 0.0, mass);
  return std::clamp((cum_[p] + local) / total_, 0.0, 1.0);
}

double RadialCdfTable::quantile(double u) const {
  if (!(u > 0.0)) return edges_.front();
  if (!(u < 1.0)) return edges_.back();
  const double target = u * total_;
  // The panel p with cum_[p] <= target < cum_[p + 1] (panels of zero mass are skipped).
  std::size_t p = static_cast<std::size_t>(std::upper_bound(cum_.begin(), cum_.end(), target) - cum_.begin());
  p = std::clamp<std::size_t>(p, 1, cum_.size() - 1) - 1;
  const double mass = cum_[p + 1] - cum_[p];
  const double tau = std::clamp(target - cum_[p], 0.0, mass);
  const double a = edges_[p], b = edges_[p + 1], half = 0.5 * (b - a);
  // Bracket from the panel's cumulative at kSub + 1 equispaced points, then a safeguarded Newton
  // iteration on H(x) = tau, H increasing from 0 to mass on [-1, 1].
  const double* hs = &H_sub_[p * (kSub + 1)];
  int j = 0;
  while (j + 1 < kSub && hs[j + 1] <= tau) ++j;
  double xl = -1.0 + 2.0 * j / kSub, xr = -1.0 + 2.0 * (j + 1) / kSub;
  const double dh = hs[j + 1] - hs[j];
  double x = dh > 0.0 ? xl + (xr - xl) * std::clamp((tau - hs[j]) / dh, 0.0, 1.0) : 0.5 * (xl + xr);
  for (int it = 0; it < 100; ++it) {
    const double f = local_cdf(p, x) - tau;
    if (f < 0.0) xl = x;
    else xr = x;
    const double d = local_density(p, x) * half;
    double next = d > 0.0 ? x - f / d : 0.5 * (xl + xr);
    if (!(next > xl && next < xr)) next = 0.5 * (xl + xr);
    const double step = std::fabs(next - x);
    x = next;
    if (step * half < 1e-14 * std::max(1.0, std::fabs(a)) || (xr - xl) * half < 1e-15 * std::max(1.0, std::fabs(a)))
      break;
  }
  return std::clamp(0.5 * (a + b) + half * x, a, b);
}

// ---- RadialKernelProcess -------------------------------------------------------------------------

RadialKernelProcess::RadialKernelProcess(int dim, std::size_t cache_size) : n_(dim), cache_size_(std::max<std::size_t>(1, cache_size)) {
  detail::check_kernel_dim(dim);
}

void RadialKernelProcess::check_time(double t) const { detail::check_kernel_time(t); }

std::shared_ptr<const RadialCdfTable> RadialKernelProcess::build(double t) const {
  const double rmax = support_radius(t);
  const double s_max = std::isinf(rmax) ? kInf : std::log(rmax);
  const auto range = scan_range(t);
  auto g = [&](double s) {
    const double r = std::min(std::exp(s), rmax);
    if (!(r > 0.0)) return -kInf;
    return n_ * s + log_kernel_unnormalised(r, t);
  };
  return std::make_shared<const RadialCdfTable>(g, std::log(range.first), std::log(range.second), s_max);
}

std::shared_ptr<const RadialCdfTable> RadialKernelProcess::table(double t) const {
  check_time(t);
  if (edge_atom(t) >= 1.0) return nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (Entry& e : cache_)
      if (e.t == t) {
        e.stamp = ++clock_;
        return e.table;
      }
  }
  auto built = build(t);
  std::lock_guard<std::mutex> lock(mutex_);
  for (Entry& e : cache_)
    if (e.t == t) return e.table;  // built meanwhile by another thread
  if (cache_.size() < cache_size_) {
    cache_.push_back({t, built, ++clock_});
  } else {
    auto oldest = std::min_element(cache_.begin(), cache_.end(), [](const Entry& a, const Entry& b) { return a.stamp < b.stamp; });
    *oldest = {t, built, ++clock_};
  }
  return built;
}

double RadialKernelProcess::sample_radius(Rng& rng, double t) const {
  const double u = uniform_open(rng);
  const auto tab = table(t);  // checks t
  const double w = edge_atom(t), rmax = support_radius(t);
  if (!tab || u >= 1.0 - w) return rmax;
  return std::min(std::exp(tab->quantile(u / (1.0 - w))), rmax);
}

void RadialKernelProcess::sample_displacement(Rng& rng, double t, double* out) const {
  const double r = sample_radius(rng, t);
  if (n_ == 1) {  // exactly +-r (no rounding past the support edge)
    out[0] = uniform01(rng) < 0.5 ? -r : r;
    return;
  }
  double norm2 = 0.0;
  do {
    standard_normals(rng, out, static_cast<std::size_t>(n_));
    norm2 = 0.0;
    for (int i = 0; i < n_; ++i) norm2 += out[i] * out[i];
  } while (!(norm2 > 0.0));
  const double scale = r / std::sqrt(norm2);
  for (int i = 0; i < n_; ++i) out[i] *= scale;
}

double RadialKernelProcess::log_unnormalised_mass(double t) const {
  const auto tab = table(t);
  if (!tab) return -kInf;
  return special::log_unit_sphere_area(n_) + tab->log_mass();
}

double RadialKernelProcess::log_kernel(double r, double t) const {
  check_time(t);
  const double w = edge_atom(t);
  if (!(r >= 0.0) || r > support_radius(t) || w >= 1.0) return -kInf;
  return log_kernel_unnormalised(r, t) - log_unnormalised_mass(t) + std::log1p(-w);
}

double RadialKernelProcess::radial_cdf(double r, double t) const {
  check_time(t);
  if (!(r > 0.0)) return 0.0;
  if (r >= support_radius(t)) return 1.0;
  const double w = edge_atom(t);
  const auto tab = table(t);
  if (!tab) return 0.0;
  return (1.0 - w) * tab->cdf(std::log(r));
}

// ---- quantile transport and tails, for any radial kernel -------------------------------------------

double log_radial_density(const GenerativeProcess& process, double r, double t) {
  const int n = process.dim();
  if (!(r > 0.0)) return n == 1 ? std::log(2.0) + process.log_kernel(0.0, t) : -kInf;
  // |S^(N-1)| = 2 pi^(N/2) / Gamma(N/2).
  return std::log(2.0) + 0.5 * n * detail::kLogPi - std::lgamma(0.5 * n) + (n - 1) * std::log(r) + process.log_kernel(r, t);
}

double tail_matched_sigma_min(const GenerativeProcess& process, double gaussian_sigma, double q) {
  const int n = process.dim();
  // The Gaussian's q-quantile radius: sigma sqrt(chi2_N quantile q) = sigma sqrt(2 P^-1(N/2, q)).
  const double r_star = gaussian_sigma * std::sqrt(2.0 * boost::math::gamma_p_inv(0.5 * n, q));
  auto f = [&](double log_sigma) { return process.radial_cdf(r_star, process.time(std::exp(log_sigma))) - q; };
  // A heavier tail needs a smaller sigma; a kernel no heavier than the Gaussian keeps its level;
  // one that has not matched it by kSigmaMinFloor ends there (and `check` then finds that it does
  // not concentrate).
  double lo = std::log(kSigmaMinFloor), hi = std::log(gaussian_sigma);
  if (!(f(hi) < 0.0)) return gaussian_sigma;
  if (!(f(lo) > 0.0)) return kSigmaMinFloor;
  for (int i = 0; i < 80 && hi - lo > 1e-6; ++i) {
    const double mid = 0.5 * (lo + hi), fm = f(mid);
    (fm > 0.0 ? lo : hi) = mid;
  }
  return std::exp(lo);
}

double quantile_radial_velocity(const GenerativeProcess& process, double r, double t) {
  detail::check_kernel_time(t);
  const double h = 1e-3 * t;
  auto F = [&](double s) { return process.radial_cdf(r, s); };
  const double dF = (-F(t + 2 * h) + 8.0 * F(t + h) - 8.0 * F(t - h) + F(t - 2 * h)) / (12.0 * h);
  return -dF / std::exp(log_radial_density(process, r, t));
}

}  // namespace genphys
