#include "genphys/radial_kernel.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>

#include <boost/math/tools/toms748_solve.hpp>
#include <fmt/format.h>

#include "genphys/density_flow.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"
#include "genphys/special.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"

namespace genphys {

using detail::clenshaw;
using detail::PiecewiseChebyshev;

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
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
}

void RadialKernelProcess::check_time(double t) const {
  if (!(t > 0.0) || !std::isfinite(t)) throw InputError(fmt::format("kernel time must be positive and finite, got {}", t));
}

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

// ---- Helmholtz -----------------------------------------------------------------------------------

namespace {

class HelmholtzProcess final : public RadialKernelProcess {
 public:
  HelmholtzProcess(int dim, double k0, bool normalised)
      : RadialKernelProcess(dim), normalised_(normalised), k0_(k0), nu_(0.5 * (dim - 1)), mu_(0.5 * (dim + 1)),
        zero_(special::bessel_y_first_zero(mu_)), bound_(zero_ / k0),
        log_const_(std::log(kPi) - mu_ * std::log(2.0 * kPi) + mu_ * std::log(k0)) {}

  double sigma(double t) const override { return t; }
  double time(double s) const override { return s; }
  // The normalised (truncated) kernel's own mass-conserving flow: each source moves its radial
  // quantiles (R = 0). The kernel is not self-similar, so the velocity is not affine in E[y|x,t].
  // Unnormalised: Helmholtz's own flow, (x - y)/t with birth/death R = k0^2 phi, whose plain ODE
  // ignores R (kept as the measured alternative).
  bool affine_velocity() const override { return !normalised_; }
  double velocity_scale(double t) const override {
    if (normalised_)
      throw NotSupported("helmholtz: the normalised kernel moves by radial quantile transport, not affinely in "
                         "E[y|x,t]; train on a velocity target (source_radial_speed)");
    return 1.0 / t;
  }
  double source_radial_speed(double r, double t) const override {
    return normalised_ ? quantile_radial_velocity(*this, r, t) : r / t;
  }
  // sigma = t, but the radii reach the truncation radius ~Z/k0 >> t: a PFGM-like r^-2 tail in low
  // N, a thin shell at Z/k0 in high N. Either way a draw's size says more than sigma does.
  bool heavy_tailed() const override { return true; }
  bool has_birth_death() const override { return !normalised_; }
  // R/p = k0^2 phi / p = k0 rho Y_nu(k0 rho) / (t Y_(nu+1)(k0 rho)).
  double birth_death_ratio(double r, double t) const override {
    const double x = k0_ * std::hypot(t, r);
    const SignedLog yn = special::bessel_y(nu_, x), ym = special::bessel_y(mu_, x);
    if (ym.sign == 0) return std::numeric_limits<double>::quiet_NaN();
    if (yn.sign == 0) return 0.0;
    return yn.sign * ym.sign * std::exp(std::log(x) - std::log(t) + yn.log_abs - ym.log_abs);
  }
  // Half the bound. Measured (median radius over t in steps of 0.1 Z/k0): in N = 1, 2 the spread
  // of the kernel peaks at t ~ 0.5 Z/k0 (0.3-0.4 in N = 10) and then shrinks as the support
  // r < sqrt((Z/k0)^2 - t^2) closes in, so larger t would make the noise smaller again; in
  // N >= 100 the kernel is a shell at rho ~ Z/k0 whose radius only shrinks with t.
  double sigma_max() const override { return std::min(80.0, 0.5 * bound_); }
  // EDM's 0.002 with the tail matched (tail_matched_sigma_min: the kernel is PFGM-like for small
  // t), or 1e-3 sigma_max when the bound is that tight (k0 in the hundreds or more).
  double sigma_min() const override {
    std::call_once(sigma_min_once_, [this] {
      const double cap = 1e-3 * sigma_max();
      sigma_min_ = cap < 0.002 ? cap : tail_matched_sigma_min(*this, 0.002);
    });
    return sigma_min_;
  }

 protected:
  void check_time(double t) const override {
    if (!(t > 0.0) || !std::isfinite(t)) throw InputError(fmt::format("kernel time must be positive and finite, got {}", t));
    if (!(t < bound_))
      throw InputError(fmt::format(
          "helmholtz kernel in N = {}: t = {} is outside the validity region t < y_({},1)/k0 = {:.10g} (k0 = {}): "
          "p = -phi_t is positive only while k0 sqrt(t^2 + r^2) < y_({},1) = {:.10g}, the first zero of Y_({})",
          n_, t, mu_, bound_, k0_, mu_, zero_, mu_));
  }
  // log p = log(pi C k0^(nu+1)) + log t - (nu+1) log rho + log(-Y_(nu+1)(k0 rho)), rho < Z/k0.
  // Z - k0 rho is formed as (Z - k0 t) - k0 r^2 / (rho + t): near the bound (Z - k0 t << Z) the
  // plain difference would be a staircase in r at the rounding level of Z.
  double log_kernel_unnormalised(double r, double t) const override {
    const double rho = std::hypot(t, r), x = k0_ * rho;
    const double d = (zero_ - k0_ * t) - k0_ * r * (r / (rho + t));
    const double ly = log_minus_y(x, d);
    if (!(ly > -kInf)) return -kInf;
    return log_const_ + std::log(t) - mu_ * std::log(rho) + ly;
  }
  double support_radius(double t) const override { return std::sqrt((bound_ - t) * (bound_ + t)); }
  std::pair<double, double> scan_range(double t) const override {
    const double rmax = support_radius(t);
    return {std::min(t, rmax) * std::exp(-2.0), rmax};
  }

