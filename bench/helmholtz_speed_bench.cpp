// Calls per second of Helmholtz's per-source speed: source_radial_speed (tabulated) against the
// direct quantile_radial_velocity, on (r, t) pairs as training draws them (t log-uniform over the
// sampling range, r a draw of the kernel at t); and of the draws themselves: sample_displacement
// (radii from the per-process quantile tables) against RadialKernelProcess::sample_radius (one
// radial-CDF table built at each new t).
//   helmholtz_speed_bench [N = 2] [pairs = 2000]
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
  const auto& radial = dynamic_cast<const RadialKernelProcess&>(*p);
  const double smin = p->sigma_min(), smax = p->sigma_max();
  std::mt19937_64 g(2);
  std::uniform_real_distribution<double> U(std::log(smin), std::log(smax));
  Rng rng(1);
  std::vector<double> rs(m), ts(m), z(n);
  for (int i = 0; i < m; ++i) ts[i] = std::exp(U(g));
  auto a = Clock::now();
  double s0 = 0;
  for (int i = 0; i < m; ++i) s0 += radial.RadialKernelProcess::sample_radius(rng, ts[i]);
  const double direct_draw = since(a);
  a = Clock::now();
  p->sample_displacement(rng, ts[0], z.data());
  const double draw_build = since(a);
  a = Clock::now();
  for (int i = 0; i < m; ++i) {
    p->sample_displacement(rng, ts[i], z.data());
    double r2 = 0; for (double v : z) r2 += v * v;
    rs[i] = std::sqrt(r2);
  }
  const double draw_first = since(a);
  a = Clock::now();
  for (int i = 0; i < m; ++i) p->sample_displacement(rng, ts[i], z.data());
  const double draw = since(a);
  a = Clock::now();
  double s1 = 0; for (int i = 0; i < m; ++i) s1 += quantile_radial_velocity(*p, rs[i], ts[i]);
  const double direct = since(a);
  a = Clock::now();
  double s2 = 0; for (int i = 0; i < m; ++i) s2 += p->source_radial_speed(rs[i], ts[i]);
  const double first = since(a);
  a = Clock::now();
  double s3 = 0; for (int i = 0; i < m; ++i) s3 += p->source_radial_speed(rs[i], ts[i]);
  const double warm = since(a);
  std::printf("helmholtz k0 = 0.5, N = %d, %d pairs, t in [%.3g, %.3g]:\n"
              "  draws: direct (a table per t) %.0f /s; tabulated %.0f /s (first pass, building the node tables: %.2f s "
              "after %.3f s for the first), %.0f /s warm\n"
              "  speed: direct %.0f calls/s; tabulated %.0f calls/s (first pass, building the fits: %.2f s)\n"
              "  sums %.12g %.12g %.12g\n",
              n, m, smin, smax, m / direct_draw, m / draw_first, draw_first, draw_build, m / draw, m / direct, m / warm,
              first, s1, s3, s0);
  (void)s2;
}
