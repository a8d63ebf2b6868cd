// helmholtz: phi_tt + lap phi + k0^2 phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/special.hpp"

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

}  // namespace

ModuleInfo helmholtz_module() {
  return {"helmholtz", {}, "phi_tt + lap phi + k0^2 phi = 0",
    {
      {"k0", 0.5, 0, 1000000.0, false, "wave number"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<Helmholtz>("helmholtz", p); }};
}

}  // namespace genphys
