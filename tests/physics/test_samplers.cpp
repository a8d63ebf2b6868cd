// EDM's churn and DPM-Solver++(2M) (churn.hpp, ode.hpp): which kernels can be re-noised (two
// ways: the characteristic function's semigroup law and the sampled marginal), churn 0 == Heun
// bit for bit, and DPM-Solver++(2M)'s order on a flow with a closed form.
#include <catch2/catch.hpp>

#include <cmath>
#include <complex>
#include <cstdio>
#include <string>
#include <vector>

#include "../ks.hpp"
#include "genphys/churn.hpp"
#include "genphys/empirical.hpp"
#include "genphys/errors.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/kernels.hpp"
#include "genphys/ode.hpp"
#include "genphys/pde.hpp"

using namespace genphys;

namespace {

struct Case {
  std::string module;
  ParamValues params;
};

// The affine modules of the registry (defaults), and the orders the samplers are measured at.
std::vector<Case> affine_cases() {
  return {{"diffusion", {}},
          {"poisson", {{"D", 1.0}}},
          {"poisson", {{"D", 4.0}}},
          {"poisson", {{"D", 128.0}}},
          {"fractional-diffusion", {{"beta", 0.5}}},
          {"fractional-diffusion", {{"beta", 0.75}}},
          {"fractional-poisson", {{"alpha", 1.5}}},
          {"third-order", {}}};
}

std::string label(const Case& c) {
  std::string s = c.module;
  for (const auto& [k, v] : c.params) s += " " + k + "=" + std::to_string(v);
  return s;
}

// Sup over a few (k, t, s) of |g(k, t + s) - g(k, t) g(k, s)|: 0 for a convolution semigroup.
double semigroup_defect(const PdeModule& m) {
  double worst = 0.0;
  for (double k : {0.3, 1.0, 3.0})
    for (double t : {0.2, 0.7})
      for (double s : {0.1, 0.5}) worst = std::max(worst, std::abs(m.green_hat(k, t + s) - m.green_hat(k, t) * m.green_hat(k, s)));
  return worst;
}

// Two-sample KS distance between the radii of x_t + (increment t -> t_hat) and direct draws of the
// kernel at t_hat (sampling both: the generic mixtures' radial_cdf costs ~5 ms a point).
double increment_ks(const GenerativeProcess& p, double t, double t_hat, int n) {
  std::vector<double> radii(n);
  std::vector<double> x(static_cast<std::size_t>(p.dim())), inc(x.size());
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(21, static_cast<std::uint64_t>(i));
    p.sample_displacement(rng, t, x.data());
    sample_churn_increment(p, rng, t, t_hat, 1.0, inc.data());
    double r2 = 0.0;
    for (std::size_t j = 0; j < x.size(); ++j) r2 += (x[j] + inc[j]) * (x[j] + inc[j]);
    radii[static_cast<std::size_t>(i)] = std::sqrt(r2);
  }
  return test::ks_two_sample(radii, test::sample_radii(p, t_hat, 22, n));
}

}  // namespace

TEST_CASE("kernel_semigroup agrees with the characteristic function, and churn increments keep the marginal") {
  int flagged = 0, refused = 0;
  for (const Case& c : affine_cases()) {
    const auto module = make_module(c.module, c.params);
    const auto p = module->generative(2);
    REQUIRE(p);
    REQUIRE(p->affine_velocity());
    const double defect = semigroup_defect(*module);
    // Drawn marginal: sigma raised by 40% (EDM's largest gamma, sqrt 2 - 1).
    const double t = p->time(1.0), t_hat = p->time(1.0 + (std::sqrt(2.0) - 1.0));
    const int n = 4000;
    const double ks = increment_ks(*p, t, t_hat, n), critical = test::kKsFactor * std::sqrt(2.0 / n);
    std::printf("%-36s semigroup %d  |g(t+s) - g(t) g(s)| = %.2e  KS(x_t + increment, q_t') = %.4f (critical %.4f)\n",
                label(c).c_str(), int(p->kernel_semigroup()), defect, ks, critical);
    INFO(label(c) << ": defect " << defect << ", KS " << ks);
    if (p->kernel_semigroup()) {
      ++flagged;
      CHECK(defect < 1e-9);
      CHECK(ks < critical);
      CHECK_NOTHROW(require_churn_support(*p, c.module));
    } else {
      ++refused;
      CHECK(defect > 1e-3);
      // The naive increment (the kernel at t' - t) misses q_t': churn would change the marginal.
      CHECK(ks > 2 * critical);
      CHECK_THROWS_AS(require_churn_support(*p, c.module), InputError);
    }
  }
  CHECK(flagged == 6);  // diffusion, PFGM, fractional x2, fractional Poisson, third order
  CHECK(refused == 2);  // PFGM++ D = 4 and 128
}

