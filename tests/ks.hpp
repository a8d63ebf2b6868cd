#pragma once
// Kolmogorov-Smirnov statistics shared by the sampler tests.
#include <algorithm>
#include <cmath>
#include <vector>

namespace genphys::test {

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
