// genphys eval: one checkpoint's samples against the data, with baselines at the same n.
#include <iostream>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "genphys/io.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {

namespace {
struct EvalCommand {
  EvalCliOptions eval;
  std::string ckpt, grid;
  int nfe = 35;
};
}  // namespace

CommandRunner setup_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCommand>();
  app.add_option("--ckpt", o->ckpt, "RUN_DIR or RUN_DIR/last.ckpt");
  app.add_option("--nfe", o->nfe, "network evaluations per sample (heun: odd)")->capture_default_str();
  add_eval_options(app, o->eval);
  app.add_flag("--json", o->eval.json, "print one JSON object");
  app.add_option("--grid", o->grid, "also write the first 64 samples as a PNG");

  return [o]() -> int {
    prefer_passive_openmp();
    const std::string ckpt = resolve_checkpoint(o->ckpt);
    if (o->eval.n < 2) throw InputError("--n must be >= 2");
    check_stochastic_options(o->eval.stochastic, o->eval.solver);
    if (!o->grid.empty()) {
      check_png_path(o->grid, "--grid");
      check_writable(o->grid);
    }
    const CheckpointSummary run = read_checkpoint_summary(ckpt);
    const auto classifier = classifier_for(run, o->eval);
    const EvalReference ref = make_eval_reference(run.data, o->eval.n, o->eval.seed, classifier.get());
    SampleResult samples;
    EvalRow row = evaluate_checkpoint(ckpt, o->nfe, o->eval, ref, classifier.get(), 0.0, 0, &samples);
    row.run = o->ckpt;
    if (!o->grid.empty()) {
      samples.count = std::min<std::int64_t>(samples.count, 64);
      std::int64_t per = 1;
      for (auto d : samples.shape) per *= d;
      samples.values.resize(std::size_t(samples.count * per));
      save_sample_grid(samples, o->grid);
    }
    if (o->eval.json) {
      nlohmann::json j = row_json(row, ref);
      j["step"] = run.step;
      j["solver"] = o->eval.solver;
      j["rho"] = o->eval.stochastic.rho;
      if (o->eval.stochastic.churn.active())
        j["churn"] = {{"s_churn", o->eval.stochastic.churn.s_churn}, {"s_tmin", o->eval.stochastic.churn.s_tmin},
                      {"s_tmax", o->eval.stochastic.churn.s_tmax}, {"s_noise", o->eval.stochastic.churn.s_noise}};
      j["seed"] = o->eval.seed;
      j["seeds"] = seed_range(ref.n);
      j["reference"] = reference_json(ref, classifier.get());
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << fmt::format("{} ({}, step {}): {} NFE {} (asked {}), n {}, seeds {} (global seed {}), sampling {:.1f} s\n",
                             ckpt, run.pde, run.step, o->eval.solver, row.nfe, o->nfe, ref.n, seed_range(ref.n),
                             o->eval.seed, row.seconds);
    if (ref.is_image) {
      std::cout << fmt::format("FD in classifier features (dim {}, test accuracy {:.2f}%), reference: {}\n",
                               classifier->feature_dim(), 100 * classifier->test_accuracy(), ref.reference_set);
      std::cout << fmt::format("  generated  {:10.4f}\n", row.score.fd);
      std::cout << fmt::format("  real       {:10.4f}   ({})\n", ref.real.fd, ref.real_set);
      std::cout << fmt::format("  noise      {:10.4f}   ({})\n", ref.noise.fd, ref.noise_set);
    } else {
      std::cout << fmt::format("sliced W2 (256 projections) and MMD^2 (RBF, h = {:.4g}), reference: {}\n",
                               ref.bandwidth, ref.reference_set);
      std::cout << fmt::format("  generated  SW {:.5f}  MMD^2 {:.6f}\n", row.score.sw, row.score.mmd);
      std::cout << fmt::format("  real       SW {:.5f}  MMD^2 {:.6f}   ({})\n", ref.real.sw, ref.real.mmd, ref.real_set);
      std::cout << fmt::format("  noise      SW {:.5f}  MMD^2 {:.6f}   ({})\n", ref.noise.sw, ref.noise.mmd, ref.noise_set);
    }
    return 0;
  };
}

}  // namespace genphys::cli
