// Every trainable module by name through the one training path, on tiny 2D (1D for the
// dissipative wave) data. The weighted loss on the run's fixed evaluation set is compared with
// the Bayes-optimal loss on the same set, whose prediction is the exact posterior average of
// the targets over the training points: training must close a stated fraction of the gap.
// For the heavy-tailed kernels (PFGM D = 1, fractional beta = 0.5, Helmholtz) the mean loss is
// ruled by a few far draws, so the gap is measured on the median loss: across run seeds 0, 1, 2
// PFGM's mean-loss fraction was -14%, 48%, 69% while its median fraction was 73%, 30%, 55%.
// Measured, seed 0 (seeds 1-2): mean-loss fraction closed: diffusion 58% (51-60%, 600 steps),
// PFGM++ D=128 64% (68%), screened Poisson 93% (74-82%), mixed diffusion-Poisson 46% (46-51%),
// dissipative wave 61% (81-104%); median-loss fraction closed: PFGM 73% (30-55%), fractional
// 44% (40-68%), Helmholtz 33% (58-72%); third order: median loss 0.67 -> 0.38 (1.75x; 1.5x).
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
  double median_start = 0, median_end = 0, median_optimum = 0;
  /// Fraction of the gap to the optimum closed by training, on the mean loss.
  double closed() const { return (start - end) / (start - optimum); }
  /// The same on the median loss: for heavy-tailed kernels the mean is a handful of far draws.
  double median_closed() const { return (median_start - median_end) / (median_start - median_optimum); }
};

struct OptimalLoss {
  double mean = 0, median = 0;
};

// The optimal prediction for evaluation sample i is sum_j w_j target_j(x_i) with posterior
// weights w_j ~ q_t(x_i - y_j) over the training points; the mean and median of its weighted loss.
OptimalLoss optimal_eval_loss(const std::string& checkpoint, int n_eval) {
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
  std::vector<double> losses;
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
    losses.push_back(weight[i].item<double>() * err / dim);
  }
  OptimalLoss out;
  for (double v : losses) out.mean += v / double(losses.size());
  std::sort(losses.begin(), losses.end());
  const std::size_t n = losses.size();
  out.median = n % 2 ? losses[n / 2] : 0.5 * (losses[n / 2 - 1] + losses[n / 2]);
  return out;
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
  const OptimalLoss best = with_optimum ? optimal_eval_loss(r.checkpoint, o.eval_samples) : OptimalLoss{NAN, NAN};
  Losses l{r.eval_loss_start, r.eval_loss_end, best.mean, r.eval_median_start, r.eval_median_end, best.median};
  std::cout << label << ": eval loss mean " << l.start << " -> " << l.end << ", median " << l.median_start << " -> "
            << l.median_end;
  if (with_optimum)
    std::cout << ", optimum " << l.optimum << " (median " << l.median_optimum << "): " << 100 * l.closed()
              << "% of the gap closed (median " << 100 * l.median_closed() << "%)";
  std::cout << std::endl;
  return l;
}

}  // namespace

TEST_CASE("the optimal loss is below what an untrained and a trained network reach") {
  const Losses l = train_module("diffusion", "diffusion", {}, 2, 600, 128);
  CHECK(l.optimum < l.end);
  CHECK(l.end < l.start);
  CHECK(l.closed() > 0.4);
}

TEST_CASE("PFGM (poisson, D = 1): heavy radial tails, scaled by the input") {
  const Losses l = train_module("pfgm", "poisson", {{"D", 1.0}}, 2, 1000, 128);
  CHECK(l.median_end < l.median_start);
  CHECK(l.median_closed() > 0.2);
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
  CHECK(l.median_end < l.median_start);
  CHECK(l.median_closed() > 0.2);
}

TEST_CASE("third-order equation: stable kernel with beta = 1/3") {
  // Its density is a quadrature over the stable law (~5 ms a point), too slow for the optimum
  // over 400 x 256 pairs: the loss must fall instead.
  const Losses l = train_module("third", "third-order", {}, 2, 1000, 128, false);
  // Its mean loss is a few far draws (it rose 3.14 -> 3.22 with run seed 2): the median must fall.
  CHECK(l.median_start / l.median_end > 1.25);
}

TEST_CASE("Helmholtz (k0 = 0.5): conditional, trained inside its range") {
  const Losses l = train_module("helmholtz", "helmholtz", {{"k0", 0.5}}, 2, 1000, 128);
  CHECK(l.median_end < l.median_start);
  CHECK(l.median_closed() > 0.2);
}

TEST_CASE("mixed diffusion-Poisson: velocity targets") {
  const Losses l = train_module("mixed", "mixed-diffusion-poisson", {}, 2, 600, 64);
  CHECK(l.closed() > 0.3);
}

TEST_CASE("dissipative wave (N = 1): velocity targets, conditional") {
  const Losses l = train_module("wave", "dissipative-wave", {}, 1, 300, 64);
  CHECK(l.closed() > 0.3);
}
