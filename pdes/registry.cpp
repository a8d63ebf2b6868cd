// The module registry: one line per PDE module, naming the <name>_module() that pdes/<name>.cpp
// defines. An explicit list rather than self-registration from each file: genphys_physics is a
// static library, and a linker drops an object file that nothing references, together with its
// registering static initialiser; the list also fixes the table order.
#include "modules.hpp"

#define GENPHYS_MODULES(X)   \
  X(diffusion)               \
  X(poisson)                 \
  X(screened_poisson)        \
  X(helmholtz)               \
  X(dissipative_wave)        \
  X(biharmonic)              \
  X(ideal_wave)              \
  X(schrodinger)             \
  X(mixed_diffusion_poisson) \
  X(fractional_diffusion)    \
  X(third_order)             \
  X(fractional_poisson)      \
  X(tempered_diffusion)

namespace genphys {

#define GENPHYS_DECLARE_MODULE(name) ModuleInfo name##_module();
GENPHYS_MODULES(GENPHYS_DECLARE_MODULE)

const std::vector<ModuleInfo>& module_registry() {
#define GENPHYS_MODULE_ENTRY(name) name##_module(),
  static const std::vector<ModuleInfo> registry = {GENPHYS_MODULES(GENPHYS_MODULE_ENTRY)};
  return registry;
}

}  // namespace genphys
