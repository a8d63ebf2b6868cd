#pragma once
// One checkpoint file: run config (JSON), training state, model, EMA, optimiser state and RNG
// state. Layout: "GENPHYS-CKPT 1\n", payload size (8 bytes LE), CRC-32 of the payload (4 bytes
// LE), then a LibTorch archive. Written atomically. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.hpp"
#include "engine/network.hpp"
#include "genphys/engine.hpp"

namespace genphys::engine {

struct TrainState {
  std::int64_t step = 0;  ///< optimiser steps done
  std::int64_t skipped = 0;
  int bad_in_row = 0;
};

/// The run's network behind its preconditioning (untrained weights).
EdmPrecond make_model(const RunConfig& config);

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
