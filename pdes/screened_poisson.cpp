// screened-poisson: phi_tt + lap phi - m^2 phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"
#include "genphys/special.hpp"
#include "physics/kernel_common.hpp"
#include "physics/scale_mixture.hpp"

namespace genphys {
namespace {

class ScreenedPoisson final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + lap phi - {}^2 phi = 0", param("m")); }
  std::vector<OperatorTerm> operator_terms() const override {
    const double m = param("m");
    return {{2, 0, 1.0}, {0, 1, -1.0}, {0, 0, -m * m}};
  }
  std::vector<DispersionBranch> dispersion() const override {
    const double m = param("m");
    return {{"w = -i sqrt(k^2 + m^2)", [m](double k) { return complex(0, -std::hypot(k, m)); }},
            {"w = +i sqrt(k^2 + m^2)", [m](double k) { return complex(0, std::hypot(k, m)); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "grad phi / phi_t", "-m^2 phi"}; }
  std::string c2_analytic() const override { return "Im w(k) = -sqrt(k^2 + m^2) < -m = Im w(0)"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  complex green_hat(double k, double t) const override { return std::exp(-std::hypot(k, param("m")) * t); }
  // (Lap_(N+1) - m^2) in (x, t), doubled for the half space t > 0 so p has unit mass at t -> 0:
  // phi = 2 C (m/rho)^nu K_nu(m rho), C = (2 pi)^(-(N+1)/2), nu = (N-1)/2;
  // p = -phi_t = 2 C m^(nu+1) t rho^-(nu+1) K_(nu+1)(m rho) (p-hat = exp(-sqrt(k^2+m^2) t), mass e^(-m t));
  // J = -d_r phi = p r / t; R = -m^2 phi.
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double m = param("m"), nu = 0.5 * (dim - 1), rho = std::hypot(t, r);
    return {log_2c(dim) + nu * std::log(m / rho) + special::log_bessel_k(nu, m * rho), 1};
  }
  std::string green_method(int) const override {
    return "closed form: 2 (2 pi)^(-(N+1)/2) (m/rho)^nu K_nu(m rho), nu = (N-1)/2, rho = sqrt(t^2 + r^2)";
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    const double m = param("m"), nu = 0.5 * (dim - 1), rho = std::hypot(t, r);
    PointFlow f;
    f.p = {log_2c(dim) + (nu + 1) * std::log(m) + std::log(t) - (nu + 1) * std::log(rho) +
               special::log_bessel_k(nu + 1, m * rho),
           1};
    if (r > 0) f.flux = {f.p.log_abs + std::log(r / t), 1};
    const SignedLog phi = green(r, t, dim);
    f.rate = {phi.log_abs + 2 * std::log(m), -1};
    return f;
  }
  static double log_2c(int dim) { return std::log(2.0) - 0.5 * (dim + 1) * std::log(2 * M_PI); }
  ConditionVerdict c1(int dim) const override {
    return c1_from_sign_scan(*this, dim,
                             "p = -phi_t = 2 C m^(nu+1) t rho^-(nu+1) K_(nu+1)(m rho) > 0 (closed form; mass exp(-m t), removed at rate R = -m^2 phi)");
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    return make_yukawa_process(dim, param("m"));
  }
  std::unique_ptr<GenerativeProcess> unnormalised_generative(int dim) const override {
    return make_unnormalised_yukawa_process(dim, param("m"));
  }
  // ==== end kernel ========================================================================
};

// The screened-Poisson kernel as first written: density -phi_t of Yukawa's own (unnormalised)
// flow, velocity (x - y)/t and mass removed at the rate R/p. Sampling its plain ODE ignores R and
// gets the data's weights wrong (an isolated point among clustered ones gets none of the samples;
// tests/physics/test_exact_shares.cpp measures it); kept as the measured alternative.
class UnnormalisedYukawaProcess final : public GenerativeProcess {
 public:
  UnnormalisedYukawaProcess(int dim, double m) : m_(m), kernel_(dim, 1.0 / m, 1.0) {}
  int dim() const override { return kernel_.dim(); }
  double sigma(double t) const override { return kernel_.sigma(t); }
  double time(double s) const override { return kernel_.time(s); }
  double velocity_scale(double t) const override { return 1.0 / t; }
  double step_variable(double t) const override { return t; }
  double step_time(double lambda) const override { return lambda; }
  double step_rate(double) const override { return 1.0; }
  double log_kernel(double r, double t) const override { return kernel_.log_kernel(r, t); }
  double radial_cdf(double r, double t) const override { return kernel_.radial_cdf(r, t); }
  void sample_displacement(Rng& rng, double t, double* out) const override { kernel_.sample_displacement(rng, t, out); }
  double sample_radius(Rng& rng, double t) const override { return kernel_.sample_radius(rng, t); }
  bool has_birth_death() const override { return true; }
  // R/p = -m^2 phi / (-phi_t) with phi = rho^-nu K_nu(m rho), nu = (N-1)/2, rho^2 = r^2 + t^2;
  // d/drho [rho^-nu K_nu(m rho)] = -m rho^-nu K_{nu+1}(m rho) gives
  // R/p = -(m rho / t) K_nu(m rho) / K_{nu+1}(m rho).
  double birth_death_ratio(double r, double t) const override {
    const double z = m_ * std::hypot(r, t);
    return -(z / t) / special::bessel_k_ratio(0.5 * (dim() - 1), z);
  }

 private:
  double m_;
  InverseGaussianMixture kernel_;
};

}  // namespace

ModuleInfo screened_poisson_module() {
  return module_info<ScreenedPoisson>("screened-poisson", {"yukawa"}, "phi_tt + lap phi - m^2 phi = 0",
                                      {param_positive("m", 1.0, 1e6, "screening mass")});
}

// The normalised kernel is the inverse-Gaussian mixture with mean t/m and shape t^2.
std::unique_ptr<GenerativeProcess> make_yukawa_process(int dim, double m) {
  detail::check_kernel_dim(dim);
  detail::check_kernel_param("m (needs m > 0)", m, m > 0.0);
  return std::make_unique<InverseGaussianMixture>(dim, 1.0 / m, 1.0);
}

std::unique_ptr<GenerativeProcess> make_unnormalised_yukawa_process(int dim, double m) {
  detail::check_kernel_dim(dim);
  detail::check_kernel_param("m (needs m > 0)", m, m > 0.0);
  return std::make_unique<UnnormalisedYukawaProcess>(dim, m);
}

}  // namespace genphys
