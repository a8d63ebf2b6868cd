// genphys train (needs the LibTorch engine)
#include "cli.hpp"

namespace genphys::cli {

CommandRunner setup_train(CLI::App& app) {
  return []() -> int { throw InputError("'train' is not implemented yet"); };
}

}  // namespace genphys::cli
