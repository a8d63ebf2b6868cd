// helmholtz: phi_tt + lap phi + k0^2 phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class Helmholtz final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt + lap phi + k0^2 phi = 0"; }
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

ModuleInfo helmholtz_module() {
  return {"helmholtz", {}, "phi_tt + lap phi + k0^2 phi = 0",
    {
      {"k0", 0.5, 0, 1000000.0, false, "wave number"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<Helmholtz>("helmholtz", p); }};
}

}  // namespace genphys
