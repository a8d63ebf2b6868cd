#include "genphys/simulate.hpp"

#include <fftw3.h>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <complex>
#include <random>

namespace genphys {
namespace {

constexpr double kPi = 3.14159265358979323846;

// A complex in-place n^dim transform; FFTW plans are not thread-safe to create, so one at a time.
class Fft {
 public:
  Fft(const SimulationBox& box) : size_(box.size()) {
    data_ = fftw_alloc_complex(size_);
    std::vector<int> dims(box.dim, box.grid);
    // FFTW wants the slowest axis first; our first axis is fastest, so reverse (all equal here).
    forward_ = fftw_plan_dft(box.dim, dims.data(), data_, data_, FFTW_FORWARD, FFTW_ESTIMATE);
    backward_ = fftw_plan_dft(box.dim, dims.data(), data_, data_, FFTW_BACKWARD, FFTW_ESTIMATE);
  }
  ~Fft() {
    fftw_destroy_plan(forward_);
    fftw_destroy_plan(backward_);
    fftw_free(data_);
  }
  Fft(const Fft&) = delete;
  Fft& operator=(const Fft&) = delete;
  std::complex<double>* data() { return reinterpret_cast<std::complex<double>*>(data_); }
  void forward() { fftw_execute(forward_); }
  void backward() { fftw_execute(backward_); }

 private:
  std::size_t size_;
  fftw_complex* data_;
  fftw_plan forward_, backward_;
};

// |k| for every flattened index.
std::vector<double> wave_numbers(const SimulationBox& box) {
  std::vector<double> k(box.size());
  const double dk = 2 * kPi / box.length;
  for (std::size_t idx = 0; idx < k.size(); ++idx) {
    std::size_t rest = idx;
    double k2 = 0;
    for (int d = 0; d < box.dim; ++d) {
      const int i = static_cast<int>(rest % box.grid);
      rest /= box.grid;
      const double kd = dk * (i <= box.grid / 2 ? i : i - box.grid);
      k2 += kd * kd;
    }
    k[idx] = std::sqrt(k2);
  }
  return k;
}

}  // namespace

std::size_t SimulationBox::size() const {
  std::size_t n = 1;
  for (int d = 0; d < dim; ++d) n *= static_cast<std::size_t>(grid);
  return n;
}

void SimulationBox::validate() const {
  if (dim != 1 && dim != 2) throw InputError(fmt::format("--dim must be 1 or 2 for simulate, got {}", dim));
  const int max_grid = dim == 1 ? 4096 : 1024;
  if (grid < 8 || grid > max_grid || grid % 2 != 0)
    throw InputError(fmt::format("--grid must be even and in [8, {}] for dim {}, got {}", max_grid, dim, grid));
  if (!(length > 0) || !std::isfinite(length)) throw InputError(fmt::format("box length must be > 0, got {}", length));
}

Eigen::MatrixXd random_centers(const SimulationBox& box, int count, std::uint64_t seed) {
  if (count < 1) throw InputError(fmt::format("--sources must be >= 1, got {}", count));
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-0.25 * box.length, 0.25 * box.length);
  Eigen::MatrixXd c(count, box.dim);
  for (int i = 0; i < count; ++i)
    for (int d = 0; d < box.dim; ++d) c(i, d) = u(rng);
  return c;
}

std::vector<double> gaussian_bumps(const SimulationBox& box, const Eigen::MatrixXd& centers, double width) {
  box.validate();
  if (!(width > 0) || !std::isfinite(width)) throw InputError(fmt::format("bump width must be > 0, got {}", width));
  if (centers.cols() != box.dim || centers.rows() < 1)
    throw InputError("gaussian_bumps: centers must have one row per bump and dim columns");
  std::vector<double> out(box.size(), 0.0);
  const int count = static_cast<int>(centers.rows());
  const double norm = std::pow(2 * kPi * width * width, -0.5 * box.dim) / count;
  // 1D profiles per bump and axis, summed over the nearest periodic images.
  for (int b = 0; b < count; ++b) {
    std::vector<std::vector<double>> axis(box.dim, std::vector<double>(box.grid));
    for (int d = 0; d < box.dim; ++d)
      for (int i = 0; i < box.grid; ++i) {
        double s = 0;
        for (int m = -2; m <= 2; ++m) {
          const double z = (box.coordinate(i) - centers(b, d) + m * box.length) / width;
          s += std::exp(-0.5 * z * z);
        }
        axis[d][i] = s;
      }
    for (std::size_t idx = 0; idx < out.size(); ++idx) {
      std::size_t rest = idx;
      double v = norm;
      for (int d = 0; d < box.dim; ++d) {
        v *= axis[d][rest % box.grid];
        rest /= box.grid;
      }
      out[idx] += v;
    }
  }
  return out;
}

bool evolves_amplitude(const PdeModule& module) {
  for (double k : {0.3, 1.0, 3.0})
    if (std::fabs(module.green_hat(k, 1.0).imag()) > 1e-12) return true;
  return false;
}

std::vector<Snapshot> simulate_spectral(const PdeModule& module, const SimulationBox& box,
                                        const std::vector<double>& initial, const std::vector<double>& times) {
  box.validate();
  if (initial.size() != box.size())
    throw InputError(fmt::format("initial density has {} values, the box {}", initial.size(), box.size()));
  for (double t : times)
    if (!(t >= 0) || !std::isfinite(t)) throw InputError(fmt::format("times must be >= 0, got {}", t));
  const bool amplitude = evolves_amplitude(module);
  const std::vector<double> k = wave_numbers(box);
  const std::size_t n = box.size();
  const double cell = std::pow(box.dx(), box.dim);

  Fft fft(box);
  std::vector<std::complex<double>> start(n);
  for (std::size_t i = 0; i < n; ++i) fft.data()[i] = amplitude ? std::sqrt(std::max(initial[i], 0.0)) : initial[i];
  fft.forward();
  std::copy(fft.data(), fft.data() + n, start.begin());

  std::vector<Snapshot> out;
  for (double t : times) {
    Snapshot s;
    s.t = t;
    for (std::size_t i = 0; i < n; ++i) {
      const complex g = t == 0 ? complex(1.0) : module.green_hat(k[i], t);
      fft.data()[i] = start[i] * (amplitude ? g : complex(g.real()));
    }
    fft.backward();
    s.density.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      const std::complex<double> v = fft.data()[i] / static_cast<double>(n);
      s.density[i] = amplitude ? std::norm(v) : v.real();
    }
    s.min = *std::min_element(s.density.begin(), s.density.end());
    s.max = *std::max_element(s.density.begin(), s.density.end());
    for (double v : s.density) s.mass += v * cell;
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace genphys
