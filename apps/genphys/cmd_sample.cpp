// genphys sample
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_sample(CLI::App& app) {
  return [] () -> int { throw InputError("'sample' is not implemented yet"); };
}

}  // namespace genphys::cli
