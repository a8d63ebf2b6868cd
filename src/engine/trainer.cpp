// genphys::train: denoiser training for modules whose velocity is affine in E[y | x, t], velocity
// training for the others.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "engine/checkpoint.hpp"
#include "engine/conditioning.hpp"
#include "engine/data.hpp"
#include "engine/distributed.hpp"
#include "engine/diagnostics.hpp"
#include "engine/network.hpp"
#include "engine/process.hpp"
#include "engine/runtime.hpp"
#include "engine/sampler.hpp"
#include "engine/snapshots.hpp"
#include "engine/trainer.hpp"
#include "genphys/check.hpp"
#include "genphys/errors.hpp"
#include "genphys/exact_sampler.hpp"
#include "genphys/io.hpp"
#include "genphys/ode.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"

namespace genphys {
namespace engine {
namespace fs = std::filesystem;

// ---- batches: a pure function of (seed, step) ------------------------------------------------

namespace {
// Velocity targets replace the clean data as the regression target.
Batch with_velocity(Batch b, const std::vector<double>& velocity) {
  if (!velocity.empty())
    b.target = torch::from_blob(const_cast<double*>(velocity.data()), b.x.sizes(), torch::kFloat64).to(torch::kFloat32);
  return b;
}
}  // namespace

BatchMaker::BatchMaker(const Dataset& data, const GenerativeProcess& process, const RunConfig& config)
    : data_(data), process_(process), config_(config) {}

const std::vector<std::int64_t>& BatchMaker::permutation(std::int64_t epoch) {
  auto it = perms_.find(epoch);
  if (it != perms_.end()) return it->second;
  if (perms_.size() >= 2) perms_.erase(perms_.begin());
  std::vector<std::int64_t> p(static_cast<std::size_t>(data_.size()));
  std::iota(p.begin(), p.end(), 0);
  Rng rng(mix_seed(config_.seed ^ mix_seed(std::uint64_t(epoch) + 0x243f6a8885a308d3ULL)));
  for (std::size_t i = p.size(); i > 1; --i) std::swap(p[i - 1], p[std::size_t(uniform01(rng) * double(i))]);
  return perms_.emplace(epoch, std::move(p)).first->second;
}

double BatchMaker::draw_sigma(Rng& rng) const {
  double s = std::exp(config_.p_mean + config_.p_std * standard_normal(rng));
  if (config_.clamp_sigma) s = std::clamp(s, config_.sigma_min, config_.sigma_max);
  return s;
}

Batch BatchMaker::assemble(const std::vector<std::int64_t>& index, const std::vector<char>& flip,
                           const std::vector<double>& noise, const std::vector<double>& sigma,
                           const std::vector<char>& dropped) const {
  const auto n = std::int64_t(index.size());
  Batch b;
  b.y = data_.x.index_select(0, torch::tensor(index, torch::kInt64));
  if (std::any_of(flip.begin(), flip.end(), [](char f) { return f != 0; })) {
    std::vector<std::int64_t> mshape(std::size_t(b.y.dim()), 1);
    mshape[0] = n;
    auto mask = torch::tensor(std::vector<std::int64_t>(flip.begin(), flip.end()), torch::kInt64).to(torch::kBool).reshape(mshape);
    b.y = torch::where(mask, b.y.flip({-1}), b.y);
  }
  auto z = torch::from_blob(const_cast<double*>(noise.data()), b.y.sizes(), torch::kFloat64).to(torch::kFloat32);
  b.x = b.y + z;
  b.sigma = torch::tensor(sigma, torch::kFloat64);
  b.target = b.y;
  if (data_.labels.defined()) b.labels = batch_labels(data_, index, dropped);
  return b;
}

void BatchMaker::displace(Rng& rng, double sigma, std::size_t i, std::vector<double>& noise,
                          std::vector<double>& velocity) const {
  const std::size_t dim = std::size_t(data_.dim());
  const double t = process_.time(sigma);
  double* z = noise.data() + i * dim;
  process_.sample_displacement(rng, t, z);
  if (!config_.velocity_target) return;
  double r2 = 0;
  for (std::size_t j = 0; j < dim; ++j) r2 += z[j] * z[j];
  const double r = std::sqrt(r2);
  const double factor = r > 0 ? process_.source_radial_speed(r, t) * time_derivative(process_, sigma) / r : 0.0;
  for (std::size_t j = 0; j < dim; ++j) velocity[i * dim + j] = factor * z[j];
}

Batch BatchMaker::make(std::int64_t step) {
  const int B = config_.batch;
  const std::int64_t N = data_.size(), dim = data_.dim();
  const std::int64_t first = rows_.first, n = (rows_.second < 0 ? B : rows_.second) - first;
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  std::vector<char> flip(std::size_t(n), 0);
  std::vector<double> noise(static_cast<std::size_t>(n * dim)), sigma(static_cast<std::size_t>(n));
  std::vector<double> velocity(config_.velocity_target ? noise.size() : 0);
  std::vector<char> dropped(std::size_t(n), 0);
  const std::uint64_t stream_seed = config_.seed ^ mix_seed(std::uint64_t(step) + 0x5851f42d4c957f2dULL);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::int64_t g = step * B + first + i;  // global sample index
    index[std::size_t(i)] = permutation(g / N)[std::size_t(g % N)];
    Rng rng = sample_rng(stream_seed, std::uint64_t(g));
    const double s = draw_sigma(rng);
    sigma[std::size_t(i)] = s;
    if (config_.hflip) flip[std::size_t(i)] = uniform01(rng) < 0.5;
    displace(rng, s, std::size_t(i), noise, velocity);
    if (config_.conditional) dropped[std::size_t(i)] = uniform01(rng) < config_.label_dropout;
  }
  return with_velocity(assemble(index, flip, noise, sigma, dropped), velocity);
}

Batch BatchMaker::make_eval(int n) {
  const std::int64_t N = data_.size(), dim = data_.dim();
  std::vector<std::int64_t> index(static_cast<std::size_t>(n));
  std::vector<char> flip(std::size_t(n), 0);
  std::vector<double> noise(static_cast<std::size_t>(n * dim)), sigma(static_cast<std::size_t>(n));
  std::vector<double> velocity(config_.velocity_target ? noise.size() : 0);
  const std::uint64_t stream_seed = mix_seed(config_.seed) ^ 0x8f1bbcdcbfa53e0aULL;
  for (int i = 0; i < n; ++i) {
    Rng rng = sample_rng(stream_seed, std::uint64_t(i));
    index[std::size_t(i)] = std::int64_t(rng() % std::uint64_t(N));
    const double s = draw_sigma(rng);
    sigma[std::size_t(i)] = s;
    displace(rng, s, std::size_t(i), noise, velocity);
  }
  return with_velocity(assemble(index, flip, noise, sigma), velocity);
}

std::pair<double, double> eval_loss(EdmPrecond& model, const Batch& eval, int batch, torch::Device device) {
  return mean_and_median(sample_losses(model, eval, batch, device));
}

void copy_parameters(EdmPrecond& from, EdmPrecond& to) {
  torch::NoGradGuard guard;
  auto a = from->parameters(), b = to->parameters();
  for (std::size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
}

}  // namespace engine

// ---- the public entry point ------------------------------------------------------------------

namespace {

using namespace engine;

// TERM (schedulers), HUP (a closed terminal) and INT set a flag the step loop polls: the run saves
// at the next step boundary and stops. Further signals only set it again, so none can cut the
// save short; the previous handlers come back afterwards.
volatile std::sig_atomic_t g_stop_signal = 0;
extern "C" void on_stop_signal(int signo) { g_stop_signal = signo; }

class StopSignalScope {
 public:
  StopSignalScope() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignalScope() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  static int caught() { return g_stop_signal; }

