// The checkpoint loader (sample/eval/export --ckpt, train --resume) behind its integrity frame:
// the input is the payload, framed here with its true size and CRC so that the LibTorch archive,
// the config and the state inside are what gets fuzzed. The frame itself: fuzz_checkpoint_frame.
#include "engine/checkpoint.hpp"
#include "engine/framed_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string payload(reinterpret_cast<const char*>(data), size);
  const std::string bytes = engine::frame_payload("GENPHYS-CKPT 1\n", payload);
  const std::string path = fuzz::scratch_file("run.ckpt", bytes.data(), bytes.size());
  fuzz::refused_cleanly([&] {
    engine::CheckpointReader reader(path, torch::kCPU);
    engine::EdmPrecond model = engine::make_model(reader.config());
    reader.load_model(model, false);
    if (reader.has_ema()) reader.load_model(model, true);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    reader.load_optimizer(optimizer);
    reader.load_rng();
  });
  return 0;
}
