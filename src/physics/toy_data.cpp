#include "genphys/toy_data.hpp"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "genphys/errors.hpp"
#include "genphys/io.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

namespace genphys {

namespace {

constexpr double kPi = 3.14159265358979323846;

// variates.hpp's draws, not std::*_distribution: the same points with every standard library.
double normal01(Rng& rng) { return standard_normal(rng); }

void heart(Rng& rng, double* p) {
  const double s = 2.0 * kPi * uniform01(rng);
  const double x = 16.0 * std::pow(std::sin(s), 3);
  const double y = 13.0 * std::cos(s) - 5.0 * std::cos(2 * s) - 2.0 * std::cos(3 * s) - std::cos(4 * s);
  p[0] = x / 9.0 + 0.03 * normal01(rng);
  p[1] = y / 9.0 + 0.03 * normal01(rng);
}

void rings(Rng& rng, double* p) {
  // Four circles; a ring is picked with probability proportional to its length.
  static constexpr double radii[4] = {0.5, 1.0, 1.5, 2.0};
  const double u = uniform01(rng) * 5.0;  // sum of radii
  double acc = 0.0, r = radii[3];
  for (double ri : radii) {
    acc += ri;
    if (u < acc) {
      r = ri;
      break;
    }
  }
  const double a = 2.0 * kPi * uniform01(rng);
  p[0] = r * std::cos(a) + 0.03 * normal01(rng);
  p[1] = r * std::sin(a) + 0.03 * normal01(rng);
}

void moons(Rng& rng, double* p) {
  // sklearn's two half circles, centred and scaled by 1.3.
  const bool upper = uniform01(rng) < 0.5;
  const double a = kPi * uniform01(rng);
  double x = upper ? std::cos(a) : 1.0 - std::cos(a);
  double y = upper ? std::sin(a) : 0.5 - std::sin(a);
  p[0] = 1.3 * (x - 0.5) + 0.05 * normal01(rng);
  p[1] = 1.3 * (y - 0.25) + 0.05 * normal01(rng);
}

void checkerboard(Rng& rng, double* p) {
  // 4 x 4 board on [-2, 2]^2 with 8 filled unit squares (the FFJORD construction, unscaled).
  const double x = 4.0 * uniform01(rng) - 2.0;
  const double shift = (static_cast<int>(std::floor(x)) & 1) ? 1.0 : 0.0;
  const double y = uniform01(rng) - (uniform01(rng) < 0.5 ? 2.0 : 0.0) + shift;
  p[0] = x;
  p[1] = y;
}

void swiss_roll(Rng& rng, double* p) {
  // sklearn's roll t in [1.5 pi, 4.5 pi], (t cos t, t sin t) minus its exact mean (2, 2 / 3pi), / 7.
  const double t = 1.5 * kPi * (1.0 + 2.0 * uniform01(rng));
  p[0] = (t * std::cos(t) - 2.0) / 7.0 + 0.08 * normal01(rng);
  p[1] = (t * std::sin(t) - 2.0 / (3.0 * kPi)) / 7.0 + 0.08 * normal01(rng);
}

using ToyFn = void (*)(Rng&, double*);

ToyFn find_toy(const std::string& name) {
  if (name == "heart") return heart;
  if (name == "rings") return rings;
  if (name == "moons") return moons;
  if (name == "checkerboard") return checkerboard;
  if (name == "swiss-roll") return swiss_roll;
  std::string valid;
  for (const auto& n : toy_names()) valid += (valid.empty() ? "" : ", ") + n;
  throw InputError("unknown toy data set '" + name + "'; valid: " + valid);
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_fields(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const auto comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return fields;
}

enum class Parsed { number, not_number, out_of_range };

// Locale-independent parse of a whole field; every character must be consumed.
Parsed parse_number(const std::string& field, double& value) {
  const char* b = field.data();
  const char* e = b + field.size();
  if (b != e && *b == '+') ++b;
  if (b == e) return Parsed::not_number;
  const auto res = std::from_chars(b, e, value);
  if (res.ptr != e) return Parsed::not_number;
  if (res.ec == std::errc::result_out_of_range) return Parsed::out_of_range;
  return res.ec == std::errc() ? Parsed::number : Parsed::not_number;
}

}  // namespace

const std::vector<std::string>& toy_names() {
  static const std::vector<std::string> names = {"heart", "rings", "moons", "checkerboard", "swiss-roll"};
  return names;
}

Eigen::MatrixXd make_toy(const std::string& name, int n, std::uint64_t seed) {
  const ToyFn fn = find_toy(name);
  if (n < 1) throw InputError(fmt::format("toy data needs n >= 1 points, got {}", n));
  Eigen::MatrixXd out(n, 2);
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(seed, static_cast<std::uint64_t>(i));
    double p[2];
    fn(rng, p);
    out(i, 0) = p[0];
    out(i, 1) = p[1];
  }
  return out;
}

bool is_toy_spec(const std::string& spec) { return spec.rfind("toy:", 0) == 0; }

ToySpec parse_toy_spec(const std::string& spec, int default_n) {
  if (!is_toy_spec(spec)) throw InputError("'" + spec + "' is not a toy spec (expected toy:NAME[:N])");
  const std::string rest = spec.substr(4);
  const auto colon = rest.find(':');
  ToySpec out{rest.substr(0, colon), default_n};
  find_toy(out.name);  // throws for unknown names
  if (colon != std::string::npos) {
    const std::string count = rest.substr(colon + 1);
    long long n = 0;
    const auto res = std::from_chars(count.data(), count.data() + count.size(), n);
    if (count.empty() || res.ec != std::errc() || res.ptr != count.data() + count.size() || n < 1 ||
        n > 100000000)
      throw InputError("bad point count '" + count + "' in '" + spec + "'; expected an integer in [1, 1e8]");
    out.n = static_cast<int>(n);
  }
  if (out.n < 1) throw InputError(fmt::format("toy data needs n >= 1 points, got {}", out.n));
  return out;
}

Eigen::MatrixXd load_csv_points(const std::string& path) {
  errno = 0;
  std::ifstream in(path);
  // The reason (missing, a folder that cannot be searched, no read permission) comes from errno.
  if (!in) throw InputError("cannot open point file '" + path + "': " + std::strerror(errno ? errno : ENOENT));
  std::vector<double> values;
  long cols = -1;
  long first_data_line = 0;
  bool seen_first = false;
  std::string line;
  long line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    const auto fields = split_fields(t);
    if (!seen_first) {
      seen_first = true;
      bool any_number = false;
      for (const auto& f : fields) {
        double v;
        any_number = any_number || parse_number(f, v) != Parsed::not_number;
      }
      if (!any_number) continue;  // header line
    }
    if (cols < 0) {
      cols = static_cast<long>(fields.size());
      first_data_line = line_no;
    } else if (static_cast<long>(fields.size()) != cols) {
      throw InputError(fmt::format("{}: line {}: {} columns, expected {} (as on line {})", path, line_no,
                                   fields.size(), cols, first_data_line));
    }
    for (std::size_t c = 0; c < fields.size(); ++c) {
      double v;
      if (fields[c].empty())
        throw InputError(fmt::format("{}: line {}, column {}: empty field", path, line_no, c + 1));
      const Parsed p = parse_number(fields[c], v);
      if (p == Parsed::not_number)
        throw InputError(fmt::format("{}: line {}, column {}: '{}' is not a number", path, line_no, c + 1,
                                     fields[c]));
      if (p == Parsed::out_of_range)
        throw InputError(fmt::format("{}: line {}, column {}: value '{}' is out of double range", path,
                                     line_no, c + 1, fields[c]));
      if (!std::isfinite(v))
        throw InputError(fmt::format("{}: line {}, column {}: value '{}' is not finite", path, line_no, c + 1,
                                     fields[c]));
      values.push_back(v);
    }
  }
  if (in.bad()) throw InputError("error reading point file '" + path + "'");
  if (cols <= 0) throw InputError(path + ": no data rows");
  const long rows = static_cast<long>(values.size()) / cols;
  Eigen::MatrixXd out(rows, cols);
  for (long r = 0; r < rows; ++r)
    for (long c = 0; c < cols; ++c) out(r, c) = values[static_cast<std::size_t>(r * cols + c)];
  return out;
}

Eigen::MatrixXd load_points(const std::string& spec, std::uint64_t seed, int default_n) {
  if (is_toy_spec(spec)) {
    const ToySpec t = parse_toy_spec(spec, default_n);
    return make_toy(t.name, t.n, seed);
  }
  return load_csv_points(spec);
}

std::string format_csv_points(const Eigen::MatrixXd& points, bool header) {
  if (!points.allFinite()) throw InputError("a point has a NaN or infinite coordinate; not written");
  std::string text;
  if (header) {
    for (Eigen::Index c = 0; c < points.cols(); ++c) text += fmt::format("{}x{}", c ? "," : "", c);
    text += '\n';
  }
  for (Eigen::Index r = 0; r < points.rows(); ++r) {
    for (Eigen::Index c = 0; c < points.cols(); ++c) text += fmt::format("{}{:.17g}", c ? "," : "", points(r, c));
    text += '\n';
  }
  return text;
}

void write_csv_points(const std::string& path, const Eigen::MatrixXd& points, bool header) {
  write_file_atomic(path, format_csv_points(points, header));
}

}  // namespace genphys
