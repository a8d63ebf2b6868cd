#include "engine/data.hpp"

#include <zlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <fmt/format.h>

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb/stb_image.h>

#include "genphys/errors.hpp"
#include "genphys/random.hpp"
#include "genphys/toy_data.hpp"
#include "genphys/variates.hpp"

namespace genphys::engine {
namespace fs = std::filesystem;

const char* const kFashionMnistTrain = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz";
const char* const kFashionMnistTest = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz";

std::int64_t Dataset::dim() const {
  std::int64_t d = 1;
  for (auto s : shape) d *= s;
  return d;
}

// Whole file through zlib, which reads plain files transparently.
std::vector<unsigned char> read_maybe_gzipped(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw InputError("data file " + path + " does not exist");
  if (fs::is_directory(path, ec)) throw InputError("data file " + path + " is a directory");
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw InputError("cannot open data file " + path);
  std::vector<unsigned char> out;
  std::vector<unsigned char> buf(1 << 20);
  for (;;) {
    const int n = gzread(f, buf.data(), unsigned(buf.size()));
    if (n < 0) {
      int err = 0;
      const std::string msg = gzerror(f, &err);
      gzclose(f);
      throw InputError("data file " + path + " is corrupt (" + msg + ")");
    }
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  int err = 0;
  const std::string msg = gzerror(f, &err);
  gzclose(f);
  // A gzip stream cut short ends in Z_BUF_ERROR rather than a read error.
  if (err != Z_OK && err != Z_STREAM_END)
    throw InputError("data file " + path + " is truncated or corrupt (" + msg + ")");
  return out;
}

namespace {

std::uint32_t big_endian(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
}

std::string idx_file_in(const std::string& path, const std::string& split = "train") {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return path;
  for (const std::string name : {split + "-images-idx3-ubyte.gz", split + "-images-idx3-ubyte", split + "-images.idx3-ubyte"}) {
    const fs::path p = fs::path(path) / name;
    if (fs::exists(p, ec)) return p.string();
  }
  throw InputError("no " + split + "-images-idx3-ubyte[.gz] in folder " + path);
}

// stb_image grows its buffer to what an IDAT chunk's header announces (up to 2 GiB) before it
// reads the chunk: each chunk's length is checked against what the file holds first.
void check_png_chunks(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (bytes.compare(0, 8, "\x89PNG\r\n\x1a\n", 8) != 0) return;  // not a PNG: stb_image says so
  for (std::size_t pos = 8; pos + 8 <= bytes.size();) {
    const std::uint64_t length = big_endian(reinterpret_cast<const unsigned char*>(bytes.data() + pos));
    const std::uint64_t left = bytes.size() - pos - 8;
    if (length + 4 > left)
      throw InputError(fmt::format("image {} is truncated or corrupt: a chunk announces {} bytes, {} are left", path,
                                   length, left < 4 ? 0 : left - 4));
    if (bytes.compare(pos + 4, 4, "IEND") == 0) break;
    pos += 12 + length;
  }
}

torch::Tensor bytes_to_unit_range(const unsigned char* data, std::vector<std::int64_t> sizes) {
  std::int64_t n = 1;
  for (auto s : sizes) n *= s;
  auto t = torch::from_blob(const_cast<unsigned char*>(data), {n}, torch::kUInt8).to(torch::kFloat32);
  return (t / 127.5 - 1.0).reshape(sizes);
}

}  // namespace

Dataset read_idx_images(const std::string& path, std::int64_t limit) {
  const auto bytes = read_maybe_gzipped(path);
  if (bytes.size() < 16) throw InputError(fmt::format("idx file {} is truncated: {} bytes, no full header", path, bytes.size()));
  const std::uint32_t magic = big_endian(bytes.data());
  if (magic == 0x00000801)
    throw InputError("idx file " + path + " holds labels (magic 0x00000801), not images: give the images file");
  if (magic != 0x00000803)
    throw InputError(fmt::format("idx file {} has magic 0x{:08x}, expected 0x00000803 (unsigned-byte images)", path, magic));
  const std::uint64_t n = big_endian(bytes.data() + 4), rows = big_endian(bytes.data() + 8),
                      cols = big_endian(bytes.data() + 12);
  if (n == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
    throw InputError(fmt::format("idx file {} has bad dimensions {} x {} x {}", path, n, rows, cols));
  const std::uint64_t expected = 16 + n * rows * cols;
  if (bytes.size() < expected)
    throw InputError(fmt::format("idx file {} is truncated: {} bytes, header says {} images of {}x{} = {} bytes",
                                 path, bytes.size(), n, rows, cols, expected));
  if (bytes.size() > expected)
    throw InputError(fmt::format("idx file {} has {} bytes after the {} images its header announces", path,
                                 bytes.size() - expected, n));
  const std::int64_t keep = limit > 0 ? std::min<std::int64_t>(limit, std::int64_t(n)) : std::int64_t(n);
  Dataset d;
  d.shape = {1, std::int64_t(rows), std::int64_t(cols)};
  d.x = bytes_to_unit_range(bytes.data() + 16, {keep, 1, std::int64_t(rows), std::int64_t(cols)});
  d.is_image = true;
  d.description = fmt::format("{} images 1x{}x{} from {}", keep, rows, cols, path);
  return d;
}

std::vector<std::int64_t> read_idx_labels(const std::string& path, std::int64_t limit) {
  const auto bytes = read_maybe_gzipped(path);
  if (bytes.size() < 8) throw InputError(fmt::format("idx label file {} is truncated: {} bytes", path, bytes.size()));
  const std::uint32_t magic = big_endian(bytes.data());
  if (magic != 0x00000801)
    throw InputError(fmt::format("idx label file {} has magic 0x{:08x}, expected 0x00000801 (labels)", path, magic));
  const std::uint64_t n = big_endian(bytes.data() + 4);
  if (bytes.size() != 8 + n)
    throw InputError(fmt::format("idx label file {} has {} bytes, its header announces {} labels", path, bytes.size(), n));
  const std::int64_t keep = limit > 0 ? std::min<std::int64_t>(limit, std::int64_t(n)) : std::int64_t(n);
  return std::vector<std::int64_t>(bytes.begin() + 8, bytes.begin() + 8 + keep);
}

namespace {

std::vector<std::string> png_files_in(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && ext == ".png") files.push_back(entry.path().string());
  }
  if (ec) throw InputError("cannot list png folder " + dir + ": " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> sub_folders_of(const std::string& dir) {
  std::error_code ec;
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  if (ec) throw InputError("cannot list png folder " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// Decodes `files` (all one size and kind) into a data set.
Dataset decode_pngs(const std::vector<std::string>& files) {
  int w0 = 0, h0 = 0, c0 = 0;
  std::vector<unsigned char> pixels;
  // stb_image's reasons can quote input bytes (an unknown chunk's type): printable keeps one line.
  for (size_t i = 0; i < files.size(); ++i) {
    int w = 0, h = 0, c = 0;
    check_png_chunks(files[i]);
    if (!stbi_info(files[i].c_str(), &w, &h, &c))
      throw InputError("cannot read image " + files[i] + ": " + printable(stbi_failure_reason()));
    const int channels = c <= 2 ? 1 : 3;
    if (i == 0) {
      w0 = w, h0 = h, c0 = channels;
      pixels.reserve(files.size() * std::size_t(w * h * c0));
    } else if (w != w0 || h != h0) {
      throw InputError(fmt::format("image {} is {}x{}, but {} is {}x{}: all images must have one size", files[i], w,
                                   h, files[0], w0, h0));
    } else if (channels != c0) {
      throw InputError(fmt::format("image {} has {} channel(s), but {} has {}: mix of grey and colour", files[i],
                                   channels, files[0], c0));
    }
    unsigned char* data = stbi_load(files[i].c_str(), &w, &h, &c, c0);
    if (!data) throw InputError("cannot decode image " + files[i] + ": " + printable(stbi_failure_reason()));
    // HWC -> CHW
    for (int ch = 0; ch < c0; ++ch)
      for (int p = 0; p < w * h; ++p) pixels.push_back(data[p * c0 + ch]);
    stbi_image_free(data);
  }
  Dataset d;
  d.shape = {c0, h0, w0};
  d.x = bytes_to_unit_range(pixels.data(), {std::int64_t(files.size()), c0, h0, w0});
  d.is_image = true;
  return d;
}

// One class per sub-folder, the classes taken in turn.
Dataset read_png_classes(const std::string& dir, const std::vector<std::string>& classes, std::int64_t limit) {
  std::vector<std::vector<std::string>> per_class;
  for (const auto& name : classes) {
    per_class.push_back(png_files_in((fs::path(dir) / name).string()));
    if (per_class.back().empty())
      throw InputError("png class folder " + (fs::path(dir) / name).string() + " holds no .png files");
  }
  std::vector<std::string> files;
  std::vector<std::int64_t> labels;
  for (std::size_t k = 0;; ++k) {
    bool any = false;
    for (std::size_t c = 0; c < per_class.size(); ++c) {
      if (k >= per_class[c].size()) continue;
      files.push_back(per_class[c][k]);
      labels.push_back(std::int64_t(c));
      any = true;
    }
    if (!any) break;
  }
  if (limit > 0 && std::int64_t(files.size()) > limit) {
    files.resize(std::size_t(limit));
    labels.resize(std::size_t(limit));
  }
  Dataset d = decode_pngs(files);
  d.labels = torch::tensor(labels, torch::kInt64);
  d.num_classes = int(classes.size());
  d.class_names = classes;
  d.description = fmt::format("{} images {}x{}x{} in {} classes (sub-folders) from {}", files.size(), d.shape[0],
                              d.shape[1], d.shape[2], classes.size(), dir);
  return d;
}

}  // namespace

Dataset read_png_folder(const std::string& dir, std::int64_t limit) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError("png folder " + dir + " does not exist or is not a folder");
  std::vector<std::string> files = png_files_in(dir);
  if (files.empty()) {
    const std::vector<std::string> classes = sub_folders_of(dir);
    if (!classes.empty()) return read_png_classes(dir, classes, limit);
    throw InputError("png folder " + dir + " holds no .png files (nor class sub-folders)");
  }
  if (limit > 0 && std::int64_t(files.size()) > limit) files.resize(std::size_t(limit));
  Dataset d = decode_pngs(files);
  d.description = fmt::format("{} images {}x{}x{} from {}", files.size(), d.shape[0], d.shape[1], d.shape[2], dir);
  return d;
}

namespace {

constexpr int kMaxClasses = 10000;

// The idx1 label file that goes with an idx3 images file: "images-idx3" -> "labels-idx1".
std::string labels_beside(const std::string& images) {
  const fs::path p(images);
  std::string name = p.filename().string();
  for (const auto& [from, to] : {std::make_pair("images-idx3", "labels-idx1"), std::make_pair("images.idx3", "labels.idx1")}) {
    const auto at = name.find(from);
    if (at == std::string::npos) continue;
    name.replace(at, std::string(from).size(), to);
    const std::string path = (p.parent_path() / name).string();
    std::error_code ec;
    if (!fs::exists(path, ec))
      throw InputError("no label file for " + images + ": expected " + path + " beside it");
    return path;
  }
  throw InputError("no label file for " + images + ": its name holds no 'images-idx3' to find the matching "
                   "labels-idx1 file by");
}

// The image count in an idx3 header (the file was read whole already: this reads 16 bytes).
std::int64_t idx_image_count(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) throw InputError("cannot open data file " + path);
  unsigned char header[16];
  const int n = gzread(f, header, sizeof header);
  gzclose(f);
  if (n != int(sizeof header)) throw InputError("idx file " + path + " is truncated");
  return std::int64_t(big_endian(header + 4));
}

void check_class_count(std::int64_t classes, const std::string& what) {
  if (classes > kMaxClasses)
    throw InputError(fmt::format("{}: class id {} is beyond the {} classes supported", what, classes - 1, kMaxClasses));
}

const std::vector<std::string>& fashion_mnist_classes() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

void attach_idx_labels(Dataset& d, const std::string& images, std::int64_t limit, bool fashion) {
  const std::string path = labels_beside(images);
  const std::vector<std::int64_t> all = read_idx_labels(path);
  const std::int64_t count = idx_image_count(images);
  if (std::int64_t(all.size()) != count)
    throw InputError(fmt::format("idx label file {} holds {} labels, but the images file {} holds {} images", path,
                                 all.size(), images, count));
  const std::int64_t keep = limit > 0 ? std::min<std::int64_t>(limit, count) : count;
  d.labels = torch::tensor(std::vector<std::int64_t>(all.begin(), all.begin() + keep), torch::kInt64);
  d.num_classes = int(*std::max_element(all.begin(), all.end()) + 1);
  if (fashion && d.num_classes <= int(fashion_mnist_classes().size())) {
    d.num_classes = int(fashion_mnist_classes().size());
    d.class_names = fashion_mnist_classes();
  }
  d.description += fmt::format(", {} classes from {}", d.num_classes, path);
}

// A CSV's header names its columns; the one named `label` holds class ids, never a coordinate.
int label_column_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    int column = 0;
    std::size_t start = 0;
    for (;;) {
      const auto comma = line.find(',', start);
      std::string field = line.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      const auto b = field.find_first_not_of(" \t"), e = field.find_last_not_of(" \t");
      field = b == std::string::npos ? "" : field.substr(b, e - b + 1);
      if (field == "label") return column;
      if (comma == std::string::npos) break;
      start = comma + 1;
      ++column;
    }
    return -1;  // only the first line can be the header
  }
  return -1;
}

Dataset points_dataset(const Eigen::MatrixXd& pts, std::int64_t limit, const std::string& spec) {
  const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, pts.rows()) : pts.rows();
  const std::int64_t dim = pts.cols();
  // Eigen is column-major: copy row by row.
  auto x = torch::empty({n, dim}, torch::kFloat32);
  auto acc = x.accessor<float, 2>();
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < dim; ++j) acc[i][j] = float(pts(i, j));
  Dataset d;
  d.x = x;
  d.shape = {dim};
  d.is_image = false;
  d.description = fmt::format("{} points in {}D from {}", n, dim, spec);
  return d;
}

