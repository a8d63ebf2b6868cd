// The Bayes-optimal loss of the exact empirical field, and the loss per sigma bin.
#include "engine/diagnostics.hpp"

#include <chrono>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "engine/process.hpp"
#include "engine/runtime.hpp"
#include "engine/sampler.hpp"
#include "genphys/errors.hpp"
#include "genphys/evaluation.hpp"

namespace genphys::engine {

torch::Tensor sample_losses(EdmPrecond& model, const Batch& eval, int batch, torch::Device device) {
  const bool was_training = model->is_training();
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  const auto n = eval.y.size(0);
  for (std::int64_t s = 0; s < n; s += batch) {
    const auto e = std::min<std::int64_t>(n, s + batch);
    parts.push_back(edm_loss(model, eval.target.slice(0, s, e).to(device), eval.x.slice(0, s, e).to(device),
                             eval.sigma.slice(0, s, e).to(device),
                             eval.labels.defined() ? eval.labels.slice(0, s, e).to(device) : torch::Tensor())
                        .to(torch::kCPU, torch::kFloat64));
  }
  if (was_training) model->train();
  return torch::cat(parts);
}

std::pair<double, double> mean_and_median(const torch::Tensor& losses) {
  const auto n = losses.size(0);
  if (n == 0) return {NAN, NAN};
  const auto sorted = std::get<0>(losses.sort());
  const double median = n % 2 ? sorted[n / 2].item<double>()
                              : 0.5 * (sorted[n / 2 - 1].item<double>() + sorted[n / 2].item<double>());
  return {losses.mean().item<double>(), median};
}

torch::Tensor optimal_sample_losses(const Dataset& data, const GenerativeProcess& process, const RunConfig& config,
                                    EdmPrecond& model, const Batch& eval) {
  torch::NoGradGuard no_grad;
  const std::int64_t n = eval.x.size(0);
  const auto x = eval.x.reshape({n, -1}).to(torch::kFloat64).contiguous();
  const auto target = eval.target.reshape({n, -1}).to(torch::kFloat64);
  const std::int64_t dim = x.size(1);
  auto examples = data.x;
  if (config.hflip) examples = torch::cat({examples, examples.flip({-1})});
  examples = examples.reshape({examples.size(0), dim});
  const auto sigma = eval.sigma.to(torch::kFloat64).contiguous();
  std::vector<double> t(static_cast<std::size_t>(n)), dt_dsigma(static_cast<std::size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    t[std::size_t(i)] = process.time(sigma[i].item<double>());
    if (config.velocity_target) dt_dsigma[std::size_t(i)] = time_derivative(process, sigma[i].item<double>());
  }
  // Streamed over the examples with a running log-sum-exp: weight sum s, sum of w y (or of
  // w f y and w f for velocities, whose posterior mean is sum w f (x - y) / sum w).
  const double inf = std::numeric_limits<double>::infinity();
  auto top = torch::full({n}, -inf, torch::kFloat64), total = torch::zeros({n}, torch::kFloat64);
  auto weighted = torch::zeros({n, dim}, torch::kFloat64), speed = torch::zeros({n}, torch::kFloat64);
  const auto x2 = x.square().sum(1, true);
  const std::int64_t chunk = 4096;
  for (std::int64_t start = 0; start < examples.size(0); start += chunk) {
    const auto y = examples.slice(0, start, std::min(examples.size(0), start + chunk)).to(torch::kFloat64).contiguous();
    const auto r = (x2 + y.square().sum(1).unsqueeze(0) - 2.0 * x.matmul(y.t())).clamp_min(0.0).sqrt().contiguous();
    auto logw = torch::empty_like(r), factor = config.velocity_target ? torch::empty_like(r) : torch::Tensor();
    const double* pr = r.data_ptr<double>();
    double* pl = logw.data_ptr<double>();
    double* pf = config.velocity_target ? factor.data_ptr<double>() : nullptr;
    const std::int64_t m = r.size(1);
    at::parallel_for(0, n, 1, [&](std::int64_t from, std::int64_t to) {
      for (std::int64_t i = from; i < to; ++i)
        for (std::int64_t j = 0; j < m; ++j) {
          const double rij = pr[i * m + j], ti = t[std::size_t(i)];
          pl[i * m + j] = process.log_kernel(rij, ti);
          if (pf) pf[i * m + j] = rij > 0 ? process.source_radial_speed(rij, ti) * dt_dsigma[std::size_t(i)] / rij : 0.0;
        }
    });
    logw = torch::nan_to_num(logw, -inf, inf, -inf);
    const auto new_top = torch::maximum(top, std::get<0>(logw.max(1)));
    const auto safe_top = torch::where(torch::isfinite(new_top), new_top, torch::zeros_like(new_top));
    const auto rescale = torch::where(torch::isfinite(top), (top - safe_top).exp(), torch::zeros_like(top));
    const auto w = (logw - safe_top.unsqueeze(1)).exp();
    total = total * rescale + w.sum(1);
    if (config.velocity_target) {
      const auto wf = torch::where(w > 0, w * factor, torch::zeros_like(w));  // a far source's speed may be inf
      weighted = weighted * rescale.unsqueeze(1) + wf.matmul(y);
      speed = speed * rescale + wf.sum(1);
    } else {
      weighted = weighted * rescale.unsqueeze(1) + w.matmul(y);
    }
    top = new_top;
  }
  const auto mean = config.velocity_target ? (speed.unsqueeze(1) * x - weighted) / total.unsqueeze(1)
                                           : weighted / total.unsqueeze(1);
  const auto err = (mean - target).square().mean(1);
  const auto weight = model->loss_weight(eval.x, eval.sigma).to(torch::kCPU, torch::kFloat64).reshape({n});
  const auto loss = weight * err;
  return torch::where(total > 0, loss, torch::full_like(loss, NAN));
}

nlohmann::json sigma_bin_report(const RunConfig& config, const Batch& eval, const torch::Tensor& losses,
                                const torch::Tensor& optimal) {
  const std::vector<double> z = {-1.5, -0.5, 0.5, 1.5};
  std::vector<double> edges = {0.0};
  for (double v : z) edges.push_back(std::exp(config.p_mean + config.p_std * v));
  edges.push_back(std::numeric_limits<double>::infinity());
  const auto sigma = eval.sigma.to(torch::kFloat64);
  const auto usable = torch::isfinite(optimal) & torch::isfinite(losses);
  nlohmann::json bins = nlohmann::json::array();
  for (std::size_t b = 0; b + 1 < edges.size(); ++b) {
    const auto in = usable & (sigma >= edges[b]) & (sigma < edges[b + 1]);
    const std::int64_t count = in.sum().item<std::int64_t>();
    nlohmann::json bin = {{"sigma_from", edges[b]}, {"sigma_to", std::isinf(edges[b + 1]) ? nlohmann::json(nullptr)
                                                                                           : nlohmann::json(edges[b + 1])},
                          {"n", count}};
    if (count > 0) {
      bin["loss"] = losses.index({in}).mean().item<double>();
      bin["optimal"] = optimal.index({in}).mean().item<double>();
    }
    bins.push_back(std::move(bin));
  }
  return {{"optimal", optimal.index({usable}).numel() ? optimal.index({usable}).mean().item<double>() : NAN},
          {"sigma_bins", std::move(bins)}};
}

EvalDiagnostics::EvalDiagnostics(const Dataset& data, const GenerativeProcess& process, const RunConfig& config,
                                 Batch eval, torch::Device device)
    : data_(data), process_(process), config_(config), eval_(std::move(eval)), device_(device) {}

namespace {
// Seconds the optimum would spend in the kernel (n x examples evaluations), from 256 timed ones:
// a density that is itself a quadrature (the third-order equation's, ~5 ms) would stall training.
double optimum_kernel_seconds(const GenerativeProcess& process, const Batch& eval, std::int64_t examples) {
  const auto sigma = eval.sigma.to(torch::kFloat64).contiguous();
  const std::int64_t n = sigma.size(0), probes = 256;
  volatile double sink = 0;  // keeps the calls
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t k = 0; k < probes; ++k) {
    const double s = sigma[k % n].item<double>();
    sink = sink + process.log_kernel(s * (0.5 + double(k % 7) / 3.0), process.time(s));
  }
  const double each = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / double(probes);
  return each * double(n * examples);
}
constexpr double kOptimumBudgetSeconds = 120.0;  // one thread's estimate: well clear of load swings
}  // namespace

