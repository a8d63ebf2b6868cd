// Pieces shared by genphys eval, compare and robustness.
#include <chrono>
#include <cmath>
#include <filesystem>

#include <fmt/format.h>

#include "cli.hpp"
#include "eval_cli.hpp"
#include "genphys/errors.hpp"

namespace genphys::cli {
namespace fs = std::filesystem;

std::string resolve_checkpoint(const std::string& path) {
  if (path.empty()) throw InputError("--ckpt RUN_DIR[/last.ckpt] is required");
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    const fs::path p = fs::path(path) / "last.ckpt";
    if (!fs::exists(p, ec)) throw InputError("run directory " + path + " holds no last.ckpt");
    return p.string();
  }
  if (!fs::exists(path, ec)) throw InputError("checkpoint " + path + " does not exist");
  return path;
}

void add_eval_options(CLI::App& app, EvalCliOptions& o) {
  app.add_option("--n", o.n, "samples per set (generated, reference and baselines alike)")->capture_default_str();
  app.add_option("--solver", o.solver, "heun | euler | dpmpp-2m")->capture_default_str();
  app.add_option("--stepping", o.stepping, "velocity-target modules: source (frozen-source steps) | plain")
      ->capture_default_str();
  add_stochastic_options(app, o.stochastic);
  app.add_option("--seed", o.seed, "global seed: sample i starts from stream (seed, i); seeds 0..n-1")
      ->capture_default_str();
  app.add_option("--classifier", o.classifier,
                 std::string("feature classifier for image data (default ") + kDefaultClassifierPath + ")");
  app.add_option("--batch", o.batch, "samples integrated together")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: physical cores)")->capture_default_str();
  app.add_flag("--bf16", o.bf16, kBf16Help);
  app.add_flag("--no-ema", o.no_ema, "score the raw weights instead of the EMA (what the EMA buys)");
}

std::unique_ptr<FeatureClassifier> classifier_for(const CheckpointSummary& run, const EvalCliOptions& o) {
  if (!run.is_image) return nullptr;
  return std::make_unique<FeatureClassifier>(o.classifier.empty() ? kDefaultClassifierPath : o.classifier, o.threads);
}

EvalRow evaluate_checkpoint(const std::string& checkpoint, int nfe, const EvalCliOptions& o,
                            const EvalReference& reference, const FeatureClassifier* classifier, double noise_alpha,
                            int quantize_bits, SampleResult* keep) {
  SampleOptions s;
  s.checkpoint = checkpoint;
  s.solver = parse_solver(o.solver);
  s.stepping = parse_stepping(o.stepping);
  s.nfe = nfe;
  s.rho = o.stochastic.rho;
  s.churn = o.stochastic.churn;
  s.seed = o.seed;
  s.seeds.resize(std::size_t(o.n));
  for (int i = 0; i < o.n; ++i) s.seeds[std::size_t(i)] = i;
  s.batch = o.batch;
  s.threads = o.threads;
  s.guidance = o.guidance;
  s.noise_alpha = noise_alpha;
  s.quantize_bits = quantize_bits;
  s.bfloat16 = o.bf16;
  s.use_ema = !o.no_ema;
  const auto start = std::chrono::steady_clock::now();
  SampleResult r = sample(s);
  EvalRow row;
  row.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  row.checkpoint = checkpoint;
  row.pde = r.pde;
  row.nfe_requested = nfe;
  row.nfe = r.nfe;
  row.score = score_samples(r, reference, classifier);
  if (keep) *keep = std::move(r);
  return row;
}

std::string metric_name(const EvalReference& ref) { return ref.is_image ? "fd" : "sw"; }

double headline(const SampleScore& s, const EvalReference& ref) { return ref.is_image ? s.fd : s.sw; }

plot::Figure metric_curves(plot::Panel panel, const EvalReference& ref) {
  const std::size_t lines = panel.series.size();
  for (std::size_t k = 0; k < lines; ++k) {
    plot::Series dots = panel.series[k];
    dots.label.clear();
    dots.style = plot::Series::Style::points;
    dots.width = 7.0;
    panel.series.push_back(std::move(dots));
  }
  plot::RefLine real;
  real.value = headline(ref.real, ref);
  real.label = "real vs real";
  real.color = plot::Color{120, 120, 120};
  panel.lines.push_back(real);
  plot::Figure fig;
  fig.panels.push_back(std::move(panel));
  return fig;
}

