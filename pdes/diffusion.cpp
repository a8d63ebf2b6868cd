// diffusion: phi_t - lap phi = 0
#include "modules.hpp"

#include <boost/math/special_functions/gamma.hpp>

#include "genphys/density_flow.hpp"
#include "physics/kernel_common.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {
namespace {

// The heat kernel N(y, 2t I): a Gaussian scale mixture with the deterministic A = 2t.
class DiffusionProcess final : public GaussianScaleMixture {
 public:
  explicit DiffusionProcess(int dim) : GaussianScaleMixture(dim) {}
  double sigma(double t) const override { return std::sqrt(2.0 * t); }
  double time(double s) const override { return 0.5 * s * s; }
  double velocity_scale(double t) const override { return 0.5 / t; }
  double step_rate(double t) const override { return 1.0 / std::sqrt(2.0 * t); }
  bool kernel_semigroup() const override { return true; }  // N(0, 2t) * N(0, 2s) = N(0, 2(t + s))
  double sample_radius(Rng& rng, double t) const override { return 2.0 * std::sqrt(t * half_n_(rng)); }
  double log_kernel(double r, double t) const override {
    detail::check_kernel_time(t);
    return -0.5 * n_ * (std::log(4.0 * M_PI * t)) - r * r / (4.0 * t);
  }
  double radial_cdf(double r, double t) const override {
    detail::check_kernel_time(t);
    const double x = r * r / (4.0 * t);
    if (!(x > 0.0)) return 0.0;
    return x < HUGE_VAL ? boost::math::gamma_p(0.5 * n_, x) : 1.0;
  }

 protected:
  double sample_mixing(Rng&, double t) const override { return 2.0 * t; }
  double log_mixing_pdf(double, double) const override { throw std::logic_error("diffusion: A is deterministic"); }
  double mixing_cdf(double a, double t) const override { return a >= 2.0 * t ? 1.0 : 0.0; }
  double typical_mixing(double t) const override { return 2.0 * t; }
};

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

ModuleInfo diffusion_module() { return module_info<Diffusion>("diffusion", {}, "phi_t - lap phi = 0"); }

std::unique_ptr<GenerativeProcess> make_diffusion_process(int dim) {
  detail::check_kernel_dim(dim);
  return std::make_unique<DiffusionProcess>(dim);
}

}  // namespace genphys
