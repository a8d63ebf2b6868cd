// Every trainable module by name through the one training path, on tiny 2D (1D for the
// dissipative wave) data. The weighted loss on the run's fixed evaluation set is compared with
// the Bayes-optimal loss on the same set, whose prediction is the exact posterior average of
// the targets over the training points: training must close a stated fraction of the gap.
// For the heavy-tailed kernels (PFGM D = 1, fractional beta = 0.5, Helmholtz) the mean loss is
// ruled by a few far draws, so the gap is measured on the median loss: across run seeds 0, 1, 2
// PFGM's mean-loss fraction was -14%, 40%, 39% while its median fraction was 72%, 29%, 57%.
// Measured, seed 0 (seeds 1-2): mean-loss fraction closed: diffusion 58% (51-60%, 600 steps),
// PFGM++ D=128 64% (68%), screened Poisson (velocity targets) 81%, mixed diffusion-Poisson 46%
// (46-51%), dissipative wave 61% (81-104%); median-loss fraction closed: PFGM 72% (29-57%),
// fractional 45% (43-60%), Helmholtz (velocity targets) 74%; third order: median loss 0.68 ->
// 0.43 (1.56x). Helmholtz's velocity model needs the heavy-tail gain s/sigma (network.cpp):
// without it the median loss rose 1.28 -> 2.38 (fraction -114%).
#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine/process.hpp"
#include "engine/sampler.hpp"
#include "engine/trainer.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/random.hpp"

#include <nlohmann/json.hpp>

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
  std::int64_t count = 0;  ///< samples with a finite optimum
};

// The optimal prediction for evaluation sample i is sum_j w_j target_j(x_i) with posterior
// weights w_j ~ q_t(x_i - y_j) over the training points; the mean and median of its weighted loss.
OptimalLoss optimal_eval_loss(const std::string& checkpoint, int n_eval) {
  engine::CheckpointReader reader(checkpoint, torch::kCPU);
  const engine::RunConfig& config = reader.config();
  const engine::Dataset data = engine::load_dataset(config.data, config.limit, config.seed);
  const int dim = int(data.dim());
  const auto process = engine::resolve_process(config.module, dim, false).process;
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
  out.count = std::int64_t(losses.size());
  for (double v : losses) out.mean += v / double(losses.size());
  std::sort(losses.begin(), losses.end());
  const std::size_t n = losses.size();
  out.median = n % 2 ? losses[n / 2] : 0.5 * (losses[n / 2 - 1] + losses[n / 2]);
  return out;
}

nlohmann::json last_eval_line(const std::string& stats) {
  std::ifstream in(stats);
  nlohmann::json last;
  for (std::string line; std::getline(in, line);)
    if (line.find("\"eval\"") != std::string::npos) last = nlohmann::json::parse(line);
  return last;
}

