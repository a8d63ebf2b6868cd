// dissipative-wave: phi_tt + 2 eps phi_t - lap phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class DissipativeWave final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt + 2 eps phi_t - lap phi = 0"; }
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

ModuleInfo dissipative_wave_module() {
  return {"dissipative-wave", {}, "phi_tt + 2 eps phi_t - lap phi = 0",
    {
      {"eps", 1.0, 0, 1000000.0, false, "damping rate"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<DissipativeWave>("dissipative-wave", p); }};
}

}  // namespace genphys
