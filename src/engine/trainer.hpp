#pragma once
// Pieces of the trainer that tests reach directly. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine/network.hpp"
#include "genphys/generative.hpp"
#include "genphys/random.hpp"

namespace genphys::engine {

struct Batch {
  torch::Tensor y;       ///< clean data (B, ...) float32
  torch::Tensor x;       ///< y + displacement, float32
  torch::Tensor sigma;   ///< (B) float64
  torch::Tensor target;  ///< what the model regresses on: y, or each source's dx/dsigma (velocity_target)
  torch::Tensor labels;  ///< conditional runs: (B, classes) one-hot, zero rows where dropped; else undefined
};

/// Training batches as a pure function of (seed, step): example order from a per-epoch
/// permutation, and for global sample g = step * batch + i one stream
/// sample_rng(seed ^ mix(step), g) drawing sigma = exp(p_mean + p_std n), the flip and the
/// displacement x - y ~ q_t(. | y) at t = process.time(sigma). With config.velocity_target the
/// target is the source's velocity dx/dsigma = source_radial_speed(r, t) (dt/dsigma) (x - y)/r.
/// Conditional runs draw last from the same stream whether the label is dropped (label_dropout).
class BatchMaker {
 public:
  BatchMaker(const Dataset& data, const GenerativeProcess& process, const RunConfig& config);
  Batch make(std::int64_t step);
  /// Rows [begin, end) of every global batch are all make() builds (a rank's share); default all.
  void set_rows(std::pair<std::int64_t, std::int64_t> rows) { rows_ = rows; }
  /// A fixed evaluation set of n samples (independent of the training streams).
  Batch make_eval(int n);

 private:
  const std::vector<std::int64_t>& permutation(std::int64_t epoch);
  double draw_sigma(Rng& rng) const;
  Batch assemble(const std::vector<std::int64_t>& index, const std::vector<char>& flip,
                 const std::vector<double>& noise, const std::vector<double>& sigma,
                 const std::vector<char>& dropped = {}) const;
  /// Draws x - y for sample i into noise (and, for velocity targets, its velocity into velocity).
  void displace(Rng& rng, double sigma, std::size_t i, std::vector<double>& noise, std::vector<double>& velocity) const;

  const Dataset& data_;
  const GenerativeProcess& process_;
  const RunConfig& config_;
  std::map<std::int64_t, std::vector<std::int64_t>> perms_;
  std::pair<std::int64_t, std::int64_t> rows_{0, -1};
};

/// Mean and median of the per-sample weighted loss over `eval`, in eval mode without gradients.
std::pair<double, double> eval_loss(EdmPrecond& model, const Batch& eval, int batch, torch::Device device);

/// Copies parameters (same architecture).
void copy_parameters(EdmPrecond& from, EdmPrecond& to);

}  // namespace genphys::engine
