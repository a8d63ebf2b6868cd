#pragma once
// Small data sets and helpers shared by the engine tests.

#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "genphys/engine.hpp"

namespace genphys::test {

/// A fresh directory under the system temp dir, removed at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("genphys_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter()++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }
  std::string str() const { return path_.string(); }

 private:
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::filesystem::path path_;
};

inline std::string be32(std::uint32_t v) {
  return {char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}

/// An idx3-ubyte image file as bytes.
inline std::string idx_bytes(std::uint32_t n, std::uint32_t rows, std::uint32_t cols,
                             const std::vector<unsigned char>& pixels, std::uint32_t magic = 0x803) {
  return be32(magic) + be32(n) + be32(rows) + be32(cols) + std::string(pixels.begin(), pixels.end());
}

inline void write_bytes(const std::string& path, const std::string& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), unsigned(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary) << bytes;
  }
}

/// n images of 8x8: a bright 3x3 square at one of 36 positions on a dark background, position
/// k mod 36 for image k. Distinct, structured, and learnable in a few hundred steps.
inline std::vector<unsigned char> square_images(int n, int size = 8) {
  std::vector<unsigned char> px(std::size_t(n * size * size), 10);
  const int span = size - 2;
  for (int k = 0; k < n; ++k) {
    const int pos = k % (span * span), r0 = pos / span, c0 = pos % span;
    for (int r = r0; r < r0 + 3; ++r)
      for (int c = c0; c < c0 + 3; ++c) px[std::size_t(k * size * size + r * size + c)] = 245;
  }
  return px;
}

/// Writes square_images as a (gzipped) idx file and returns the --data spec.
inline std::string write_square_idx(const std::string& path, int n, bool gzip = true) {
  write_bytes(path, idx_bytes(std::uint32_t(n), 8, 8, square_images(n)), gzip);
  return "idx:" + path;
}

/// `n` 2D points: 8 tight clusters on the unit circle (radius 1, jitter 0.02), as a CSV spec.
inline std::string write_cluster_csv(const std::string& path, int n) {
  std::ofstream out(path);
  out << "x,y\n";
  std::mt19937_64 rng(7);
  std::normal_distribution<double> jitter(0.0, 0.02);
  for (int i = 0; i < n; ++i) {
    const double a = 2 * M_PI * (i % 8) / 8.0;
    out << std::cos(a) + jitter(rng) << "," << std::sin(a) + jitter(rng) << "\n";
  }
  return "csv:" + path;
}

/// n points on a line at -6, 0 and 6 (CSV with one column): sources the dissipative wave can tell
/// apart (its smallest resolvable scale is 2 sigma_min = 5.06; train refuses finer data).
inline std::string write_line_points_csv(const std::string& path, int n) {
  std::ofstream out(path);
  out << "x\n";
  for (int i = 0; i < n; ++i) out << 6.0 * (i % 3 - 1) << "\n";
  return "csv:" + path;
}

/// Options for a short, quiet run with nothing written but the checkpoint.
inline TrainOptions quiet_options(const std::string& out_dir) {
  TrainOptions o;
  o.out_dir = out_dir;
  o.grid_every = 0;
  o.ckpt_every = 0;
  o.threads = 1;  // no OpenMP spin-waiting on shared cores; tests run in parallel anyway
  o.warmup_images = 0;
  return o;
}

/// The small-MLP run the point-data tests share: `steps` of 128 points at lr 2e-3, a 64-wide,
/// 2-deep MLP, no evaluation set.
inline TrainOptions mlp_options(const std::string& out_dir, const std::string& data, std::int64_t steps) {
  TrainOptions o = quiet_options(out_dir);
  o.data = data;
  o.steps = steps;
  o.batch = 128;
  o.lr = 2e-3;
  o.arch.arch = "mlp";
  o.arch.hidden = 64;
  o.arch.depth = 2;
  o.eval_samples = 0;
  return o;
}

}  // namespace genphys::test
