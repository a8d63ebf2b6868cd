// schrodinger: i phi_t + lap phi = 0
#include "modules.hpp"

namespace genphys {
namespace {

class Schrodinger final : public PdeModule {
 public:
  using PdeModule::PdeModule;

  // ==== dispersion and density-flow form =================================================
  std::string equation() const override { return "i phi_t + lap phi = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return {{1, 0, complex(0, 1)}, {0, 1, -1.0}}; }
  std::vector<DispersionBranch> dispersion() const override {
    return {{"w = k^2", [](double k) { return complex(k * k, 0); }}};
  }
  DensityFlowForm density_flow_form() const override { return {"|phi|^2", "2 Im(conj(phi) grad phi) / |phi|^2", "0"}; }
  std::string c2_analytic() const override { return "Im w(k) = 0 = Im w(0): the evolution is unitary, no mode decays"; }
  // ==== end dispersion ===================================================================


  // ==== Green's function, C1 and density flow =============================================
  ConditionVerdict c1(int dim) const override {
    // log G = -(N/2) log(4 pi i t) + i r^2/(4t); |G|^2 = exp(2 Re log G), kept in logs (N = 784
    // underflows (4 pi t)^(-N)).
    auto log_density = [dim](double r, double t) {
      const complex log_g = -0.5 * dim * std::log(complex(0, 4 * M_PI * t)) + complex(0, r * r / (4 * t));
      return 2 * log_g.real();
    };
    const double ratio = std::exp(log_density(10.0, 1.0) - log_density(0.0, 1.0));
    return {Verdict::no,
            fmt::format("p = |phi|^2 = (4 pi t)^-N is flat in r (measured p(r = 10)/p(0) = {:.6g} at t = 1): "
                        "infinite mass, not a density that concentrates on the data",
                        ratio),
            ""};
  }
  complex green_hat(double k, double t) const override { return std::exp(complex(0, -k * k * t)); }
  // ==== end Green's function =============================================================


  // ==== perturbation kernel and generative process ========================================
  // ==== end kernel ========================================================================
};

}  // namespace

ModuleInfo schrodinger_module() { return module_info<Schrodinger>("schrodinger", {}, "i phi_t + lap phi = 0"); }

}  // namespace genphys
