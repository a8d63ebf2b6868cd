// diffusion: phi_t - lap phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"

namespace genphys {
namespace {

class Diffusion final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_t - lap phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {{1, 0, 1.0}, {0, 1, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = -i k^2", [](double k) { return complex(0, -k * k); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"phi", "-grad log phi", "0"}; }
  std::string c2_analytic() const override { return "Im w(k) = -k^2 < 0 = Im w(0)"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-k * k * t); }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, "the kernel is the Gaussian N(y, 2t I) in every N");
  }
  // phi = p = (4 pi t)^(-N/2) exp(-r^2 / 4t); J = -d_r phi = p r / (2t); R = 0.
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    return {-0.5 * dim * std::log(4 * M_PI * t) - r * r / (4 * t), 1};
  }
  std::string green_method(int) const override { return "closed form: (4 pi t)^(-N/2) exp(-r^2/4t)"; }
  PointFlow point_flow(double r, double t, int dim) const override {
    const SignedLog g = green(r, t, dim);
    PointFlow f;
    f.p = g;
    if (r > 0) f.flux = {g.log_abs + std::log(r / (2 * t)), 1};
    return f;
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_diffusion_process(dim);
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo diffusion_module() {
  return {"diffusion", {}, "phi_t - lap phi = 0",
    {

    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<Diffusion>("diffusion", p); }};
}

}  // namespace genphys
