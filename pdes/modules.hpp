#pragma once
// Internal to pdes/: each module file defines one factory below; registry.cpp lists them.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "genphys/check.hpp"
#include "genphys/generative.hpp"
#include "genphys/kernels.hpp"
#include "genphys/pde.hpp"

namespace genphys {

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
