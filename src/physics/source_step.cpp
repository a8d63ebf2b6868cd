#include "genphys/source_step.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys {

Stepping parse_stepping(const std::string& name) {
  if (name == "source") return Stepping::source;
  if (name == "plain") return Stepping::plain;
  throw OptionError("stepping", "'" + name + "' is unknown (valid: source, plain)");
}

std::string to_string(Stepping s) { return s == Stepping::source ? "source" : "plain"; }

bool uses_source_steps(const GenerativeProcess& process, Solver solver, Stepping stepping) {
  // A flow that ends at a floor sigma_min (the dissipative wave: its front still carries mass
  // there, an atom the radial tables do not hold) keeps the plain steps.
  return stepping == Stepping::source && solver != Solver::rk45 && !process.affine_velocity() &&
         !process.sigma_min_is_floor();
}

double heun_source_weight(double lambda, double lambda_next) {
  const double rho = lambda_next / lambda;
  if (!(rho > 0)) return 1.0;
  const double gap = 1.0 - rho;
  if (std::fabs(gap) < 1e-4) return 0.5 - gap / 6.0;  // the series: rounding in the closed form
  return rho * (rho - 1.0 - std::log(rho)) / (gap * gap);
}

namespace {

// Table ends: F in (kTail, 1 - kTail), logit steps of at most kMaxDz.
constexpr double kTail = 1e-12, kMaxDz = 0.2, kMinDz = 0.05;
constexpr double kMaxStep = 0.25, kMinStep = 1e-7;
constexpr int kMaxPoints = 4000;

double logit(double F) { return std::log(F) - std::log1p(-F); }

// Linear interpolation of ys over strictly increasing xs; linear extrapolation with the end
// segments' slopes (clamped at the upper end when clamp_hi).
double interpolate(const std::vector<double>& xs, const std::vector<double>& ys, double x, bool clamp_hi = false) {
  const std::size_t n = xs.size();
  if (n == 1) return ys[0];
  std::size_t k;
  if (x <= xs.front())
    k = 0;
  else if (x >= xs.back()) {
    if (clamp_hi) return ys.back();
    k = n - 2;
  } else
    k = std::size_t(std::upper_bound(xs.begin(), xs.end(), x) - xs.begin()) - 1;
  const double w = (x - xs[k]) / (xs[k + 1] - xs[k]);
  return ys[k] + w * (ys[k + 1] - ys[k]);
}

}  // namespace

SourceTransport::SourceTransport(const GenerativeProcess& process, const std::vector<double>& times) {
  levels_.reserve(times.size());
  for (double t : times) levels_.push_back(build(process, t));
}

