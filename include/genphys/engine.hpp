#pragma once
// The learning engine: train a denoiser network for any s-generative PDE module and sample from
// it with the ODE integrators of ode.hpp. Option structs and entry points only; no LibTorch here.
//
// Everything PDE-specific comes from the module's GenerativeProcess (generative.hpp): the noise
// level sigma(t), the kernel sampler, the prior and the velocity scale. The engine never names a PDE.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genphys/churn.hpp"
#include "genphys/generative.hpp"
#include "genphys/ode.hpp"
#include "genphys/pde.hpp"
#include "genphys/source_step.hpp"

namespace genphys {

/// Where the engine's start-up and summary lines go (the CLI prints them on stderr); none when empty.
using MessageSink = std::function<void(const std::string&)>;

/// Where a training run stands, reported after every optimiser step (and once before the first).
struct TrainProgress {
  std::int64_t step = 0, total_steps = 0;
  double loss = 0.0;               ///< mean of the last 50 finite losses; NaN before the first
  double images_per_second = 0.0;  ///< <= 0: not known yet
  double eta_seconds = -1.0;       ///< < 0: not known yet
  bool last = false;               ///< the run's final report (done, interrupted or stopped)
};
/// Receives TrainProgress reports (the CLI draws a progress bar); none when empty.
using ProgressSink = std::function<void(const TrainProgress&)>;

/// Network architecture. `arch` picks a preset; the other fields override it when set (> 0 or
/// non-empty).
struct ArchOptions {
  std::string arch = "auto";          ///< auto (unet-small for images, mlp for points), unet-small, unet, ddpmpp-small, mlp
  int channels = 0;                   ///< UNet base channels (unet-small 32, unet 64, ddpmpp-small 32)
  std::vector<int> channel_mult;      ///< UNet channels per resolution (default 1,2,2)
  int num_blocks = 0;                 ///< UNet residual blocks per resolution (unet-small 1, unet 2, ddpmpp-small 2)
  std::vector<int> attn_resolutions;  ///< UNet self-attention at these resolutions (default: the lowest)
  bool no_attention = false;          ///< UNet: no self-attention anywhere
  double dropout = -1.0;              ///< < 0: preset (0)
  int hidden = 0;                     ///< MLP width (default 128)
  int depth = 0;                      ///< MLP hidden layers (default 3)
  int emb_channels = 0;               ///< positional noise embedding channels (default: base channels / 32 for MLP)
  /// Classes of the label embedding (EDM's label_dim): set by training from the data when
  /// conditional, 0 for an unconditional network. The legacy UNets have none.
  int label_dim = 0;
};

/// unet-small, unet and ddpmpp-small are size presets of one network, EDM's DDPM++. The UNet that
/// unet-small and unet named before (checkpoint format <= 2) is kept under these names, to load
/// and sample old checkpoints; it is not offered for new runs.
inline constexpr const char* kLegacyUnetSmall = "unet-small-legacy";
inline constexpr const char* kLegacyUnet = "unet-legacy";

/// What defines a training run, as chosen: stored in the run's checkpoint and kept by --resume
/// (engine/config.hpp serialises it under these field names).
struct TrainConfig {
  /// The PDE module. With a process given in code (TrainOptions::process) only its name is used,
  /// as a label.
  ModuleSpec module;
  /// fashion-mnist[:PATH] | mnist:PATH | idx:PATH | png:DIR | toy:NAME[:N] | csv:PATH
  std::string data;
  std::int64_t limit = 0;  ///< > 0: use the first `limit` examples
  bool hflip = false;      ///< random horizontal flips (images)
  int batch = 128;
  double lr = 1e-3;
  double warmup_images = 10000;         ///< linear lr warm-up over this many images
  /// > 0: the lr falls linearly to 0 over the last this many images before the run's total
  /// (TrainOptions::steps); a resume may change it, so a run can branch into a cool-down from any
  /// checkpoint (warm-up, stable, decay). 0: constant after the warm-up.
  double lr_cooldown_images = 0;
  double ema_halflife_images = 500000;  ///< EMA half-life in images (EDM's ema_halflife_kimg * 1000)
  double ema_rampup = 0.05;             ///< half-life is at most this fraction of the images seen
  double grad_clip = 1.0;               ///< max global gradient norm; 0: off
  int max_bad_steps = 10;               ///< abort after this many non-finite losses in a row
  double sigma_data = 0.0;              ///< EDM sigma_data; 0: 0.5 for images, the data's std for points
  double p_mean = -1.2, p_std = 1.2;    ///< training sigma = exp(p_mean + p_std n), n ~ N(0, 1)
  std::uint64_t seed = 0;
  ArchOptions arch;
  /// Class-conditional: the data's labels feed a label embedding (arch.label_dim = the classes).
  bool conditional = false;
  /// Conditional runs: each example's label is dropped (the zero "no class" vector) with this
  /// probability, which trains the unconditional model classifier-free guidance needs.
  double label_dropout = 0.1;
  /// > 0: a numbered snapshot (genphys/snapshots.hpp) each time the images seen pass a multiple
  /// of this; a resume may change it and snapshot_keep (they change no weight).
  std::int64_t snapshot_every = 0;
  int snapshot_keep = 0;  ///< > 0: only the newest this many snapshots are kept; 0: all
};

/// The learning rate's factor for the step that takes the images seen from `images_before` to
/// `images_after` in a run of `total_images`: the linear warm-up (by images_after) or the
/// linear cool-down (by images_before, so that the last step still moves), whichever is smaller.
double lr_factor(const TrainConfig& config, double images_before, double images_after, double total_images);

/// A training run: its config plus how to execute and report it (not stored).
struct TrainOptions : TrainConfig {
  /// When set, used instead of make_module(module)->generative(dim) (no check verdict is
  /// computed); module.name is then only a label stored in the checkpoint. Its dim() must match
  /// the data.
  std::shared_ptr<const GenerativeProcess> process;

