#pragma once
// Internal to pdes/: each module file defines one factory below; registry.cpp lists them.
#include <cmath>
#include <memory>
#include <string>
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

ModuleInfo diffusion_module();
ModuleInfo poisson_module();
ModuleInfo screened_poisson_module();
ModuleInfo helmholtz_module();
ModuleInfo dissipative_wave_module();
ModuleInfo biharmonic_module();
ModuleInfo ideal_wave_module();
ModuleInfo schrodinger_module();
ModuleInfo mixed_diffusion_poisson_module();
ModuleInfo fractional_diffusion_module();
ModuleInfo third_order_module();

}  // namespace genphys
