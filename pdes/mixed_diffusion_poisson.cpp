// mixed-diffusion-poisson: a phi_tt - b phi_t + lap phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class MixedDiffusionPoisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "a phi_tt - b phi_t + lap phi = 0"; }
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

ModuleInfo mixed_diffusion_poisson_module() {
  return {"mixed-diffusion-poisson", {}, "a phi_tt - b phi_t + lap phi = 0",
    {
      {"a", 1.0, 0, 1000000.0, true, "second-order time coefficient"},
      {"b", 1.0, 0, 1000000.0, true, "first-order time coefficient"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<MixedDiffusionPoisson>("mixed-diffusion-poisson", p); }};
}

}  // namespace genphys
