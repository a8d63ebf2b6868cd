// poisson: phi_tt + lap phi = 0 (N + D dimensions)
#include "modules.hpp"

namespace genphys {
namespace {

class Poisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt + lap phi = 0 (N + D dimensions)"; }
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

ModuleInfo poisson_module() {
  return {"poisson", {"pfgm", "pfgmpp", "pfgm++"}, "phi_tt + lap phi = 0 (N + D dimensions)",
    {
      {"D", 1, 1, 1000000000.0, false, "augmented dimensions: 1 = PFGM, large = diffusion"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<Poisson>("poisson", p); }};
}

}  // namespace genphys