Losses train_module(const std::string& label, const std::string& pde, const ParamValues& params, int dim,
                    std::int64_t steps, int batch, bool with_optimum = true, std::uint64_t seed = 0) {
  TempDir dir("mod_" + label);
  TrainOptions o = test::mlp_options(
      dir / "run", dim == 2 ? test::write_cluster_csv(dir / "pts.csv", 256) : test::write_line_points_csv(dir / "pts.csv", 96),
      steps);
  o.module.name = pde;
  o.module.params = params;
  o.batch = batch;
  o.eval_samples = 400;
  o.seed = seed;
  const TrainResult r = train(o);
  REQUIRE(r.steps_done == steps);
  const OptimalLoss best = with_optimum ? optimal_eval_loss(r.checkpoint, o.eval_samples) : OptimalLoss{NAN, NAN, 0};
  Losses l{r.eval_loss_start, r.eval_loss_end, best.mean, r.eval_median_start, r.eval_median_end, best.median};
  if (with_optimum) {
    // The trainer's optimum (stats.jsonl; streamed matrix products over the examples) is the
    // per-sample loop's above, and its sigma bins split the evaluation set.
    const nlohmann::json end = last_eval_line(dir / "run/stats.jsonl");
    CHECK(end.at("optimal").get<double>() == Approx(best.mean).epsilon(1e-6));
    CHECK(end.at("loss").get<double>() == Approx(l.end).epsilon(1e-12));
    std::int64_t binned = 0;
    for (const auto& bin : end.at("sigma_bins")) binned += bin.at("n").get<std::int64_t>();
    CHECK(binned == best.count);
  }
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

namespace {

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A trained denoiser's error against the Bayes-optimal one on the run's evaluation set, both
// weighted alike whatever rule the run trained with: by the old rule's weight (threshold
// sigma_data^2) and by the new one's (threshold tau^2).
void common_weight_gap(const std::string& label, const std::string& checkpoint, int n_eval) {
  engine::CheckpointReader reader(checkpoint, torch::kCPU);
  const engine::RunConfig config = reader.config();
  const engine::Dataset data = engine::load_dataset(config.data, config.limit, config.seed);
  const int dim = int(data.dim());
  const auto process = engine::resolve_process(config.module, dim, false).process;
  engine::BatchMaker maker(data, *process, config);
  const engine::Batch eval = maker.make_eval(n_eval);
  engine::EdmPrecond model = engine::make_model(config);
  reader.load_model(model, false);
  model->eval();
  torch::NoGradGuard guard;
  const auto pred = model->forward(eval.x, eval.sigma).to(torch::kFloat64).contiguous();
  const auto x = eval.x.to(torch::kFloat64).contiguous(), target = eval.target.to(torch::kFloat64).contiguous();
  const auto y = data.x.to(torch::kFloat64).contiguous();
  const double *px = x.data_ptr<double>(), *pt = target.data_ptr<double>(), *py = y.data_ptr<double>(),
               *pp = pred.data_ptr<double>();
  double tau2 = 0;
  for (std::int64_t j = 0; j < data.size(); ++j) {
    double r2 = 0;
    for (int k = 0; k < dim; ++k) r2 += std::pow(py[j * dim + k] - config.data_mean[std::size_t(k)], 2);
    tau2 = std::max(tau2, r2 / dim);
  }
  engine::RunConfig old_rule = config, new_rule = config;
  old_rule.spread_threshold = -1.0;
  new_rule.spread_threshold = tau2;
  const auto w_old = engine::make_model(old_rule)->loss_weight(eval.x, eval.sigma).to(torch::kFloat64);
  const auto w_new = engine::make_model(new_rule)->loss_weight(eval.x, eval.sigma).to(torch::kFloat64);
  std::vector<double> m_old, o_old, m_new, o_new;
  std::vector<double> logw(static_cast<std::size_t>(data.size()));
  for (int i = 0; i < n_eval; ++i) {
    const double t = process->time(eval.sigma[i].item<double>());
    for (std::int64_t j = 0; j < data.size(); ++j) {
      double r2 = 0;
      for (int k = 0; k < dim; ++k) r2 += std::pow(px[i * dim + k] - py[j * dim + k], 2);
      logw[std::size_t(j)] = process->log_kernel(std::sqrt(r2), t);
    }
    const double top = *std::max_element(logw.begin(), logw.end());
    std::vector<double> best(std::size_t(dim), 0.0);
    double total = 0;
    for (std::int64_t j = 0; j < data.size(); ++j) {
      const double w = std::exp(logw[std::size_t(j)] - top);
      total += w;
      for (int k = 0; k < dim; ++k) best[std::size_t(k)] += w * py[j * dim + k];
    }
    double e_opt = 0, e_model = 0;
    for (int k = 0; k < dim; ++k) {
      e_opt += std::pow(best[std::size_t(k)] / total - pt[i * dim + k], 2) / dim;
      e_model += std::pow(pp[i * dim + k] - pt[i * dim + k], 2) / dim;
    }
    m_old.push_back(w_old[i].item<double>() * e_model);
    o_old.push_back(w_old[i].item<double>() * e_opt);
    m_new.push_back(w_new[i].item<double>() * e_model);
    o_new.push_back(w_new[i].item<double>() * e_opt);
  }
  auto mean_of = [](const std::vector<double>& v) {
    double s = 0;
    for (double e : v) s += e / double(v.size());
    return s;
  };
  std::cout << label << " (tau^2 " << tau2 << ", sigma_data^2 " << config.sigma_data * config.sigma_data
            << "): trained/optimal median " << median_of(m_old) / median_of(o_old) << " (old weight), "
            << median_of(m_new) / median_of(o_new) << " (new); mean " << mean_of(m_old) / mean_of(o_old) << ", "
            << mean_of(m_new) / mean_of(o_new) << "; trained - optimal mean " << mean_of(m_old) - mean_of(o_old)
            << ", " << mean_of(m_new) - mean_of(o_new) << "; median " << median_of(m_old) - median_of(o_old) << ", "
            << median_of(m_new) - median_of(o_new) << "\n";
  // The last sampling steps: every training point displaced at sigma = 0.002, where the optimum
  // is the point itself (trained - optimal ~ the trained loss), new weight.
  {
    const double sigma_min = 0.002, t = process->time(sigma_min);
    Rng rng(mix_seed(config.seed + 77));
    auto noise = torch::empty({data.size(), dim}, torch::kFloat64);
    for (std::int64_t j = 0; j < data.size(); ++j) process->sample_displacement(rng, t, noise[j].data_ptr<double>());
    const auto xc = data.x + noise.reshape(data.x.sizes()).to(torch::kFloat32);
    const auto sc = torch::full({data.size()}, sigma_min, torch::kFloat64);
    const auto loss = (engine::make_model(new_rule)->loss_weight(xc, sc).to(torch::kFloat64) *
                       (model->forward(xc, sc).to(torch::kFloat64) - data.x.to(torch::kFloat64)).square().flatten(1).mean(1));
    std::cout << "  clean data at sigma 0.002: trained loss mean " << loss.mean().item<double>() << ", median "
              << loss.median().item<double>() << "\n";
  }
  const auto centre = torch::tensor(config.data_mean, torch::kFloat64).reshape(eval.x[0].sizes());
  for (double lo : {1e-3, 1e-2, 1e-1, 1.0, 10.0}) {  // the excess by sigma decade, new weight
    double excess = 0;
    int n = 0, beyond = 0;
    for (int i = 0; i < n_eval; ++i) {
      const double sg = eval.sigma[i].item<double>();
      if (sg < lo || sg >= 10 * lo) continue;
      ++n;
      excess += m_new[std::size_t(i)] - o_new[std::size_t(i)];
      beyond += (eval.x[i].to(torch::kFloat64) - centre).square().mean().item<double>() - tau2 > sg * sg;
    }
    std::cout << "  sigma in [" << lo << ", " << 10 * lo << "): " << n << " samples (" << beyond
              << " beyond tau), trained - optimal " << excess / std::max(n, 1) << "\n";
  }
}

}  // namespace

// The heavy-tail preconditioning measured over run seeds 0-9 on the 2D clusters and on 64-pixel
// images (not part of the suite; ~3 min): each run's trained/optimal and trained - optimal loss on
// 2000 evaluation samples under both rules' weights, and the excess by sigma decade.
TEST_CASE("heavy-tail preconditioning over run seeds", "[.precond]") {
  for (const bool squares : {false, true}) {
    for (std::uint64_t seed = 0; seed < 10; ++seed) {
      for (const auto& [label, pde, params] : std::vector<std::tuple<std::string, std::string, ParamValues>>{
               {"pfgm", "poisson", {{"D", 1.0}}}, {"fractional", "fractional-diffusion", {{"beta", 0.5}}}}) {
        TempDir dir("precond_" + label);
        // 8x8 images (sigma_data 0.5, every image wider than sigma_data) or the 2D clusters.
        TrainOptions o = test::mlp_options(
            dir / "run", squares ? test::write_square_idx(dir / "sq.gz", 72) : test::write_cluster_csv(dir / "pts.csv", 256),
            1000);
        o.module.name = pde;
        o.module.params = params;
        o.seed = seed;
        const TrainResult r = train(o);
        common_weight_gap(std::string(squares ? "squares " : "points ") + label + " seed " + std::to_string(seed),
                          r.checkpoint, 2000);
      }
    }
  }
}
