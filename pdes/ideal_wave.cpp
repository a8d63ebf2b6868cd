// ideal-wave: phi_tt - lap phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class IdealWave final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt - lap phi = 0"; }
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

ModuleInfo ideal_wave_module() {
  return {"ideal-wave", {"wave"}, "phi_tt - lap phi = 0",
    {

    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<IdealWave>("ideal-wave", p); }};
}

}  // namespace genphys
