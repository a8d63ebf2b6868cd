// fractional-diffusion: phi_t + (-lap)^beta phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class FractionalDiffusion final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_t + (-lap)^beta phi = 0"; }
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

ModuleInfo fractional_diffusion_module() {
  return {"fractional-diffusion", {}, "phi_t + (-lap)^beta phi = 0",
    {
      {"beta", 0.5, 0, 4, true, "fractional order"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<FractionalDiffusion>("fractional-diffusion", p); }};
}

}  // namespace genphys
