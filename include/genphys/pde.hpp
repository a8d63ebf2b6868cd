#pragma once
// The interface every PDE module in pdes/ implements, and the registry that finds modules by name.
// No LibTorch here: this header is included everywhere.

#include <complex>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "genphys/errors.hpp"
#include "genphys/numeric.hpp"

namespace genphys {

using complex = std::complex<double>;

/// A numeric parameter of a module, e.g. Helmholtz's k0.
struct ParamSpec {
  std::string name;  ///< as on the command line without dashes: "k0"
  double default_value;
  double lower;      ///< valid range: [lower, upper], or (lower, upper] when lower_open
  double upper;
  bool lower_open;
  std::string help;
};

using ParamValues = std::map<std::string, double>;

/// One term coefficient * (d/dt)^time_order * (-Lap + shift)^space_power of a linear
/// constant-coefficient PDE L phi = sum of terms = 0. With phi ~ exp(i(k.x - omega t)) the term
/// becomes coefficient * (-i omega)^time_order * (k^2 + shift)^space_power. space_power is a
/// non-negative integer except for fractional operators ((-Lap)^beta, tempered (-Lap + m^2)^beta);
/// Lap^n is (-1)^n (-Lap)^n. shift >= 0, and 0 except for tempered operators.
struct OperatorTerm {
  int time_order;
  double space_power;
  complex coefficient;
  double shift = 0.0;
};

/// One branch omega_j(k) of the dispersion relation, convention phi ~ exp(i(k.x - omega t)).
struct DispersionBranch {
  std::string label;
  std::function<complex(double k)> omega;
};

enum class Verdict { yes, conditional, no };
std::string to_string(Verdict v);

/// A verdict on one condition with a one-line reason.
struct ConditionVerdict {
  Verdict verdict;
  std::string reason;
  std::string condition;  ///< for `conditional`: the computed condition in numbers; else empty
};

/// The rewriting of L phi = 0 as a density flow dp/dt + div(p v) - R = 0, as formulas of phi.
struct DensityFlowForm {
  std::string p, v, R;
};

class GenerativeProcess;  // include/genphys/generative.hpp

class PdeModule {
 public:
  PdeModule(std::string name, ParamValues params) : name_(std::move(name)), params_(std::move(params)) {}
  virtual ~PdeModule() = default;
  PdeModule(const PdeModule&) = delete;
  PdeModule& operator=(const PdeModule&) = delete;

  const std::string& name() const { return name_; }
  const ParamValues& params() const { return params_; }
  double param(const std::string& key) const;

  // ==== dispersion and density-flow form =================================================
  /// The PDE as text, e.g. "phi_tt + lap phi + k0^2 phi = 0" with parameter values filled in.
  virtual std::string equation() const = 0;
  /// The same PDE as a polynomial in d/dt and the Laplacian.
  virtual std::vector<OperatorTerm> operator_terms() const = 0;
  /// Closed-form dispersion branches.
  virtual std::vector<DispersionBranch> dispersion() const = 0;
  /// The (p, v, R) rewriting, as text.
  virtual DensityFlowForm density_flow_form() const = 0;
  /// The analytic C2 argument for the decaying branch, one line (confirmed numerically by check).
  virtual std::string c2_analytic() const { return ""; }
  // ==== end dispersion ===================================================================

  // ==== Green's function, C1 and density flow =============================================
  /// Spatial Fourier transform G-hat(k, t) of the point-source density p (the table's G-hat:
  /// exp(-k^2 t) for diffusion, exp(-k t) for Poisson), radial in |k|.
  /// Throws NotSupported when the module has none.
  virtual complex green_hat(double k, double t) const;
  /// The point-source solution phi = G(r, t) in N dimensions (sign and log of |G|), normalised so
  /// its density p = point_flow().p has green_hat as Fourier transform. Throws NotSupported.
  virtual SignedLog green(double r, double t, int dim) const;
  /// How green() is computed in dimension `dim`: "closed form" or "numerical: <route>".
  virtual std::string green_method(int dim) const;
  /// The (p, v, R) rewriting evaluated on the point-source solution at radius r, time t:
  /// density p, radial flux J = p v.(x - y)/r, and rate R. Linear in phi, so the flow of many
  /// sources is the sum of these. Throws NotSupported.
  struct PointFlow {
    SignedLog p, flux, rate;
  };
  virtual PointFlow point_flow(double r, double t, int dim) const;
  /// C1: does the conversion give a valid density (p >= 0) for the point-source solution in
  /// dimension `dim`? Decided from the module's own Green's function, measured.
  virtual ConditionVerdict c1(int dim) const;
  // ==== end Green's function =============================================================

  // ==== perturbation kernel and generative process ========================================
  /// The generative side of the module in data dimension `dim`, or nullptr when the module has
  /// no valid kernel (C1 fails) or no sampler yet.
  virtual std::unique_ptr<GenerativeProcess> generative(int dim) const;
  /// For modules whose density flow has R != 0 (generative() then returns the normalised kernel's
  /// own mass-conserving flow): the PDE's own unnormalised flow with its birth/death rate, kept
  /// as the measured alternative (its plain ODE ignores R). nullptr when R = 0 (the default).
  virtual std::unique_ptr<GenerativeProcess> unnormalised_generative(int dim) const;
  // ==== end kernel ========================================================================

 private:
  std::string name_;
  ParamValues params_;
};

/// A registered module: its name, aliases, parameters and factory.
struct ModuleInfo {
  std::string name;
  std::vector<std::string> aliases;
  std::string summary;
  std::vector<ParamSpec> params;
  std::function<std::unique_ptr<PdeModule>(const ParamValues&)> make;
};

/// All modules, in table order.
const std::vector<ModuleInfo>& module_registry();

/// Finds a module by name or alias; throws InputError naming the valid choices.
const ModuleInfo& find_module(const std::string& name_or_alias);

/// Validates `given` against the module's specs (unknown names, NaN/inf, out of range all throw
/// InputError), fills defaults, and builds the module.
std::unique_ptr<PdeModule> make_module(const std::string& name_or_alias, const ParamValues& given = {});

/// One module's identity: a registered name (or alias) with the parameters given, or "custom"
/// with its operator's expression. Built once where the module is chosen (the CLI, a test, a
/// checkpoint's config) and handed on whole; make_module(spec) is the one place that reads it.
struct ModuleSpec {
  std::string name;   ///< registered name or alias, or "custom"
  ParamValues params; ///< given parameters (the rest take their defaults)
  std::string expr;   ///< custom only: e.g. "phi_tt + lap phi - 0.25 phi"

  bool empty() const { return name.empty(); }
  bool is_custom() const { return name == kCustomName; }
  static constexpr const char* kCustomName = "custom";
};

/// Builds the module a spec names. InputError for an unknown name, a bad parameter, custom without an expression or with parameters, and an
/// expression on a registered module.
std::unique_ptr<PdeModule> make_module(const ModuleSpec& spec);

}  // namespace genphys
