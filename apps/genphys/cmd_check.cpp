// genphys check
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_check(CLI::App& app) {
  return [] () -> int { throw InputError("'check' is not implemented yet"); };
}

}  // namespace genphys::cli