 private:
  static constexpr std::array<int, 3> kSignals{SIGINT, SIGTERM, SIGHUP};
  std::array<struct sigaction, 3> old_{};
};

// tau^2 = max over the training points (and their mirror images when flipping) of |y - mean|^2/N.
double widest_spread(const Dataset& data, const torch::Tensor& mean, bool hflip) {
  const auto centre = mean.to(torch::kFloat32).unsqueeze(0);
  double widest = 0;
  for (std::int64_t start = 0; start < data.size(); start += 4096) {
    const auto y = data.x.slice(0, start, std::min(data.size(), start + 4096));
    widest = std::max(widest, (y - centre).square().flatten(1).mean(1).max().item<double>());
    if (hflip) widest = std::max(widest, (y.flip({-1}) - centre).square().flatten(1).mean(1).max().item<double>());
  }
  return widest;
}

void validate(const TrainOptions& o) {
  if (o.out_dir.empty()) throw OptionError("out_dir", "is required");
  if (o.steps < 0) throw OptionError("steps", "must be >= 0");
  if (o.batch < 1) throw OptionError("batch", "must be >= 1");
  if (!(o.lr > 0 && o.lr <= 1e3)) throw OptionError("lr", "must be in (0, 1000]");
  if (!(o.warmup_images >= 0)) throw OptionError("warmup_images", "must be >= 0");
  if (!(o.lr_cooldown_images >= 0) || !std::isfinite(o.lr_cooldown_images))
    throw OptionError("lr_cooldown_images", "must be >= 0 (images; 0: no cool-down)");
  if (!(o.ema_halflife_images >= 0)) throw OptionError("ema_halflife_images", "must be >= 0");
  if (!(o.ema_rampup >= 0)) throw OptionError("ema_rampup", "must be >= 0");
  if (!(o.grad_clip >= 0)) throw OptionError("grad_clip", "must be >= 0 (0: off)");
  if (o.max_bad_steps < 1) throw OptionError("max_bad_steps", "must be >= 1");
  if (!(o.sigma_data >= 0) || !std::isfinite(o.sigma_data)) throw OptionError("sigma_data", "must be >= 0 (0: automatic)");
  if (!(o.p_std > 0) || !std::isfinite(o.p_std)) throw OptionError("p_std", "must be positive and finite");
  if (!std::isfinite(o.p_mean)) throw OptionError("p_mean", "must be finite");
  if (o.limit < 0) throw OptionError("limit", "must be >= 0");
  if (o.log_every < 1) throw OptionError("log_every", "must be >= 1");
  if (o.grid_every < 0) throw OptionError("grid_every", "must be >= 0");
  if (o.ckpt_every < 0) throw OptionError("ckpt_every", "must be >= 0");
  if (o.grid_every > 0) heun_steps_for_nfe(o.grid_nfe);
  if (o.eval_samples < 0) throw OptionError("eval_samples", "must be >= 0");
  if (!(o.label_dropout >= 0 && o.label_dropout < 1)) throw OptionError("label_dropout", "must be in [0, 1)");
  check_snapshot_options(o);
}

std::string grid_name(std::int64_t step) { return fmt::format("grid_{:07d}.png", step); }

// The EMA model's samples at Heun `nfe`: 36 images, or 1000 points of a 2D (or higher) run.
void write_sample_grid(EdmPrecond& ema, const GenerativeProcess& process, const RunConfig& config, int nfe,
                       torch::Device device, const std::string& path) {
  if (!config.is_image && config.shape.at(0) < 2) return;  // nothing to plot
  OdeOptions ode;
  ode.nfe = nfe;
  ode.sigma_min = config.sigma_min;
  ode.sigma_max = config.sigma_max;
  // Conditional runs: every class in turn, up to 8 images a class (one row each in the grid).
  const int classes = config.conditional ? config.arch.label_dim : 0;
  const int n = !config.is_image ? 1000 : classes > 0 ? std::min(64, classes * std::clamp(64 / classes, 1, 8)) : 36;
  std::vector<std::int64_t> idx(static_cast<std::size_t>(n));
  std::iota(idx.begin(), idx.end(), 0);
  std::int64_t nfe_done = 0;
  ClassCondition condition;
  if (classes > 0) condition = {classes_for_indices(idx, {}, classes), classes, 1.0};
  auto x = generate(ema, process, config.shape, idx, config.seed, ode, std::min(n, 256), device, nfe_done,
                    config.data_mean, condition);
  if (!Ranks::join(device).is_root()) return;  // the ranks integrate together, rank 0 writes
  SampleResult s;
  s.labels = condition.classes;
  s.num_classes = classes;
  s.class_names = config.class_names;
  s.values.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  s.shape = config.shape;
  s.count = n;
  s.is_image = config.is_image;
  save_sample_grid(s, path);
}

// Refuses a network or a batch that cannot fit, before anything of it is allocated (an absurd
// --hidden would otherwise die in the allocator, an absurd --batch by the kernel's OOM killer).
void check_training_memory(const RunConfig& config) {
  const ModelSize size = model_size(config.arch, config.shape);
  double dim = 1;
  for (auto d : config.shape) dim *= double(d);
  // Weights, gradients, Adam's two moments, the EMA and a copy while a checkpoint is written.
  const double state = 4.0 * 6.0 * size.parameters;
  check_memory(state, "arch." + size.widest_field,
               fmt::format("{:.3g} parameters with their gradients, Adam state and EMA", size.parameters));
  // Per sample: the activations kept for backward, and the batch's inputs, targets and weights.
  const double per_sample = 4.0 * (size.activations_per_sample + 8.0 * dim);
  check_memory(state + double(config.batch) * per_sample, "batch",
               fmt::format("a training step on {} samples", config.batch));
}

// The run directory, held for the whole run: one train per directory (a second one is refused
// instead of both writing last.ckpt), temp files that a killed run left removed, and a directory
// this run created removed again when it fails before its first checkpoint.
class RunDirectory {
 public:
  RunDirectory(const fs::path& dir, const std::string& flag_value) : dir_(dir) {
    std::error_code ec;
    created_ = !fs::exists(dir, ec);
    if (created_) {
      const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
      if (!fs::is_directory(parent, ec))
        throw InputError("cannot create run directory " + flag_value + ": " + parent.string() + " does not exist");
      fs::create_directory(dir, ec);
    }
    if (ec || !fs::is_directory(dir)) throw InputError("cannot create run directory " + flag_value + ": " + ec.message());
    lock_fd_ = ::open((dir / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) throw InputError("cannot write in run directory " + flag_value + ": " + std::strerror(errno));
    if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(lock_fd_);
      lock_fd_ = -1;
      throw InputError("run directory " + flag_value + " is in use by another genphys train");
    }
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string name = entry.path().filename().string();
      if ((name.rfind("last.ckpt.tmp.", 0) == 0 || (name.rfind("grid_", 0) == 0 && name.find(".tmp.") != std::string::npos)) &&
          entry.is_regular_file(ec))
        fs::remove(entry.path(), ec);
    }
  }
  RunDirectory(const RunDirectory&) = delete;
  RunDirectory& operator=(const RunDirectory&) = delete;
  ~RunDirectory() {
    std::error_code ec;
    if (created_ && !fs::exists(dir_ / "last.ckpt", ec)) fs::remove_all(dir_, ec);
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

 private:
  fs::path dir_;
  bool created_ = false;
  int lock_fd_ = -1;
};

// On resume, stats.jsonl keeps what the checkpoint saw: lines logged after it (by a run killed
// before its next checkpoint) would appear twice once the steps are trained again.
void truncate_stats(const fs::path& path, std::int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  bool dropped = false;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.contains("step") && j["step"].is_number_integer() &&
        j["step"].get<std::int64_t>() > step) {
      dropped = true;
      continue;
    }
    kept += line + "\n";
  }
  if (dropped) write_file_atomic(path.string(), kept);
}

