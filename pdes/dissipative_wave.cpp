// dissipative-wave: phi_tt + 2 eps phi_t - lap phi = 0
#include "modules.hpp"

#include <algorithm>

#include <boost/math/tools/toms748_solve.hpp>

#include "genphys/density_flow.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/special.hpp"
#include "physics/kernel_common.hpp"

namespace genphys {
namespace {

class DissipativeWave final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + 2 {} phi_t - lap phi = 0", param("eps")); }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {1, 0, 2 * param("eps")}, {0, 1, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    const double e = param("eps");
    // Principal complex sqrt: the "+" branch is the slow one (w(0) = 0), "-" the fast (w(0) = -2i eps).
    return {{"w = -i eps + sqrt(k^2 - eps^2) (slow)",
             [e](double k) { return complex(0, -e) + std::sqrt(complex((k - e) * (k + e), 0)); }},
            {"w = -i eps - sqrt(k^2 - eps^2) (fast)",
             [e](double k) { return complex(0, -e) - std::sqrt(complex((k - e) * (k + e), 0)); }}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"-(phi_t + 2 eps phi)", "-grad phi / (phi_t + 2 eps phi)", "0"};
  }
  std::string c2_analytic() const override {
    return "slow branch: Im w(k) = -eps + sqrt(eps^2 - k^2) for k <= eps and -eps above, < 0 = Im w(0), "
           "a gap bounded by eps; the fast branch has Im w(k) > Im w(0) = -2 eps";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  // Point source phi(0) = 0, phi_t(0) = -delta in the module's sign convention (p = -(phi_t + 2 eps phi)):
  // p-hat = e^(-eps t)[cosh(s t) + (eps/s) sinh(s t)], s = sqrt(eps^2 - k^2) (cos/sin above k = eps).
  complex green_hat(double k, double t) const override { return telegraph_p_hat(param("eps"), k, t); }
  // Closed form inside the light cone (density_flow.hpp: e^(-eps t) times the Klein-Gordon kernel);
  // zero outside; the singular front r = t is not a function and is left out.
  SignedLog green(double r, double t, int dim) const override {
    const SignedLog u = telegraph_interior(param("eps"), r, t, dim).u;
    return {u.log_abs, -u.sign};
  }
  std::string green_method(int) const override {
    return "closed form inside the light cone r < t: phi = -e^(-eps t) (2 pi)^(-nu)/2 (eps/tau)^nu I_(-nu)(eps tau), "
           "tau = sqrt(t^2 - r^2), nu = (N-1)/2; 0 for r > t; the singular front at r = t is left out";
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    return telegraph_interior(param("eps"), r, t, dim).flow;
  }
  /// The kernel at time t smoothed by a Gaussian of width s = 0.02 t (numerical radial inverse
  /// transform of p-hat exp(-k^2 s^2/2)), on 261 radii in [0, 1.3 t]: {min, max}. Smoothing by
  /// a positive kernel keeps a positive measure positive, so min < 0 proves p is not one.
  std::pair<double, double> smoothed_kernel_range(double t, int dim) const {
    const double eps = param("eps"), s = 0.02 * t;
    auto fhat = [&](double k) { return telegraph_p_hat(eps, k, t) * std::exp(-0.5 * k * k * s * s); };
    double lo = 0.0, hi = 0.0;
    for (int i = 0; i <= 260; ++i) {
      const double p = radial_inverse_fourier(fhat, 1.3 * t * i / 260.0, dim);
      lo = std::min(lo, p);
      hi = std::max(hi, p);
    }
    return {lo, hi};
  }
  ConditionVerdict c1(int dim) const override {
    const double eps = param("eps");
    if (dim <= kMaxRadialTransformDim) {
      const double t = eps > 0 ? 1.0 / eps : 1.0;
      const auto [lo, hi] = smoothed_kernel_range(t, dim);
      const double rel = lo / hi;
      const std::string measured = fmt::format(
          "measured at eps t = {:g}: the kernel smoothed by a Gaussian of width 0.02 t has min/max = {:.4g}", eps * t,
          rel);
      if (rel >= -1e-9)
        return {Verdict::yes,
                fmt::format("p >= 0: {}; the interior e^(-eps t)(u_t + eps u) > 0 and the front is two pulses "
                            "of weight exp(-eps t)/2 >= 0",
                            measured),
                ""};
      if (eps == 0)
        return {Verdict::no, fmt::format("p is not a positive measure ({}) and nothing damps it (eps = 0)", measured),
                ""};
      return {Verdict::conditional,
              fmt::format("p = -(phi_t + 2 eps phi) is not a positive measure near the wave front r = t in N = {} "
                          "({}); the front region carries a mass fraction ~exp(-eps t) = exp(-{:.4g} t)",
                          dim, measured, eps),
              fmt::format("p is a density up to a front of mass fraction < 1e-3 only for t >= ln(1e3)/eps = {:.4g}",
                          std::log(1e3) / eps)};
    }
    if (dim == 1)
      return {Verdict::yes,
              "in N = 1 the telegraph kernel is positive: two pulses of weight exp(-eps t)/2 plus a positive "
              "Bessel-I0/I1 bulk",
              ""};
    // As for the ideal wave, the front |x - y| = t is not a positive density in N >= 2; it carries
    // the undamped fraction exp(-eps t) of the mass, the diffusive bulk behind it is positive.
    if (eps == 0)
      return {Verdict::no, "eps = 0 is the ideal wave: p is not a positive measure in N >= 2 and nothing damps it", ""};
    const double t_valid = std::log(1e3) / eps;
    return {Verdict::conditional,
            fmt::format("p = -(phi_t + 2 eps phi) is negative just inside the wave front in N >= 2; the front "
                        "carries a mass fraction exp(-eps t) = exp(-{:.4g} t)",
                        eps),
            fmt::format("p is a density up to a front of mass fraction < 1e-3 only for t >= ln(1e3)/eps = {:.4g}",
                        t_valid)};
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // N = 1 only: two pulses of mass e^(-eps t)/2 plus the Bessel-I bulk (radial_kernel.hpp). In
  // N >= 2 p is not a positive measure near the front (c1 above): no kernel to sample.
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    if (dim != 1) return nullptr;
    return make_dissipative_wave_process(dim, param("eps"));
  }
  // ==== end kernel ========================================================================
};

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
  bool sigma_min_is_floor() const override { return true; }
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
    if (!(r <= t) || eps_ == 0.0) return -HUGE_VAL;
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

ModuleInfo dissipative_wave_module() {
  return module_info<DissipativeWave>("dissipative-wave", {}, "phi_tt + 2 eps phi_t - lap phi = 0",
                                      {param_in("eps", 1.0, 0, 1e6, "damping rate")});
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