nlohmann::json EvalDiagnostics::line(EdmPrecond& model, std::int64_t step, double& mean, double& median) {
  const auto losses = sample_losses(model, eval_, config_.batch, device_);
  if (!optimal_.defined()) {
    const std::int64_t examples = data_.size() * (config_.hflip ? 2 : 1);
    skipped_seconds_ = optimum_kernel_seconds(process_, eval_, examples);
    optimal_ = skipped_seconds_ > kOptimumBudgetSeconds
                   ? torch::full({losses.size(0)}, NAN, torch::kFloat64)
                   : optimal_sample_losses(data_, process_, config_, model, eval_);
  }
  const auto all = mean_and_median(losses);
  mean = all.first;
  median = all.second;
  nlohmann::json j = {{"event", "eval"}, {"step", step}, {"loss", mean}, {"median", median}};
  j.update(sigma_bin_report(config_, eval_, losses, optimal_));
  if (skipped_seconds_ > kOptimumBudgetSeconds)
    j["optimal_skipped"] = fmt::format("the kernel density is slow: the optimum would take about {:.0f} s", skipped_seconds_);
  return j;
}

}  // namespace genphys::engine

// ---- the public entry points -----------------------------------------------------------------

namespace genphys {
using namespace engine;

LossDiagnostic loss_diagnostic(const std::string& checkpoint, int n, int threads) {
  if (n < 1) throw OptionError("n", "must be >= 1");
  setup_runtime("cpu", threads);
  CheckpointReader reader(checkpoint, torch::kCPU);
  const RunConfig& config = reader.config();
  if (config.process_given)
    throw InputError("checkpoint " + checkpoint + " was trained on a process given in code: its optimum needs that process");
  const Dataset data = load_dataset(config.data, config.limit, config.seed);
  const auto process = resolve_process(config.module, int(data.dim()), false).process;
  EdmPrecond model = make_model(config);
  reader.load_model(model, reader.has_ema());
  BatchMaker maker(data, *process, config);
  const Batch eval = maker.make_eval(n);
  const auto losses = sample_losses(model, eval, config.batch, torch::kCPU);
  const auto optimal = optimal_sample_losses(data, *process, config, model, eval);
  const nlohmann::json j = sigma_bin_report(config, eval, losses, optimal);
  LossDiagnostic d;
  const auto usable = torch::isfinite(optimal) & torch::isfinite(losses);
  d.n = usable.sum().item<std::int64_t>();
  if (d.n > 0) d.loss = losses.index({usable}).mean().item<double>();
  d.optimal = j.at("optimal").is_number() ? j.at("optimal").get<double>() : NAN;
  for (const auto& b : j.at("sigma_bins")) {
    SigmaBinLoss bin;
    bin.sigma_from = b.at("sigma_from").get<double>();
    bin.sigma_to = b.at("sigma_to").is_null() ? std::numeric_limits<double>::infinity() : b.at("sigma_to").get<double>();
    bin.n = b.at("n").get<std::int64_t>();
    if (bin.n > 0) {
      bin.loss = b.at("loss").get<double>();
      bin.optimal = b.at("optimal").get<double>();
    }
    d.bins.push_back(bin);
  }
  return d;
}

}  // namespace genphys
