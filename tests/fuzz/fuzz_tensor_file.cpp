// The named-tensor file (GPTF, bench/ddpmpp_twin.py): any file is read or refused.
#include "engine/tensor_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::scratch_file("weights.gptf", data, size);
  fuzz::refused_cleanly([&] { engine::read_tensor_file(path); });
  return 0;
}
