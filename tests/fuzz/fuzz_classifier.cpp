// The classifier loader (eval --classifier): any file is loaded or refused. Version 1 files have
// no frame, so the raw bytes reach the JSON and the LibTorch archive; any other input is also
// tried as the payload of a correctly framed version 2 file.
#include "engine/classifier_file.hpp"
#include "engine/framed_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string raw(reinterpret_cast<const char*>(data), size);
  const auto load = [](const std::string& bytes) {
    const std::string path = fuzz::scratch_file("net.classifier", bytes.data(), bytes.size());
    fuzz::refused_cleanly([&] {
      engine::ClassifierInfo info;
      engine::load_classifier(path, info);
    });
  };
  load(raw);
  if (raw.rfind("GENPHYS-CLASSIFIER", 0) != 0) load(engine::frame_payload("GENPHYS-CLASSIFIER 2\n", raw));
  return 0;
}
