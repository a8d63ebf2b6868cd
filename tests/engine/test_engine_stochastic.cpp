// The network samplers beyond the ODE: EDM's churn (stochastic_sampler.hpp) and DPM-Solver++(2M)
// on torch tensors: churn 0 is Heun bit for bit, NFE is exact, paths do not depend on the batch,
// the modules each solver cannot drive are refused in one line.
#include <cmath>
#include <iostream>

#include "engine/sampler.hpp"
#include "engine/stochastic_sampler.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;

namespace {

// dx/dlambda for data N(0, a^2 I) under diffusion (lambda = sigma): D = a^2 x / (a^2 + sigma^2).
StepVelocity gaussian_velocity(double a, int* calls) {
  return [a, calls](const torch::Tensor& x, const ClockPoint& at) {
    ++*calls;
    const double s2 = at.sigma * at.sigma;
    return (x - a * a / (a * a + s2) * x) / at.lambda;
  };
}

}  // namespace

TEST_CASE("churn 0 is Heun bit for bit on tensors; churn keeps the NFE and moves the samples") {
  const auto p = make_diffusion_process(2);
  const auto x0 = draw_prior(*p, {0, 1, 2, 3, 4, 5}, 0, {2}, 80.0);
  OdeOptions o;
  o.nfe = 17;
  int calls = 0;
  std::int64_t heun_nfe = 0, churn_nfe = 0;
  const auto heun = integrate_velocity(*p, x0, gaussian_velocity(0.5, &calls), o, heun_nfe);
  OdeOptions zero = o;
  zero.churn = {0.0};
  const auto same = integrate_churn(*p, x0, gaussian_velocity(0.5, &calls), zero, churn_streams(0, {0, 1, 2, 3, 4, 5}),
                                    churn_nfe);
  CHECK(torch::equal(heun, same));
  CHECK(heun_nfe == 17);
  CHECK(churn_nfe == 17);
  OdeOptions churned = o;
  churned.churn = {4.0, 0.05, 50.0, 1.003};
  churn_nfe = 0;
  calls = 0;
  const auto moved = integrate_churn(*p, x0, gaussian_velocity(0.5, &calls), churned,
                                     churn_streams(0, {0, 1, 2, 3, 4, 5}), churn_nfe);
  CHECK(churn_nfe == 17);
  CHECK(calls == 17);
  CHECK((moved - heun).abs().max().item<double>() > 1e-3);
  // The churned flow of a Gaussian stays on the Gaussian's scale: |x| ~ 0.5 sqrt(2) on average.
  CHECK(moved.norm(2, 1).mean().item<double>() < 2.0);
}

TEST_CASE("DPM-Solver++(2M) on tensors: exact NFE, the Gaussian's closed-form end point, refusals") {
  const auto p = make_diffusion_process(2);
  const auto x0 = draw_prior(*p, {0, 1, 2, 3}, 0, {2}, 80.0);
  const double a = 0.5;
  // The flow of N(0, a^2) carries x(80) to x(0) = x(80) a / sqrt(a^2 + 80^2).
  const auto exact = x0 * (a / std::sqrt(a * a + 6400.0));
  auto error = [&](Solver solver, int nfe) {
    OdeOptions o;
    o.solver = solver;
    o.nfe = nfe;
    int calls = 0;
    std::int64_t counted = 0;
    const auto x = integrate_velocity(*p, x0, gaussian_velocity(a, &calls), o, counted);
    CHECK(calls == nfe);
    CHECK(counted == nfe);
    return ((x - exact).abs().max() / exact.abs().max()).item<double>();
  };
  const double dpm10 = error(Solver::dpmpp_2m, 10), dpm20 = error(Solver::dpmpp_2m, 20);
  const double heun9 = error(Solver::heun, 9), heun21 = error(Solver::heun, 21);
  std::cout << "Gaussian end point, relative error: dpmpp-2m 10 NFE " << dpm10 << ", 20 NFE " << dpm20 << "; heun 9 NFE "
            << heun9 << ", 21 NFE " << heun21 << "\n";
  CHECK(dpm10 < 0.5 * heun9);
  CHECK(dpm20 < dpm10);
  // A velocity flow has no denoiser to recover; a Student-t kernel cannot be re-noised.
  OdeOptions dpm;
  dpm.solver = Solver::dpmpp_2m;
  const auto mixed = make_mixed_diffusion_poisson_process(2, 1.0, 1.0);
  std::int64_t nfe = 0;
  CHECK_THROWS_WITH(integrate_velocity(*mixed, x0, gaussian_velocity(a, nullptr), dpm, nfe),
                    Catch::Matchers::StartsWith("dpmpp-2m needs a denoiser (affine) module"));
  OdeOptions churn;
  churn.churn = {1.0};
  const auto pfgmpp = make_pfgmpp_process(2, 16.0);
  CHECK_THROWS_WITH(integrate_churn(*pfgmpp, x0, gaussian_velocity(a, nullptr), churn, churn_streams(0, {0, 1, 2, 3}), nfe),
                    Catch::Matchers::StartsWith("--churn cannot keep the marginals"));
  churn.solver = Solver::euler;
  CHECK_THROWS_AS(validate_ode_options(churn), InputError);
  churn.solver = Solver::heun;
  churn.noise_alpha = 0.1;
  CHECK_THROWS_AS(validate_ode_options(churn), InputError);
}

TEST_CASE("trained network: churn and DPM-Solver++(2M) samples do not depend on the batch") {
  test::TempDir dir("stochastic");
  TrainOptions o = test::quiet_options(dir / "pts");
  o.data = test::write_cluster_csv(dir / "p.csv", 64);
  o.module.name = "diffusion";
  o.process = make_diffusion_process(2);
  o.steps = 20;
  o.batch = 16;
  o.lr = 3e-3;
  o.eval_samples = 0;
  train(o);
  SampleOptions s;
  s.checkpoint = dir / "pts/last.ckpt";
  s.process = o.process;
  s.threads = 1;
  s.seeds = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  s.nfe = 9;
  const SampleResult plain = sample(s);
  for (const bool churn : {true, false}) {
    if (churn) {
      s.churn = {4.0};
    } else {
      s.churn = {};
      s.solver = Solver::dpmpp_2m;
      s.nfe = 10;
    }
    s.batch = 11;
    const SampleResult all = sample(s);
    s.batch = 4;
    const SampleResult fours = sample(s);
    CHECK(all.nfe == s.nfe);
    float diff = 0, moved = 0;
    for (std::size_t i = 0; i < all.values.size(); ++i) {
      diff = std::max(diff, std::abs(all.values[i] - fours.values[i]));
      moved = std::max(moved, std::abs(all.values[i] - plain.values[i]));
    }
    std::cout << (churn ? "churn 4" : "dpmpp-2m 10") << ": batch 11 vs 4 max difference " << diff
              << ", max difference from heun 9 " << moved << "\n";
    CHECK(diff < 1e-4f);
    CHECK(moved > 1e-3f);
  }
  // The rho and churn checks reach the user as the option's flag.
  s.rho = 0.0;
  CHECK_THROWS_AS(sample(s), OptionError);
}
