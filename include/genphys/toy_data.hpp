#pragma once
// 2D toy data sets and point files: the data the exact sampler and the toy experiments run on.
// No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace genphys {

/// The toy names make_toy knows: heart, rings, moons, checkerboard, swiss-roll.
const std::vector<std::string>& toy_names();

/// n points (rows) of a 2D toy distribution, roughly unit scale (each coordinate's standard
/// deviation between 0.6 and 1.25, centred near the origin, all within [-3, 3]). Point i is drawn from its own stream
/// sample_rng(seed, i), so make_toy(name, m, seed) is the first m rows of make_toy(name, n, seed).
/// Throws InputError for an unknown name (listing the valid ones) or n < 1.
Eigen::MatrixXd make_toy(const std::string& name, int n, std::uint64_t seed);

/// A parsed "toy:NAME[:N]" spec.
struct ToySpec {
  std::string name;
  int n;
};

/// True when `spec` starts with "toy:".
bool is_toy_spec(const std::string& spec);

/// Parses "toy:NAME" or "toy:NAME:N" (N a positive integer; default_n when absent). Throws
/// InputError for a malformed spec, an unknown name or a bad N.
ToySpec parse_toy_spec(const std::string& spec, int default_n = 1000);

/// Reads points from a CSV file: comma-separated numeric columns, one point per line, every row
/// the same number of columns. The first non-blank line is a header when none of its fields is a
/// number. Blank lines and lines starting with '#' are skipped; CRLF line ends are accepted.
/// Throws InputError naming the file (and the line and column) for: a file that cannot be opened,
/// no data rows, ragged rows, empty or non-numeric fields, and NaN or infinite values.
Eigen::MatrixXd load_csv_points(const std::string& path);

/// "toy:NAME[:N]" -> make_toy(NAME, N, seed) (N defaults to default_n); anything else is a CSV
/// path for load_csv_points.
Eigen::MatrixXd load_points(const std::string& spec, std::uint64_t seed = 0, int default_n = 1000);

/// Writes rows of `points` as CSV with 17 significant digits (load_csv_points reads the exact same
/// doubles back). With `header`, a first line "x0,x1,...". Throws InputError when the file cannot
/// be written.
void write_csv_points(const std::string& path, const Eigen::MatrixXd& points, bool header = true);

/// The text write_csv_points writes. Throws InputError for a NaN or infinite value: no CSV of
/// points carries one.
std::string format_csv_points(const Eigen::MatrixXd& points, bool header = true);

}  // namespace genphys
