// tempered-diffusion: phi_t + ((-lap + m^2)^beta - m^(2 beta)) phi = 0
//
// The tempered fractional diffusion equation: fractional (beta-stable) at scales below 1/m, where
// (k^2 + m^2)^beta ~ k^(2 beta), ordinary diffusion with coefficient beta m^(2 beta - 2) beyond,
// where (k^2 + m^2)^beta - m^(2 beta) ~ beta m^(2 beta - 2) k^2. Its f(s) = (s + m^2)^beta - m^(2 beta)
// is Bernstein for 0 < beta < 1 (the tempered beta-stable subordinator), so the kernel is a
// Gaussian scale mixture. It has no hand-written sampler: its process is the generic one of the
// subordination route (src/physics/subordinator.hpp), the law of A_t by Laplace inversion.
// beta = 1/2 is the normalised Yukawa kernel (screened-poisson with the same m).
#include "modules.hpp"

#include "physics/subordinator.hpp"

namespace genphys {
namespace {

class TemperedDiffusion final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override {
    return fmt::format("phi_t + ((-lap + {}^2)^{} - {}) phi = 0", param("m"), param("beta"), m2beta());
  }
  std::vector<OperatorTerm> operator_terms() const override {
    const double m = param("m");
    return {{1, 0, 1.0}, {0, param("beta"), 1.0, m * m}, {0, 0, -m2beta()}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double m = param("m"), beta = param("beta"), c = m2beta();
    return {{"w = -i ((k^2 + m^2)^beta - m^(2 beta))",
             [m, beta, c](double k) { return complex(0, -(std::pow(k * k + m * m, beta) - c)); }}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"phi", "radial quantile transport of the subordinated kernel (no closed form)", "0"};
  }
  std::string c2_analytic() const override {
    return "Im w(k) = -((k^2 + m^2)^beta - m^(2 beta)) < 0 = Im w(0) for every k > 0";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-f(k * k) * t); }
  std::string fourier_description() const override { return "p-hat = exp(-((k^2 + m^2)^beta - m^(2 beta)) t) (phi = p)"; }
  // First order in t: phi = p; dp-hat/dt / k^2 = -(f(k^2)/k^2) p-hat, f(s)/s -> beta m^(2 beta - 2).
  FourierFlow fourier(double t) const override {
    auto p_hat = [this, t](double k) { return std::exp(-f(k * k) * t); };
    return {p_hat, p_hat, [this, t](double k) {
              const double s = k * k;
              const double ratio = s > 1e-12 ? f(s) / s : param("beta") * std::pow(param("m"), 2 * param("beta") - 2);
              return -ratio * std::exp(-f(s) * t);
            }};
  }
  ConditionVerdict c1(int) const override {
    const SubordinatorRoute route = subordinator_route(*this);
    return c1_from_green_hat(*this, route.f ? "p >= 0 in every N: " + route.reason
                                            : "but the subordination route does not apply: " + route.reason);
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // The generic subordinated process, nothing module-specific (beta = 1 is pure drift: the heat
  // kernel, which the route refuses with that reason).
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    const SubordinatorRoute route = subordinator_route(*this);
    if (!route.f) throw NotSupported("the subordination route does not apply: " + route.reason);
    return make_subordinated_process(dim, *route.f);
  }
  // ==== end kernel ========================================================================

 private:
  double m2beta() const { return std::pow(param("m"), 2 * param("beta")); }
  double f(double s) const { return std::pow(s + param("m") * param("m"), param("beta")) - m2beta(); }
};

}  // namespace

ModuleInfo tempered_diffusion_module() {
  return module_info<TemperedDiffusion>("tempered-diffusion", {"tempered-fractional-diffusion"},
                                        "phi_t + ((-lap + m^2)^beta - m^(2 beta)) phi = 0",
                                        {param_positive("beta", 0.5, 1, "fractional order (beta = 1: diffusion)"),
                                         param_positive("m", 1.0, 1e3, "tempering mass: fractional below 1/m, diffusive beyond")});
}

}  // namespace genphys
