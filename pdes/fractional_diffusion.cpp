// fractional-diffusion: phi_t + (-lap)^beta phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"
#include "physics/kernel_common.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {
namespace {

// The kernel exp(-t k^(2 beta)) for 0 < beta <= 1: A = 2 t^(1/beta) S, S positive beta-stable
// (s^beta is a Bernstein function, physics.md section 3).
class StableProcess final : public GaussianScaleMixture {
 public:
  // beta = 1/2 is the Poisson kernel, PFGM's (D = 1) at the same t, and beta = 1 the heat kernel:
  // their closed forms instead of quadrature over the stable law (~5 ms per density).
  StableProcess(int dim, double beta)
      : GaussianScaleMixture(dim), beta_(beta),
        closed_form_(beta == 0.5 ? make_pfgmpp_process(dim, 1.0) : beta == 1.0 ? make_diffusion_process(dim) : nullptr) {}
  // A scale: the mixture's variance is infinite for beta < 1, so there is no RMS to report.
  double sigma(double t) const override { return std::sqrt(2.0) * std::pow(t, 0.5 / beta_); }
  double time(double s) const override { return std::pow(s / std::sqrt(2.0), 2.0 * beta_); }
  // Self-similar: x - y = t^(1/(2 beta)) Z, so each source moves as (x - y) / (2 beta t).
  double velocity_scale(double t) const override { return 0.5 / (beta_ * t); }
  double step_rate(double t) const override { return sigma(t) * velocity_scale(t); }
  bool kernel_semigroup() const override { return true; }  // exp(-t k^(2 beta))
  bool heavy_tailed() const override { return beta_ < 1.0; }
  double sigma_min() const override { return heavy_tail_sigma_min(); }
  // sqrt(A) = sqrt(2 t^(1/beta) S) assembled in logs: S alone overflows for small beta.
  double sample_radius(Rng& rng, double t) const override {
    const double sqrt_a = sample_sqrt_mixing(rng, t);
    return std::sqrt(2.0 * half_n_(rng)) * sqrt_a;
  }
  void sample_displacement(Rng& rng, double t, double* out) const override {
    const double sqrt_a = sample_sqrt_mixing(rng, t);
    standard_normals(rng, out, static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) out[i] *= sqrt_a;
  }
  double log_kernel(double r, double t) const override {
    if (closed_form_) return closed_form_->log_kernel(r, t);
    return tabulated_log_kernel(r, t);
  }
  double radial_cdf(double r, double t) const override {
    if (closed_form_) return closed_form_->radial_cdf(r, t);
    return GaussianScaleMixture::radial_cdf(r, t);
  }

 protected:
  double scale(double t) const { return 2.0 * std::pow(t, 1.0 / beta_); }
  double sample_mixing(Rng& rng, double t) const override { return scale(t) * positive_stable_variate(rng, beta_); }
  double log_mixing_pdf(double a, double t) const override {
    const double c = scale(t);
    return positive_stable_log_pdf(beta_, a / c) - std::log(c);
  }
  double mixing_cdf(double a, double t) const override { return positive_stable_cdf(beta_, a / scale(t)); }
  double typical_mixing(double t) const override { return scale(t); }

 private:
  double sample_sqrt_mixing(Rng& rng, double t) const {
    return std::exp(0.5 * (detail::kLog2 + std::log(t) / beta_ + log_positive_stable_variate(rng, beta_)));
  }
  // Self-similar: x - y = s Z with s = t^(1/(2 beta)) and Z the t = 1 law, so log q_t(r) =
  // -N log s + g(log(r/s)) with g(u) = log q_1(e^u), fitted once per process (the quadrature over
  // the stable law costs ~5 ms per value; the exact field needs one per sample and source). Below
  // kLo, g is flat to e^(2 kLo); beyond kHi it is the power tail r^-(N + 2 beta), whose relative
  // correction is O(r^(-2 beta)) < e^(-2 beta kHi).
  static constexpr double kLo = -12.0, kHi = 25.0;
  double tabulated_log_kernel(double r, double t) const {
    detail::check_kernel_time(t);
    std::call_once(fit_once_, [this] {
      fit_ = detail::PiecewiseChebyshev(
          [this](double u) { return GaussianScaleMixture::log_kernel(std::exp(u), 1.0); }, kLo, kHi, 1e-11, 8);
      g_lo_ = fit_(kLo);
      g_hi_ = fit_(kHi);
    });
    const double log_s = std::log(t) / (2.0 * beta_);
    const double u = (r > 0.0 ? std::log(r) : -HUGE_VAL) - log_s;
    const double g = u <= kLo ? g_lo_ : u >= kHi ? g_hi_ - (n_ + 2.0 * beta_) * (u - kHi) : fit_(u);
    return g - n_ * log_s;
  }

  double beta_;
  std::unique_ptr<GenerativeProcess> closed_form_;
  mutable std::once_flag fit_once_;
  mutable detail::PiecewiseChebyshev fit_;
  mutable double g_lo_ = 0.0, g_hi_ = 0.0;
};

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
  return module_info<FractionalDiffusion>("fractional-diffusion", {}, "phi_t + (-lap)^beta phi = 0",
                                          {param_positive("beta", 0.5, 4, "fractional order")});
}

std::unique_ptr<GenerativeProcess> make_stable_process(int dim, double beta) {
  detail::check_kernel_dim(dim);
  detail::check_kernel_param("beta (needs 0 < beta <= 1)", beta, beta > 0.0);
  if (beta > 1.0)
    throw NotSupported("fractional diffusion with beta = " + std::to_string(beta) +
                       " > 1: exp(-t k^(2 beta)) is not positive definite, so the kernel has negative lobes (C1 fails)");
  return std::make_unique<StableProcess>(dim, beta);
}

}  // namespace genphys
