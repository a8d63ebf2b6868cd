#pragma once
// Shared by genphys eval, compare and robustness (cmd_torch_eval*.cpp, cmd_torch_compare.cpp,
// cmd_torch_robustness.cpp): checkpoint paths, the reference set, one timed evaluation and the
// result tables.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "genphys/engine.hpp"
#include "genphys/evaluation.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "genphys/snapshots.hpp"
#include "sampler_cli.hpp"

namespace genphys::cli {

/// RUN_DIR -> RUN_DIR/last.ckpt; a file path is kept. InputError when neither exists.
std::string resolve_checkpoint(const std::string& path);

/// "a,b,c" as numbers; InputError naming `what` for anything else (or a value outside [lo, hi]).

/// Options every evaluating command shares.
struct EvalCliOptions {
  int n = 1000;
  std::string solver = "heun";
  std::string stepping = "source";
  StochasticCliOptions stochastic;  ///< --rho and EDM's churn
  unsigned long long seed = 0;
  std::string classifier;  ///< empty: kDefaultClassifierPath
  int batch = 64;
  int threads = 0;
  bool json = false;
  double guidance = 1.0;  ///< class-conditional checkpoints (eval --guidance)
  bool bf16 = false;      ///< the network in bfloat16 (CPUs with bfloat16 instructions)
  bool no_ema = false;    ///< the raw weights instead of the EMA
};
void add_eval_options(CLI::App& app, EvalCliOptions& options);

/// The classifier for image data (nullptr for points), loaded once.
std::unique_ptr<FeatureClassifier> classifier_for(const CheckpointSummary& run, const EvalCliOptions& options);

/// One scored sample set.
struct EvalRow {
  std::string run, checkpoint, pde;
  std::string probe = "none";  ///< none | noise | quant
  double probe_value = 0.0;    ///< alpha or bits
  int nfe_requested = 0;
  std::int64_t nfe = 0;        ///< network evaluations actually used per sample
  double seconds = 0.0;        ///< sampling wall time
  SampleScore score;
};

/// Samples seeds 0..n-1 from `checkpoint` and scores them; `keep` receives the samples.
EvalRow evaluate_checkpoint(const std::string& checkpoint, int nfe, const EvalCliOptions& options,
                            const EvalReference& reference, const FeatureClassifier* classifier,
                            double noise_alpha = 0.0, int quantize_bits = 0, SampleResult* keep = nullptr);

/// "fd" for images, "sw" (the headline for points; MMD rides along) otherwise.
std::string metric_name(const EvalReference& reference);
double headline(const SampleScore& score, const EvalReference& reference);

/// A figure of metric curves: `panel`'s series again as dots on their lines (the measured
/// points) and the real-vs-real baseline as a grey line.
plot::Figure metric_curves(plot::Panel panel, const EvalReference& reference);

/// JSON of the reference and its baselines, and of one row.
nlohmann::json reference_json(const EvalReference& reference, const FeatureClassifier* classifier);
nlohmann::json row_json(const EvalRow& row, const EvalReference& reference);

/// CSV of rows: run,checkpoint,pde,probe,probe_value,nfe_requested,nfe,seconds,n,fd,sw,mmd
/// followed by the baselines as rows with run "baseline:real" and "baseline:noise".
std::string rows_csv(const std::vector<EvalRow>& rows, const EvalReference& reference);

/// A command's output folder, all or nothing. The constructor checks it (InputError when it
/// already holds `marker`, is a file, or its parent folder does not exist) and creates it when
/// missing; add() names each file before the work; the files are written together by commit()
/// (OutputSet's guarantees). A folder it created is removed again unless commit() succeeded.
class OutputFolder {
 public:
  OutputFolder(const std::string& dir, const std::string& marker);
  ~OutputFolder();
  OutputFolder(const OutputFolder&) = delete;
  OutputFolder& operator=(const OutputFolder&) = delete;

  /// Registers dir/name as an output; returns that path.
  std::string add(const std::string& name);
  OutputSet& files() { return files_; }
  void commit();

 private:
  std::string dir_;
  bool created_ = false, committed_ = false;
  OutputSet files_;
};

/// "0-(n-1)".
std::string seed_range(std::int64_t n);

/// A run directory's snapshots (at least one); InputError otherwise.
std::vector<SnapshotFile> run_snapshots(const std::string& run_dir);

/// eval/compare --snapshots: scores every snapshot of each (name, RUN_DIR) at each NFE against one
/// reference and writes out_dir/snapshots.{csv,json,png} (the metric vs training images seen);
/// prints a table, or the JSON with options.json. Returns the exit code.
int sweep_snapshots(const std::vector<std::pair<std::string, std::string>>& runs, const std::vector<int>& nfes,
                    const EvalCliOptions& options, const std::string& out_dir);

}  // namespace genphys::cli
