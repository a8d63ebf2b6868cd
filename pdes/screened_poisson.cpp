// screened-poisson: phi_tt + lap phi - m^2 phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class ScreenedPoisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + lap phi - {}^2 phi = 0", param("m")); }
  std::vector<OperatorTerm> operator_terms() const override {
    const double m = param("m");
    return {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, -m * m}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double m = param("m");
    return {{"w = -i sqrt(k^2 + m^2)", [m](double k) { return complex(0, -std::hypot(k, m)); }},
            {"w = +i sqrt(k^2 + m^2)", [m](double k) { return complex(0, std::hypot(k, m)); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "grad phi / phi_t", "-m^2 phi"}; }
  std::string c2_analytic() const override { return "Im w(k) = -sqrt(k^2 + m^2) < -m = Im w(0)"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-std::hypot(k, param("m")) * t); }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo screened_poisson_module() {
  return {"screened-poisson", {"yukawa"}, "phi_tt + lap phi - m^2 phi = 0",
    {
      {"m", 1.0, 0, 1000000.0, true, "screening mass"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<ScreenedPoisson>("screened-poisson", p); }};
}

}  // namespace genphys
