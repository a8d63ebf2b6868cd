// genphys kernel
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_kernel(CLI::App& app) {
  return [] () -> int { throw InputError("'kernel' is not implemented yet"); };
}

}  // namespace genphys::cli
