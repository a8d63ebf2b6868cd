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
  /// Class ids in [0, num_classes), (N) int64; undefined unless labels were asked for.
  torch::Tensor labels;
  int num_classes = 0;
  std::vector<std::string> class_names;  ///< one per class when the data name them (folders, Fashion-MNIST)
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
///
/// With `labels`, each example's class too (InputError when the data have none):
///   idx specs: the idx1-ubyte label file beside the images file (train-labels-idx1-ubyte[.gz]
///     for train-images-idx3-ubyte[.gz]), holding as many labels as there are images;
///   png:DIR: one sub-folder of PNG files per class, class ids in the order of the sorted folder
///     names (the names are kept as class_names);
///   csv:PATH: the column named `label` in the header line (non-negative integers; class ids);
///   toy:two-clusters[:N]: the labelled toy (labelled_toy_names()).
/// A csv's `label` column is never read as a coordinate, with or without `labels`.
Dataset load_dataset(const std::string& spec, std::int64_t limit, std::uint64_t seed, bool labels = false);

/// The toys that carry labels (engine-only data: `sample --exact` does not know them).
/// two-clusters: class 0 around (-1, 0), class 1 around (1, 0), isotropic spread 0.4, equal
/// weights; point i from its own stream sample_rng(seed, i).
const std::vector<std::string>& labelled_toy_names();

/// An idx3-ubyte image file (gzipped or not): magic 0x00000803, then count, rows, cols (big
/// endian), then the bytes. Throws InputError for a bad magic, bad dimensions, a truncated or
/// oversized file or a corrupt gzip stream. limit > 0 converts only the first `limit` images.
Dataset read_idx_images(const std::string& path, std::int64_t limit = 0);

/// All *.png files of `dir` (sorted by name), same size and kind; grey (+alpha) -> 1 channel,
/// RGB (+alpha) -> 3 channels. A folder without PNG files but with sub-folders holding them is
/// read as one class per sub-folder (sorted names = class ids 0, 1, ...): the examples then take
/// the classes in turn (class 0's first file, class 1's first, ..., class 0's second, ...), so
/// that `limit` keeps the classes balanced, and labels and class_names are set.
Dataset read_png_folder(const std::string& dir, std::int64_t limit = 0);

}  // namespace genphys::engine
