// fractional-poisson: phi_tt - (-lap)^alpha phi = 0
//
// The space-fractional Poisson (PFGM) equation: the augmented-dimension Laplace equation
// phi_tt + lap phi = 0 with the Laplacian replaced by the fractional one, -(-lap)^alpha (Riesz;
// Fourier multiplier k^(2 alpha)). alpha = 1 is PFGM.
//
// Dispersion: phi ~ exp(i(k.x - w t)) gives -w^2 - k^(2 alpha) = 0, w = -+ i k^alpha. The decaying
// branch phi-hat ~ exp(-k^alpha t) passes C2 for every alpha > 0 (Im w = -k^alpha < 0 = Im w(0));
// the growing one is dropped as for Poisson (phi bounded as t -> inf).
//
// Density flow: p = -phi_t, so p-hat = exp(-t k^alpha) for the point source (phi-hat =
// exp(-t k^alpha)/k^alpha). Then p_t = -phi_tt = -(-lap)^alpha phi = div grad (-lap)^(alpha-1) phi,
// so p_t + div(p v) = 0 with p v = -grad (-lap)^(alpha-1) phi: v = grad (-lap)^(alpha-1) phi /
// phi_t, R = 0 (Poisson's grad phi / phi_t at alpha = 1).
//
// Kernel: exp(-t k^alpha) = exp(-t (k^2)^(alpha/2)) is the characteristic function of the
// isotropic alpha-stable law of scale t^(1/alpha) (Levy; positive definite exactly for
// 0 < alpha <= 2). By Bochner subordination, s -> s^(alpha/2) is a Bernstein function for
// alpha <= 2, so the kernel is a Gaussian scale mixture x = y + sqrt(A) xi over a positive
// (alpha/2)-stable A = 2 t^(2/alpha) S: the fractional-diffusion kernel exp(-t k^(2 beta)) with
// beta = alpha/2 at the same t (physics.md section 3; Feller 1971, XIII.7 and XVII.6). Special
// cases: alpha = 1 the Poisson kernel c t / (t^2 + r^2)^((N+1)/2); alpha = 2 the heat kernel
// N(y, 2t I). For alpha > 2 exp(-t k^alpha) is not positive definite (a law with that transform
// would have variance -d^2/dk^2 at k = 0, which is 0: a point mass, whose transform is 1), so the
// 1D kernel has negative lobes and C1 fails.
//
// One source's flow is the fractional diffusion's at beta = alpha/2: the same p-hat, and the flux
// J-hat = -i k k^(alpha-2) p-hat of both. What the second-order form adds is the potential phi
// (phi-hat = p-hat / k^alpha) and the growing branch; the density flow reads p = -phi_t as for
// PFGM.
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "physics/kernel_common.hpp"

namespace genphys {
namespace {

class FractionalPoisson final : public FourierFlowModule {
 public:
  using FourierFlowModule::FourierFlowModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt - (-lap)^{} phi = 0", param("alpha")); }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {0, param("alpha"), -1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    const double alpha = param("alpha");
    return {{"w = -i k^alpha", [alpha](double k) { return complex(0, -std::pow(k, alpha)); }},
            {"w = +i k^alpha", [alpha](double k) { return complex(0, std::pow(k, alpha)); }}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"-phi_t", "grad (-lap)^(alpha - 1) phi / phi_t", "0"};
  }
  std::string c2_analytic() const override {
    return "Im w(k) = -k^alpha < 0 = Im w(0) on the decaying branch for every alpha > 0";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-std::pow(k, param("alpha")) * t); }
  // phi-hat = p-hat / k^alpha is integrable at k = 0 only for N > alpha: below, phi is defined up
  // to a constant (as the 2D Poisson potential, log rho); p and the flux need no phi.
  SignedLog green(double r, double t, int dim) const override {
    if (!(dim > param("alpha")))
      throw NotSupported(fmt::format("fractional-poisson: phi-hat = exp(-t k^alpha)/k^alpha is not integrable at "
                                     "k = 0 for N = {} <= alpha = {}; phi is defined only up to a constant",
                                     dim, param("alpha")));
    return FourierFlowModule::green(r, t, dim);
  }
  std::string fourier_description() const override {
    return "p-hat = exp(-k^alpha t) (phi-hat = p-hat / k^alpha)";
  }
  FourierFlow fourier(double t) const override {
    const double alpha = param("alpha");
    auto p_hat = [t, alpha](double k) { return std::exp(-std::pow(k, alpha) * t); };
    return {p_hat, [p_hat, alpha](double k) { return p_hat(k) / std::pow(k, alpha); },
            [p_hat, alpha](double k) { return -std::pow(k, alpha - 2) * p_hat(k); }};
  }
  ConditionVerdict c1(int) const override {
    return c1_from_green_hat(*this, param("alpha") <= 2
        ? "exp(-t k^alpha) is the alpha-stable characteristic function for alpha <= 2: a positive "
          "(alpha/2)-stable scale mixture of Gaussians in every N"
        : "alpha > 2 but no negative value was resolved");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // The fractional-diffusion process at beta = alpha/2; none for alpha > 2 (C1 fails).
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return param("alpha") > 2 ? nullptr : make_fractional_poisson_process(dim, param("alpha"));
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo fractional_poisson_module() {
  return module_info<FractionalPoisson>("fractional-poisson", {}, "phi_tt - (-lap)^alpha phi = 0",
                                        {param_positive("alpha", 1.5, 4, "fractional order (1 = PFGM, 2 = heat kernel)")});
}

std::unique_ptr<GenerativeProcess> make_fractional_poisson_process(int dim, double alpha) {
  detail::check_kernel_param("alpha (needs 0 < alpha <= 2)", alpha, alpha > 0.0);
  if (alpha > 2.0)
    throw NotSupported(fmt::format("fractional Poisson with alpha = {} > 2: exp(-t k^alpha) is not positive definite, "
                                   "so the kernel has negative lobes (C1 fails)",
                                   alpha));
  return make_stable_process(dim, 0.5 * alpha);
}

}  // namespace genphys
