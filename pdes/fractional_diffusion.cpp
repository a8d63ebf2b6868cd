// fractional-diffusion: phi_t + (-lap)^beta phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"

namespace genphys {
namespace {

class FractionalDiffusion final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_t + (-lap)^{} phi = 0", param("beta")); }
  std::vector<OperatorTerm> operator_terms() const override { return {{1, 0, 1.0}, {0, param("beta"), 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    const double beta = param("beta");
    return {{"w = -i k^(2 beta)", [beta](double k) { return complex(0, -std::pow(k, 2 * beta)); }}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"phi", "-grad (-lap)^(beta - 1) phi / phi", "0"};
  }
  std::string c2_analytic() const override { return "Im w(k) = -k^(2 beta) < 0 = Im w(0) for every beta > 0"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-std::pow(k, 2 * param("beta")) * t); }
  // First order in t: phi = p; dp-hat/dt / k^2 = -k^(2 beta - 2) p-hat (integrable in N + 2 dims).
  std::string fourier_description() const override { return "p-hat = exp(-k^(2 beta) t) (phi = p)"; }
  FourierFlow fourier(double t) const override {
    const double beta = param("beta");
    auto p_hat = [t, beta](double k) { return std::exp(-std::pow(k, 2 * beta) * t); };
    return {p_hat, p_hat, [t, beta](double k) { return -std::pow(k, 2 * beta - 2) * std::exp(-std::pow(k, 2 * beta) * t); }};
  }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, param("beta") <= 1
        ? "s^beta is a Bernstein function for beta <= 1: the kernel is a positive-stable scale mixture of Gaussians in every N"
        : "beta > 1 but no negative value was resolved");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    // beta > 1 has no positive kernel (C1 fails): no generative process.
    if (param("beta") > 1) return nullptr;
    return make_stable_process(dim, param("beta"));
  }
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
