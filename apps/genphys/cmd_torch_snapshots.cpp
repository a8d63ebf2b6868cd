// eval --snapshots and compare --snapshots: every snapshot of one or more runs scored against one
// reference, as the metric vs training images seen (CSV, JSON, PNG).
#include <algorithm>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "eval_cli.hpp"
#include "genphys/errors.hpp"
#include "genphys/plot.hpp"
#include "genphys/snapshots.hpp"

namespace genphys::cli {
namespace fs = std::filesystem;

namespace {

struct SnapshotRow {
  EvalRow row;
  std::int64_t images = 0, step = 0;
};

std::string snapshot_rows_csv(const std::vector<SnapshotRow>& rows, const EvalReference& ref) {
  // value_se: images only, the FD's bootstrap standard error over sample sets.
  std::string out = "run,images,step,checkpoint,pde,nfe_requested,nfe,seconds,n,metric,value,real,noise,value_se\n";
  for (const auto& s : rows)
    out += fmt::format("{},{},{},{},{},{},{},{:.2f},{},{},{:.6g},{:.6g},{:.6g},{}\n", s.row.run, s.images, s.step,
                       s.row.checkpoint, s.row.pde, s.row.nfe_requested, s.row.nfe, s.row.seconds, ref.n,
                       metric_name(ref), headline(s.row.score, ref), headline(ref.real, ref), headline(ref.noise, ref),
                       ref.is_image ? fmt::format("{:.6g}", s.row.score.fd_se) : std::string());
  return out;
}

// The metric vs images seen: one curve per run and NFE, real vs real as a line.
plot::Figure snapshot_figure(const std::vector<SnapshotRow>& rows, const EvalReference& ref, bool several_nfe) {
  plot::Panel panel;
  panel.title = fmt::format("{} vs training images, n = {}, seeds {}",
                            ref.is_image ? "FD (classifier features)" : "sliced W2", ref.n, seed_range(ref.n));
  panel.xlabel = "training images seen";
  panel.ylabel = metric_name(ref);
  std::vector<std::string> keys;
  for (const auto& s : rows) {
    const std::string key = several_nfe ? fmt::format("{}, NFE {}", s.row.run, s.row.nfe_requested) : s.row.run;
    auto it = std::find(keys.begin(), keys.end(), key);
    if (it == keys.end()) {
      keys.push_back(key);
      plot::Series curve;
      curve.label = key;
      curve.color = plot::palette(int(keys.size() - 1));
      panel.series.push_back(std::move(curve));
      it = keys.end() - 1;
    }
    auto& curve = panel.series[std::size_t(it - keys.begin())];
    curve.x.push_back(double(s.images));
    curve.y.push_back(headline(s.row.score, ref));
  }
  panel.ymin = 0.0;
  return metric_curves(std::move(panel), ref);
}

}  // namespace

std::vector<SnapshotFile> run_snapshots(const std::string& run) {
  std::error_code ec;
  if (!fs::is_directory(run, ec)) throw InputError("--snapshots needs a run directory, not " + run);
  auto found = list_snapshots(run);
  if (found.empty())
    throw InputError("run directory " + run + " holds no snapshots (train it with --snapshot-every IMAGES)");
  return found;
}

int sweep_snapshots(const std::vector<std::pair<std::string, std::string>>& runs, const std::vector<int>& nfes,
                    const EvalCliOptions& o, const std::string& out_dir) {
  // Everything is checked (snapshots found, same data, classifier readable) before --out is made.
  std::vector<std::vector<SnapshotFile>> files;
  std::vector<std::vector<CheckpointSummary>> summaries;
  for (const auto& [name, dir] : runs) {
    files.push_back(run_snapshots(dir));
    summaries.emplace_back();
    for (const auto& f : files.back()) {
      summaries.back().push_back(read_checkpoint_summary(f.path));
      if (summaries.back().back().data != summaries.front().front().data)
        throw InputError(fmt::format("{} was trained on {}, not {} like {}", f.path, summaries.back().back().data,
                                     summaries.front().front().data, files.front().front().path));
    }
  }
  const auto classifier = classifier_for(summaries.front().front(), o);
  OutputFolder out(out_dir, "snapshots.csv");
  const std::string png_path = out.add("snapshots.png"), json_path = out.add("snapshots.json"),
                    csv_path = out.add("snapshots.csv");
  const EvalReference ref = make_eval_reference(summaries.front().front().data, o.n, o.seed, classifier.get());
  std::cerr << fmt::format("reference: {}; baselines {} real {:.4g}, noise {:.4g}\n", ref.reference_set,
                           metric_name(ref), headline(ref.real, ref), headline(ref.noise, ref));
  std::vector<SnapshotRow> rows;
  for (int nfe : nfes)
    for (std::size_t r = 0; r < runs.size(); ++r)
      for (std::size_t k = 0; k < files[r].size(); ++k) {
        SnapshotRow s;
        s.row = evaluate_checkpoint(files[r][k].path, nfe, o, ref, classifier.get());
        s.row.run = runs[r].first;
        s.images = files[r][k].images;
        s.step = summaries[r][k].step;
        std::cerr << fmt::format("{} {} images, NFE {}: {} {:.4g}, {:.1f} s\n", s.row.run, s.images, s.row.nfe,
                                 metric_name(ref), headline(s.row.score, ref), s.row.seconds);
        rows.push_back(std::move(s));
      }
  const plot::Figure fig = snapshot_figure(rows, ref, nfes.size() > 1);
  out.files().set_from_file(png_path, [&](const std::string& path) { plot::save_png(fig, path); });
  nlohmann::json j = {{"seed", o.seed}, {"seeds", seed_range(ref.n)}, {"solver", o.solver},
                      {"reference", reference_json(ref, classifier.get())}, {"rows", nlohmann::json::array()}};
  for (const auto& s : rows) {
    nlohmann::json row = row_json(s.row, ref);
    row["images"] = s.images;
    row["step"] = s.step;
    j["rows"].push_back(std::move(row));
  }
  out.files().set(json_path, j.dump(2) + "\n");
  out.files().set(csv_path, snapshot_rows_csv(rows, ref));
  out.commit();
  if (o.json) {
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << fmt::format("{:<16} {:>12} {:>5} {:>10} {:>9}\n", "run", "images", "NFE", metric_name(ref), "seconds");
  for (const auto& s : rows)
    std::cout << fmt::format("{:<16} {:>12} {:>5} {:>10.4f} {:>9.1f}\n", s.row.run, s.images, s.row.nfe,
                             headline(s.row.score, ref), s.row.seconds);
  std::cout << fmt::format("{:<16} {:>12} {:>5} {:>10.4f}\n", "real vs real", "", "", headline(ref.real, ref));
  std::cout << "wrote " << out_dir << "/snapshots.{csv,json,png}\n";
  return 0;
}

}  // namespace genphys::cli
