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
#include "genphys/toy_data.hpp"

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

Dataset read_png_folder(const std::string& dir, std::int64_t limit) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw InputError("png folder " + dir + " does not exist or is not a folder");
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string ext = entry.path().extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    if (entry.is_regular_file() && ext == ".png") files.push_back(entry.path().string());
  }
  if (ec) throw InputError("cannot list png folder " + dir + ": " + ec.message());
  if (files.empty()) throw InputError("png folder " + dir + " holds no .png files");
  std::sort(files.begin(), files.end());
  if (limit > 0 && std::int64_t(files.size()) > limit) files.resize(std::size_t(limit));

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
  d.description = fmt::format("{} images {}x{}x{} from {}", files.size(), c0, h0, w0, dir);
  return d;
}

Dataset load_dataset(const std::string& spec, std::int64_t limit, std::uint64_t seed) {
  if (spec.empty()) throw OptionError("data", "is required (fashion-mnist, mnist:PATH, png:DIR, toy:NAME, csv:PATH)");
  const auto colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), rest = colon == std::string::npos ? "" : spec.substr(colon + 1);
  Dataset d;
  if (kind == "fashion-mnist") {
    d = read_idx_images(idx_file_in(rest.empty() ? kFashionMnistTrain : rest), limit);
  } else if (kind == "fashion-mnist-test") {
    d = read_idx_images(rest.empty() ? kFashionMnistTest : idx_file_in(rest, "t10k"), limit);
  } else if (kind == "mnist" || kind == "idx") {
    if (rest.empty()) throw OptionError("data", kind + ":PATH needs a path to an idx3-ubyte file or its folder");
    d = read_idx_images(idx_file_in(rest), limit);
  } else if (kind == "png") {
    if (rest.empty()) throw OptionError("data", "png:DIR needs a folder");
    d = read_png_folder(rest, limit);
  } else if (kind == "toy" || kind == "csv") {
    if (kind == "csv" && rest.empty()) throw OptionError("data", "csv:PATH needs a file");
    const Eigen::MatrixXd pts = kind == "toy" ? load_points(spec, seed, 10000) : load_csv_points(rest);
    const std::int64_t n = limit > 0 ? std::min<std::int64_t>(limit, pts.rows()) : pts.rows();
    const std::int64_t dim = pts.cols();
    // Eigen is column-major: copy row by row.
    auto x = torch::empty({n, dim}, torch::kFloat32);
    auto acc = x.accessor<float, 2>();
    for (std::int64_t i = 0; i < n; ++i)
      for (std::int64_t j = 0; j < dim; ++j) acc[i][j] = float(pts(i, j));
    d.x = x;
    d.shape = {dim};
    d.is_image = false;
    d.description = fmt::format("{} points in {}D from {}", n, dim, spec);
  } else {
    throw InputError("unknown --data '" + spec + "' (valid: fashion-mnist[:PATH], fashion-mnist-test[:DIR], mnist:PATH, idx:PATH, png:DIR, toy:NAME[:N], csv:PATH)");
  }
  if (!d.x.isfinite().all().item<bool>()) throw InputError("data " + spec + " holds non-finite values");
  return d;
}

}  // namespace genphys::engine
