// train --snapshot-every: numbered snapshots and their retention.
#include "engine/snapshots.hpp"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys {
namespace fs = std::filesystem;

namespace {
constexpr const char* kPrefix = "snapshot-";
constexpr const char* kSuffix = ".ckpt";

// The images of "snapshot-<digits>.ckpt"; -1 for any other name.
std::int64_t images_of(const std::string& name) {
  const std::string prefix = kPrefix, suffix = kSuffix;
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return -1;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || !std::all_of(digits.begin(), digits.end(), [](unsigned char c) { return std::isdigit(c); }))
    return -1;
  return std::stoll(digits);
}
}  // namespace

std::string snapshot_file_name(std::int64_t images) { return fmt::format("{}{:09d}{}", kPrefix, images, kSuffix); }

std::string snapshot_folder(const std::string& run_dir) { return (fs::path(run_dir) / "snapshots").string(); }

std::vector<SnapshotFile> list_snapshots(const std::string& run_dir) {
  std::vector<SnapshotFile> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(snapshot_folder(run_dir), ec)) {
    const std::int64_t images = images_of(entry.path().filename().string());
    if (images >= 0 && entry.is_regular_file(ec)) out.push_back({images, entry.path().string()});
  }
  std::sort(out.begin(), out.end(), [](const SnapshotFile& a, const SnapshotFile& b) { return a.images < b.images; });
  return out;
}

namespace engine {

void check_snapshot_options(const TrainConfig& c) {
  if (c.snapshot_every < 0) throw OptionError("snapshot_every", "must be >= 0 (images; 0: no snapshots)");
  if (c.snapshot_keep < 0) throw OptionError("snapshot_keep", "must be >= 0 (0: keep all)");
}

void adopt_snapshot_settings(RunConfig& kept, const TrainOptions& given) {
  auto chosen = [&](const char* field) {
    return std::find(given.chosen.begin(), given.chosen.end(), field) != given.chosen.end();
  };
  if (chosen("snapshot_every")) kept.snapshot_every = given.snapshot_every;
  if (chosen("snapshot_keep")) kept.snapshot_keep = given.snapshot_keep;
}

SnapshotKeeper::SnapshotKeeper(const fs::path& run_dir, const RunConfig& config)
    : dir_(snapshot_folder(run_dir.string())), config_(config) {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 && name.find(std::string(kSuffix) + ".tmp.") != std::string::npos &&
        entry.is_regular_file(ec))
      fs::remove(entry.path(), ec);
  }
}

bool SnapshotKeeper::after_step(const TrainState& state, EdmPrecond& model, EdmPrecond& ema) {
  const std::int64_t every = config_.snapshot_every, batch = config_.batch;
  if (every <= 0 || state.step < 1) return false;
  const std::int64_t images = state.step * batch;
  if (images / every == (images - batch) / every) return false;  // no multiple crossed by this step
  std::error_code ec;
  fs::create_directory(dir_, ec);
  if (ec) throw InputError("cannot create " + dir_.string() + ": " + ec.message());
  save_checkpoint((dir_ / snapshot_file_name(images)).string(), config_, state, model, &ema, nullptr);
  if (config_.snapshot_keep > 0) {
    // Only older snapshots go: one of more images (left by a run killed after it) is rewritten
    // when training passes it again.
    std::vector<SnapshotFile> older;
    for (auto& s : list_snapshots(dir_.parent_path().string()))
      if (s.images < images) older.push_back(std::move(s));
    const std::size_t keep_older = std::size_t(config_.snapshot_keep - 1);
    for (std::size_t i = 0; i + keep_older < older.size(); ++i) fs::remove(older[i].path, ec);
  }
  return true;
}

}  // namespace engine
}  // namespace genphys
