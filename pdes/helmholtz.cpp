// helmholtz: phi_tt + lap phi + k0^2 phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class Helmholtz final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + lap phi + {}^2 phi = 0", param("k0")); }
  std::vector<OperatorTerm> operator_terms() const override {
    const double k0 = param("k0");
    return {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, k0 * k0}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double k0 = param("k0");
    // Principal complex sqrt: real for k <= k0, +i sqrt(k^2 - k0^2) above.
    return {{"w = -sqrt(k0^2 - k^2)", [k0](double k) { return -std::sqrt(complex((k0 - k) * (k0 + k), 0)); }},
            {"w = +sqrt(k0^2 - k^2)", [k0](double k) { return std::sqrt(complex((k0 - k) * (k0 + k), 0)); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "grad phi / phi_t", "k0^2 phi"}; }
  std::string c2_analytic() const override {
    return "Im w(k) = 0 = Im w(0) for k <= k0 (oscillating modes), -sqrt(k^2 - k0^2) < 0 above";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override {
    const double k0 = param("k0");
    return k <= k0 ? std::exp(complex(0, -std::sqrt(k0 * k0 - k * k) * t)) : std::exp(-std::sqrt(k * k - k0 * k0) * t);
  }
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
