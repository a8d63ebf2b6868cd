// What a velocity target of the generic subordination route costs: time(sigma) (fitted once per
// process), a draw of the displacement, and the per-source speed, tabulated (source_radial_speed)
// against the direct mixture integrals (subordinated_direct_speed), on (sigma, r) pairs as training
// draws them (sigma log-uniform over [0.002, 80], r a draw of the kernel at t(sigma)).
//   subordinator_speed_bench [N = 2] [pairs = 2000] [expr = "phi_tt + lap phi - 0.25 phi" | tempered]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>
#include "genphys/generative.hpp"
#include "genphys/pde.hpp"
#include "genphys/random.hpp"
#include "physics/subordinator.hpp"
using namespace genphys;
using Clock = std::chrono::steady_clock;
static double since(Clock::time_point a) { return std::chrono::duration<double>(Clock::now() - a).count(); }
int main(int argc, char** argv) {
  const int n = argc > 1 ? atoi(argv[1]) : 2, m = argc > 2 ? atoi(argv[2]) : 2000;
  const std::string expr = argc > 3 ? argv[3] : "phi_tt + lap phi - 0.25 phi";
  const ModuleSpec spec = expr == "tempered" ? ModuleSpec{"tempered-diffusion", {}, ""} : ModuleSpec{"custom", {}, expr};
  auto p = make_subordinated_process(*make_module(spec), n);
  std::mt19937_64 g(2);
  std::uniform_real_distribution<double> U(std::log(0.002), std::log(80.0));
  std::vector<double> s(m), t(m), r(m), z(n);
  for (int i = 0; i < m; ++i) s[i] = std::exp(U(g));
  auto a = Clock::now();
  p->time(1.0);
  const double fits = since(a);
  a = Clock::now();
  for (int i = 0; i < m; ++i) t[i] = p->time(s[i]);
  const double time_calls = since(a);
  Rng rng(1);
  a = Clock::now();
  for (int i = 0; i < m; ++i) {
    p->sample_displacement(rng, t[i], z.data());
    double r2 = 0;
    for (double v : z) r2 += v * v;
    r[i] = std::sqrt(r2);
  }
  const double draw_first = since(a);
  a = Clock::now();
  for (int i = 0; i < m; ++i) p->sample_displacement(rng, t[i], z.data());
  const double draw = since(a);
  a = Clock::now();
  double s1 = 0;
  for (int i = 0; i < m; ++i) s1 += subordinated_direct_speed(*p, r[i], t[i]);
  const double direct = since(a);
  a = Clock::now();
  double s2 = 0;
  for (int i = 0; i < m; ++i) s2 += p->source_radial_speed(r[i], t[i]);
  const double first = since(a);
  a = Clock::now();
  double s3 = 0;
  for (int i = 0; i < m; ++i) s3 += p->source_radial_speed(r[i], t[i]);
  const double warm = since(a);
  double worst = 0;
  for (int i = 0; i < m; ++i)
    worst = std::max(worst, std::fabs(p->source_radial_speed(r[i], t[i]) / subordinated_direct_speed(*p, r[i], t[i]) - 1));
  std::printf("%s, N = %d, %d pairs:\n"
              "  time(sigma): %.0f calls/s (after %.3f s fitting sigma(t) and its inverse)\n"
              "  draws: %.0f /s warm (first pass, building the law's tables: %.2f s)\n"
              "  speed: direct %.0f calls/s; tabulated %.0f calls/s warm (first pass, building the tables over t: %.2f s)\n"
              "  largest relative difference tabulated vs direct: %.2e\n  sums %.12g %.12g\n",
              expr.c_str(), n, m, m / time_calls, fits, m / draw, draw_first, m / direct, m / warm, first, worst, s1, s3);
  (void)s2;
}
