// poisson: phi_tt + lap phi = 0 (N + D dimensions)
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "genphys/special.hpp"

#include <boost/math/special_functions/bessel.hpp>

namespace genphys {
namespace {

class Poisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override {
    return param("D") == 1 ? "phi_tt + lap phi = 0"
                           : fmt::format("phi_rr + ({} - 1)/r phi_r + lap phi = 0 (r = |z|, z in R^D)", param("D"));
  }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {0, 1, -1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = -i k", [](double k) { return complex(0, -k); }},
            {"w = +i k", [](double k) { return complex(0, k); }}};
  }
  DensityFlowForm density_flow_form() const override {
    if (param("D") == 1) return {"-phi_t", "grad phi / phi_t", "0"};
    return {"-t^(D-1) phi_t (t = r_D)", "grad phi / phi_t", "0"};
  }
  std::string c2_analytic() const override {
    return "Im w(k) = -k < 0 = Im w(0) on the decaying branch (for D > 1 the augmented radial "
           "operator keeps the exp(-k r_D) decay at large k r_D)";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override {
    // Characteristic function of the PFGM++ kernel: 2^(1-D/2)/Gamma(D/2) z^(D/2) K_(D/2)(z), z = k t;
    // exp(-k t) for D = 1. In logs: K_(D/2) overflows for large D at small z.
    const double D = param("D"), z = k * t;
    if (z == 0.0) return 1.0;
    if (D == 1) return std::exp(-z);
    return std::exp((1 - D / 2) * std::log(2.0) - special::log_gamma(D / 2) + (D / 2) * std::log(z) +
                    special::log_bessel_k(D / 2, z));
  }
  // Laplace in N + D dimensions (n = N + D), t = r_D, rho = sqrt(t^2 + r^2):
  // phi = c/(n-2) rho^-(n-2) (n = 2: -c log rho), c = Gamma(n/2) / (pi^(N/2) Gamma(D/2)), so
  // p = -t^(D-1) phi_t = c t^D rho^-n has unit mass; J = -t^(D-1) d_r phi = p r / t; R = 0.
  double log_c(int dim) const {
    const double D = param("D");
    return special::log_gamma(0.5 * (dim + D)) - 0.5 * dim * std::log(M_PI) - special::log_gamma(0.5 * D);
  }
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double n = dim + param("D"), log_rho = std::log(std::hypot(t, r));
    if (n == 2) return SignedLog::from(-std::exp(log_c(dim)) * log_rho);
    return {log_c(dim) - std::log(n - 2) - (n - 2) * log_rho, 1};
  }
  std::string green_method(int dim) const override {
    return dim + param("D") == 2 ? "closed form: -(1/pi) log rho, rho = sqrt(t^2 + r^2)"
                                 : "closed form: c/(N+D-2) rho^-(N+D-2), c = Gamma((N+D)/2)/(pi^(N/2) Gamma(D/2))";
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double D = param("D"), n = dim + D;
    PointFlow f;
    f.p = {log_c(dim) + D * std::log(t) - n * std::log(std::hypot(t, r)), 1};
    if (r > 0) f.flux = {f.p.log_abs + std::log(r / t), 1};
    return f;
  }
  ConditionVerdict c1(int dim) const override {
    return c1_from_sign_scan(*this, dim,
                             "p = -t^(D-1) phi_t = c t^D rho^-(N+D) > 0 with unit mass (closed form)");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_pfgmpp_process(dim, param("D"));
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo poisson_module() {
  return {"poisson", {"pfgm", "pfgmpp", "pfgm++"}, "phi_tt + lap phi = 0 (N + D dimensions)",
    {
      {"D", 1, 1, 1000000000.0, false, "augmented dimensions: 1 = PFGM, large = diffusion"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<Poisson>("poisson", p); }};
}

}  // namespace genphys
