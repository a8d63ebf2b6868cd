// biharmonic: phi_t + lap lap phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"

namespace genphys {
namespace {

class Biharmonic final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_t + lap lap phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {{1, 0, 1.0}, {0, 2, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = -i k^4", [](double k) { return complex(0, -k * k * k * k); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"phi", "grad(lap phi) / phi", "0"}; }
  std::string c2_analytic() const override { return "Im w(k) = -k^4 < 0 = Im w(0)"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-k * k * k * k * t); }
  // First order in t: phi = p; dp/dt = -k^4 p-hat, so dp-hat/dt / k^2 = -k^2 p-hat.
  std::string fourier_description() const override { return "p-hat = exp(-k^4 t) (phi = p; its negative lobes are real)"; }
  FourierFlow fourier(double t) const override {
    auto p_hat = [t](double k) { return std::exp(-k * k * k * k * t); };
    return {p_hat, p_hat, [t](double k) { return -k * k * std::exp(-k * k * k * k * t); }};
  }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, "no mixture argument applies (k^4 is not a Bernstein function)");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo biharmonic_module() { return module_info<Biharmonic>("biharmonic", {}, "phi_t + lap lap phi = 0"); }

}  // namespace genphys
