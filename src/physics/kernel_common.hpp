#pragma once
// Constants and argument checks shared by the perturbation kernels (src/physics and pdes/): one
// wording for every module's InputError.

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys::detail {

inline constexpr double kLog2 = 0.693147180559945309417232121458176568;    // log(2)
inline constexpr double kLogPi = 1.144729885849400174143427351353058712;   // log(pi)
inline constexpr double kLog2Pi = 1.837877066409345483560659472811235280;  // log(2 pi)

inline void check_kernel_time(double t) {
  if (!(t > 0.0) || !std::isfinite(t)) throw InputError(fmt::format("kernel time must be positive and finite, got {}", t));
}

inline void check_kernel_dim(int dim) {
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
}

/// Throws InputError "invalid kernel parameter <what> = v" unless v is finite and ok.
inline void check_kernel_param(const char* what, double v, bool ok) {
  if (!std::isfinite(v) || !ok) throw InputError(std::string("invalid kernel parameter ") + what + " = " + std::to_string(v));
}

}  // namespace genphys::detail
