// The PNG folder reader (--data png:DIR): a folder holding one file of any bytes is read or
// refused; what is read has the shape and range of images.
#include "engine/data.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::scratch_file("image.png", data, size);
  fuzz::refused_cleanly([&] {
    const engine::Dataset d = engine::read_png_folder(fuzz::scratch_dir().string());
    if (d.x.dim() != 4 || d.x.size(0) != 1 || (d.shape[0] != 1 && d.shape[0] != 3)) fuzz::fail("an image of a bad shape");
    if (d.x.min().item<float>() < -1.0f || d.x.max().item<float>() > 1.0f) fuzz::fail("pixels outside [-1, 1]");
  });
  return 0;
}