// What train() starts from: the run's config and state (read back on resume), its data and its
// process; on resume, the reader still holds the weights, optimiser and RNG to load.
struct RunSetup {
  RunConfig config;
  TrainState state;
  std::unique_ptr<CheckpointReader> reader;
  Dataset data;
  std::shared_ptr<const GenerativeProcess> process;
};

// The run's process: given in code, or the module's behind its check verdict. A fresh run records
// the module's canonical name, its full parameters and a conditional verdict's condition.
std::shared_ptr<const GenerativeProcess> run_process(const TrainOptions& opt, RunConfig& config, int dim) {
  if (opt.process) {
    require_trainable(*opt.process, config.module.empty() ? "(given process)" : config.module.name, dim);
    return opt.process;
  }
  if (opt.resume && !opt.module.empty()) {
    const std::string want = make_module(opt.module)->name();  // the canonical name, aliases resolved
    if (want != config.module.name)
      throw OptionError("module", "differs from the checkpoint's: it was trained with " + config.module.name + ", not " +
                                      opt.module.name + " (--resume)");
    for (const auto& [name, value] : opt.module.params) {
      const auto kept = config.module.params.find(name);
      if (kept == config.module.params.end() || kept->second != value)
        throw OptionError(name, fmt::format("= {:g} differs from the checkpoint's {} (--resume keeps the run's module)",
                                            value, kept == config.module.params.end() ? "(none)"
                                                                                      : fmt::format("{:g}", kept->second)));
    }
  }
  ResolvedProcess r = resolve_process(config.module, dim, true);
  if (!opt.resume) {
    config.module.name = r.module->name();
    config.module.params = r.module->params();
    if (r.verdict == Verdict::conditional) {
      config.condition = r.condition;
      config.clamp_sigma = true;
    }
  }
  return r.process;
}

