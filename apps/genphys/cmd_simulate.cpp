// genphys simulate
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_simulate(CLI::App& app) {
  return [] () -> int { throw InputError("'simulate' is not implemented yet"); };
}

}  // namespace genphys::cli
