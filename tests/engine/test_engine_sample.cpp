// Sampling: exact NFE, the ODE in sigma for each process, prior streams per sample, and samples
// that do not depend on the batch they are integrated in.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <iostream>
#include <tuple>

#include "engine/sampler.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"
#include "genphys/ode.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;

namespace {

// The exact posterior mean for data N(0, a^2 I) under diffusion: a^2 / (a^2 + sigma^2) x.
Denoiser gaussian_denoiser(double a, int* calls) {
  return [a, calls](const torch::Tensor& x, const torch::Tensor& sigma) {
    ++*calls;
    std::vector<std::int64_t> shape(std::size_t(x.dim()), 1);
    shape[0] = x.size(0);
    auto s2 = (sigma * sigma).reshape(shape).to(x.dtype());
    return a * a / (a * a + s2) * x;
  };
}

// The exact posterior mean E[y | x, t] for a finite data set, weights from the kernel density.
Denoiser empirical_denoiser(const GenerativeProcess& p, const std::vector<std::vector<double>>& ys) {
  return [&p, ys](const torch::Tensor& x, const torch::Tensor& sigma) {
    auto out = torch::zeros_like(x);
    const double t = p.time(sigma[0].item<double>());
    auto xa = x.accessor<double, 2>();
    auto oa = out.accessor<double, 2>();
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      std::vector<double> logw;
      for (const auto& y : ys) logw.push_back(p.log_kernel(std::hypot(xa[i][0] - y[0], xa[i][1] - y[1]), t));
      const double m = *std::max_element(logw.begin(), logw.end());
      double z = 0;
      for (std::size_t k = 0; k < ys.size(); ++k) {
        const double w = std::exp(logw[k] - m);
        z += w;
        oa[i][0] += w * ys[k][0];
        oa[i][1] += w * ys[k][1];
      }
      oa[i][0] /= z;
      oa[i][1] /= z;
    }
    return out;
  };
}

}  // namespace

TEST_CASE("NFE is exact: heun 2n - 1, euler n, rk45 as counted") {
  auto p = make_diffusion_process(2);
  auto x0 = draw_prior(*p, {0, 1, 2, 3}, 0, {2}, 80.0);
  for (const auto& [solver, nfe, want] : std::vector<std::tuple<std::string, int, int>>{
           {"heun", 35, 35}, {"heun", 1, 1}, {"heun", 79, 79}, {"euler", 10, 10}, {"euler", 1, 1}}) {
    int calls = 0;
    std::int64_t counted = 0;
    OdeOptions o;
    o.solver = solver;
    o.nfe = nfe;
    integrate_denoiser(*p, x0, gaussian_denoiser(0.5, &calls), o, counted);
    CHECK(calls == want);
    CHECK(counted == want);
  }
  int calls = 0;
  std::int64_t counted = 0;
  OdeOptions o;
  o.solver = "rk45";
  integrate_denoiser(*p, x0, gaussian_denoiser(0.5, &calls), o, counted);
  CHECK(calls == counted);
  CHECK(calls > 7);
  OdeOptions even;
  even.nfe = 34;
  CHECK_THROWS_AS(validate_ode_options(even), InputError);
  even.solver = "leapfrog";
  CHECK_THROWS_AS(validate_ode_options(even), InputError);
}

TEST_CASE("the ODE in sigma: g = velocity_scale(t) dt/dsigma") {
  CHECK(sigma_velocity_scale(*make_diffusion_process(4), 0.7) == Approx(1 / 0.7).epsilon(1e-7));
  CHECK(sigma_velocity_scale(*make_pfgmpp_process(4, 128), 0.7) == Approx(1 / 0.7).epsilon(1e-7));
  CHECK(sigma_velocity_scale(*make_pfgmpp_process(4, 1), 3.0) == Approx(1 / 3.0).epsilon(1e-7));
  // Yukawa: t = m sigma^2 and dx/dt = (x - D)/t give 2/sigma.
  CHECK(sigma_velocity_scale(*make_yukawa_process(4, 2.0), 0.7) == Approx(2 / 0.7).epsilon(1e-7));
}

TEST_CASE("diffusion with the exact Gaussian denoiser: the flow the solvers should give") {
  auto p = make_diffusion_process(2);
  std::vector<std::int64_t> idx(3000);
  std::iota(idx.begin(), idx.end(), 0);
  auto x0 = draw_prior(*p, idx, 5, {2}, 80.0);
  CHECK(x0.std().item<double>() == Approx(80.0).epsilon(0.03));
  // Data N(0, a^2): dx/dsigma = sigma x / (a^2 + sigma^2), so x(0) = x(80) a / sqrt(a^2 + 80^2).
  const double a = 0.5, exact = a / std::sqrt(a * a + 6400.0);
  // The same Heun recurrence on one scalar: 18 steps land 5.5% above the exact factor.
  double heun = 1.0;
  const auto grid = edm_sigma_schedule(18, 0.002, 80.0);
  auto v = [&](double x, double s) { return s * x / (a * a + s * s); };
  for (std::size_t i = 0; i + 1 < grid.size(); ++i) {
    const double h = grid[i + 1] - grid[i], d0 = v(heun, grid[i]);
    heun = grid[i + 1] == 0 ? heun + h * d0 : heun + 0.5 * h * (d0 + v(heun + h * d0, grid[i + 1]));
  }
  CHECK(heun / exact == Approx(1.0553).epsilon(1e-3));
  for (const auto& [solver, factor] : std::vector<std::pair<std::string, double>>{{"heun", heun}, {"rk45", exact}}) {
    int calls = 0;
    std::int64_t nfe = 0;
    OdeOptions o;
    o.solver = solver;
    auto x = integrate_denoiser(*p, x0, gaussian_denoiser(a, &calls), o, nfe);
    INFO(solver << ": prior std " << x0.std().item<double>() << ", sample std " << x.std().item<double>());
    const auto ratio = x / x0;
    CHECK(ratio.min().item<double>() == Approx(factor).epsilon(2e-4));
    CHECK(ratio.max().item<double>() == Approx(factor).epsilon(2e-4));
  }
}