// The first `rows` examples (all: -1) as a matrix of doubles, one row an example.
Eigen::MatrixXd data_rows(const Dataset& data, std::int64_t rows = -1) {
  const std::int64_t n = rows < 0 ? data.size() : std::min(rows, data.size());
  const torch::Tensor x = data.x.narrow(0, 0, n).reshape({n, -1}).to(torch::kFloat64).contiguous();
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  return Eigen::Map<const RowMajor>(x.data_ptr<double>(), x.size(0), x.size(1));
}

// What a fresh run derives from its data and process (RunFacts, resolved arch and sigma_data).
void derive_facts(RunConfig& config, const TrainOptions& opt, const Dataset& data, const GenerativeProcess& process) {
  config.process_given = bool(opt.process);
  config.shape = data.shape;
  config.is_image = data.is_image;
  ArchOptions arch = opt.arch;
  arch.label_dim = opt.conditional ? data.num_classes : 0;  // the data's classes, not a choice
  config.arch = resolve_arch(arch, data.shape);
  config.class_names = data.class_names;
  config.sigma_min = process.sigma_min();
  // The prior gap needs kForgetDraws rows at most (the forward marginal's sources).
  if (opt.sigma_max > 0 && opt.auto_sigma_max)
    throw InputError("--sigma-max and --auto-sigma-max exclude each other");
  if (opt.sigma_max > 0 && !(opt.sigma_max > process.sigma_min() && opt.sigma_max <= process.sigma_max()))
    throw InputError(fmt::format("--sigma-max {:g} must lie in ({:g}, {:g}], above the module's sigma_min and at most "
                                 "its own sigma_max",
                                 opt.sigma_max, process.sigma_min(), process.sigma_max()));
  config.sigma_max = opt.sigma_max > 0 ? opt.sigma_max
                     : opt.auto_sigma_max
                         ? forgetting_sigma_max(process, data_rows(data, kForgetDraws), config.seed).sigma_max
                         : process.sigma_max();
  config.sigma_data = opt.sigma_data > 0 ? opt.sigma_data : data.is_image ? 0.5 : data.x.std().item<double>();
  config.velocity_target = !process.affine_velocity();
  config.scale_from_input = process.heavy_tailed();
  // The prior is the kernel at t_max around the data's centre (physics.md section 5).
  auto mean = data.x.to(torch::kFloat64).mean(0).contiguous();
  config.data_mean.assign(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel());
  if (config.scale_from_input) {
    config.spread_threshold = widest_spread(data, mean, config.hflip);
    config.noise_from_scale = true;
  }
}

