// The module registry: one line per PDE module.
#include "modules.hpp"

namespace genphys {

const std::vector<ModuleInfo>& module_registry() {
  static const std::vector<ModuleInfo> registry = {
      diffusion_module(),
      poisson_module(),
      screened_poisson_module(),
      helmholtz_module(),
      dissipative_wave_module(),
      biharmonic_module(),
      ideal_wave_module(),
      schrodinger_module(),
      mixed_diffusion_poisson_module(),
      fractional_diffusion_module(),
      third_order_module(),
  };
  return registry;
}

}  // namespace genphys
