#include "progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace genphys::cli {

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long t = std::lround(s);
  if (t >= 3600) return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
  if (t >= 60) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

ProgressBar::ProgressBar() : tty_(isatty(STDERR_FILENO) != 0) {}

void ProgressBar::update(const TrainProgress& p) {
  const std::int64_t total = std::max<std::int64_t>(p.total_steps, 1);
  const bool force = !drawn_ || p.last;
  const auto now = std::chrono::steady_clock::now();
  if (tty_) {
    if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  } else {
    const std::int64_t bucket = p.step * 20 / total;
    if (!force && bucket == last_bucket_) return;
    last_bucket_ = bucket;
  }
  last_draw_ = now;
  const double frac = std::clamp(double(p.step) / double(total), 0.0, 1.0);
  const int width = 24, filled = int(frac * width);
  std::string bar(size_t(filled), '=');
  if (filled < width) bar += '>' + std::string(size_t(width - filled - 1), ' ');
  const std::string loss_text = std::isfinite(p.loss) ? fmt::format("{:.4f}", p.loss) : std::string("-");
  const std::string speed =
      p.images_per_second > 0 ? fmt::format("{:.1f} img/s", p.images_per_second) : std::string("- img/s");
  const std::string eta = p.eta_seconds >= 0 ? format_duration(p.eta_seconds) : std::string("?");
  const std::string line = fmt::format("step {}/{} [{}] {:3.0f}% loss {} | {} | ETA {}", p.step, total, bar, 100 * frac,
                                       loss_text, speed, eta);
  if (tty_) {
    std::fprintf(stderr, "\r%s\033[K", line.c_str());
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());
  }
  std::fflush(stderr);
  drawn_ = true;
  if (p.last) finish();
}

void ProgressBar::finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
  drawn_ = false;
}

}  // namespace genphys::cli
