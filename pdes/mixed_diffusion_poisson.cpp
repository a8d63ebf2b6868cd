// mixed-diffusion-poisson: a phi_tt - b phi_t + lap phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "physics/kernel_common.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {
namespace {

class MixedDiffusionPoisson final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override {
    return fmt::format("{} phi_tt - {} phi_t + lap phi = 0", param("a"), param("b"));
  }
  std::vector<OperatorTerm> operator_terms() const override {
    return {{2, 0, param("a")}, {1, 0, -param("b")}, {0, 1, -1.0}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double a = param("a"), b = param("b");
    auto branch = [a, b](double sign) {
      return [a, b, sign](double k) { return complex(0, (b + sign * std::sqrt(b * b + 4 * a * k * k)) / (2 * a)); };
    };
    return {{"w = (i/2a)(b - sqrt(b^2 + 4 a k^2))", branch(-1)}, {"w = (i/2a)(b + sqrt(b^2 + 4 a k^2))", branch(+1)}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"b phi - a phi_t", "-grad phi / (b phi - a phi_t)", "0"};
  }
  std::string c2_analytic() const override { return "Im w(k) = (b - sqrt(b^2 + 4 a k^2))/(2a) < 0 = Im w(0)"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override {
    const double a = param("a"), b = param("b");
    return std::exp(t * (b - std::sqrt(b * b + 4 * a * k * k)) / (2 * a));
  }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, "the kernel is an inverse-Gaussian scale mixture of Gaussians in every N");
  }
  // p = b phi - a phi_t with phi-hat ~ e^(lambda t), lambda = (b - q)/(2a), q = sqrt(b^2 + 4 a k^2):
  // phi-hat = p-hat / (b - a lambda) = 2 p-hat / (b + q); dp-hat/dt / k^2 = lambda p-hat / k^2 = -phi-hat.
  std::string fourier_description() const override { return "p-hat = exp(t (b - sqrt(b^2 + 4 a k^2))/(2a)) (phi-hat = 2 p-hat/(b + sqrt(b^2 + 4 a k^2)))"; }
  FourierFlow fourier(double t) const override {
    const double a = param("a"), b = param("b");
    // lambda = -2 k^2 / (b + q), free of the cancellation in b - q.
    auto p_hat = [a, b, t](double k) { return std::exp(-2 * k * k * t / (b + std::sqrt(b * b + 4 * a * k * k))); };
    auto phi_hat = [a, b, p_hat](double k) { return 2 * p_hat(k) / (b + std::sqrt(b * b + 4 * a * k * k)); };
    return {p_hat, phi_hat, [phi_hat](double k) { return -phi_hat(k); }};
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_mixed_diffusion_poisson_process(dim, param("a"), param("b"));
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo mixed_diffusion_poisson_module() {
  return module_info<MixedDiffusionPoisson>("mixed-diffusion-poisson", {}, "a phi_tt - b phi_t + lap phi = 0",
                                            {param_positive("a", 1.0, 1e6, "second-order time coefficient"),
                                             param_positive("b", 1.0, 1e6, "first-order time coefficient")});
}

// The inverse-Gaussian mixture with mean 2t/b and shape t^2/a (Yukawa's law with
// m' = b/(2 sqrt a) at t' = t/sqrt a).
std::unique_ptr<GenerativeProcess> make_mixed_diffusion_poisson_process(int dim, double a, double b) {
  detail::check_kernel_dim(dim);
  detail::check_kernel_param("a (needs a > 0)", a, a > 0.0);
  detail::check_kernel_param("b (needs b > 0)", b, b > 0.0);
  return std::make_unique<InverseGaussianMixture>(dim, 2.0 / b, 1.0 / a);
}

}  // namespace genphys