// Data finer or wider than a flow with a floor resolves (check.hpp: resolution_limit) is refused
// with the reason sample --exact gives; checked on the data as trained (float32).
void check_resolution(const GenerativeProcess& process, const Dataset& data, const RunConfig& config) {
  if (!resolution_limit(process)) return;
  check_data_resolution(process, data_rows(data), config.sigma_min, config.sigma_max);
}

RunSetup set_up_run(const TrainOptions& opt, const std::string& ckpt, torch::Device device) {
  RunSetup run;
  if (opt.resume) {
    run.reader = std::make_unique<CheckpointReader>(ckpt, device);
    run.config = run.reader->config();
    run.state = run.reader->state();
    if (!opt.data.empty() && opt.data != run.config.data)
      throw OptionError("data", "differs from the checkpoint's: it was trained on " + run.config.data + ", not " +
                                    opt.data + " (--resume)");
    if (run.config.process_given && !opt.process)
      throw OptionError("resume", "needs the process given in code that this checkpoint was trained on, not a module");
    adopt_snapshot_settings(run.config, opt);
    // A cool-down changes no weight already trained: a resume may start one (warm-up, stable, decay).
    if (std::find(opt.chosen.begin(), opt.chosen.end(), "lr_cooldown_images") != opt.chosen.end())
      run.config.lr_cooldown_images = opt.lr_cooldown_images;
    require_chosen_unchanged(opt, run.config, opt.chosen);
    if (opt.sigma_max > 0 && std::fabs(opt.sigma_max - run.config.sigma_max) > 1e-9 * run.config.sigma_max)
      throw InputError(fmt::format("--sigma-max {:g} differs from the checkpoint's sigma_max {:.6g}, which a resume keeps",
                                   opt.sigma_max, run.config.sigma_max));
    if (opt.steps < run.state.step)
      throw OptionError("steps", fmt::format("{} is below the run's step {} (with --resume, --steps is the new total)",
                                             opt.steps, run.state.step));
  } else {
    static_cast<TrainConfig&>(run.config) = opt;
  }
  const RunConfig& config = run.config;
  run.data = load_dataset(config.data, config.limit, config.seed, config.conditional);
  if (opt.resume && config.conditional) require_labels(run.data, config.arch.label_dim, config.data);
  if (opt.resume && run.data.shape != config.shape)
    throw OptionError("resume", "refused: the data " + config.data + " no longer has the shape the checkpoint was trained on");
  if (config.hflip && !run.data.is_image) throw OptionError("hflip", "needs image data");
  run.process = run_process(opt, run.config, int(run.data.dim()));
  if (opt.resume)
    require_model_fits(config.velocity_target, *run.process, config.module.name);
  else
    derive_facts(run.config, opt, run.data, *run.process);
  check_resolution(*run.process, run.data, run.config);
  return run;
}

