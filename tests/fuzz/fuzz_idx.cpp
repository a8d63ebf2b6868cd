// The idx readers (--data mnist:PATH / idx:PATH, classifier labels), gzipped or not: any file is
// read or refused; images come out in [-1, 1] with the shape their header announces.
#include "engine/data.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string path = fuzz::scratch_file("images-idx3-ubyte", data, size);
  fuzz::refused_cleanly([&] {
    const engine::Dataset d = engine::read_idx_images(path);
    if (d.x.dim() != 4 || d.shape.size() != 3 || d.x.size(0) < 1) fuzz::fail("an idx image set of a bad shape");
    if (d.x.min().item<float>() < -1.0f || d.x.max().item<float>() > 1.0f) fuzz::fail("pixels outside [-1, 1]");
  });
  fuzz::refused_cleanly([&] {
    for (const auto label : engine::read_idx_labels(path))
      if (label < 0 || label > 255) fuzz::fail("a label outside one byte");
  });
  return 0;
}