 public:
  // log(-Y_(nu+1)(x)) for 0 < x < Z, given also d = Z - x (accurately). Near the first zero Z,
  // Bessel Y of order in the hundreds costs ~10-50 us (Boost), and that is where the mass of the
  // kernel sits in high N; so on [x_a, Z) it comes from a piecewise Chebyshev fit (in log x) of
  // psi(x) = log(-Y(x)) - log((Z - x)/Z), smooth up to Z, built once per process: x_a = the Debye
  // switch for orders >= 25 (special.hpp; below it Debye is cheap), 1e-3 Z for lower orders.
  // Within 1e-6 Z of the zero, where -Y has lost digits to cancellation, psi comes from the
  // Taylor series -Y(x) = Y'(Z) d [1 + d/(2Z) + (2 + mu^2 - Z^2) d^2/(6 Z^2)], Y'(Z) = Y_(mu-1)(Z)
  // (Bessel's equation at the zero; truncation ~(d/mu^(1/3))^3 <~ 1e-11 there).
  // Agrees with special::bessel_y to ~1e-12 relative (checked in the tests through log_kernel).
  double log_minus_y(double x, double d) const {
    if (!(d > 0.0)) return -kInf;
    std::call_once(y_fit_once_, [this] { build_y_fit(); });
    const double u = std::log(x);
    if (u < y_fit_.lo()) return log_minus_y_direct(x);
    return y_fit_(u) + std::log(d / zero_);
  }
  double log_minus_y_direct(double x) const {
    const SignedLog y = special::bessel_y(mu_, x);
    return y.sign < 0 ? y.log_abs : -kInf;
  }

 private:
  void build_y_fit() const {
    const double xa = mu_ >= special::kDebyeMinOrder ? std::min(special::jy_debye_limit(mu_), 0.5 * zero_) : 1e-3 * zero_;
    const SignedLog yp = special::bessel_y(mu_ - 1.0, zero_);  // Y'(Z) > 0
    const double log_yp = yp.log_abs, c2 = (2.0 + mu_ * mu_ - zero_ * zero_) / (6.0 * zero_ * zero_);
    auto f = [&](double u) {
      const double x = std::exp(u), d = zero_ - x;
      if (d > 1e-6 * zero_) {
        const SignedLog y = special::bessel_y(mu_, x);
        if (y.sign < 0) return y.log_abs - std::log(d / zero_);
      }
      return log_yp + std::log(zero_) + std::log1p(d / (2.0 * zero_) + c2 * d * d);
    };
    if (yp.sign <= 0) throw std::logic_error("helmholtz: Y_(mu-1) at the first zero of Y_mu is not positive");
    y_fit_ = PiecewiseChebyshev(f, std::log(xa), std::log(zero_), 1e-14, 4);
  }
  bool normalised_;
  double k0_, nu_, mu_, zero_, bound_, log_const_;
  mutable std::once_flag sigma_min_once_;
  mutable double sigma_min_ = 0.0;
  mutable std::once_flag y_fit_once_;
  mutable PiecewiseChebyshev y_fit_;
};

// ---- dissipative wave, N = 1 ----------------------------------------------------------------------

// E[x^2] / t^2 = (2a - 1 + e^(-2a)) / (2 a^2), a = eps t; its series sum_(n>=2) (-2)^n a^(n-2) / (2 n!)
// for small a.
double dw_second_moment_factor(double a) {
  if (a < 0.5) {
    double term = 1.0, sum = 0.0;  // term_n = (-2)^n a^(n-2) / (2 n!), term_2 = 1
    for (int n = 2; n < 40; ++n) {
      sum += term;
      term *= -2.0 * a / (n + 1);
    }
    return sum;
  }
  return (2.0 * a - 1.0 + std::exp(-2.0 * a)) / (2.0 * a * a);
}

class DissipativeWaveProcess final : public RadialKernelProcess {
 public:
  explicit DissipativeWaveProcess(double eps) : RadialKernelProcess(1), eps_(eps) {}