// EDM's EMA: half-life in images, ramped up over the first images seen.
void update_ema(const RunConfig& config, double images_seen, const std::vector<torch::Tensor>& params,
                std::vector<torch::Tensor>& ema_params) {
  double halflife = config.ema_halflife_images;
  if (config.ema_rampup > 0) halflife = std::min(halflife, images_seen * config.ema_rampup);
  const double beta = std::pow(0.5, config.batch / std::max(halflife, 1e-8));
  torch::NoGradGuard guard;
  for (std::size_t i = 0; i < params.size(); ++i) ema_params[i].copy_(params[i].detach().lerp(ema_params[i], beta));
}

// One optimiser step on one batch: the loss, or nothing when the loss or the gradient was not
// finite (then no weight moved).
std::optional<double> optimiser_step(EdmPrecond& model, torch::optim::Adam& optimizer, const RunConfig& config,
                                     const Batch& b, torch::Device device, double lr, DataParallel& parallel) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
  optimizer.zero_grad();
  auto loss = edm_loss(model, b.target.to(device), b.x.to(device), b.sigma.to(device),
                       b.labels.defined() ? b.labels.to(device) : torch::Tensor())
                  .mean();
  const double value = parallel.global_loss(loss);
  bool ok = std::isfinite(value);
  if (ok) {
    parallel.backward(loss);
    const double max_norm = config.grad_clip > 0 ? config.grad_clip : std::numeric_limits<double>::infinity();
    ok = std::isfinite(torch::nn::utils::clip_grad_norm_(optimizer.param_groups()[0].params(), max_norm));
  }
  if (!ok) {
    optimizer.zero_grad();
    return std::nullopt;
  }
  optimizer.step();
  return value;
}

// stats.jsonl: one JSON object a line, flushed after each.
class StatsLog {
 public:
  // Only rank 0 writes (`enabled`).
  StatsLog(const fs::path& path, bool enabled) {
    if (enabled) out_.open(path.string(), std::ios::app);
    if (enabled && !out_) throw InputError("cannot write " + path.string());
  }
  void write(const nlohmann::json& line) {
    if (!out_.is_open()) return;
    out_ << line.dump() << "\n";
    out_.flush();
  }

 private:
  std::ofstream out_;
};

// Mean of the last `size` losses (the progress bar's and the result's).
class LossWindow {
 public:
  explicit LossWindow(std::size_t size) : size_(size) {}
  void push(double loss) {
    values_.push_back(loss);
    sum_ += loss;
    if (values_.size() > size_) {
      sum_ -= values_.front();
      values_.pop_front();
    }
  }
  double mean() const { return values_.empty() ? NAN : sum_ / double(values_.size()); }

 private:
  std::size_t size_;
  std::deque<double> values_;
  double sum_ = 0;
};

}  // namespace

