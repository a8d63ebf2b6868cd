// genphys dispersion
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_dispersion(CLI::App& app) {
  return [] () -> int { throw InputError("'dispersion' is not implemented yet"); };
}

}  // namespace genphys::cli
