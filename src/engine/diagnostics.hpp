#pragma once
// Where a denoiser stands against the best any network could do: the Bayes-optimal prediction of
// the exact empirical field (the posterior average of the target over the training examples,
// weighted by the kernel q_t(x - y_j)), per noise level, on the run's fixed evaluation set.
// Internal to the engine.

#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "engine/trainer.hpp"

namespace genphys::engine {

/// Per-sample weighted loss of `model` on `eval` (eval mode, no gradients), float64 on the CPU.
torch::Tensor sample_losses(EdmPrecond& model, const Batch& eval, int batch, torch::Device device);

/// Per-sample weighted loss of the Bayes-optimal prediction for the training distribution (the
/// examples of `data`, and their mirror images when config.hflip): for sample (x, sigma) the
/// posterior average over examples y_j of the target (y_j, or its velocity dx/dsigma for velocity
/// targets) with weights q_t(x - y_j), t = process.time(sigma). Weighted as the training loss
/// (`model` supplies the weight only). NaN where no example has positive weight (a wave front).
torch::Tensor optimal_sample_losses(const Dataset& data, const GenerativeProcess& process, const RunConfig& config,
                                    EdmPrecond& model, const Batch& eval);

/// Mean and median of a loss vector.
std::pair<double, double> mean_and_median(const torch::Tensor& losses);

/// The loss per sigma bin next to the optimum's. Five bins at the training distribution's
/// quantiles: edges at ln sigma = p_mean + p_std z, z = -1.5, -0.5, 0.5, 1.5 (7%, 24%, 38%,
/// 24%, 7% of the draws). Only samples with a finite optimum count.
nlohmann::json sigma_bin_report(const RunConfig& config, const Batch& eval, const torch::Tensor& losses,
                                const torch::Tensor& optimal);

/// The trainer's eval events: the fixed set, its optimum computed once (on first use), and
/// the stats.jsonl line {"event": "eval", "step", "loss", "median", "optimal", "sigma_bins"}. An
/// optimum whose kernel evaluations would take over 120 s (one thread) is skipped (null, with "optimal_skipped").
class EvalDiagnostics {
 public:
  EvalDiagnostics(const Dataset& data, const GenerativeProcess& process, const RunConfig& config, Batch eval,
                  torch::Device device);
  /// Evaluates `model`; `mean` and `median` receive its loss.
  nlohmann::json line(EdmPrecond& model, std::int64_t step, double& mean, double& median);

 private:
  const Dataset& data_;
  const GenerativeProcess& process_;
  const RunConfig& config_;
  Batch eval_;
  torch::Device device_;
  torch::Tensor optimal_;
  double skipped_seconds_ = 0.0;  ///< > the budget: the optimum was not computed (NaN)
};

}  // namespace genphys::engine
