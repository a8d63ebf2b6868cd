// dissipative-wave: phi_tt + 2 eps phi_t - lap phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class DissipativeWave final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return fmt::format("phi_tt + 2 {} phi_t - lap phi = 0", param("eps")); }
  std::vector<OperatorTerm> operator_terms() const override { return {{2, 0, 1.0}, {1, 0, 2 * param("eps")}, {0, 1, 1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    const double e = param("eps");
    // Principal complex sqrt: the "+" branch is the slow one (w(0) = 0), "-" the fast (w(0) = -2i eps).
    return {{"w = -i eps + sqrt(k^2 - eps^2) (slow)",
             [e](double k) { return complex(0, -e) + std::sqrt(complex((k - e) * (k + e), 0)); }},
            {"w = -i eps - sqrt(k^2 - eps^2) (fast)",
             [e](double k) { return complex(0, -e) - std::sqrt(complex((k - e) * (k + e), 0)); }}};
  }
  DensityFlowForm density_flow_form() const override {
    return {"-(phi_t + 2 eps phi)", "grad phi / (phi_t + 2 eps phi)", "0"};
  }
  std::string c2_analytic() const override {
    return "slow branch: Im w(k) = -eps + sqrt(eps^2 - k^2) for k <= eps and -eps above, < 0 = Im w(0), "
           "a gap bounded by eps; the fast branch has Im w(k) > Im w(0) = -2 eps";
  }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  ConditionVerdict c1(int dim) const override {
    const double eps = param("eps");
    if (dim == 1)
      return {Verdict::yes,
              "in N = 1 the telegraph kernel is positive: two pulses of weight exp(-eps t)/2 plus a positive "
              "Bessel-I0/I1 bulk",
              ""};
    // As for the ideal wave, the front |x - y| = t is not a positive density in N >= 2; it carries
    // the undamped fraction exp(-eps t) of the mass, the diffusive bulk behind it is positive.
    const double t_valid = std::log(1e3) / eps;
    return {Verdict::conditional,
            fmt::format("p = -(phi_t + 2 eps phi) is negative just inside the wave front in N >= 2; the front "
                        "carries a mass fraction exp(-eps t) = exp(-{:.4g} t)",
                        eps),
            fmt::format("p is a density up to a front of mass fraction < 1e-3 only for t >= ln(1e3)/eps = {:.4g}",
                        t_valid)};
  }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo dissipative_wave_module() {
  return {"dissipative-wave", {}, "phi_tt + 2 eps phi_t - lap phi = 0",
    {
      {"eps", 1.0, 0, 1000000.0, false, "damping rate"}
    },
    [](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<DissipativeWave>("dissipative-wave", p); }};
}

}  // namespace genphys
