#pragma once
// A run's numbered snapshots (train --snapshot-every): RUN_DIR/snapshots/snapshot-<images>.ckpt,
// each a checkpoint (model and EMA, no optimiser state) named by the training images seen when it
// was written. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

namespace genphys {

struct SnapshotFile {
  std::int64_t images = 0;  ///< training images seen when it was written
  std::string path;
};

/// "snapshot-000040000.ckpt" (at least 9 digits).
std::string snapshot_file_name(std::int64_t images);

/// RUN_DIR/snapshots.
std::string snapshot_folder(const std::string& run_dir);

/// The run's snapshots, fewest images first; empty when it has none. Other files are ignored.
std::vector<SnapshotFile> list_snapshots(const std::string& run_dir);

}  // namespace genphys
