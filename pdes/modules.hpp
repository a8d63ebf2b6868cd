#pragma once
// Internal to pdes/: what module files share. Each pdes/<name>.cpp defines <name>_module()
// (built with module_info below); registry.cpp lists them, one line each.
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "genphys/check.hpp"
#include "genphys/density_flow.hpp"
#include "genphys/generative.hpp"
#include "genphys/kernels.hpp"
#include "genphys/pde.hpp"

namespace genphys {

/// A module with no closed-form Green's function: phi, p and the flux come from its Fourier-space
/// flow by the radial inverse transform (N <= kMaxRadialTransformDim).
class FourierFlowModule : public PdeModule {
 public:
  using PdeModule::PdeModule;
  SignedLog green(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    require_radial_transform_dim(name(), dim);
    return fourier_green(fourier(t), r, dim);
  }
  PointFlow point_flow(double r, double t, int dim) const override {
    check_green_arguments(r, t, dim);
    require_radial_transform_dim(name(), dim);
    return fourier_point_flow(fourier(t), r, dim);
  }
  std::string green_method(int dim) const override {
    if (dim > kMaxRadialTransformDim)
      return "none: no closed form, and N > " + std::to_string(kMaxRadialTransformDim) + " is beyond the radial transform";
    return "numerical: radial inverse Fourier transform of " + fourier_description();
  }

 protected:
  /// p-hat, phi-hat and (dp-hat/dt)/k^2 at time t.
  virtual FourierFlow fourier(double t) const = 0;
  /// The transform in words, e.g. "p-hat = exp(-k^4 t) (phi = p)".
  virtual std::string fourier_description() const = 0;
};

/// The registry entry of module class M, built as M(name, params) (see "Adding a PDE" in
/// README.md): name, aliases, one-line summary, parameters.
template <class M>
ModuleInfo module_info(std::string name, std::vector<std::string> aliases, std::string summary,
                       std::vector<ParamSpec> params = {}) {
  auto make = [name](const ParamValues& p) -> std::unique_ptr<PdeModule> { return std::make_unique<M>(name, p); };
  return {std::move(name), std::move(aliases), std::move(summary), std::move(params), std::move(make)};
}

/// A parameter valid on [lower, upper].
inline ParamSpec param_in(std::string name, double default_value, double lower, double upper, std::string help) {
  return {std::move(name), default_value, lower, upper, false, std::move(help)};
}

/// A parameter valid on (0, upper].
inline ParamSpec param_positive(std::string name, double default_value, double upper, std::string help) {
  return {std::move(name), default_value, 0.0, upper, true, std::move(help)};
}

}  // namespace genphys
