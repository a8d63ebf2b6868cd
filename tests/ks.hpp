#pragma once
// Kolmogorov-Smirnov helpers shared by the sampler tests.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "genphys/generative.hpp"
#include "genphys/random.hpp"

namespace genphys::test {

/// Kolmogorov-Smirnov critical value factor at alpha = 0.001: sqrt(-ln(alpha/2) / 2); the
/// critical statistic for n draws is kKsFactor / sqrt(n).
inline const double kKsFactor = std::sqrt(-0.5 * std::log(0.0005));
inline constexpr int kSamples = 4000;

/// n radii |x - y| drawn from p at time t, draw i from stream (seed, i).
inline std::vector<double> sample_radii(const GenerativeProcess& p, double t, std::uint64_t seed, int n = kSamples) {
  std::vector<double> r(n);
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(seed, static_cast<std::uint64_t>(i));
    r[i] = p.sample_radius(rng, t);
  }
  return r;
}

/// The empirical q-quantile (lower order statistic).
inline double quantile(std::vector<double> x, double q) {
  std::sort(x.begin(), x.end());
  return x[static_cast<std::size_t>(q * double(x.size() - 1))];
}

/// Two-sample KS statistic sup |F_x - F_y| (ties handled by advancing both samples together).
inline double ks_two_sample(std::vector<double> x, std::vector<double> y) {
  std::sort(x.begin(), x.end());
  std::sort(y.begin(), y.end());
  std::size_t i = 0, j = 0;
  double d = 0.0;
  while (i < x.size() && j < y.size()) {
    const double v = std::min(x[i], y[j]);
    while (i < x.size() && x[i] <= v) ++i;
    while (j < y.size() && y[j] <= v) ++j;
    d = std::max(d, std::fabs(double(i) / x.size() - double(j) / y.size()));
  }
  return d;
}

}  // namespace genphys::test
