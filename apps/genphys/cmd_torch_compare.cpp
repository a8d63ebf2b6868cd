// genphys compare: several runs at several NFE against one reference: table, plot, sample grids.
#include <algorithm>
#include <iostream>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "genphys/errors.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {
namespace {

struct CompareCommand {
  EvalCliOptions eval;
  std::string runs, nfe = "9,17,35,79", out;
  int grid_count = 8;
  bool snapshots = false;
};

struct NamedRun {
  std::string name, checkpoint, dir;
};

std::vector<NamedRun> parse_runs(const std::string& text) {
  if (text.empty()) throw InputError("--runs name=RUN_DIR,... is required");
  std::vector<NamedRun> runs;
  std::set<std::string> names;
  for (const auto& item : split_list(text, "--runs")) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size())
      throw InputError("--runs item '" + item + "' is not name=RUN_DIR");
    const std::string name = item.substr(0, eq);
    if (name.find_first_of(",\"\n") != std::string::npos) throw InputError("--runs name '" + name + "' has , \" or a newline");
    if (!names.insert(name).second) throw InputError("--runs names the run '" + name + "' twice");
    const std::string path = item.substr(eq + 1);
    runs.push_back({name, resolve_checkpoint(path), path});
  }
  return runs;
}

// The first `k` samples of every run side by side: one row per run (images) or one panel per run.
void save_side_by_side(const std::vector<NamedRun>& runs, const std::vector<SampleResult>& samples, int k, int nfe,
                       const std::string& path) {
  if (samples.front().is_image) {
    const auto& shape = samples.front().shape;
    const std::int64_t per = shape[0] * shape[1] * shape[2];
    std::vector<float> pixels;
    for (const auto& s : samples)
      pixels.insert(pixels.end(), s.values.begin(), s.values.begin() + std::ptrdiff_t(std::min<std::int64_t>(k, s.count) * per));
    plot::save_image_grid_png(pixels, int(pixels.size() / std::size_t(per)), int(shape[0]), int(shape[1]),
                              int(shape[2]), k, path);
    return;
  }
  plot::Figure fig;
  fig.cols = int(runs.size());
  fig.width = 320 * fig.cols;
  fig.height = 360;
  fig.title = fmt::format("samples at NFE {} (seeds {})", nfe, seed_range(samples.front().count));
  for (std::size_t r = 0; r < runs.size(); ++r) {
    plot::Panel panel;
    panel.title = runs[r].name;
    panel.legend = false;
    panel.equal_aspect = true;
    panel.xmin = -3.5, panel.xmax = 3.5, panel.ymin = -3.5, panel.ymax = 3.5;
    plot::Series pts;
    pts.style = plot::Series::Style::points;
    pts.width = 2.0;
    const auto d = samples[r].shape[0];
    for (std::int64_t i = 0; i < samples[r].count; ++i) {
      const double x = samples[r].values[std::size_t(i * d)], y = samples[r].values[std::size_t(i * d + 1)];
      if (std::isfinite(x) && std::isfinite(y) && std::abs(x) < 3.5 && std::abs(y) < 3.5) {
        pts.x.push_back(x);
        pts.y.push_back(y);
      }
    }
    panel.series.push_back(std::move(pts));
    fig.panels.push_back(std::move(panel));
  }
  plot::save_png(fig, path);
}

}  // namespace

