// The torch-free layers of genphys's own files: the integrity frame (magic, size, CRC) over any
// bytes, and the run config (JSON) that a checkpoint carries.
#include <optional>

#include "engine/config.hpp"
#include "engine/framed_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  fuzz::refused_cleanly([&] {
    const std::string payload = engine::unframe_payload(bytes, "GENPHYS-CKPT 1\n", "checkpoint", "run.ckpt");
    if (engine::frame_payload("GENPHYS-CKPT 1\n", payload) != bytes) fuzz::fail("a frame accepted but not rebuilt");
  });
  std::optional<engine::RunConfig> config;
  fuzz::refused_cleanly([&] { config = engine::config_from_json(bytes); });
  if (config) {
    // A config that was read is written and read back unchanged (a resumed run saves it again).
    const std::string text = engine::config_to_json(*config);
    try {
      if (engine::config_to_json(engine::config_from_json(text)) != text) fuzz::fail("a config changed by a round trip: " + text);
    } catch (const std::exception& e) {
      fuzz::fail(std::string("a config that reads but does not read back: ") + e.what() + " in " + text);
    }
  }
  return 0;
}