SourceTransport::Level SourceTransport::build(const GenerativeProcess& process, double t) const {
  Level L;
  L.t = t;
  if (t == 0.0) return L;
  const int n = process.dim();
  auto cdf = [&](double log_r) { return process.radial_cdf(std::exp(log_r), t); };
  // The median, by bisection in log r from the RMS radius sigma sqrt(N).
  double lo = std::log(process.sigma(t) * std::sqrt(double(n))), hi = lo;
  for (int k = 0; cdf(lo) >= 0.5; ++k) {
    if (k > 400) throw InputError(fmt::format("source step: no median radius at t = {:g}", t));
    lo -= 1.0;
  }
  for (int k = 0; cdf(hi) < 0.5; ++k) {
    if (k > 400) throw InputError(fmt::format("source step: no median radius at t = {:g}", t));
    hi += 1.0;
  }
  for (int k = 0; k < 80 && hi - lo > 1e-12; ++k) {
    const double mid = 0.5 * (lo + hi);
    (cdf(mid) < 0.5 ? lo : hi) = mid;
  }
  const double s_med = 0.5 * (lo + hi);
  // Walk out from the median in both directions with logit steps between kMinDz and kMaxDz.
  auto walk = [&](double direction, std::vector<double>& s_out, std::vector<double>& z_out, bool& hit_edge) {
    double s = s_med, z = logit(std::clamp(cdf(s), kTail, 1 - kTail)), h = 0.01;
    for (int count = 0; count < kMaxPoints; ++count) {
      const double s_next = s + direction * h;
      const double F = cdf(s_next);
      if (direction > 0 && !(F < 1.0 - kTail)) {  // far tail or the support's edge
        if (h > kMinStep) {
          h *= 0.5;
          continue;
        }
        hit_edge = F >= 1.0;
        return;
      }
      if (direction < 0 && !(F > kTail)) {
        if (h > kMinStep && F <= 0.0) {
          h *= 0.5;
          continue;
        }
        return;
      }
      const double z_next = logit(F);
      const double dz = std::fabs(z_next - z);
      if (dz > kMaxDz && h > kMinStep) {
        h *= 0.5;
        continue;
      }
      if (!(direction > 0 ? z_next > z : z_next < z)) {  // flat in rounding: step on
        s = s_next;
        h = std::min(kMaxStep, 2 * h);
        continue;
      }
      s = s_next;
      z = z_next;
      s_out.push_back(s);
      z_out.push_back(z);
      if (dz < kMinDz) h = std::min(kMaxStep, 1.5 * h);
    }
  };
  std::vector<double> s_up, z_up, s_down, z_down;
  bool edge = false, unused = false;
  walk(+1.0, s_up, z_up, edge);
  walk(-1.0, s_down, z_down, unused);
  L.bounded = edge;
  L.log_r.assign(s_down.rbegin(), s_down.rend());
  L.z.assign(z_down.rbegin(), z_down.rend());
  L.log_r.push_back(s_med);
  L.z.push_back(logit(std::clamp(cdf(s_med), kTail, 1 - kTail)));
  L.log_r.insert(L.log_r.end(), s_up.begin(), s_up.end());
  L.z.insert(L.z.end(), z_up.begin(), z_up.end());
  // Keep z strictly increasing (the median's rounding may tie a neighbour).
  std::vector<double> r2, z2;
  for (std::size_t k = 0; k < L.z.size(); ++k)
    if (z2.empty() || L.z[k] > z2.back()) {
      r2.push_back(L.log_r[k]);
      z2.push_back(L.z[k]);
    }
  L.log_r = std::move(r2);
  L.z = std::move(z2);
  L.speed.assign(L.log_r.size(), std::numeric_limits<double>::quiet_NaN());
  bool any = false;
  for (std::size_t k = 0; k < L.log_r.size(); ++k) {
    try {
      L.speed[k] = process.source_radial_speed(std::exp(L.log_r[k]), t);
    } catch (const std::exception&) {
    }
    any = any || std::isfinite(L.speed[k]);
  }
  if (L.log_r.size() < 2 || !any)
    throw InputError(fmt::format("source step: the radial law or the per-source speed at t = {:g} cannot be tabulated", t));
  L.rate = process.step_rate(t);
  // Does the speed resolve the bulk's radii (resolves())?
  const double z_lo = logit(0.05), z_hi = logit(0.95);
  double s_min = std::numeric_limits<double>::infinity(), s_max = -s_min;
  for (std::size_t k = 0; k < L.z.size(); ++k)
    if (L.z[k] >= z_lo && L.z[k] <= z_hi && std::isfinite(L.speed[k])) {
      s_min = std::min(s_min, L.speed[k]);
      s_max = std::max(s_max, L.speed[k]);
    }
  if (s_min > 0) {  // a speed that changes sign separates its branches by sign
    const double span = interpolate(L.z, L.log_r, z_hi) - interpolate(L.z, L.log_r, z_lo);
    L.resolved = span <= kMaxElasticity * std::log(s_max / s_min);
  }
  return L;
}

double SourceTransport::implied_radius(std::size_t level, double speed) const {
  const Level& L = levels_.at(level);
  if (L.t == 0.0 || !(speed > 0)) return 0.0;
  const std::size_t n = L.log_r.size();
  // Below the table s ~ R.
  const double s0 = L.speed.front();
  if (std::isfinite(s0) && s0 > 0 && speed <= s0) return std::exp(L.log_r.front()) * speed / s0;
  // The first crossing of s = speed outwards from the source: the rising branch.
  std::size_t fastest = 0;
  for (std::size_t k = 0; k + 1 < n; ++k) {
    const double a = L.speed[k], b = L.speed[k + 1];
    if (std::isfinite(b) && (!std::isfinite(L.speed[fastest]) || b > L.speed[fastest])) fastest = k + 1;
    if (!std::isfinite(a) || !std::isfinite(b) || !(a < speed && speed <= b)) continue;
    const double w = (speed - a) / (b - a);
    return std::exp(L.log_r[k] + w * (L.log_r[k + 1] - L.log_r[k]));
  }
  // Faster than every tabulated speed: the fastest radius. No source moves its particle this fast
  // (the table reaches F = 1 - 1e-12); a network's velocity can, and extrapolating the last
  // segment's power law there gave radii of 1e7 and then 1e129 (non-finite samples at 9 NFE).
  return std::exp(L.log_r[fastest]);
}

double SourceTransport::transport(std::size_t from, std::size_t to, double r) const {
  const Level& A = levels_.at(from);
  const Level& B = levels_.at(to);
  if (B.t == 0.0 || !(r > 0)) return 0.0;
  if (A.t == 0.0) throw std::invalid_argument("source transport from t = 0");
  const double z = interpolate(A.log_r, A.z, std::log(r), A.bounded);
  return std::exp(interpolate(B.z, B.log_r, z, B.bounded));
}

}  // namespace genphys
