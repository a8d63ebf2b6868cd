#pragma once
// One checkpoint file: run config (JSON), training state, model, EMA, optimiser state and RNG
// state. Layout: "GENPHYS-CKPT 1\n", payload size (8 bytes LE), CRC-32 of the payload (4 bytes
// LE), then a LibTorch archive. Written atomically. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/network.hpp"
#include "genphys/engine.hpp"

namespace genphys::engine {

/// Everything that defines a run and must survive a resume.
struct RunConfig {
  std::string pde, expr;
  ParamValues params;
  bool process_given = false;  ///< trained on a process handed in directly, not the module's
  std::string data;
  std::int64_t limit = 0;
  bool hflip = false;
  std::vector<std::int64_t> shape;
  bool is_image = false;
  std::vector<double> data_mean;  ///< per coordinate; the prior is drawn around it
  ArchOptions arch;  ///< resolved
  int batch = 0;
  double lr = 0, warmup_images = 0, ema_halflife_images = 0, ema_rampup = 0, grad_clip = 0;
  int max_bad_steps = 0;
  double sigma_data = 0.5, p_mean = -1.2, p_std = 1.2;
  double sigma_min = 0.002, sigma_max = 80.0;  ///< sampling range; also the training clamp when clamp_sigma
  bool clamp_sigma = false;
  bool velocity_target = false;   ///< the field is not affine: the network predicts dx/dsigma
  bool scale_from_input = false;  ///< heavy-tailed kernel: precondition with the input's own scale
  double spread_threshold = -1.0;  ///< tau^2 = max |y - mean|^2/N over the data; < 0: sigma_data^2 (old runs)
  bool noise_from_scale = false;   ///< heavy tails: the denoiser is conditioned on ln(s), not ln(sigma)
  std::string condition;  ///< the `conditional` verdict's condition, if any
  std::uint64_t seed = 0;
};

struct TrainState {
  std::int64_t step = 0;  ///< optimiser steps done
  std::int64_t skipped = 0;
  int bad_in_row = 0;
};

/// The run's network behind its preconditioning (untrained weights).
EdmPrecond make_model(const RunConfig& config);

std::string config_to_json(const RunConfig& config);
RunConfig config_from_json(const std::string& text);  ///< InputError when malformed

/// Writes the checkpoint atomically; `ema` and `optimizer` may be null (then absent).
void save_checkpoint(const std::string& path, const RunConfig& config, const TrainState& state,
                     EdmPrecond& model, EdmPrecond* ema, torch::optim::Optimizer* optimizer);

/// A checkpoint read and verified (magic, size, CRC, archive); tensors are read on demand.
class CheckpointReader {
 public:
  /// Throws InputError for a missing, truncated or corrupt file.
  CheckpointReader(const std::string& path, torch::Device device);
  const RunConfig& config() const { return config_; }
  const TrainState& state() const { return state_; }
  bool has_ema() const { return has_ema_; }
  /// Loads "model" or "ema" into `model` (InputError when the architecture does not match).
  void load_model(EdmPrecond& model, bool ema);
  void load_optimizer(torch::optim::Optimizer& optimizer);
  /// Restores torch's CPU generator.
  void load_rng();

 private:
  std::string path_;
  std::string bytes_;
  torch::serialize::InputArchive archive_;
  RunConfig config_;
  TrainState state_;
  bool has_ema_ = false;
};

}  // namespace genphys::engine