Dataset read_csv_dataset(const std::string& path, std::int64_t limit, const std::string& spec, bool labels) {
  Eigen::MatrixXd pts = load_csv_points(path);
  const int column = label_column_of(path);
  if (column < 0) {
    if (labels)
      throw InputError("point file " + path + " has no column named 'label' in its header line (class ids for "
                       "--conditional)");
    return points_dataset(pts, limit, spec);
  }
  if (pts.cols() < 2) throw InputError("point file " + path + " holds only its 'label' column, no coordinates");
  std::vector<std::int64_t> ids(std::size_t(pts.rows()));
  for (Eigen::Index i = 0; i < pts.rows(); ++i) {
    const double v = pts(i, column);
    if (!(v >= 0 && v < kMaxClasses && v == std::floor(v)))
      throw InputError(fmt::format("point file {}: data row {}: label {} is not a class id (an integer in [0, {}))",
                                   path, i + 1, v, kMaxClasses));
    ids[std::size_t(i)] = std::int64_t(v);
  }
  Eigen::MatrixXd coords(pts.rows(), pts.cols() - 1);
  for (Eigen::Index j = 0, to = 0; j < pts.cols(); ++j)
    if (j != column) coords.col(to++) = pts.col(j);
  Dataset d = points_dataset(coords, limit, spec);
  if (labels) {
    d.labels = torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.begin() + d.size()), torch::kInt64);
    d.num_classes = int(*std::max_element(ids.begin(), ids.end()) + 1);
    d.description += fmt::format(", {} classes (column 'label')", d.num_classes);
  }
  return d;
}

