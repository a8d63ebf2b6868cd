// genphys eval: one checkpoint's samples against the data, with baselines at the same n.
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "genphys/io.hpp"
#include "genphys/network_likelihood.hpp"
#include "torch_cli.hpp"

namespace genphys::cli {

namespace {

nlohmann::json loss_diagnostic_json(const LossDiagnostic& d) {
  nlohmann::json bins = nlohmann::json::array();
  for (const auto& b : d.bins)
    bins.push_back({{"sigma_from", b.sigma_from}, {"sigma_to", std::isinf(b.sigma_to) ? nlohmann::json(nullptr) : nlohmann::json(b.sigma_to)},
                    {"n", b.n}, {"loss", b.loss}, {"optimal", b.optimal}});
  return {{"n", d.n}, {"loss", d.loss}, {"optimal", d.optimal}, {"sigma_bins", bins}};
}

nlohmann::json memorisation_json(const MemorisationScore& m) {
  return {{"share", m.share}, {"quantile", m.quantile}, {"threshold", m.threshold}, {"median_samples", m.median_samples},
          {"median_real", m.median_real}, {"training_examples", m.training_examples}, {"real_set", m.real_set},
          {"space", "pixels"}};
}

void print_loss_diagnostic(const LossDiagnostic& d) {
  std::cout << fmt::format("weighted loss on the run's fixed evaluation set ({} samples), network (EMA) vs Bayes-optimal "
                           "(exact empirical field):\n",
                           d.n);
  for (const auto& b : d.bins)
    std::cout << fmt::format("  sigma [{:8.4g}, {:8.4g})  n {:4}  loss {:10.4g}  optimal {:10.4g}  ratio {:6.2f}\n",
                             b.sigma_from, b.sigma_to, b.n, b.loss, b.optimal, b.loss / b.optimal);
  std::cout << fmt::format("  all                         n {:4}  loss {:10.4g}  optimal {:10.4g}  ratio {:6.2f}\n",
                           d.n, d.loss, d.optimal, d.loss / d.optimal);
}

void print_memorisation(const MemorisationScore& m) {
  std::cout << fmt::format("memorisation: {:.1f}% of samples lie nearer a training image (pixel RMS < {:.4g}) than {:.0f}% of "
                           "held-out real images do ({}; {} training examples); median distance samples {:.4g}, "
                           "real {:.4g}\n",
                           100 * m.share, m.threshold, 100 * (1 - m.quantile), m.real_set, m.training_examples,
                           m.median_samples, m.median_real);
}

struct EvalCommand {
  EvalCliOptions eval;
  std::string ckpt, grid, out;
  int nfe = 35;
  bool snapshots = false, diagnostics = false;
  int loss_samples = 256;
  bool bpd = false, exact = false;
  int hutchinson = 0;  ///< 0: not given (the exact divergence)
  int bpd_steps = 100;
};

// eval --bpd: the held-out data's bits/dim through the probability-flow ODE.
int run_bpd(const EvalCommand& o, const std::string& ckpt) {
  NetworkLikelihoodOptions l;
  l.checkpoint = ckpt;
  l.n = o.eval.n;
  l.probes = o.hutchinson;
  l.ode.steps = o.bpd_steps;
  l.ode.sigma_min = l.ode.sigma_max = 0;  // the checkpoint's
  l.exact_field = o.exact;
  l.seed = o.eval.seed;
  l.batch = o.eval.batch;
  l.threads = o.eval.threads;
  const NetworkLikelihood r = network_likelihood(l);
  const std::string divergence =
      o.exact ? "exact (central differences)" : r.probes == 0 ? "exact (autograd)" : fmt::format("Hutchinson, {} Rademacher probe{}", r.probes, r.probes == 1 ? "" : "s");
  double mean_log_p = 0;
  for (double v : r.log_p) mean_log_p += v / double(r.log_p.size());
  if (o.eval.json) {
    nlohmann::json j{{"checkpoint", ckpt}, {"pde", r.pde}, {"field", r.field}, {"n", r.log_p.size()}, {"data", r.data_set},
                     {"bpd", r.bpd}, {"bpd_se", r.bpd_se}, {"bpd_probe_se", r.bpd_probe_se}, {"log_p_mean", mean_log_p},
                     {"dim", r.dim}, {"divergence", r.probes == 0 ? "exact" : "hutchinson"}, {"probes", r.probes},
                     {"solver", "heun"}, {"steps", r.steps}, {"evaluations", r.evaluations},
                     {"sigma_min", r.sigma_min}, {"sigma_max", r.sigma_max}, {"seed", o.eval.seed}, {"seconds", r.seconds}};
    j["units"] = r.is_image ? "bits/dim of 8-bit pixels, uniformly dequantised" : "bits/dim (-log2 p / N)";
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::cout << fmt::format("{} ({}, {}): bits/dim {:.4f} +- {:.4f} over {} (divergence {}: +- {:.4f} of it from the "
                           "probes)\n",
                           ckpt, r.pde, r.field, r.bpd, r.bpd_se, r.data_set, divergence, r.bpd_probe_se);
  std::cout << fmt::format("  mean log p {:.2f} nats in {} dimensions at sigma_min {:g}; Heun, {} steps in the step variable "
                           "up to sigma_max {:g} ({} evaluations per example); {:.1f} s\n",
                           mean_log_p, r.dim, r.sigma_min, r.steps, r.sigma_max, r.evaluations, r.seconds);
  return 0;
}

nlohmann::json class_scores_json(const std::vector<ClassScore>& scores) {
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : scores)
    out.push_back({{"class", c.label}, {"name", c.name}, {"n", c.n}, {"fd", number(c.fd)}, {"real_fd", number(c.real_fd)},
                   {"accuracy", number(c.accuracy)}, {"real_accuracy", number(c.real_accuracy)}});
  return out;
}

// Per class: FD against the class's own images and the classifier's accuracy, each beside its
// real-image baseline; then the means over classes.
std::string class_scores_table(const std::vector<ClassScore>& scores, double guidance) {
  std::string out = fmt::format("per class (guidance {:g}; reference: the class's first n training images; real: its "
                                "first n test images):\n",
                                guidance);
  out += fmt::format("  {:>5}  {:<12} {:>5} {:>10} {:>10} {:>9} {:>9}\n", "class", "name", "n", "FD", "FD real",
                     "accuracy", "acc real");
  double fd = 0, real_fd = 0, acc = 0, real_acc = 0;
  for (const auto& c : scores) {
    out += fmt::format("  {:>5}  {:<12} {:>5} {:10.4f} {:10.4f} {:8.1f}% {:8.1f}%\n", c.label, c.name.substr(0, 12),
                       c.n, c.fd, c.real_fd, 100 * c.accuracy, 100 * c.real_accuracy);
    fd += c.fd, real_fd += c.real_fd, acc += c.accuracy, real_acc += c.real_accuracy;
  }
  const double k = double(scores.size());
  out += fmt::format("  {:>5}  {:<12} {:>5} {:10.4f} {:10.4f} {:8.1f}% {:8.1f}%\n", "mean", "", "", fd / k, real_fd / k,
                     100 * acc / k, 100 * real_acc / k);
  return out;
}

}  // namespace

CommandRunner setup_eval(CLI::App& app) {
  auto o = std::make_shared<EvalCommand>();
  app.add_option("--ckpt", o->ckpt, "RUN_DIR or RUN_DIR/last.ckpt");
  app.add_option("--nfe", o->nfe, "network evaluations per sample (heun: odd)")->capture_default_str();
  add_eval_options(app, o->eval);
  app.add_flag("--json", o->eval.json, "print one JSON object");
  app.add_option("--grid", o->grid, "also write the first 64 samples as a PNG (one row per class when conditional)");
  app.add_option("--guidance", o->eval.guidance,
                 "class-conditional checkpoints: classifier-free guidance weight (1: plain conditional); samples "
                 "take the classes in turn and are also scored class by class")
      ->capture_default_str();
  app.add_flag("--snapshots", o->snapshots,
               "score every snapshot of the run directory --ckpt (train --snapshot-every): the metric vs training "
               "images in --out");
  app.add_flag("--diagnostics", o->diagnostics,
               "also the loss per sigma bin next to the Bayes-optimal loss (the run's fixed evaluation set) and, "
               "for images, the memorisation score");
  app.add_option("--loss-samples", o->loss_samples, "with --diagnostics: evaluation samples for the loss bins")
      ->capture_default_str();
  app.add_option("--out", o->out, "with --snapshots: output folder for snapshots.{csv,json,png}");
  app.add_flag("--bpd", o->bpd,
               "instead of sampling: bits/dim of the first --n test images (uniformly dequantised) or held-out points "
               "through the probability-flow ODE, from sigma_min up to the prior");
  CLI::Option* hutchinson = app.add_option("--hutchinson", o->hutchinson,
                 "with --bpd: Hutchinson's divergence estimate with K Rademacher probes (without it: the exact "
                 "divergence, for data of at most 64 dimensions)");
  app.add_flag("--exact", o->exact,
               "with --bpd: the exact empirical field of the run's training set instead of the network (points)");
  CLI::Option* bpd_steps =
      app.add_option("--bpd-steps", o->bpd_steps, "with --bpd: Heun steps of the likelihood ODE")->capture_default_str();

  return [o, hutchinson, bpd_steps]() -> int {
    prefer_passive_openmp();
    if (o->eval.n < 2) throw InputError("--n must be >= 2");
    check_stochastic_options(o->eval.stochastic, o->eval.solver);
    if (o->eval.bf16) require_bfloat16_cpu();
    if (!o->bpd && (hutchinson->count() > 0 || bpd_steps->count() > 0 || o->exact))
      throw InputError("--hutchinson, --bpd-steps and --exact go with --bpd");
    if (o->bpd) {
      if (o->snapshots || !o->grid.empty() || o->diagnostics || !o->out.empty())
        throw InputError("--bpd does not go with --snapshots, --grid, --diagnostics or --out");
      if (hutchinson->count() > 0 && o->hutchinson < 1)
        throw InputError(fmt::format("--hutchinson must be >= 1 probes, got {}", o->hutchinson));
      if (o->bpd_steps < 1) throw InputError(fmt::format("--bpd-steps must be >= 1, got {}", o->bpd_steps));
      return run_bpd(*o, resolve_checkpoint(o->ckpt));
    }
    if (o->snapshots) {
      if (!o->grid.empty()) throw InputError("--grid does not go with --snapshots");
      if (o->ckpt.empty()) throw InputError("--ckpt RUN_DIR is required");
      check_solver(parse_solver(o->eval.solver), o->nfe, 1.0, 1.0);
      return sweep_snapshots({{o->ckpt, o->ckpt}}, {o->nfe}, o->eval, o->out);
    }
    if (!o->out.empty()) throw InputError("--out goes with --snapshots (eval prints its result)");
    if (o->loss_samples < 1) throw InputError("--loss-samples must be >= 1");
    const std::string ckpt = resolve_checkpoint(o->ckpt);
    if (!o->grid.empty()) {
      check_png_path(o->grid, "--grid");
      check_writable(o->grid);
    }
    const CheckpointSummary run = read_checkpoint_summary(ckpt);
    if (!(o->eval.guidance >= 0) || !std::isfinite(o->eval.guidance))
      throw InputError(fmt::format("--guidance must be finite and >= 0, got {}", o->eval.guidance));
    if (run.num_classes == 0 && o->eval.guidance != 1.0)
      throw InputError("checkpoint " + ckpt + " is unconditional (trained without --conditional): --guidance needs a class-conditional checkpoint");
    const auto classifier = classifier_for(run, o->eval);
    const EvalReference ref = make_eval_reference(run.data, o->eval.n, o->eval.seed, classifier.get());
    SampleResult samples;
    EvalRow row = evaluate_checkpoint(ckpt, o->nfe, o->eval, ref, classifier.get(), 0.0, 0, &samples);
    if (process_rank() != 0) return 0;  // the ranks sampled together; rank 0 reports
    row.run = o->ckpt;
    std::vector<ClassScore> by_class;
    if (ref.is_image && !samples.labels.empty()) by_class = score_by_class(samples, run.data, *classifier);
    std::optional<LossDiagnostic> losses;
    std::optional<MemorisationScore> memorisation;
    if (o->diagnostics) {
      losses = loss_diagnostic(ckpt, o->loss_samples, o->eval.threads);
      if (ref.is_image) memorisation = memorisation_score(samples, ckpt);
    }
    if (!o->grid.empty()) {
      samples.count = std::min<std::int64_t>(samples.count, 64);
      std::int64_t per = 1;
      for (auto d : samples.shape) per *= d;
      samples.values.resize(std::size_t(samples.count * per));
      if (!samples.labels.empty()) samples.labels.resize(std::size_t(samples.count));
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
      j["weights"] = o->eval.no_ema ? "raw" : "ema";
      j["reference"] = reference_json(ref, classifier.get());
      if (run.num_classes > 0) j["guidance"] = o->eval.guidance;
      if (!by_class.empty()) j["classes"] = class_scores_json(by_class);
      if (losses) j["loss_diagnostic"] = loss_diagnostic_json(*losses);
      if (memorisation) j["memorisation"] = memorisation_json(*memorisation);
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << fmt::format("{} ({}, step {}, {} weights): {} NFE {} (asked {}), n {}, seeds {} (global seed {}), sampling {:.1f} s\n",
                             ckpt, run.pde, run.step, o->eval.no_ema ? "raw" : "EMA", o->eval.solver,
                             row.nfe, o->nfe, ref.n, seed_range(ref.n), o->eval.seed, row.seconds);
    if (ref.is_image) {
      std::cout << fmt::format("FD in classifier features (dim {}, test accuracy {:.2f}%), reference: {}\n",
                               classifier->feature_dim(), 100 * classifier->test_accuracy(), ref.reference_set);
      std::cout << fmt::format("  generated  {:10.4f} +- {:.4f} (bootstrap standard error over sample sets)\n",
                               row.score.fd, row.score.fd_se);
      std::cout << fmt::format("  real       {:10.4f} +- {:.4f}   ({})\n", ref.real.fd, ref.real.fd_se, ref.real_set);
      std::cout << fmt::format("  noise      {:10.4f} +- {:.4f}   ({})\n", ref.noise.fd, ref.noise.fd_se, ref.noise_set);
      if (!by_class.empty()) std::cout << class_scores_table(by_class, o->eval.guidance);
    } else {
      std::cout << fmt::format("sliced W2 (256 projections) and MMD^2 (RBF, h = {:.4g}), reference: {}\n",
                               ref.bandwidth, ref.reference_set);
      std::cout << fmt::format("  generated  SW {:.5f}  MMD^2 {:.6f}\n", row.score.sw, row.score.mmd);
      std::cout << fmt::format("  real       SW {:.5f}  MMD^2 {:.6f}   ({})\n", ref.real.sw, ref.real.mmd, ref.real_set);
      std::cout << fmt::format("  noise      SW {:.5f}  MMD^2 {:.6f}   ({})\n", ref.noise.sw, ref.noise.mmd, ref.noise_set);
    }
    if (losses) print_loss_diagnostic(*losses);
    if (memorisation) print_memorisation(*memorisation);
    return 0;
  };
}

}  // namespace genphys::cli
