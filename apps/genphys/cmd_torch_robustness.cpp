// genphys robustness: noise injected while sampling and post-training weight quantisation, as in
// the PFGM++ paper (Xu et al. 2023, Sec. 5): how the score degrades.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {
namespace {
struct RobustnessCommand {
  EvalCliOptions eval;
  std::string ckpt, alpha = "0,0.1,0.2", bits = "9,8,7,6,5", out;
  int nfe = 35;
};
}  // namespace

CommandRunner setup_robustness(CLI::App& app) {
  auto o = std::make_shared<RobustnessCommand>();
  app.add_option("--ckpt", o->ckpt, "RUN_DIR or RUN_DIR/last.ckpt");
  app.add_option("--alpha", o->alpha, "noise levels: x += alpha sigma_i eps after every step")->capture_default_str();
  app.add_option("--quant-bits", o->bits, "weight bit widths (2..16; full precision is alpha 0)")->capture_default_str();
  app.add_option("--nfe", o->nfe, "network evaluations per sample (heun: odd)")->capture_default_str();
  app.add_option("--out", o->out, "output folder: robustness.csv, robustness.json, robustness.png");
  add_eval_options(app, o->eval);

  return [o]() -> int {
    prefer_passive_openmp();
    const std::string ckpt = resolve_checkpoint(o->ckpt);
    const auto alphas = number_list(o->alpha, "--alpha", 0.0, 10.0);
    const auto bits = integer_list(o->bits, "--quant-bits", 2, 16);
    if (o->eval.n < 2) throw InputError("--n must be >= 2");
    if (o->eval.solver == "rk45") throw InputError("robustness needs a fixed-step --solver (heun or euler)");
    check_solver(parse_solver(o->eval.solver), o->nfe, 1.0, 1.0);
    check_stochastic_options(o->eval.stochastic, o->eval.solver);
    if (o->eval.bf16) require_bfloat16_cpu();
    if (o->eval.stochastic.churn.active()) throw InputError("robustness injects its own noise; --churn does not apply");
    const CheckpointSummary run = read_checkpoint_summary(ckpt);
    const auto classifier = classifier_for(run, o->eval);  // a missing one fails before --out is made
    OutputFolder out(o->out, "robustness.csv");
    const std::string png_path = out.add("robustness.png"), json_path = out.add("robustness.json"),
                      csv_path = out.add("robustness.csv");
    const EvalReference ref = make_eval_reference(run.data, o->eval.n, o->eval.seed, classifier.get());

    std::vector<EvalRow> rows;
    plot::Series noise_curve, quant_curve;
    auto record = [&](EvalRow row, const std::string& probe, double value) {
      row.run = o->ckpt;
      row.probe = probe;
      row.probe_value = value;
      std::cerr << fmt::format("{} {:g}: {} {:.4g}, {:.1f} s\n", probe, value, metric_name(ref), headline(row.score, ref),
                               row.seconds);
      (probe == "noise" ? noise_curve : quant_curve).x.push_back(value);
      (probe == "noise" ? noise_curve : quant_curve).y.push_back(headline(row.score, ref));
      rows.push_back(std::move(row));
    };
    for (double a : alphas) record(evaluate_checkpoint(ckpt, o->nfe, o->eval, ref, classifier.get(), a, 0), "noise", a);
    for (int b : bits) record(evaluate_checkpoint(ckpt, o->nfe, o->eval, ref, classifier.get(), 0.0, b), "quant", b);

    plot::Figure fig;
    fig.cols = 2;
    fig.width = 1200;
    fig.height = 500;
    fig.title = fmt::format("{} ({}), NFE {}, n = {}", ckpt, run.pde, o->nfe, ref.n);
    plot::RefLine real;
    real.value = headline(ref.real, ref);
    real.label = "real vs real";
    real.color = plot::Color{120, 120, 120};
    auto panel = [&](const std::string& title, const std::string& xlabel, const plot::Series& curve) {
      plot::Panel p;
      p.title = title;
      p.xlabel = xlabel;
      p.ylabel = metric_name(ref);
      plot::Series dots = curve;  // single probes show as dots, not only as lines
      dots.style = plot::Series::Style::points;
      dots.width = 7.0;
      p.series = {curve, dots};
      for (auto& s : p.series) s.color = plot::palette(0);
      p.lines = {real};
      p.legend = false;
      return p;
    };
    fig.panels = {panel("noise injection", "alpha", noise_curve), panel("weight quantisation", "bits", quant_curve)};
    out.files().set_from_file(png_path, [&](const std::string& path) { plot::save_png(fig, path); });
    nlohmann::json j = {{"checkpoint", ckpt}, {"pde", run.pde}, {"nfe", o->nfe}, {"seed", o->eval.seed},
                        {"seeds", seed_range(ref.n)}, {"reference", reference_json(ref, classifier.get())},
                        {"rows", nlohmann::json::array()}};
    for (const auto& row : rows) j["rows"].push_back(row_json(row, ref));
    out.files().set(json_path, j.dump(2) + "\n");
    out.files().set(csv_path, rows_csv(rows, ref));
    out.commit();
    if (o->eval.json) {
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << fmt::format("{:<8} {:>7} {:>10} {:>9}\n", "probe", "value", metric_name(ref), "seconds");
    for (const auto& row : rows)
      std::cout << fmt::format("{:<8} {:>7g} {:>10.4f} {:>9.1f}\n", row.probe, row.probe_value, headline(row.score, ref),
                               row.seconds);
    std::cout << fmt::format("real vs real {:.4f}, noise {:.4f}; wrote {}/robustness.{{csv,json,png}}\n",
                             headline(ref.real, ref), headline(ref.noise, ref), o->out);
    return 0;
  };
}

}  // namespace genphys::cli
