// dissipative-wave: phi_tt + 2 eps phi_t - lap phi = 0
#include "modules.hpp"

#include <algorithm>

#include "genphys/density_flow.hpp"
#include "genphys/radial_kernel.hpp"

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

}  // namespace

ModuleInfo dissipative_wave_module() {
  return {"dissipative-wave", {}, "phi_tt + 2 eps phi_t - lap phi = 0",
    {
      {"eps", 1.0, 0, 1000000.0, false, "damping rate"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<DissipativeWave>("dissipative-wave", p); }};
}

}  // namespace genphys
