// Every trainable module by name through the one training path, on tiny 2D (1D for the
// dissipative wave) data. The weighted loss on the run's fixed evaluation set is compared with
// the Bayes-optimal loss on the same set, whose prediction is the exact posterior average of
// the targets over the training points: training must close a stated fraction of the gap.
// Measured (fraction of the gap closed): diffusion 58% (600 steps), PFGM 49%, PFGM++ D=128 64%,
// screened Poisson 89%, fractional beta = 0.5 44%, Helmholtz k0 = 0.5 58%, mixed
// diffusion-Poisson 53%, dissipative wave 80%; third order: median loss 0.73 -> 0.50.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine/process.hpp"
#include "engine/sampler.hpp"
#include "engine/trainer.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using genphys::test::TempDir;

namespace {

struct Losses {
  double start = 0, end = 0, optimum = 0;
  double median_start = 0, median_end = 0;
  /// Fraction of the gap to the optimum closed by training.
  double closed() const { return (start - end) / (start - optimum); }
};

// The optimal prediction for evaluation sample i is sum_j w_j target_j(x_i) with posterior
// weights w_j ~ q_t(x_i - y_j) over the training points; its weighted loss, averaged.
double optimal_eval_loss(const std::string& checkpoint, int n_eval) {
  engine::CheckpointReader reader(checkpoint, torch::kCPU);
  const engine::RunConfig& config = reader.config();
  const engine::Dataset data = engine::load_dataset(config.data, config.limit, config.seed);
  const int dim = int(data.dim());
  const auto process = engine::resolve_process(config.pde, config.params, config.expr, dim, false).process;
  engine::BatchMaker maker(data, *process, config);
  const engine::Batch eval = maker.make_eval(n_eval);
  engine::EdmPrecond model = engine::make_model(config);
  const auto weight = model->loss_weight(eval.x, eval.sigma).to(torch::kFloat64).contiguous();
  const auto x = eval.x.to(torch::kFloat64).contiguous(), target = eval.target.to(torch::kFloat64).contiguous();
  const auto y = data.x.to(torch::kFloat64).contiguous();
  const double *px = x.data_ptr<double>(), *pt = target.data_ptr<double>(), *py = y.data_ptr<double>();
  const std::int64_t n_data = data.size();
  double sum = 0;
  int used = 0;
  std::vector<double> logw(static_cast<std::size_t>(n_data)), best(static_cast<std::size_t>(dim)),
      d(static_cast<std::size_t>(dim));
  for (int i = 0; i < n_eval; ++i) {
    const double sigma = eval.sigma[i].item<double>(), t = process->time(sigma);
    for (std::int64_t j = 0; j < n_data; ++j) {
      double r2 = 0;
      for (int k = 0; k < dim; ++k) r2 += std::pow(px[i * dim + k] - py[j * dim + k], 2);
      logw[std::size_t(j)] = process->log_kernel(std::sqrt(r2), t);
    }
    const double top = *std::max_element(logw.begin(), logw.end());
    if (!std::isfinite(top)) continue;  // on a wave front: no density to weigh with
    std::fill(best.begin(), best.end(), 0.0);
    double total = 0;
    for (std::int64_t j = 0; j < n_data; ++j) {
      const double w = std::exp(logw[std::size_t(j)] - top);
      if (w < 1e-300) continue;
      total += w;
      double r2 = 0;
      for (int k = 0; k < dim; ++k) r2 += std::pow(d[std::size_t(k)] = px[i * dim + k] - py[j * dim + k], 2);
      const double r = std::sqrt(r2);
      const double factor = config.velocity_target && r > 0 ? process->source_radial_speed(r, t) *
                                                                  engine::time_derivative(*process, sigma) / r
                                                            : 0.0;
      for (int k = 0; k < dim; ++k)
        best[std::size_t(k)] += w * (config.velocity_target ? factor * d[std::size_t(k)] : py[j * dim + k]);
    }
    double err = 0;
    for (int k = 0; k < dim; ++k) err += std::pow(best[std::size_t(k)] / total - pt[i * dim + k], 2);
    sum += weight[i].item<double>() * err / dim;
    ++used;
  }
  return sum / used;
}

Losses train_module(const std::string& label, const std::string& pde, const ParamValues& params, int dim,
                    std::int64_t steps, int batch, bool with_optimum = true) {
  TempDir dir("mod_" + label);
  TrainOptions o = test::quiet_options(dir / "run");
  o.data = dim == 2 ? test::write_cluster_csv(dir / "pts.csv", 256) : test::write_line_clusters_csv(dir / "pts.csv", 96);
  o.pde = pde;
  o.params = params;
  o.steps = steps;
  o.batch = batch;
  o.lr = 2e-3;
  o.arch.arch = "mlp";
  o.arch.hidden = 64;
  o.arch.depth = 2;
  o.eval_samples = 400;
  const TrainResult r = train(o);
  REQUIRE(r.steps_done == steps);
  Losses l{r.eval_loss_start, r.eval_loss_end, with_optimum ? optimal_eval_loss(r.checkpoint, o.eval_samples) : NAN,
           r.eval_median_start, r.eval_median_end};
  std::cout << label << ": eval loss mean " << l.start << " -> " << l.end << ", median " << l.median_start << " -> "
            << l.median_end;
  if (with_optimum) std::cout << ", optimum " << l.optimum << ": " << 100 * l.closed() << "% of the gap closed";
  std::cout << std::endl;
  return l;
}

}  // namespace

TEST_CASE("the optimal loss is below what an untrained and a trained network reach") {
  const Losses l = train_module("diffusion", "diffusion", {}, 2, 600, 128);
  CHECK(l.optimum < l.end);
  CHECK(l.end < l.start);
  CHECK(l.closed() > 0.5);
}

TEST_CASE("PFGM (poisson, D = 1): heavy radial tails, scaled by the input") {
  const Losses l = train_module("pfgm", "poisson", {{"D", 1.0}}, 2, 1000, 128);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("PFGM++ (D = 128)") {
  const Losses l = train_module("pfgmpp", "poisson", {{"D", 128.0}}, 2, 1000, 128);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("screened Poisson (m = 1)") {
  const Losses l = train_module("yukawa", "screened-poisson", {{"m", 1.0}}, 2, 1000, 128);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("fractional diffusion (beta = 0.5): infinite-variance kernel") {
  const Losses l = train_module("fractional", "fractional-diffusion", {{"beta", 0.5}}, 2, 1000, 128);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("third-order equation: stable kernel with beta = 1/3") {
  // Its density is a quadrature over the stable law (~5 ms a point), too slow for the optimum
  // over 400 x 256 pairs: the loss must fall instead.
  const Losses l = train_module("third", "third-order", {}, 2, 1000, 128, false);
  CHECK(l.start / l.end > 1.0);
  CHECK(l.median_start / l.median_end > 1.25);
}

TEST_CASE("Helmholtz (k0 = 0.5): conditional, trained inside its range") {
  const Losses l = train_module("helmholtz", "helmholtz", {{"k0", 0.5}}, 2, 1000, 128);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("mixed diffusion-Poisson: velocity targets") {
  const Losses l = train_module("mixed", "mixed-diffusion-poisson", {}, 2, 600, 64);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("dissipative wave (N = 1): velocity targets, conditional") {
  const Losses l = train_module("wave", "dissipative-wave", {}, 1, 300, 64);
  CHECK(l.closed() > 0.3);
}
