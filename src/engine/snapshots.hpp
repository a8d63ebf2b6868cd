#pragma once
// train --snapshot-every: numbered checkpoints beside last.ckpt, with a retention limit. Internal
// to the engine; the trainer calls these at three places (validation, resume, after each step).

#include <filesystem>

#include "engine/checkpoint.hpp"
#include "genphys/snapshots.hpp"

namespace genphys::engine {

/// OptionError for a negative snapshot_every or snapshot_keep.
void check_snapshot_options(const TrainConfig& config);

/// On resume, snapshot settings given on purpose replace the run's: they change no weight, so a
/// long run may start (or stop) keeping snapshots when it is continued. Others are left to
/// require_chosen_unchanged.
void adopt_snapshot_settings(RunConfig& kept, const TrainOptions& given);

class SnapshotKeeper {
 public:
  /// Removes temp files a killed run left in RUN_DIR/snapshots.
  SnapshotKeeper(const std::filesystem::path& run_dir, const RunConfig& config);

  /// After an optimiser step: when the images seen (state.step x batch) crossed a multiple of
  /// snapshot_every, writes snapshot-<images>.ckpt atomically, then removes the oldest snapshots
  /// of fewer images beyond snapshot_keep. Returns whether it wrote one.
  bool after_step(const TrainState& state, EdmPrecond& model, EdmPrecond& ema);

 private:
  std::filesystem::path dir_;
  const RunConfig& config_;
};

}  // namespace genphys::engine
