#pragma once
// The train command's progress bar on stderr: step, loss, images/s and ETA, drawn from the
// engine's TrainProgress reports. Redrawn in place on a terminal (at most 5 times a second); on a
// pipe or file, one line per 5% of the run.

#include <chrono>
#include <cstdint>
#include <string>

#include "genphys/engine.hpp"

namespace genphys::cli {

class ProgressBar {
 public:
  ProgressBar();
  /// Ends a line drawn in place, also when the run stops by an exception.
  ~ProgressBar() { finish(); }
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  /// Draws the first and the last report always, others as the rate limits above allow.
  void update(const TrainProgress& p);
  void finish();

 private:
  bool tty_;
  std::int64_t last_bucket_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

/// "1h02m", "3m07s", "12s".
std::string format_duration(double seconds);

}  // namespace genphys::cli
