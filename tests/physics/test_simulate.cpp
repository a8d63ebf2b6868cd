// Spectral evolution: mass, contrast decay (C2) or its absence, exact recurrences of the
// non-forgetting PDEs, and agreement with direct convolution by the closed-form kernel.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "genphys/pde.hpp"
#include "genphys/simulate.hpp"

using namespace genphys;

namespace {

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double m = 0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("diffusion conserves mass (1e-10) and forgets the data; the Yukawa mass is e^(-m t)") {
  for (int dim : {1, 2}) {
    const SimulationBox box{dim, dim == 1 ? 512 : 128, 10.0};
    const auto rho0 = gaussian_bumps(box, random_centers(box, 4, 11), 0.2);
    const auto heat = make_module("diffusion");
    const auto snaps = simulate_spectral(*heat, box, rho0, {0.0, 0.5, 2.0, 10.0});
    INFO("N = " << dim);
    for (const auto& s : snaps) CHECK(s.mass == Approx(1.0).margin(1e-10));
    // Contrast max - min: the t = 10 state is within 1% of uniform (slowest mode e^(-(2 pi/10)^2 10) = 0.02).
    CHECK(snaps[1].contrast() < 0.5 * snaps[0].contrast());
    CHECK(snaps[2].contrast() < snaps[1].contrast());
    CHECK(snaps[3].contrast() < 0.01 * snaps[0].contrast());
    const auto yukawa = make_module("screened-poisson", {{"m", 0.7}});
    for (const auto& s : simulate_spectral(*yukawa, box, rho0, {0.5, 3.0}))
      CHECK(s.mass == Approx(std::exp(-0.7 * s.t)).epsilon(1e-10));
  }
}

TEST_CASE("ideal wave and Schrodinger do not forget: contrast stays, the data return exactly") {
  const SimulationBox box{1, 512, 10.0};
  const auto rho0 = gaussian_bumps(box, random_centers(box, 1, 5), 0.2);
  const double c0 = *std::max_element(rho0.begin(), rho0.end());
  std::vector<double> times;
  for (int i = 0; i <= 40; ++i) times.push_back(0.25 * i);
  // Ideal wave (G-hat = cos(k t)): the bump splits into two halves that travel; the contrast
  // never falls below half its start, and at t = L every box mode has cos(2 pi j) = 1: the data
  // return exactly (to rounding).
  const auto wave = make_module("ideal-wave");
  const auto w = simulate_spectral(*wave, box, rho0, times);
  for (const auto& s : w) {
    INFO("wave t = " << s.t);
    CHECK(s.contrast() >= 0.49 * w[0].contrast());
    CHECK(s.mass == Approx(1.0).margin(1e-10));
  }
  CHECK(max_abs_diff(w.back().density, rho0) < 1e-12 * c0);
  // Diffusion over the same times: contrast below 1% at t = 10.
  const auto d = simulate_spectral(*make_module("diffusion"), box, rho0, times);
  CHECK(d.back().contrast() < 0.01 * d[0].contrast());
  // Schrodinger (|phi|^2, phi-hat = exp(-i k^2 t) phi0-hat): unitary, and at t = L^2/(2 pi)
  // every mode has k^2 t = 2 pi j^2: exact revival of the data.
  const auto schr = make_module("schrodinger");
  REQUIRE(evolves_amplitude(*schr));
  const double revival = box.length * box.length / (2 * M_PI);
  const auto s = simulate_spectral(*schr, box, rho0, {0.0, 0.3 * revival, revival});
  for (const auto& snap : s) CHECK(snap.mass == Approx(1.0).margin(1e-10));
  CHECK(s[1].contrast() < 0.5 * s[0].contrast());  // spread out in between ...
  CHECK(max_abs_diff(s[2].density, rho0) < 1e-9 * c0);  // ... and back
}

TEST_CASE("1D diffusion by FFT equals direct convolution with the closed-form kernel (1e-8)") {
  // Direct periodic convolution sum_i rho0(x_i) G(x_j - x_i + m L, t) dx with G = green() of the
  // diffusion module; the trapezoid rule is spectrally accurate for these smooth periodic data.
  const SimulationBox box{1, 256, 10.0};
  const auto rho0 = gaussian_bumps(box, random_centers(box, 3, 21), 0.15);
  const auto heat = make_module("diffusion");
  for (double t : {0.05, 0.5, 2.0}) {
    const auto snap = simulate_spectral(*heat, box, rho0, {t}).front();
    std::vector<double> direct(box.grid, 0.0);
    for (int j = 0; j < box.grid; ++j)
      for (int i = 0; i < box.grid; ++i)
        for (int m = -2; m <= 2; ++m) {
          const double r = std::fabs(box.coordinate(j) - box.coordinate(i) + m * box.length);
          direct[j] += rho0[i] * heat->green(r, t, 1).value() * box.dx();
        }
    const double peak = *std::max_element(direct.begin(), direct.end());
    INFO("t = " << t);
    CHECK(max_abs_diff(snap.density, direct) < 1e-8 * peak);
  }
}

TEST_CASE("simulate rejects bad boxes and modules without G-hat") {
  CHECK_THROWS_AS((SimulationBox{3, 64, 10.0}.validate()), InputError);
  CHECK_THROWS_AS((SimulationBox{1, 63, 10.0}.validate()), InputError);
  CHECK_THROWS_AS((SimulationBox{2, 2048, 10.0}.validate()), InputError);
  CHECK_THROWS_AS((SimulationBox{1, 64, -1.0}.validate()), InputError);
  const SimulationBox box{1, 64, 10.0};
  const auto rho0 = gaussian_bumps(box, random_centers(box, 2, 1), 0.4);
  CHECK_THROWS_AS(simulate_spectral(*make_module("diffusion"), box, rho0, {-1.0}), InputError);
  CHECK_THROWS_AS(simulate_spectral(*make_module("diffusion"), box, std::vector<double>(10), {1.0}), InputError);
  CHECK_THROWS_AS(gaussian_bumps(box, random_centers(box, 2, 1), 0.0), InputError);
}