CommandRunner setup_compare(CLI::App& app) {
  auto o = std::make_shared<CompareCommand>();
  app.add_option("--runs", o->runs, "name=RUN_DIR[,name=RUN_DIR...] (all trained on the same data)");
  app.add_option("--nfe", o->nfe, "NFE list (heun: odd)")->capture_default_str();
  app.add_option("--out", o->out, "output folder: compare.csv, compare.json, compare.png, grid_nfe*.png");
  app.add_option("--grid-count", o->grid_count, "samples per run in the side-by-side grids")->capture_default_str();
  app.add_flag("--snapshots", o->snapshots,
               "score every snapshot of each run (train --snapshot-every) instead: snapshots.{csv,json,png}, the "
               "metric vs training images");
  add_eval_options(app, o->eval);

  return [o]() -> int {
    prefer_passive_openmp();
    const auto runs = parse_runs(o->runs);
    const auto nfes = integer_list(o->nfe, "--nfe", 1, 10000);
    for (int nfe : nfes) check_solver(parse_solver(o->eval.solver), nfe, 1.0, 1.0);  // all before any work
    check_stochastic_options(o->eval.stochastic, o->eval.solver);
    if (o->eval.bf16) require_bfloat16_cpu();
    if (o->eval.n < 2) throw InputError("--n must be >= 2");
    if (o->snapshots) {
      std::vector<std::pair<std::string, std::string>> dirs;
      for (const auto& r : runs) dirs.emplace_back(r.name, r.dir);
      return sweep_snapshots(dirs, nfes, o->eval, o->out);
    }
    if (o->grid_count < 1) throw InputError("--grid-count must be >= 1");
    std::vector<CheckpointSummary> summaries;
    for (const auto& r : runs) {
      summaries.push_back(read_checkpoint_summary(r.checkpoint));
      if (summaries.back().data != summaries.front().data)
        throw InputError(fmt::format("runs '{}' and '{}' were trained on different data ({} vs {})", runs.front().name,
                                     r.name, summaries.front().data, summaries.back().data));
    }
    const auto classifier = classifier_for(summaries.front(), o->eval);  // a missing one fails before --out is made
    if (process_rank() != 0) {  // the other ranks sample with rank 0, which writes and reports
      const EvalReference ref = make_eval_reference(summaries.front().data, o->eval.n, o->eval.seed, classifier.get());
      for (int nfe : nfes)
        for (const auto& run : runs) evaluate_checkpoint(run.checkpoint, nfe, o->eval, ref, classifier.get(), 0.0, 0, nullptr);
      return 0;
    }
    OutputFolder out(o->out, "compare.csv");
    std::vector<std::string> grid_paths;
    for (int nfe : nfes) grid_paths.push_back(out.add(fmt::format("grid_nfe{:03d}.png", nfe)));
    const std::string png_path = out.add("compare.png"), json_path = out.add("compare.json"),
                      csv_path = out.add("compare.csv");
    const EvalReference ref = make_eval_reference(summaries.front().data, o->eval.n, o->eval.seed, classifier.get());
    std::cerr << fmt::format("reference: {}; baselines {} real {:.4g}, noise {:.4g}\n", ref.reference_set,
                             metric_name(ref), headline(ref.real, ref), headline(ref.noise, ref));

    std::vector<EvalRow> rows;
    plot::Panel panel;
    panel.title = fmt::format("{} vs NFE, n = {}, seeds {}", metric_name(ref) == "fd" ? "FD (classifier features)" : "sliced W2",
                              ref.n, seed_range(ref.n));
    panel.xlabel = "NFE";
    panel.ylabel = metric_name(ref);
    for (const auto& run : runs) {
      plot::Series curve;
      curve.label = run.name;
      panel.series.push_back(std::move(curve));
    }
    for (std::size_t k = 0; k < nfes.size(); ++k) {
      const int nfe = nfes[k];
      std::vector<SampleResult> samples(runs.size());
      for (std::size_t r = 0; r < runs.size(); ++r) {
        EvalRow row = evaluate_checkpoint(runs[r].checkpoint, nfe, o->eval, ref, classifier.get(), 0.0, 0, &samples[r]);
        row.run = runs[r].name;
        std::cerr << fmt::format("{} NFE {} ({} used): {} {:.4g}, {:.1f} s\n", row.run, nfe, row.nfe, metric_name(ref),
                                 headline(row.score, ref), row.seconds);
        panel.series[r].x.push_back(double(row.nfe));
        panel.series[r].y.push_back(headline(row.score, ref));
        rows.push_back(std::move(row));
      }
      out.files().set_from_file(grid_paths[k], [&](const std::string& path) {
        save_side_by_side(runs, samples, o->grid_count, nfe, path);
      });
    }
    for (std::size_t r = 0; r < runs.size(); ++r) panel.series[r].color = plot::palette(int(r));
    const plot::Figure fig = metric_curves(panel, ref);
    out.files().set_from_file(png_path, [&](const std::string& path) { plot::save_png(fig, path); });

    nlohmann::json j = {{"seed", o->eval.seed}, {"seeds", seed_range(ref.n)}, {"solver", o->eval.solver},
                        {"reference", reference_json(ref, classifier.get())}, {"rows", nlohmann::json::array()}};
    for (const auto& row : rows) j["rows"].push_back(row_json(row, ref));
    out.files().set(json_path, j.dump(2) + "\n");
    out.files().set(csv_path, rows_csv(rows, ref));
    out.commit();
    if (o->eval.json) {
      std::cout << j.dump() << "\n";
    } else {
      // Images: the FD's bootstrap standard error over sample sets beside it, the noise a difference must exceed.
      auto se = [&](const SampleScore& s) { return ref.is_image ? fmt::format("{:>8.4f}", s.fd_se) : std::string(); };
      const std::string se_head = ref.is_image ? fmt::format("{:>8}", "se") : std::string();
      std::cout << fmt::format("{:<16} {:>5} {:>5} {:>10} {} {:>9}\n", "run", "NFE", "used", metric_name(ref), se_head,
                               "seconds");
      for (const auto& row : rows)
        std::cout << fmt::format("{:<16} {:>5} {:>5} {:>10.4f} {} {:>9.1f}\n", row.run, row.nfe_requested, row.nfe,
                                 headline(row.score, ref), se(row.score), row.seconds);
      std::cout << fmt::format("{:<16} {:>5} {:>5} {:>10.4f} {}\n{:<16} {:>5} {:>5} {:>10.4f} {}\n", "real vs real", "",
                               "", headline(ref.real, ref), se(ref.real), "noise", "", "", headline(ref.noise, ref),
                               se(ref.noise));
      std::cout << "wrote " << o->out << "/compare.{csv,json,png} and grid_nfe*.png\n";
    }
    return 0;
  };
}

}  // namespace genphys::cli
