// poisson: phi_tt + lap phi = 0 (N + D dimensions)
#include "modules.hpp"

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
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "grad phi / phi_t", "0"}; }
  std::string c2_analytic() const override {
    return "Im w(k) = -k < 0 = Im w(0) on the decaying branch (for D > 1 the augmented radial "
           "operator keeps the exp(-k r_D) decay at large k r_D)";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override {
    // Characteristic function of the PFGM++ kernel: 2^(1-D/2)/Gamma(D/2) z^(D/2) K_(D/2)(z), z = k t;
    // exp(-k t) for D = 1.
    const double D = param("D"), z = k * t;
    if (z == 0.0) return 1.0;
    if (D == 1) return std::exp(-z);
    return std::exp((1 - D / 2) * std::log(2.0) - std::lgamma(D / 2) + (D / 2) * std::log(z) +
                    std::log(boost::math::cyl_bessel_k(D / 2, z)));
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
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