TrainResult train(const TrainOptions& opt) {
  validate(opt);
  const fs::path run_dir(opt.out_dir);
  const std::string ckpt = (run_dir / "last.ckpt").string();
  std::error_code ec;
  if (!opt.resume && fs::exists(ckpt, ec))
    throw InputError(opt.out_dir + " already holds a checkpoint (last.ckpt): pass --resume to continue it, or choose another --out");
  if (opt.resume && !fs::exists(ckpt, ec)) throw OptionError("resume", "found no checkpoint at " + ckpt);
  // Quiet until the input is validated, so that a refusal is a single line.
  const RankEnvironment& ranks_env = rank_environment();
  const torch::Device device = setup_runtime(ranks_env.local_device(opt.device), ranks_env.local_threads(opt.threads));
  Ranks& ranks = Ranks::join(device);  // rank 0 alone prints and writes
  auto say = [&](const std::string& line) {
    if (opt.messages && ranks.is_root()) opt.messages(line);
  };

  RunSetup run = set_up_run(opt, ckpt, device);
  const RunConfig& config = run.config;
  TrainState& state = run.state;
  const GenerativeProcess& process = *run.process;
  check_training_memory(config);
  // Output directory: created, locked and checked before any work is done.
  std::optional<RunDirectory> directory;
  if (ranks.is_root()) directory.emplace(run_dir, opt.out_dir);
  if (!opt.resume && fs::exists(ckpt, ec))  // another run finished there since the check above
    throw InputError(opt.out_dir + " already holds a checkpoint (last.ckpt): pass --resume to continue it, or choose another --out");
  if (ranks.is_root()) check_writable(ckpt);
  if (opt.resume && ranks.is_root()) truncate_stats(run_dir / "stats.jsonl", state.step);
  std::optional<SnapshotKeeper> snapshots;  // rank 0 writes them
  if (ranks.is_root()) snapshots.emplace(run_dir, config);

  say(engine_description(device.str(), torch::get_num_threads()));
  say("data: " + run.data.description);
  if (!config.condition.empty())
    say(fmt::format("PDE '{}' is conditionally s-generative: {}; training only inside it: sigma in [{:g}, {:g}] "
                    "(the module's valid range)",
                    config.module.name, config.condition, config.sigma_min, config.sigma_max));

  if (opt.auto_sigma_max)
    say(opt.resume ? fmt::format("sigma_max {:.4g} kept from the checkpoint (the module's choice applies to fresh runs)",
                                 config.sigma_max)
                   : fmt::format("sigma_max {:.4g} from the module and the data (the module's own {:g})",
                                 config.sigma_max, process.sigma_max()));

  // Initial weights are a function of the seed too.
  torch::manual_seed(mix_seed(config.seed ^ 0x6a09e667f3bcc908ULL));
  EdmPrecond model = make_model(config);
  EdmPrecond ema = make_model(config);
  model->to(device);
  ema->to(device);
  copy_parameters(model, ema);
  ema->eval();
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(config.lr).betas({0.9, 0.999}).eps(1e-8));
  if (run.reader) {
    run.reader->load_model(model, false);
    run.reader->load_model(ema, true);
    run.reader->load_optimizer(optimizer);
    run.reader->load_rng();
    run.reader.reset();
  }
  DataParallel parallel(ranks, model->parameters(), config.batch);
  parallel.copy_from_root(ema->parameters());
  std::int64_t n_params = 0;
  for (const auto& p : model->parameters()) n_params += p.numel();
  say(fmt::format("pde {}{}, arch {} ({} parameters), target {}{}, sigma_data {:g}, batch {}, lr {:g}{}, {} at step {} of {}",
                  config.module.name, config.module.expr.empty() ? "" : " (" + config.module.expr + ")",
                  config.arch.arch, n_params, config.velocity_target ? "velocity" : "denoiser",
                  config.scale_from_input ? fmt::format(" (heavy tails: scaled by input beyond tau^2 = {:.4g})",
                                                        config.spread_threshold >= 0
                                                            ? config.spread_threshold
                                                            : config.sigma_data * config.sigma_data)
                                          : std::string(),
                  config.sigma_data, config.batch, config.lr,
                  config.lr_cooldown_images > 0
                      ? fmt::format(" cooling to 0 over images {:g}..{}", std::max(0.0, double(opt.steps) * config.batch - config.lr_cooldown_images),
                                    opt.steps * config.batch)
                      : std::string(),
                  opt.resume ? "resuming" : "starting", state.step, opt.steps));

  TrainResult result;
  result.start_step = state.step;
  result.checkpoint = ckpt;
  result.condition = config.condition;
  BatchMaker maker(run.data, process, config);
  maker.set_rows(parallel.rows());
  // The fixed evaluation set's loss, per sigma bin next to the Bayes-optimal one (stats.jsonl).
  std::optional<EvalDiagnostics> diagnostics;
  if (opt.eval_samples > 0) diagnostics.emplace(run.data, process, config, maker.make_eval(opt.eval_samples), device);
  nlohmann::json eval_start;
  if (diagnostics && !opt.resume)
    eval_start = diagnostics->line(model, state.step, result.eval_loss_start, result.eval_median_start);

  StatsLog stats(run_dir / "stats.jsonl", ranks.is_root());
  stats.write({{"event", opt.resume ? "resume" : "start"}, {"step", state.step}, {"steps", opt.steps},
               {"pde", config.module.name}, {"params", config.module.params}, {"data", config.data},
               {"arch", config.arch.arch}, {"parameters", n_params}, {"device", device.str()}, {"ranks", ranks.world()},
               {"sigma_min", config.sigma_min}, {"sigma_max", config.sigma_max}});
  if (!eval_start.is_null()) stats.write(eval_start);

  auto write_grid = [&](std::int64_t step) {
    write_sample_grid(ema, process, config, opt.grid_nfe, device, (run_dir / grid_name(step)).string());
  };

  const int B = config.batch;
  const auto params = model->parameters();
  auto ema_params = ema->parameters();
  auto report = [&](double loss, double ips, double eta, bool last) {
    if (opt.progress && ranks.is_root()) opt.progress(TrainProgress{state.step, opt.steps, loss, ips, eta, last});
  };
  LossWindow window(50);
  double log_sum = 0, train_seconds = 0;
  std::int64_t log_count = 0, images_run = 0;
  const auto run_start = std::chrono::steady_clock::now();
  auto images_per_second = [&] { return train_seconds > 0 ? double(images_run) / train_seconds : 0.0; };
  report(NAN, 0, -1, false);
  model->train();
  StopSignalScope signals;
  int stop_signal = 0;  // agreed by all ranks, so that they stop at the same step
  while (state.step < opt.steps && (stop_signal = parallel.agree_stop(StopSignalScope::caught())) == 0) {
    const auto t0 = std::chrono::steady_clock::now();
    const std::int64_t step = state.step;
    // Dropout draws from torch's generator: reseed it per step so a resumed run matches.
    torch::manual_seed(mix_seed(config.seed ^ mix_seed(std::uint64_t(step) + 0x2545f4914f6cdd1dULL)) + ranks.rank());
    const Batch b = maker.make(step);
    const double images_after = double(step + 1) * B;
    const double lr = config.lr * lr_factor(config, double(step) * B, images_after, double(opt.steps) * B);
    const std::optional<double> loss = optimiser_step(model, optimizer, config, b, device, lr, parallel);
    if (loss) {
      update_ema(config, images_after, params, ema_params);
      state.bad_in_row = 0;
    } else {
      ++state.skipped;
      if (++state.bad_in_row >= config.max_bad_steps) {
        report(window.mean(), images_per_second(), -1, true);
        throw InputError(fmt::format("training stopped at step {}: {} non-finite losses or gradients in a row; the last "
                                     "checkpoint is kept; try a lower --lr",
                                     step, state.bad_in_row));
      }
    }
    ++state.step;
    images_run += B;
    train_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (loss) {
      window.push(*loss);
      log_sum += *loss;
      ++log_count;
    }
    const double ips = images_per_second();
    if (state.step % opt.log_every == 0 || state.step == opt.steps) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - run_start).count();
      stats.write({{"step", state.step},
                   {"images", state.step * B},
                   {"loss", log_count ? log_sum / double(log_count) : NAN},
                   {"lr", lr},
                   {"images_per_s", ips},
                   {"skipped", state.skipped},
                   {"time_s", elapsed}});
      log_sum = 0;
      log_count = 0;
    }
    report(window.mean(), ips, ips > 0 ? double(opt.steps - state.step) * B / ips : -1.0, false);
    if (opt.grid_every > 0 && state.step % opt.grid_every == 0 && state.step < opt.steps) write_grid(state.step);
    if (opt.ckpt_every > 0 && state.step % opt.ckpt_every == 0 && state.step < opt.steps && ranks.is_root())
      save_checkpoint(ckpt, config, state, model, &ema, &optimizer);
    if (snapshots) snapshots->after_step(state, model, ema);
  }
  if (stop_signal == 0) stop_signal = parallel.agree_stop(StopSignalScope::caught());  // came during the last step
  result.stop_signal = stop_signal;
  result.interrupted = result.stop_signal != 0;
  report(window.mean(), images_per_second(), 0.0, true);
  if (ranks.is_root()) save_checkpoint(ckpt, config, state, model, &ema, &optimizer);
  if (result.interrupted) {
    const int signo = result.stop_signal;
    say(fmt::format("interrupted at step {} by {}: saved {} (continue with --resume)", state.step,
                    signo == SIGTERM ? "SIGTERM" : signo == SIGHUP ? "SIGHUP" : "SIGINT", ckpt));
  } else if (opt.grid_every > 0 && state.step > result.start_step) {
    write_grid(state.step);
  }
  result.steps_done = state.step;
  result.skipped_steps = state.skipped;
  result.images_per_second = images_per_second();
  result.last_loss = window.mean();
  if (diagnostics && !result.interrupted)
    stats.write(diagnostics->line(model, state.step, result.eval_loss_end, result.eval_median_end));
  return result;
}

}  // namespace genphys
