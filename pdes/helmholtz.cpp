// helmholtz: phi_tt + lap phi + k0^2 phi = 0
#include "modules.hpp"

#include <algorithm>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "genphys/density_flow.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/special.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"
#include "physics/kernel_common.hpp"

namespace genphys {
namespace {

class Helmholtz final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + lap phi + {}^2 phi = 0", param("k0")); }
  std::vector<OperatorTerm> operator_terms() const override {
    const double k0 = param("k0");
    return {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, k0 * k0}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double k0 = param("k0");
    // Principal complex sqrt: real for k <= k0, +i sqrt(k^2 - k0^2) above.
    return {{"w = -sqrt(k0^2 - k^2)", [k0](double k) { return -std::sqrt(complex((k0 - k) * (k0 + k), 0)); }},
            {"w = +sqrt(k0^2 - k^2)", [k0](double k) { return std::sqrt(complex((k0 - k) * (k0 + k), 0)); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "grad phi / phi_t", "k0^2 phi"}; }
  std::string c2_analytic() const override {
    return "Im w(k) = 0 = Im w(0) for k <= k0 (oscillating modes), -sqrt(k^2 - k0^2) < 0 above";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  // p-hat of the real (standing-wave) kernel below: cos(sqrt(k0^2 - k^2) t) for k <= k0, the
  // evanescent exp(-sqrt(k^2 - k0^2) t) above.
  complex green_hat(double k, double t) const override {
    const double k0 = param("k0");
    return k <= k0 ? std::cos(std::sqrt((k0 - k) * (k0 + k)) * t) : std::exp(-std::sqrt((k - k0) * (k + k0)) * t);
  }
  // Real part of the outgoing Green's function of -(Lap_(N+1) + k0^2), doubled for the half space
  // (it tends to the Laplace kernel as rho -> 0): phi = -pi C (k0/rho)^nu Y_nu(k0 rho),
  // C = (2 pi)^(-(N+1)/2), nu = (N-1)/2; p = -phi_t = -pi C k0^(nu+1) t rho^-(nu+1) Y_(nu+1)(k0 rho);
  // J = -d_r phi = p r / t; R = k0^2 phi.
  static double log_pi_c(int dim) { return std::log(M_PI) - 0.5 * (dim + 1) * std::log(2 * M_PI); }
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double k0 = param("k0"), nu = 0.5 * (dim - 1), rho = std::hypot(t, r);
    const SignedLog y = special::bessel_y(nu, k0 * rho);
    if (y.sign == 0) return {};
    return {log_pi_c(dim) + nu * std::log(k0 / rho) + y.log_abs, -y.sign};
  }
  std::string green_method(int) const override {
    return "closed form: -pi (2 pi)^(-(N+1)/2) (k0/rho)^nu Y_nu(k0 rho), nu = (N-1)/2, rho = sqrt(t^2 + r^2)";
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double k0 = param("k0"), nu = 0.5 * (dim - 1), rho = std::hypot(t, r);
    PointFlow f;
    const SignedLog y = special::bessel_y(nu + 1, k0 * rho);
    if (y.sign != 0)
      f.p = {log_pi_c(dim) + (nu + 1) * std::log(k0) + std::log(t) - (nu + 1) * std::log(rho) + y.log_abs, -y.sign};
    if (r > 0 && f.p.sign != 0) f.flux = {f.p.log_abs + std::log(r / t), f.p.sign};
    const SignedLog phi = green(r, t, dim);
    if (phi.sign != 0) f.rate = {phi.log_abs + 2 * std::log(k0), phi.sign};
    return f;
  }
  /// The first k0 rho at which p changes sign, measured along r = 0 by a scan and bisection.
  double first_sign_change(int dim) const {
    const double k0 = param("k0"), nu1 = 0.5 * (dim + 1);
    auto positive = [&](double x) { return point_flow(0.0, x / k0, dim).p.sign > 0; };
    // Log steps up to the order (Y_mu < 0 there in theory; measured anyway), then steps of 0.25,
    // below the spacing of the zeros of Y_mu (>= ~2.4).
    double lo = 1e-3;
    if (!positive(lo)) return lo;
    double x = lo;
    while (true) {
      x = x < nu1 ? std::min(x * 1.12, std::max(nu1, x + 1e-9)) : x + 0.25;
      if (!positive(x)) break;
      lo = x;
      if (x > 10 * nu1 + 100) throw std::runtime_error("helmholtz: no sign change of p found");
    }
    double hi = x;
    for (int i = 0; i < 200 && hi - lo > 1e-13 * hi; ++i) {
      const double mid = 0.5 * (lo + hi);
      (positive(mid) ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
  }
  ConditionVerdict c1(int dim) const override {
    const double k0 = param("k0"), z = first_sign_change(dim);
    const double z_ref = special::bessel_y_first_zero(0.5 * (dim + 1));
    // Grid scan in (r, t) around the edge: every point with k0 rho < z must have p > 0.
    int points = 0, negative = 0, bad = 0;
    for (int i = 0; i <= 24; ++i)
      for (int j = -1; j <= 24; ++j) {
        const double t = 1e-3 * z / k0 * std::pow(10.0, i / 6.0);
        const double r = j < 0 ? 0.0 : 1e-3 * z / k0 * std::pow(10.0, j / 6.0);
        const double rho = std::hypot(t, r);
        const int sign = point_flow(r, t, dim).p.sign;
        ++points;
        if (sign < 0) ++negative;
        if (k0 * rho < z && sign <= 0) ++bad;
      }
    if (bad > 0)
      return {Verdict::no,
              fmt::format("p <= 0 measured at {} grid points with k0 rho below the first sign change {:.6g}", bad, z),
              ""};
    return {Verdict::conditional,
            fmt::format("p = -pi C k0^(nu+1) t rho^-(nu+1) Y_(nu+1)(k0 rho) first changes sign at k0 rho = {:.8g} "
                        "(measured: scan and bisection; first zero of Y_{:g} = {:.8g}); on {} grid points (r, t) "
                        "p > 0 wherever k0 rho < {:.6g}, and p < 0 at {} points beyond",
                        z, 0.5 * (dim + 1), z_ref, points, z, negative),
            fmt::format("p >= 0 only while k0 rho < {:.6g}, i.e. rho = sqrt(t^2+r^2) < {:.6g}", z, z / k0)};
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // The kernel is p restricted to its positive region k0 sqrt(t^2 + r^2) < y_((N+1)/2,1) and
  // normalised (radial_kernel.hpp); t at or beyond y_((N+1)/2,1)/k0 is refused with InputError.
  // It generates from that normalised kernel's own mass-conserving flow (radial quantile transport).
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_helmholtz_process(dim, param("k0"));
  }
  std::unique_ptr<GenerativeProcess> unnormalised_generative(int dim) const override {
    return make_unnormalised_helmholtz_process(dim, param("k0"));
  }
  // ==== end kernel ========================================================================
};

class HelmholtzProcess final : public RadialKernelProcess {
 public:
  HelmholtzProcess(int dim, double k0, bool normalised)
      : RadialKernelProcess(dim), normalised_(normalised), k0_(k0), nu_(0.5 * (dim - 1)), mu_(0.5 * (dim + 1)),
        zero_(special::bessel_y_first_zero(mu_)), bound_(zero_ / k0),
        log_const_(std::log(M_PI) - mu_ * std::log(2.0 * M_PI) + mu_ * std::log(k0)) {}

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
  // Normalised: from the tables over t below where they cover (r, t), else computed directly by
  // quantile_radial_velocity.
  double source_radial_speed(double r, double t) const override {
    if (!normalised_) return r / t;
    double v = 0.0;
    if (tabulated_speed(r, t, v)) return v;
    return quantile_radial_velocity(*this, r, t);
  }
  // From the quantile tables at the grid's nodes (below) where the grid covers t; else a table
  // built at t itself (RadialKernelProcess). One uniform per radius either way.
  double sample_radius(Rng& rng, double t) const override {
    const auto at = panel_at(t);
    if (!at) return RadialKernelProcess::sample_radius(rng, t);
    return tabulated_radius(*at, uniform_open(rng), t);
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
    detail::check_kernel_time(t);
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
    if (!(ly > -HUGE_VAL)) return -HUGE_VAL;
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
    if (!(d > 0.0)) return -HUGE_VAL;
    std::call_once(y_fit_once_, [this] { build_y_fit(); });
    const double u = std::log(x);
    if (u < y_fit_.lo()) return log_minus_y_direct(x);
    return y_fit_(u) + std::log(d / zero_);
  }
  double log_minus_y_direct(double x) const {
    const SignedLog y = special::bessel_y(mu_, x);
    return y.sign < 0 ? y.log_abs : -HUGE_VAL;
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
    y_fit_ = detail::PiecewiseChebyshev(f, std::log(xa), std::log(zero_), 1e-14, 4);
  }
  // ---- tables over t, built once per process -------------------------------------------------
  // quantile_radial_velocity builds radial-CDF tables at t and t +- h, t +- 2h for every new t
  // (~ms each), and a draw at a new t builds one; training asks for a fresh t per sample. So both
  // are tabulated once per process on a LogTimePanels grid in u = log t over
  // [sigma_min / 2, min(1.2 sigma_max, 0.9 B)] (panels of width kPanelWidth), in the variable
  //   eta = log(rho / t) / log(B / t) in [0, 1) (rho = sqrt(t^2 + r^2), B = Z/k0: eta = 1 at the
  //   support's edge; eta ~ r^2 / (2 t^2 log(B/t)) as r -> 0, formed with log1p / expm1):
  // - draws: the radial-CDF table at each node t_j (RadialCdfTable, exact to ~1e-13); a draw
  //   inverts all of them at one uniform u and interpolates eta(u, t_j) to t: the quantile
  //   function at fixed u is smooth in t;
  // - the speed as w = v t / r (1 for a self-similar kernel, finite as r -> 0): at each node a
  //   PiecewiseChebyshev fit of w(eta, t_j) between the radii of quantiles kVelTail and
  //   1 - kVelTail (where finite differences of the CDF are trusted), interpolated to t.
  // A panel's node tables and its speed fits are each built on first use (std::call_once: safe
  // under the exact sampler's OpenMP). Outside the grid, and for the speed at r beyond the eta
  // range common to the panel's nodes (a fraction ~2 kVelTail of a kernel's draws), both are
  // computed directly.
  static constexpr double kPanelWidth = 0.5, kVelTail = 1e-4, kVelTol = 1e-8;
  static constexpr int kNodes = detail::LogTimePanels::kNodes;
  struct TimePanel {
    std::once_flag tables_once, speed_once;
    std::vector<std::shared_ptr<const RadialCdfTable>> tables;  // at the nodes
    double eta_lo = 0.0, eta_hi = -1.0;                          // of the speed fits, common to all nodes
    std::vector<detail::PiecewiseChebyshev> w;
  };
  double eta_of(double r, double t) const {
    return 0.5 * std::log1p((r / t) * (r / t)) / std::log(bound_ / t);
  }
  double radius_of(double eta, double t) const {
    const double e = std::expm1(std::clamp(eta, 0.0, 1.0) * std::log(bound_ / t));  // rho / t - 1
    return std::min(t * std::sqrt(e * (e + 2.0)), support_radius(t));
  }
  const detail::LogTimePanels& time_grid() const {
    std::call_once(grid_once_, [this] {
      grid_ = detail::LogTimePanels(0.5 * sigma_min(), std::min(1.2 * sigma_max(), 0.9 * bound_), kPanelWidth);
      panels_.clear();
      for (std::size_t i = 0; i < grid_.size(); ++i) panels_.push_back(std::make_unique<TimePanel>());
    });
    return grid_;
  }
  // The panel holding t, with its node tables built; nullopt outside the grid.
  struct Located {
    TimePanel* panel;
    std::size_t index;
    double x;  // t's place in the panel, in [-1, 1]
  };
  std::optional<Located> panel_at(double t) const {
    const auto pos = time_grid().locate(t);
    if (!pos || !(t < bound_)) return std::nullopt;
    TimePanel& panel = *panels_[pos->panel];
    std::call_once(panel.tables_once, [&] {
      for (int j = 0; j < kNodes; ++j) panel.tables.push_back(table(grid_.node_time(pos->panel, j)));
    });
    return Located{&panel, pos->panel, pos->x};
  }
  // The radius of quantile u at t (in panel `at`).
  double tabulated_radius(const Located& at, double u, double t) const {
    const double eta = detail::LogTimePanels::interpolate(at.x, [&](int j) {
      return eta_of(std::exp(at.panel->tables[std::size_t(j)]->quantile(u)), grid_.node_time(at.index, j));
    });
    return radius_of(eta, t);
  }
  void build_speed_fits(std::size_t p, TimePanel& panel) const {
    double lo = 0.0, hi = 1.0;
    for (int j = 0; j < kNodes; ++j) {
      const double t = grid_.node_time(p, j);
      const RadialCdfTable& tab = *panel.tables[std::size_t(j)];
      const double a = eta_of(std::exp(tab.quantile(kVelTail)), t), b = eta_of(std::exp(tab.quantile(1.0 - kVelTail)), t);
      auto w = [&](double eta) {
        const double r = radius_of(eta, t);
        return quantile_radial_velocity(*this, r, t) * t / r;
      };
      panel.w.emplace_back(w, a, b, kVelTol, 4);
      lo = std::max(lo, a);
      hi = std::min(hi, b);
    }
    panel.eta_lo = lo;
    panel.eta_hi = hi;
  }
  bool tabulated_speed(double r, double t, double& v) const {
    const auto at = panel_at(t);
    if (!at || !(r > 0.0)) return false;
    TimePanel& panel = *at->panel;
    std::call_once(panel.speed_once, [&] { build_speed_fits(at->index, panel); });
    const double eta = eta_of(r, t);
    if (!(eta >= panel.eta_lo && eta <= panel.eta_hi)) return false;
    v = detail::LogTimePanels::interpolate(at->x, [&](int j) { return panel.w[std::size_t(j)](eta); }) * r / t;
    return true;
  }

  bool normalised_;
  double k0_, nu_, mu_, zero_, bound_, log_const_;
  mutable std::once_flag grid_once_;
  mutable detail::LogTimePanels grid_;
  mutable std::vector<std::unique_ptr<TimePanel>> panels_;
  mutable std::once_flag sigma_min_once_;
  mutable double sigma_min_ = 0.0;
  mutable std::once_flag y_fit_once_;
  mutable detail::PiecewiseChebyshev y_fit_;
};

}  // namespace

ModuleInfo helmholtz_module() {
  return module_info<Helmholtz>("helmholtz", {}, "phi_tt + lap phi + k0^2 phi = 0",
                                {param_in("k0", 0.5, 0, 1e6, "wave number")});
}

double helmholtz_time_bound(int dim, double k0) {
  detail::check_kernel_dim(dim);
  if (!(k0 >= 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be >= 0 and finite, got {}", k0));
  if (k0 == 0.0) return HUGE_VAL;
  return special::bessel_y_first_zero(0.5 * (dim + 1)) / k0;
}

std::unique_ptr<GenerativeProcess> make_helmholtz_process(int dim, double k0) {
  detail::check_kernel_dim(dim);
  if (!(k0 >= 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be >= 0 and finite, got {}", k0));
  if (k0 == 0.0) return make_pfgmpp_process(dim, 1.0);
  return std::make_unique<HelmholtzProcess>(dim, k0, true);
}

std::unique_ptr<GenerativeProcess> make_unnormalised_helmholtz_process(int dim, double k0) {
  detail::check_kernel_dim(dim);
  if (!(k0 > 0.0) || !std::isfinite(k0)) throw InputError(fmt::format("helmholtz: k0 must be > 0 and finite, got {}", k0));
  return std::make_unique<HelmholtzProcess>(dim, k0, false);
}

}  // namespace genphys
