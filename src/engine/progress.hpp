#pragma once
// A one-line progress bar on stderr: step, loss, images/s and ETA. Redrawn in place on a
// terminal (at most 5 times a second); on a pipe or file, one line per 5% of the run.

#include <chrono>
#include <cstdint>
#include <string>

namespace genphys::engine {

class ProgressBar {
 public:
  ProgressBar(bool enabled, std::int64_t total_steps);
  /// `images_per_second` <= 0 or `eta_seconds` < 0: not known yet.
  void update(std::int64_t step, double loss, double images_per_second, double eta_seconds, bool force = false);
  /// Ends the line.
  void finish();

 private:
  bool enabled_, tty_;
  std::int64_t total_, last_bucket_ = -1;
  std::chrono::steady_clock::time_point last_draw_{};
  bool drawn_ = false;
};

/// "1h02m", "3m07s", "12s".
std::string format_duration(double seconds);

}  // namespace genphys::engine