  double sigma(double t) const override {
    RadialKernelProcess::check_time(t);
    return t * std::sqrt(dw_second_moment_factor(eps_ * t));
  }
  double time(double s) const override {
    if (!(s > 0.0) || !std::isfinite(s)) throw InputError(fmt::format("sigma must be positive and finite, got {}", s));
    if (eps_ == 0.0) return s;
    // t >= sigma (|x| <= t) and E[x^2] >= t/eps - 1/(2 eps^2).
    const double lo = s, hi = std::max(s, eps_ * s * s + 0.5 / eps_) * (1.0 + 1e-12) + 1e-300;
    auto f = [&](double t) {
      const double v = t * std::sqrt(dw_second_moment_factor(eps_ * t));
      return v - s;
    };
    const double flo = f(lo), fhi = f(hi);
    if (flo >= 0.0) return lo;
    if (fhi <= 0.0) return hi;
    std::uintmax_t iters = 200;
    const auto root = boost::math::tools::toms748_solve(f, lo, hi, flo, fhi,
                                                        boost::math::tools::eps_tolerance<double>(52), iters);
    return 0.5 * (root.first + root.second);
  }
  // The front pulses carry e^(-eps t) of the mass, which no velocity field can move back into the
  // bulk: the flow is a density flow only once they are below 1e-3 (the module's condition).
  double sigma_min() const override { return eps_ > 0.0 ? sigma(std::log(1e3) / eps_) : sigma_max(); }
  bool affine_velocity() const override { return false; }
  double velocity_scale(double) const override {
    throw NotSupported(
        "dissipative wave: the per-source velocity is u_t/(u_t + eps u) (x - y)/t inside the light cone and speed 1 "
        "on the front, not velocity_scale(t) (x - y); it is not affine in E[y | x, t], so train on velocities "
        "(quantile_radial_velocity) instead of a denoiser");
  }
  // Inside the light cone v = J/p = u_t/(u_t + eps u) r/t (density_flow.hpp); the front moves at 1.
  double source_radial_speed(double r, double t) const override {
    RadialKernelProcess::check_time(t);
    if (!(r < t)) return 1.0;
    const PdeModule::PointFlow f = telegraph_interior(eps_, r, t, 1).flow;
    if (f.p.sign <= 0) return 0.0;
    return f.flux.sign * std::exp(f.flux.log_abs - f.p.log_abs);
  }

 protected:
  // Bulk density for |x| < t: (eps e^(-eps t)/2) [I0(eps w) + t I1(eps w)/w], w = sqrt(t^2 - x^2).
  double log_kernel_unnormalised(double r, double t) const override {
    if (!(r <= t) || eps_ == 0.0) return -kInf;
    const double w = std::sqrt((t - r) * (t + r)), z = eps_ * w;
    double log_bracket;
    if (z < 1e-5) {
      // I0 = 1 + z^2/4 + ..., t I1(z)/w = (eps t / 2)(1 + z^2/8 + ...).
      log_bracket = std::log1p(0.25 * z * z + 0.5 * eps_ * t * (1.0 + 0.125 * z * z));
    } else {
      const double li0 = special::log_bessel_i(0.0, z), li1 = special::log_bessel_i(1.0, z);
      log_bracket = li0 + std::log1p(std::exp(li1 - li0 + std::log(t / w)));
    }
    return std::log(0.5 * eps_) - eps_ * t + log_bracket;
  }
  double support_radius(double t) const override { return t; }
  double edge_atom(double t) const override { return std::exp(-eps_ * t); }
  std::pair<double, double> scan_range(double t) const override {
    return {t * std::min(std::exp(-3.0), 0.05 / std::sqrt(1.0 + eps_ * t)), t};
  }

 private:
  double eps_;
};

}  // namespace

double helmholtz_time_bound(int dim, double k0) {
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
  if (!(k0 >= 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be >= 0 and finite, got {}", k0));
  if (k0 == 0.0) return kInf;
  return special::bessel_y_first_zero(0.5 * (dim + 1)) / k0;
}

std::unique_ptr<GenerativeProcess> make_helmholtz_process(int dim, double k0) {
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
  if (!(k0 >= 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be >= 0 and finite, got {}", k0));
  if (k0 == 0.0) return make_pfgmpp_process(dim, 1.0);
  return std::make_unique<HelmholtzProcess>(dim, k0, true);
}

std::unique_ptr<GenerativeProcess> make_unnormalised_helmholtz_process(int dim, double k0) {
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
  if (!(k0 > 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be > 0 and finite, got {}", k0));
  return std::make_unique<HelmholtzProcess>(dim, k0, false);
}

std::unique_ptr<GenerativeProcess> make_dissipative_wave_process(int dim, double eps) {
  if (!(eps >= 0.0) || !std::isfinite(eps))
    throw InputError(fmt::format("dissipative wave: eps must be >= 0 and finite, got {}", eps));
  if (dim != 1)
    throw NotSupported(fmt::format(
        "dissipative wave in N = {}: p = -(phi_t + 2 eps phi) is not a positive measure for N >= 2 (negative just "
        "inside the wave front), so there is no perturbation kernel to sample; only N = 1 is supported",
        dim));
  return std::make_unique<DissipativeWaveProcess>(eps);
}

}  // namespace genphys