// toy:two-clusters[:N] with its labels.
Dataset labelled_toy(const std::string& spec, std::int64_t limit, std::uint64_t seed, bool labels) {
  const std::string rest = spec.substr(4);
  const auto colon = rest.find(':');
  const std::string name = rest.substr(0, colon);
  long long n = 10000;
  if (colon != std::string::npos) {
    const std::string count = rest.substr(colon + 1);
    if (count.empty() || count.size() > 9 || count.find_first_not_of("0123456789") != std::string::npos ||
        (n = std::stoll(count)) < 1 || n > 100000000)
      throw InputError("bad point count '" + count + "' in '" + spec + "'; expected an integer in [1, 1e8]");
  }
  Eigen::MatrixXd pts(n, 2);
  std::vector<std::int64_t> ids(static_cast<std::size_t>(n));
  for (long long i = 0; i < n; ++i) {
    Rng rng = sample_rng(seed, std::uint64_t(i));
    const int c = uniform01(rng) < 0.5 ? 0 : 1;
    ids[std::size_t(i)] = c;
    pts(i, 0) = (c == 0 ? -1.0 : 1.0) + 0.4 * standard_normal(rng);
    pts(i, 1) = 0.4 * standard_normal(rng);
  }
  Dataset d = points_dataset(pts, limit, spec);
  if (labels) {
    d.labels = torch::tensor(std::vector<std::int64_t>(ids.begin(), ids.begin() + d.size()), torch::kInt64);
    d.num_classes = 2;
    d.description += ", 2 classes";
  }
  return d;
}

}  // namespace

