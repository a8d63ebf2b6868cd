// ideal-wave: phi_tt - lap phi = 0
#include "modules.hpp"

#include "genphys/density_flow.hpp"

namespace genphys {
namespace {

class IdealWave final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "phi_tt - lap phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {0, 1, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = -k", [](double k) { return complex(-k, 0); }}, {"w = +k", [](double k) { return complex(k, 0); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"-phi_t", "-grad phi / phi_t", "0"}; }
  std::string c2_analytic() const override { return "Im w(k) = 0 = Im w(0) on both branches: no mode decays"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  ConditionVerdict c1(int dim) const override {
    if (dim == 1) return {Verdict::yes, "in N = 1, p = (delta(x - y - t) + delta(x - y + t))/2 >= 0: two pulses", ""};
    // The N-dim kernel has the 2D kernel (FT cos(kt) too) as a marginal; inside the light cone
    // the 2D one is d/dt [1/(2 pi sqrt(t^2 - r^2))] = -t / (2 pi (t^2 - r^2)^(3/2)) < 0.
    const double t = 1.0, r = 0.5;
    const double p_inside = -t / (2 * M_PI * std::pow(t * t - r * r, 1.5));
    return {Verdict::no,
            fmt::format("p = -phi_t is negative inside the light cone: p(r = 0.5, t = 1) = {:.4g} in the 2D "
                        "marginal of the N-dim kernel, so p < 0 in every N >= 2",
                        p_inside),
            ""};
  }
  complex green_hat(double k, double t) const override { return std::cos(k * t); }
  // The dissipative-wave kernel at eps = 0, inside the light cone (zero there for odd N >= 3:
  // Huygens); the singular front r = t is left out. phi = -u, p = -phi_t = u_t.
  SignedLog green(double r, double t, int dim) const override {
    const SignedLog u = telegraph_interior(0.0, r, t, dim).u;
    return {u.log_abs, -u.sign};
  }
  std::string green_method(int) const override {
    return "closed form inside the light cone r < t: phi = -(2 pi)^(-nu)/2 2^nu tau^(-2 nu)/Gamma(1 - nu), "
           "tau = sqrt(t^2 - r^2), nu = (N-1)/2; 0 for r > t; the singular front at r = t is left out";
  }
  PointFlow point_flow(double r, double t, int dim) const override { return telegraph_interior(0.0, r, t, dim).flow; }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo ideal_wave_module() { return module_info<IdealWave>("ideal-wave", {"wave"}, "phi_tt - lap phi = 0"); }

}  // namespace genphys
