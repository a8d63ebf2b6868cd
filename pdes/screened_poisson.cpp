// screened-poisson: phi_tt + lap phi - m^2 phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class ScreenedPoisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt + lap phi - m^2 phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {}; }
  std::vector<DispersionBranch> dispersion() const override { return {}; }
  DensityFlowForm density_flow_form() const override { return {}; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
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