const std::vector<std::string>& labelled_toy_names() {
  static const std::vector<std::string> names = {"two-clusters"};
  return names;
}

Dataset load_dataset(const std::string& spec, std::int64_t limit, std::uint64_t seed, bool labels) {
  if (spec.empty()) throw OptionError("data", "is required (fashion-mnist, mnist:PATH, png:DIR, toy:NAME, csv:PATH)");
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  Dataset d;
  std::string images;  // an idx spec's images file
  if (kind == "fashion-mnist") {
    images = idx_file_in(rest.empty() ? kFashionMnistTrain : rest);
  } else if (kind == "fashion-mnist-test") {
    images = rest.empty() ? kFashionMnistTest : idx_file_in(rest, "t10k");
  } else if (kind == "mnist" || kind == "idx") {
    if (rest.empty()) throw OptionError("data", kind + ":PATH needs a path to an idx3-ubyte file or its folder");
    images = idx_file_in(rest);
  } else if (kind == "png") {
    if (rest.empty()) throw OptionError("data", "png:DIR needs a folder");
    d = read_png_folder(rest, limit);
    if (labels && !d.labels.defined())
      throw InputError("png folder " + rest + " holds its images directly: class labels need one sub-folder of "
                       "images per class");
  } else if (kind == "csv") {
    if (rest.empty()) throw OptionError("data", "csv:PATH needs a file");
    d = read_csv_dataset(rest, limit, spec, labels);
  } else if (kind == "toy") {
    const std::string name = rest.substr(0, rest.find(':'));
    const auto& labelled = labelled_toy_names();
    if (std::find(labelled.begin(), labelled.end(), name) != labelled.end()) {
      d = labelled_toy(spec, limit, seed, labels);
    } else {
      if (labels) {
        std::string valid;
        for (const auto& n : labelled) valid += (valid.empty() ? "" : ", ") + n;
        throw InputError("toy data '" + name + "' carry no class labels (labelled toys: " + valid + ")");
      }
      d = points_dataset(load_points(spec, seed, 10000), limit, spec);
    }
  } else {
    throw InputError("unknown --data '" + spec + "' (valid: fashion-mnist[:PATH], fashion-mnist-test[:DIR], mnist:PATH, idx:PATH, png:DIR, toy:NAME[:N], csv:PATH)");
  }
  if (!images.empty()) {
    d = read_idx_images(images, limit);
    if (labels) attach_idx_labels(d, images, limit, kind.rfind("fashion-mnist", 0) == 0);
  }
  if (!d.x.isfinite().all().item<bool>()) throw InputError("data " + spec + " holds non-finite values");
  if (!labels) {
    d.labels = torch::Tensor();
    d.num_classes = 0;
    d.class_names.clear();
  } else {
    check_class_count(d.num_classes, "data " + spec);
  }
  return d;
}

}  // namespace genphys::engine
