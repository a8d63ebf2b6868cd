#pragma once
// Training data: idx files (MNIST, Fashion-MNIST; gzipped or not), folders of PNG images, 2D toys
// and CSV points. Images are scaled to [-1, 1]. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

namespace genphys::engine {

struct Dataset {
  torch::Tensor x;                  ///< (N, ...) float32 on the CPU
  std::vector<std::int64_t> shape;  ///< one example: {C, H, W} or {d}
  bool is_image = false;
  std::string description;          ///< e.g. "60000 images 1x28x28 from /path"
  std::int64_t size() const { return x.size(0); }
  std::int64_t dim() const;
};

/// Where "fashion-mnist" without a path looks; "fashion-mnist-test" reads the test split.
extern const char* const kFashionMnistTrain;
extern const char* const kFashionMnistTest;

/// A whole file, gunzipped when it is gzipped. InputError when missing, truncated or corrupt.
std::vector<unsigned char> read_maybe_gzipped(const std::string& path);

/// An idx1-ubyte label file (gzipped or not): magic 0x00000801, count, then one byte per label.
/// limit > 0 keeps the first `limit`. InputError for a bad magic or size.
std::vector<std::int64_t> read_idx_labels(const std::string& path, std::int64_t limit = 0);

/// fashion-mnist[:PATH] | fashion-mnist-test[:DIR] | mnist:PATH | idx:PATH | png:DIR | toy:NAME[:N] | csv:PATH. PATH of an
/// idx spec is a file or a folder holding train-images-idx3-ubyte[.gz]. `limit` > 0 keeps the
/// first `limit` examples; `seed` draws toy points. Throws InputError naming the problem.
Dataset load_dataset(const std::string& spec, std::int64_t limit, std::uint64_t seed);

/// An idx3-ubyte image file (gzipped or not): magic 0x00000803, then count, rows, cols (big
/// endian), then the bytes. Throws InputError for a bad magic, bad dimensions, a truncated or
/// oversized file or a corrupt gzip stream. limit > 0 converts only the first `limit` images.
Dataset read_idx_images(const std::string& path, std::int64_t limit = 0);

/// All *.png files of `dir` (sorted by name), same size and kind; grey (+alpha) -> 1 channel,
/// RGB (+alpha) -> 3 channels.
Dataset read_png_folder(const std::string& dir, std::int64_t limit = 0);

}  // namespace genphys::engine