namespace {
nlohmann::json score_json(const SampleScore& s, const EvalReference& ref) {
  if (ref.is_image) return {{"fd", s.fd}, {"fd_se", s.fd_se}};
  return {{"sw", s.sw}, {"mmd", s.mmd}};
}
}  // namespace

nlohmann::json reference_json(const EvalReference& ref, const FeatureClassifier* classifier) {
  nlohmann::json j = {{"data", ref.data},
                      {"n", ref.n},
                      {"metric", metric_name(ref)},
                      {"reference_set", ref.reference_set},
                      {"baselines",
                       {{"real", score_json(ref.real, ref)}, {"noise", score_json(ref.noise, ref)}}},
                      {"real_set", ref.real_set},
                      {"noise_set", ref.noise_set}};
  if (classifier)
    j["classifier"] = {{"feature_dim", classifier->feature_dim()},
                       {"test_accuracy", classifier->test_accuracy()},
                       {"data", classifier->data()}};
  else
    j["mmd_bandwidth"] = ref.bandwidth;
  return j;
}

nlohmann::json row_json(const EvalRow& row, const EvalReference& ref) {
  nlohmann::json j = {{"run", row.run},
                      {"checkpoint", row.checkpoint},
                      {"pde", row.pde},
                      {"nfe_requested", row.nfe_requested},
                      {"nfe", row.nfe},
                      {"sample_seconds", row.seconds},
                      {"n", ref.n}};
  if (row.probe != "none") j[row.probe == "noise" ? "alpha" : "bits"] = row.probe_value;
  j.update(score_json(row.score, ref));
  return j;
}

std::string rows_csv(const std::vector<EvalRow>& rows, const EvalReference& ref) {
  auto num = [](double v) { return std::isnan(v) ? std::string() : fmt::format("{:.6g}", v); };
  std::string out = "run,checkpoint,pde,probe,probe_value,nfe_requested,nfe,seconds,n,fd,sw,mmd,fd_se\n";
  for (const auto& r : rows)
    out += fmt::format("{},{},{},{},{:g},{},{},{:.2f},{},{},{},{},{}\n", r.run, r.checkpoint, r.pde, r.probe,
                       r.probe_value, r.nfe_requested, r.nfe, r.seconds, ref.n, num(r.score.fd), num(r.score.sw),
                       num(r.score.mmd), num(r.score.fd_se));
  for (const auto& [name, s] : {std::make_pair("baseline:real", ref.real), std::make_pair("baseline:noise", ref.noise)})
    out += fmt::format("{},,,none,0,0,0,0,{},{},{},{},{}\n", name, ref.n, num(s.fd), num(s.sw), num(s.mmd),
                       num(s.fd_se));
  return out;
}

OutputFolder::OutputFolder(const std::string& dir, const std::string& marker) : dir_(dir) {
  if (dir.empty()) throw InputError("--out DIR is required");
  std::error_code ec;
  if (fs::exists(fs::path(dir) / marker, ec))
    throw InputError("--out " + dir + " already holds " + marker + " (choose another folder)");
  if (fs::exists(dir, ec) && !fs::is_directory(dir, ec)) throw InputError("--out " + dir + " is a file, not a folder");
  if (!fs::exists(dir, ec)) {
    const fs::path parent = fs::path(dir).has_parent_path() ? fs::path(dir).parent_path() : fs::path(".");
    if (!fs::is_directory(parent, ec)) throw InputError("cannot create --out " + dir + ": " + parent.string() + " does not exist");
    fs::create_directory(dir, ec);
    if (ec) throw InputError("cannot create --out " + dir + ": " + ec.message());
    created_ = true;
  }
}

OutputFolder::~OutputFolder() {
  std::error_code ec;
  if (created_ && !committed_) fs::remove_all(dir_, ec);
}

std::string OutputFolder::add(const std::string& name) {
  const std::string path = (fs::path(dir_) / name).string();
  files_.add(path);
  return path;
}

void OutputFolder::commit() {
  files_.commit();
  committed_ = true;
}

std::string seed_range(std::int64_t n) { return n == 1 ? "0" : fmt::format("0-{}", n - 1); }

}  // namespace genphys::cli