TEST_CASE("churn settings are validated, and churn needs a module that can be re-noised") {
  auto message = [](auto&& f) {
    try {
      f();
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(message([] { check_churn({-1.0}, Solver::heun); }) == "churn must be finite and >= 0, got -1");
  CHECK(message([] { check_churn({1.0, 0.0, 1.0, 0.0}, Solver::heun); }) == "s_noise must be finite and > 0, got 0");
  CHECK(message([] { check_churn({1.0, 2.0, 1.0, 1.0}, Solver::heun); }) == "s_tmax must be above --s-tmin (2), got 1");
  CHECK(message([] { check_churn({1.0}, Solver::euler); }) ==
        "--churn is EDM's stochastic Heun sampler; it needs --solver heun, not euler");
  CHECK(message([] { check_rho(0.0); }) == "rho must be in [0.1, 1000] (EDM: 7), got 0");
  CHECK_NOTHROW(check_churn({0.0}, Solver::euler));  // off: any solver
  const auto yukawa = make_yukawa_process(2, 1.0);
  CHECK(message([&] { require_sampler_fits(*yukawa, Solver::dpmpp_2m, {}); }).rfind("dpmpp-2m needs a denoiser", 0) == 0);
  CHECK(message([&] { require_sampler_fits(*yukawa, Solver::heun, {1.0}); }).rfind("--churn is EDM's", 0) == 0);
  const auto pfgmpp = make_pfgmpp_process(2, 128.0);
  Eigen::MatrixXd data(2, 2);
  data << -1, 0, 1, 0;
  ExactSamplerOptions opt;
  opt.churn.s_churn = 1.0;
  CHECK(message([&] { sample_exact(*pfgmpp, data, 4, 0, opt); }).rfind("--churn cannot keep the marginals", 0) == 0);
}

TEST_CASE("churn 0 is Heun bit for bit; churn outside [s_tmin, s_tmax] too") {
  Eigen::MatrixXd data(4, 2);
  data << -1.0, 0.0, 1.0, 0.0, 1.1, 0.05, 0.95, -0.1;
  const auto process = make_diffusion_process(2);
  const EmpiricalField field(*process, data);
  ExactSamplerOptions heun;
  heun.nfe = 35;
  const Eigen::MatrixXd x0 = sample_prior_points(*process, field.data_mean(), 64, 3, process->time(80.0));
  // The integrator itself with every gamma = 0 against integrate_heun, on the exact field.
  std::vector<double> lambdas = step_schedule(*process, 18, 0.002, 80.0);
  auto velocity = [&](const Eigen::MatrixXd& x, double lambda) {
    const double t = process->step_time(lambda);
    return Eigen::MatrixXd((1.0 / process->step_rate(t)) * field.velocity(x, t));
  };
  int nfe_heun = 0, nfe_churn = 0;
  const Eigen::MatrixXd a = integrate_heun(x0, lambdas, velocity, nfe_heun);
  const std::vector<double> gammas(lambdas.size() - 1, 0.0);
  const Eigen::MatrixXd b = integrate_heun_churn(
      x0, lambdas, gammas, velocity, [](Eigen::MatrixXd&, double, double) { FAIL("renoised at gamma = 0"); },
      nfe_churn);
  CHECK(nfe_churn == nfe_heun);
  CHECK(nfe_heun == 35);
  CHECK((a.array() == b.array()).all());
  // Through sample_exact: churn on but its window below sigma_min is Heun's result exactly; inside
  // the window it moves the samples and keeps the NFE.
  ExactSamplerOptions windowed = heun;
  windowed.churn = {5.0, 0.0, 1e-3, 1.0};
  const ExactSamples plain = sample_exact(field, 64, 3, heun), none = sample_exact(field, 64, 3, windowed);
  CHECK((plain.samples.array() == none.samples.array()).all());
  ExactSamplerOptions churned = heun;
  churned.churn = {5.0};
  const ExactSamples moved = sample_exact(field, 64, 3, churned);
  CHECK(moved.nfe == 35);
  CHECK((moved.samples - plain.samples).cwiseAbs().maxCoeff() > 1e-3);
  // Independent of the batch: each sample has its own increment stream.
  churned.batch_size = 7;
  const double batch_diff = (sample_exact(field, 64, 3, churned).samples - moved.samples).cwiseAbs().maxCoeff();
  std::printf("churn: batch 256 vs 7, max difference %.3g\n", batch_diff);
  CHECK(batch_diff < 1e-12);
}

// Diffusion of N(0, s^2): D(x, sigma) = s^2 x / (s^2 + sigma^2) and the probability-flow path is
// x(sigma) = x(sigma_0) sqrt((s^2 + sigma^2) / (s^2 + sigma_0^2)). DPM-Solver++(2M) is second
// order: halving the steps' size divides its error by ~4 (Euler's by ~2).
TEST_CASE("DPM-Solver++(2M) is second order on a Gaussian's flow") {
  const double s2 = 0.25, x_start = 40.0, lo = 0.05, hi = 80.0;
  auto velocity = [&](double x, double lambda) { return (x - s2 * x / (s2 + lambda * lambda)) / lambda; };
  const double exact = x_start * std::sqrt((s2 + lo * lo) / (s2 + hi * hi));
  auto error = [&](Solver solver, int steps) {
    std::vector<double> grid = edm_sigma_schedule(steps + 1, lo, hi);
    grid.pop_back();  // end at lo: compare with the closed form there
    int nfe = 0;
    const double x = solver == Solver::dpmpp_2m ? integrate_dpmpp_2m(x_start, grid, velocity, nfe)
                                                : integrate_euler(x_start, grid, velocity, nfe);
    CHECK(nfe == steps);
    return std::fabs(x - exact);
  };
  // (From 8 steps the error is not yet in its asymptotic regime: ratio 0.8.)
  for (int steps : {16, 32}) {
    const double dpm = error(Solver::dpmpp_2m, steps) / error(Solver::dpmpp_2m, 2 * steps);
    const double euler = error(Solver::euler, steps) / error(Solver::euler, 2 * steps);
    std::printf("steps %d -> %d: error ratio dpmpp-2m %.2f, euler %.2f\n", steps, 2 * steps, dpm, euler);
    CHECK(dpm > 3.0);
    CHECK(dpm < 5.5);
    CHECK(euler < 2.6);
  }
}