TEST_CASE("PFGM++ and PFGM with the exact field carry the prior onto the data") {
  const std::vector<std::vector<double>> ys{{-1.0, 0.0}, {1.0, 0.5}};
  for (double D : {128.0, 1.0}) {
    auto p = make_pfgmpp_process(2, D);
    std::vector<std::int64_t> idx(200);
    std::iota(idx.begin(), idx.end(), 0);
    auto x0 = draw_prior(*p, idx, 1, {2}, 80.0);
    std::int64_t nfe = 0;
    OdeOptions o;
    o.nfe = 79;
    auto x = integrate_denoiser(*p, x0, empirical_denoiser(*p, ys), o, nfe);
    int near = 0, left = 0;
    for (int i = 0; i < 200; ++i) {
      const double a = x[i][0].item<double>(), b = x[i][1].item<double>();
      const bool l = std::hypot(a + 1.0, b) < 0.05, r = std::hypot(a - 1.0, b - 0.5) < 0.05;
      near += l || r;
      left += l;
    }
    INFO("D = " << D);
    CHECK(near >= 196);
    CHECK(left > 70);
    CHECK(left < 130);
  }
}

TEST_CASE("priors are one stream per sample index, around the data centre") {
  auto p = make_pfgmpp_process(3, 4.0);
  auto a = draw_prior(*p, {0, 1, 2, 3, 4}, 9, {3}, 80.0);
  auto b = draw_prior(*p, {3, 1}, 9, {3}, 80.0);
  CHECK(torch::equal(a[3], b[0]));
  CHECK(torch::equal(a[1], b[1]));
  CHECK(!torch::equal(a[0], draw_prior(*p, {0}, 10, {3}, 80.0)[0]));
  CHECK_THROWS_AS(draw_prior(*p, {0}, 0, {4}, 80.0), InputError);
  // Around the data's centre: the same draws, shifted.
  auto c = draw_prior(*p, {0, 1, 2, 3, 4}, 9, {3}, 80.0, {1.0, -2.0, 0.5});
  CHECK(torch::allclose(c - a, torch::tensor({1.0, -2.0, 0.5}, torch::kFloat64).expand({5, 3}), 0, 1e-12));
}

TEST_CASE("trained networks: samples do not depend on the batch size") {
  test::TempDir dir("batchind");
  for (const bool image : {false, true}) {
    TrainOptions o = test::quiet_options(dir / (image ? "img" : "pts"));
    o.data = image ? test::write_square_idx(dir / "sq.gz", 16) : test::write_cluster_csv(dir / "p.csv", 64);
    o.pde = "pfgmpp";
    o.process = make_pfgmpp_process(image ? 64 : 2, 16.0);
    o.steps = 20;
    o.batch = 16;
    o.lr = 3e-3;
    o.arch.channels = 8;
    o.eval_samples = 0;
    train(o);
    SampleOptions s;
    s.checkpoint = dir / (image ? "img/last.ckpt" : "pts/last.ckpt");
    s.process = o.process;
    s.quiet = true;
    s.threads = 1;
    s.nfe = 9;
    s.seeds = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    s.batch = 11;
    const SampleResult all = sample(s);
    s.batch = 4;
    const SampleResult fours = sample(s);
    s.batch = 1;
    s.seeds = {7};
    const SampleResult one = sample(s);
    REQUIRE(all.values.size() == fours.values.size());
    CHECK(all.nfe == 9);
    float diff = 0, spread = 0;
    for (std::size_t i = 0; i < all.values.size(); ++i) {
      diff = std::max(diff, std::abs(all.values[i] - fours.values[i]));
      spread = std::max(spread, std::abs(all.values[i]));
    }
    const std::size_t per = one.values.size();
    for (std::size_t j = 0; j < per; ++j) diff = std::max(diff, std::abs(all.values[7 * per + j] - one.values[j]));
    std::cout << (image ? "images" : "points") << ": batch 11 vs 4 vs 1, max difference " << diff << " (values up to "
              << spread << ")\n";
    CHECK(spread > 0.1f);
    CHECK(diff < 1e-4f * std::max(1.0f, spread));  // float32 rounding: BLAS blocks by batch size
  }
}