  std::string out_dir;        ///< holds last.ckpt, stats.jsonl and sample grids
  bool resume = false;        ///< continue RUN_DIR/last.ckpt; its config wins over the TrainConfig fields
  /// With resume: the TrainConfig fields the caller chose on purpose (names as in
  /// train_config_fields()); each must equal the checkpoint's or the run is refused, naming it.
  std::vector<std::string> chosen;
  /// A fresh run's sigma_max from the module and the data (forgetting_sigma_max, exact_sampler.hpp)
  /// instead of the module's default; stored in the checkpoint like any sigma_max. (`genphys
  /// train` sets it unless --sigma-max is given.)
  bool auto_sigma_max = false;
  /// A fresh run's sigma_max given outright (> 0; excludes auto_sigma_max): in (sigma_min, the
  /// module's own sigma_max].
  double sigma_max = 0.0;
  std::int64_t steps = 1000;  ///< total optimiser steps (with resume: the new total)
  std::string device = "cpu";  ///< cpu | cuda | cuda:K
  int threads = 0;             ///< 0: physical cores
  ProgressSink progress;       ///< a report after every step
  MessageSink messages;        ///< start-up and summary lines
  int log_every = 50;          ///< stats.jsonl line every this many steps
  int grid_every = 1000;       ///< sample grid PNG every this many steps (and at the end); 0: never
  int grid_nfe = 35;           ///< Heun NFE for the grid
  int ckpt_every = 1000;       ///< checkpoint every this many steps (and at the end); 0: only at the end
  int eval_samples = 256;      ///< fixed evaluation set for the start/end loss (0: skip)
};

struct TrainResult {
  std::int64_t start_step = 0, steps_done = 0;  ///< the run covered steps [start_step, steps_done)
  std::int64_t skipped_steps = 0;               ///< non-finite losses (whole run, resumes included)
  bool interrupted = false;                     ///< a stop signal came: saved and stopped early
  int stop_signal = 0;                          ///< SIGINT, SIGTERM or SIGHUP when interrupted
  double images_per_second = 0.0;
  double last_loss = 0.0;  ///< mean weighted loss of the last 50 steps
  /// Weighted denoising loss on a fixed evaluation set (same data, noise and sigmas each time),
  /// before the first step of a fresh run and after the last: mean and median over samples.
  double eval_loss_start = 0.0, eval_loss_end = 0.0;
  double eval_median_start = 0.0, eval_median_end = 0.0;
  std::string checkpoint;
  std::string condition;  ///< the condition a `conditional` verdict trained under; else empty
};

/// TrainConfig's fields by the names OptionError uses ("lr", "arch.hidden"), module and data
/// excepted (resume checks those itself).
std::vector<std::string> train_config_fields();

/// This process's RANK among the ranks that torchrun or `train --nproc` started (their variables
/// MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK), 0 without them. Under several ranks,
/// train and sample are collective: the ranks split the work and rank 0 alone writes and prints.
/// InputError for a missing or malformed variable.
int process_rank();

/// Trains and writes out_dir/last.ckpt. Throws InputError for bad input (unknown PDE, a `no`
/// verdict, missing/corrupt data or checkpoint, an existing checkpoint without resume, an
/// unwritable directory) before anything is written; OptionError names the TrainOptions field
/// at fault.
TrainResult train(const TrainOptions& options);

struct SampleOptions {
  std::string checkpoint;
  Solver solver = Solver::heun;
  Stepping stepping = Stepping::source;  ///< velocity-target modules: frozen-source or plain steps
  int nfe = 35;                 ///< heun: odd, exactly this many evaluations; euler, dpmpp-2m: steps; rk45: ignored
  double rtol = 1e-4, atol = 1e-4;  ///< rk45 tolerances
  double rho = 7.0;             ///< EDM's schedule exponent (check_rho)
  Churn churn{};                ///< EDM's stochastic sampler (heun; modules whose kernels form a semigroup)
  std::vector<std::int64_t> seeds;  ///< sample indices; sample i starts from sample_rng(seed, i)
  std::uint64_t seed = 0;
  int batch = 64;
  bool use_ema = true;
  double sigma_min = 0.0, sigma_max = 0.0;  ///< 0: the checkpoint's training range
  std::string device = "cpu";
  int threads = 0;
  MessageSink messages;  ///< start-up and summary lines
  /// As in TrainOptions: a process to use instead of the checkpoint's module.
  std::shared_ptr<const GenerativeProcess> process;
  // ---- class-conditional checkpoints -----------------------------------------------------------
  /// Sample with index (seed) i gets class classes[i mod classes.size()]; empty: class i mod K
  /// (every class in turn). Refused for an unconditional checkpoint.
  std::vector<std::int64_t> classes;
  /// Classifier-free guidance weight w >= 0: out_u + w (out_c - out_u) on the network's output
  /// (the denoiser, or the velocity of a velocity model). 1: the conditional model alone; 0: the
  /// unconditional one (the "no class" label); w > 1 (EDM/Imagen style) strengthens the class.
  double guidance = 1.0;
  // ---- robustness probes (PFGM++ paper, Sec. 5): off at 0 ----------------------------------
  double noise_alpha = 0.0;  ///< after each step to sigma_i > 0: x += alpha sigma_i eps (heun/euler)
  int quantize_bits = 0;     ///< > 0: round each weight tensor to this many bits (symmetric, per tensor)
  /// The network in bfloat16 (CPU only: LibTorch's autocast runs convolutions, linears and matrix
  /// products in bfloat16, norms in float); the sampler's state stays float64. It pays on CPUs with
  /// bfloat16 instructions (cpu_has_bfloat16()); elsewhere oneDNN emulates them, slower than float.
  bool bfloat16 = false;
};

/// True when the CPU has bfloat16 dot-product instructions (AVX512_BF16 or AMX-BF16), where
/// SampleOptions::bfloat16 runs faster than float32.
bool cpu_has_bfloat16();

struct SampleResult {
  std::vector<float> values;        ///< count x prod(shape), in data scale
  std::vector<std::int64_t> shape;  ///< {C, H, W} for images, {d} for points
  std::int64_t count = 0;
  std::int64_t nfe = 0;             ///< network evaluations per sample (rk45: the largest batch's)
  bool is_image = false;
  std::string pde;
  bool birth_death_ignored = false;  ///< the process has R != 0 and the plain ODE ignored it
  /// Class-conditional checkpoints: each sample's class (empty otherwise), the checkpoint's
  /// classes and their names (empty when the data did not name them).
  std::vector<std::int64_t> labels;
  int num_classes = 0;
  std::vector<std::string> class_names;
  double guidance = 1.0;
};

/// Loads a checkpoint and integrates the network's ODE from the prior. Throws InputError for a
/// missing/corrupt checkpoint or bad options.
SampleResult sample(const SampleOptions& options);

/// Writes samples: a grid PNG (images) or a scatter plot PNG (2D points). Labelled samples: one
/// row per class (classes in order of first appearance; short rows end in blank cells), or one
/// colour per class.
void save_sample_grid(const SampleResult& samples, const std::string& path);
/// Writes samples as .pt (loadable with Python's torch.load), .bin (raw little-endian float32,
/// count x prod(shape)) or .csv (one sample per row; labelled samples end in a `label` column, the
/// convention training reads). Atomic.
void save_samples(const SampleResult& samples, const std::string& path);

struct ExportSummary {
  std::int64_t step = 0;     ///< optimiser steps the weights have seen
  std::int64_t tensors = 0;  ///< tensors written (model and EMA together)
  bool has_ema = false;
  bool classifier = false;   ///< the file was a feature classifier
};

/// Writes a checkpoint's weights as a torch pickle archive that Python's torch.load opens:
/// {"model": {name: tensor}, "ema": {name: tensor} (when kept), "config": JSON text, "step": int}.
/// The names are the network's parameter and buffer names (EdmPrecond's, "net." prefixed). A
/// feature classifier file gives {"classifier": {name: tensor}, "info": JSON text}.
/// Atomic. Throws InputError for a missing or corrupt checkpoint or an unwritable output.
ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out);

/// Parses "0-63", "5", "0-9,20,30-39" into indices; throws InputError.
std::vector<std::int64_t> parse_seed_list(const std::string& text);
/// Parses a --class list, "3", "0,3,5" or "0-9", into class ids; throws InputError.
std::vector<std::int64_t> parse_class_list(const std::string& text);

/// LibTorch version, BLAS, devices available: the start-up line.
std::string engine_description(const std::string& device, int threads);

}  // namespace genphys
