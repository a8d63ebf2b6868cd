// genphys green
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_green(CLI::App& app) {
  return [] () -> int { throw InputError("'green' is not implemented yet"); };
}

}  // namespace genphys::cli
