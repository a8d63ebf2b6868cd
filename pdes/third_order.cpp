// third-order: phi_ttt - lap phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"

namespace genphys {
namespace {

class ThirdOrder final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_ttt - lap phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {{3, 0, 1.0}, {0, 1, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    auto branch = [](complex unit) { return [unit](double k) { return unit * std::cbrt(k * k); }; };
    return {{"w = -i k^(2/3)", branch(complex(0, -1))},
            {"w = e^(i pi/6) k^(2/3)", branch(std::polar(1.0, M_PI / 6))},
            {"w = e^(5 i pi/6) k^(2/3)", branch(std::polar(1.0, 5 * M_PI / 6))}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_tt", "-grad phi / phi_tt", "0"}; }
  std::string c2_analytic() const override {
    return "Im w(k) = -k^(2/3) < 0 = Im w(0) on the branch -i k^(2/3); the other two grow";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  // On the decaying branch p-hat = exp(-t k^(2/3)): the symmetric (2/3)-stable law.
  complex green_hat(double k, double t) const override { return std::exp(-std::cbrt(k * k) * t); }
  // p = -phi_tt on the decaying branch: phi-hat = -p-hat / k^(4/3); dp-hat/dt / k^2 = -k^(-4/3) p-hat.
  std::string fourier_description() const override { return "p-hat = exp(-k^(2/3) t) (p = -phi_tt, phi-hat = -p-hat/k^(4/3))"; }
  FourierFlow fourier(double t) const override {
    auto p_hat = [t](double k) { return std::exp(-std::cbrt(k * k) * t); };
    auto phi_hat = [t](double k) { return -std::exp(-std::cbrt(k * k) * t) / std::cbrt(k * k * k * k); };
    return {p_hat, phi_hat, phi_hat};
  }
  SignedLog green(double r, double t, int dim) const override {
    // phi-hat ~ k^(-4/3) is not integrable at k = 0 in one dimension (phi grows like |x|^(1/3)).
    if (dim == 1) throw NotSupported("third-order: phi = -p / k^(4/3) in Fourier space has no transform in N = 1 (p does)");
    return FourierFlowModule::green(r, t, dim);
  }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, "k^(2/3) = (k^2)^(1/3) is a Bernstein function of k^2: a positive-stable scale mixture of Gaussians in every N");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    // The decaying branch's density has p-hat = exp(-t k^(2/3)): the 1/3-stable mixture.
    return make_stable_process(dim, 1.0 / 3.0);
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo third_order_module() { return module_info<ThirdOrder>("third-order", {}, "phi_ttt - lap phi = 0"); }

}  // namespace genphys
