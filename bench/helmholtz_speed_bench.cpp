// Calls per second of Helmholtz's per-source speed: source_radial_speed (tabulated) against the
// direct quantile_radial_velocity, on (r, t) pairs as training draws them (t log-uniform over the
// sampling range, r a draw of the kernel at t), and the cost of the draws themselves.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>
#include "genphys/kernels.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/random.hpp"
using namespace genphys;
using Clock = std::chrono::steady_clock;
static double since(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }
int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2, m = argc > 2 ? atoi(argv[2]) : 2000;
  auto p = make_helmholtz_process(n, 0.5);
  const double smin = p->sigma_min(), smax = p->sigma_max();
  std::mt19937_64 g(2);
  std::uniform_real_distribution<double> U(std::log(smin), std::log(smax));
  Rng rng(1);
  std::vector<double> rs(m), ts(m), z(n);
  auto a = Clock::now();
  for (int i = 0; i < m; ++i) {
    ts[i] = std::exp(U(g));
    p->sample_displacement(rng, ts[i], z.data());
    double r2 = 0; for (double v : z) r2 += v * v;
    rs[i] = std::sqrt(r2);
  }
  const double draw = since(a);
  a = Clock::now();
  double s1 = 0; for (int i = 0; i < m; ++i) s1 += quantile_radial_velocity(*p, rs[i], ts[i]);
  const double direct = since(a);
  a = Clock::now();
  p->source_radial_speed(rs[0], ts[0]);
  double s2 = 0; for (int i = 0; i < m; ++i) s2 += p->source_radial_speed(rs[i], ts[i]);
  const double first = since(a);
  a = Clock::now();
  double s3 = 0; for (int i = 0; i < m; ++i) s3 += p->source_radial_speed(rs[i], ts[i]);
  const double warm = since(a);
  std::printf("helmholtz k0 = 0.5, N = %d, %d pairs, t in [%.3g, %.3g]: draws %.0f /s; direct %.0f calls/s; "
              "tabulated %.0f calls/s (first pass, building the table: %.2f s), %.0f calls/s; sums %.12g %.12g\n",
              n, m, smin, smax, m / draw, m / direct, m / warm, first, m / warm, s1, s3);
  (void)s2;
}
