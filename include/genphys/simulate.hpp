#pragma once
// Exact spectral evolution of a density under a PDE on a periodic grid (FFTW): the Fourier
// transform of the initial density times p-hat(|k|, t), so C2 (forgetting the data) can be seen.

#include <cstdint>
#include <vector>

#include <Eigen/Dense>

#include "genphys/pde.hpp"

namespace genphys {

/// A periodic box [-length/2, length/2)^dim sampled on grid^dim points, x_i = -length/2 + i dx.
/// Arrays are flattened with the first axis fastest: index = i0 + grid * i1.
struct SimulationBox {
  int dim = 1;
  int grid = 256;
  double length = 10.0;
  double dx() const { return length / grid; }
  double coordinate(int i) const { return -0.5 * length + i * dx(); }
  std::size_t size() const;
  /// Throws InputError unless dim is 1 or 2, grid is even and in [8, 4096] (1D) / [8, 1024] (2D),
  /// and length > 0.
  void validate() const;
};

/// `count` centres drawn uniformly from [-length/4, length/4]^dim (seeded, reproducible).
Eigen::MatrixXd random_centers(const SimulationBox& box, int count, std::uint64_t seed);

/// Sum of Gaussian bumps N(c_i, width^2 I) of mass 1/K each at the rows c_i of `centers`,
/// sampled on the box (periodic images included, so the grid mass is 1 to rounding for
/// width >= 2 dx).
std::vector<double> gaussian_bumps(const SimulationBox& box, const Eigen::MatrixXd& centers, double width);

struct Snapshot {
  double t = 0.0;
  std::vector<double> density;
  double mass = 0.0;      ///< sum of density * dx^dim
  double min = 0.0, max = 0.0;
  double contrast() const { return max - min; }
};

/// Evolves `initial` to each of `times`. Densities: FFT, multiply by module.green_hat(|k|, t)
/// (its real part; the imaginary part vanishes for a real radial kernel), inverse FFT. A module
/// whose G-hat is complex (Schrodinger, G-hat = exp(-i k^2 t)) evolves the amplitude
/// phi = sqrt(initial) instead and reports p = |phi|^2. Exact in time: no time stepping.
/// Throws NotSupported when the module has no G-hat.
std::vector<Snapshot> simulate_spectral(const PdeModule& module, const SimulationBox& box,
                                        const std::vector<double>& initial, const std::vector<double>& times);

/// True when the module is evolved as an amplitude (complex G-hat).
bool evolves_amplitude(const PdeModule& module);

}  // namespace genphys
