// poisson: phi_tt + lap phi = 0 (N + D dimensions)
#include "modules.hpp"

#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>

#include "genphys/density_flow.hpp"
#include "genphys/special.hpp"
#include "physics/kernel_common.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {
namespace {

// PFGM++: A ~ InvGamma(D/2, t^2/2), R = t sqrt(G_{N/2} / G_{D/2}).
class PfgmppProcess final : public GaussianScaleMixture {
 public:
  PfgmppProcess(int dim, double D)
      : GaussianScaleMixture(dim), D_(D), half_d_(0.5 * D),
        log_norm_(std::lgamma(0.5 * (dim + D)) - std::lgamma(0.5 * D) - 0.5 * dim * detail::kLogPi) {}
  double sigma(double t) const override { return t / std::sqrt(D_); }
  double time(double s) const override { return s * std::sqrt(D_); }
  double velocity_scale(double t) const override { return 1.0 / t; }
  double step_rate(double) const override { return 1.0 / std::sqrt(D_); }
  // exp(-t |k|) for D = 1 (the Poisson kernel); phi(k t) = z^(D/2) K_(D/2)(z) otherwise, no semigroup.
  bool kernel_semigroup() const override { return D_ == 1.0; }
  // The radial density falls as r^(-D-1): E[r^2] is infinite for D <= 2.
  bool heavy_tailed() const override { return D_ <= 2.0; }
  double sigma_min() const override { return heavy_tail_sigma_min(); }
  // Normalised 1/(r^2 + t^2)^((N+D)/2), written with log1p so that D = 1e6 keeps its digits.
  double log_kernel(double r, double t) const override {
    detail::check_kernel_time(t);
    const double q = r / t;
    const double l = q < 1e150 ? std::log1p(q * q) : 2.0 * std::log(q);
    return log_norm_ - n_ * std::log(t) - 0.5 * (n_ + D_) * l;
  }
  // R^2 / (R^2 + t^2) ~ Beta(N/2, D/2); the complement argument when it is the more accurate.
  double radial_cdf(double r, double t) const override {
    detail::check_kernel_time(t);
    if (!(r > 0.0)) return 0.0;
    if (std::isinf(r)) return 1.0;
    const double q = r / t, q2 = q * q;
    if (std::isinf(q2)) return 1.0;
    const double x = q2 / (1.0 + q2), y = 1.0 / (1.0 + q2);
    return x < 0.5 ? boost::math::ibeta(0.5 * n_, 0.5 * D_, x) : boost::math::ibetac(0.5 * D_, 0.5 * n_, y);
  }

 protected:
  double sample_mixing(Rng& rng, double t) const override { return 0.5 * t * t / half_d_(rng); }
  double log_mixing_pdf(double a, double t) const override {
    if (!(a > 0.0)) return -HUGE_VAL;
    const double al = 0.5 * D_, b = 0.5 * t * t;
    return al * std::log(b) - std::lgamma(al) - (al + 1.0) * std::log(a) - b / a;
  }
  double mixing_cdf(double a, double t) const override {
    if (!(a > 0.0)) return 0.0;
    return boost::math::gamma_q(0.5 * D_, 0.5 * t * t / a);
  }
  double typical_mixing(double t) const override { return t * t / D_; }

 private:
  double D_;
  GammaVariate half_d_;
  double log_norm_;
};

class Poisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override {
    return param("D") == 1 ? "phi_tt + lap phi = 0"
                           : fmt::format("phi_rr + ({} - 1)/r phi_r + lap phi = 0 (r = |z|, z in R^D)", param("D"));
  }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {0, 1, -1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = -i k", [](double k) { return complex(0, -k); }},
            {"w = +i k", [](double k) { return complex(0, k); }}};
  }
  DensityFlowForm density_flow_form() const override {
    if (param("D") == 1) return {"-phi_t", "grad phi / phi_t", "0"};
    return {"-t^(D-1) phi_t (t = r_D)", "grad phi / phi_t", "0"};
  }
  std::string c2_analytic() const override {
    return "Im w(k) = -k < 0 = Im w(0) on the decaying branch (for D > 1 the augmented radial "
           "operator keeps the exp(-k r_D) decay at large k r_D)";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override {
    // Characteristic function of the PFGM++ kernel: 2^(1-D/2)/Gamma(D/2) z^(D/2) K_(D/2)(z), z = k t;
    // exp(-k t) for D = 1. In logs: K_(D/2) overflows for large D at small z.
    const double D = param("D"), z = k * t;
    if (z == 0.0) return 1.0;
    if (D == 1) return std::exp(-z);
    return std::exp((1 - D / 2) * std::log(2.0) - special::log_gamma(D / 2) + (D / 2) * std::log(z) +
                    special::log_bessel_k(D / 2, z));
  }
  // Laplace in N + D dimensions (n = N + D), t = r_D, rho = sqrt(t^2 + r^2):
  // phi = c/(n-2) rho^-(n-2) (n = 2: -c log rho), c = Gamma(n/2) / (pi^(N/2) Gamma(D/2)), so
  // p = -t^(D-1) phi_t = c t^D rho^-n has unit mass; J = -t^(D-1) d_r phi = p r / t; R = 0.
  double log_c(int dim) const {
    const double D = param("D");
    return special::log_gamma(0.5 * (dim + D)) - 0.5 * dim * std::log(M_PI) - special::log_gamma(0.5 * D);
  }
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double n = dim + param("D"), log_rho = std::log(std::hypot(t, r));
    if (n == 2) return SignedLog::from(-std::exp(log_c(dim)) * log_rho);
    return {log_c(dim) - std::log(n - 2) - (n - 2) * log_rho, 1};
  }
  std::string green_method(int dim) const override {
    return dim + param("D") == 2 ? "closed form: -(1/pi) log rho, rho = sqrt(t^2 + r^2)"
                                 : "closed form: c/(N+D-2) rho^-(N+D-2), c = Gamma((N+D)/2)/(pi^(N/2) Gamma(D/2))";
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double D = param("D"), n = dim + D;
    PointFlow f;
    f.p = {log_c(dim) + D * std::log(t) - n * std::log(std::hypot(t, r)), 1};
    if (r > 0) f.flux = {f.p.log_abs + std::log(r / t), 1};
    return f;
  }
  ConditionVerdict c1(int dim) const override {
    return c1_from_sign_scan(*this, dim,
                             "p = -t^(D-1) phi_t = c t^D rho^-(N+D) > 0 with unit mass (closed form)");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_pfgmpp_process(dim, param("D"));
  }
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo poisson_module() {
  return module_info<Poisson>("poisson", {"pfgm", "pfgmpp", "pfgm++"}, "phi_tt + lap phi = 0 (N + D dimensions)",
                              {param_in("D", 1, 1, 1e9, "augmented dimensions: 1 = PFGM, large = diffusion")});
}

std::unique_ptr<GenerativeProcess> make_pfgmpp_process(int dim, double D) {
  detail::check_kernel_dim(dim);
  detail::check_kernel_param("D (needs D >= 1)", D, D >= 1.0);
  return std::make_unique<PfgmppProcess>(dim, D);
}

}  // namespace genphys
