// The likelihood's divergences on a torch velocity: autograd's exact divergence against central
// differences, and Hutchinson's estimator against the exact one within its own standard error.
#include <cmath>

#include "engine/likelihood.hpp"
#include "genphys/kernels.hpp"
#include "genphys/likelihood.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;

namespace {

// A small random MLP in float64 as dx/dlambda (it ignores lambda): a field with a full Jacobian.
struct MlpField {
  torch::nn::Sequential net;
  explicit MlpField(int dim) {
    torch::manual_seed(3);
    net = torch::nn::Sequential(torch::nn::Linear(dim, 32), torch::nn::Tanh(), torch::nn::Linear(32, dim));
    net->to(torch::kFloat64);
    for (auto& p : net->parameters()) p.requires_grad_(false);
  }
  StepVelocity velocity() {
    auto n = net;
    return [n](const torch::Tensor& x, const ClockPoint& at) mutable { return n->forward(x) * (1.0 / (1.0 + at.lambda)); };
  }
};

Eigen::MatrixXd rows(int n, int dim, std::uint64_t seed) {
  torch::manual_seed(seed);
  const auto t = torch::randn({n, dim}, torch::kFloat64).contiguous();
  Eigen::MatrixXd m(n, dim);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < dim; ++j) m(i, j) = t[i][j].item<double>();
  return m;
}

}  // namespace

TEST_CASE("likelihood divergence: autograd's exact divergence equals central differences", "[likelihood]") {
  const int dim = 5;
  MlpField mlp(dim);
  const StepVelocity velocity = mlp.velocity();
  const DivergenceField field = velocity_divergence_field(velocity, {dim}, torch::kCPU, torch::Tensor());
  const Eigen::MatrixXd x = rows(4, dim, 1);
  const FieldPoint at{0.5, 0.125, 0.5};
  Eigen::MatrixXd v, div;
  field(x, at, v, div);
  REQUIRE(div.cols() == 1);
  const ClockPoint clock{at.lambda, at.t, at.sigma};
  for (int i = 0; i < x.rows(); ++i) {
    double fd = 0;
    const double h = 1e-5;
    for (int j = 0; j < dim; ++j) {
      auto up = torch::zeros({1, dim}, torch::kFloat64), down = up.clone();
      for (int k = 0; k < dim; ++k) up[0][k] = down[0][k] = x(i, k);
      up[0][j] += h;
      down[0][j] -= h;
      fd += (velocity(up, clock)[0][j].item<double>() - velocity(down, clock)[0][j].item<double>()) / (2 * h);
    }
    CHECK(div(i, 0) == Approx(fd).margin(1e-7));
    CHECK(v(i, 0) == Approx(velocity(torch::tensor({x(i, 0), x(i, 1), x(i, 2), x(i, 3), x(i, 4)}, torch::kFloat64).reshape({1, dim}), clock)[0][0].item<double>()));
  }
}

TEST_CASE("likelihood divergence: Hutchinson's estimate agrees with the exact divergence within its standard error",
          "[likelihood]") {
  // The path x(lambda) does not depend on the probes, so each probe integrates to an unbiased
  // estimate of the exact log-density change; their scatter gives each example's standard error.
  const int dim = 6, n = 24, probes = 16;
  MlpField mlp(dim);
  const auto process = make_diffusion_process(dim);
  LikelihoodOptions o;
  o.steps = 12;
  o.sigma_min = 0.05;
  o.sigma_max = 5.0;
  const Eigen::MatrixXd x = rows(n, dim, 2);
  const StepVelocity velocity = mlp.velocity();
  const LogLikelihood exact =
      log_likelihood(*process, x, velocity_divergence_field(velocity, {dim}, torch::kCPU, torch::Tensor()), o);
  const LogLikelihood hutchinson = log_likelihood(
      *process, x, velocity_divergence_field(velocity, {dim}, torch::kCPU, rademacher_probes(probes, 0, n, dim, 9)), o);
  CHECK((exact.x_end - hutchinson.x_end).cwiseAbs().maxCoeff() < 1e-12);
  double z2 = 0, worst = 0;
  for (int i = 0; i < n; ++i) {
    REQUIRE(hutchinson.log_p_se(i) > 0);
    const double z = (hutchinson.log_p(i) - exact.log_p(i)) / hutchinson.log_p_se(i);
    z2 += z * z / n;
    worst = std::max(worst, std::abs(z));
  }
  INFO("mean z^2 " << z2 << ", worst |z| " << worst);
  CHECK(z2 > 0.3);  // the estimate scatters as its standard error says: neither far more ...
  CHECK(z2 < 3.0);  // ... nor far less
  CHECK(worst < 4.5);
  // Probes drawn per example: a batch of the last 8 examples draws the same probes as the full run.
  const auto all = rademacher_probes(3, 0, n, dim, 9), tail = rademacher_probes(3, n - 8, 8, dim, 9);
  CHECK(torch::equal(all.narrow(1, n - 8, 8), tail));
}
