// genphys export: a checkpoint's weights for Python's torch.load (needs the LibTorch engine).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "cli.hpp"
#include "genphys/engine.hpp"

namespace genphys::cli {

CommandRunner setup_export(CLI::App& app) {
  auto ckpt = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  app.add_option("--ckpt", *ckpt, "checkpoint (RUN_DIR/last.ckpt) or feature classifier file to read");
  app.add_option("--out", *out, "file to write, e.g. weights.pt");
  return [ckpt, out]() -> int {
    const ExportSummary s = export_checkpoint(*ckpt, *out);
    if (s.classifier) {
      std::cout << fmt::format("exported {} classifier tensors to {}\n", s.tensors, *out);
      return 0;
    }
    std::cout << fmt::format("exported {} tensors (model{}) at step {} to {}\n", s.tensors, s.has_ema ? " and EMA" : "",
                             s.step, *out);
    return 0;
  };
}

}  // namespace genphys::cli
