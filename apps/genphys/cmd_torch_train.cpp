// genphys train (needs the LibTorch engine)
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>

#include "cli.hpp"
#include "launcher.hpp"
#include "progress_bar.hpp"
#include "torch_cli.hpp"
#include "genphys/engine.hpp"

namespace genphys::cli {
namespace {

struct TrainCliOptions {
  TrainOptions train;
  ModuleOptions module;
  std::string channel_mult, attn;
  bool no_progress = false;
  int nproc = 1;
};

}  // namespace

CommandRunner setup_train(CLI::App& app) {
  auto opt = std::make_shared<TrainCliOptions>();
  TrainOptions& t = opt->train;
  app.add_option("--pde", t.module.name, "PDE module name or alias (must pass `genphys check`), or custom with --expr");
  opt->module.add_to(&app);
  app.add_option("--data", t.data, "fashion-mnist[:PATH] | mnist:PATH | idx:PATH | png:DIR | toy:NAME[:N] | csv:PATH");
  app.add_option("--limit", t.limit, "use only the first N examples (0: all)")->capture_default_str();
  app.add_flag("--hflip", t.hflip, "random horizontal flips");
  app.add_option("--out", t.out_dir, "run directory: last.ckpt, stats.jsonl, grid_*.png, snapshots/");
  app.add_flag("--resume", t.resume, "continue RUN_DIR/last.ckpt (its config is kept; --steps is the new total)");
  app.add_flag("--auto-sigma-max", t.auto_sigma_max,
               "sigma_max from the module and the data: the smallest at which the prior has forgotten the data "
               "(as sample --exact --auto-sigma-max); the default for fresh runs; stored in the checkpoint");
  app.add_option("--sigma-max", t.sigma_max,
                 "a fresh run's sigma_max given outright (e.g. EDM's 80), instead of the module's choice from the data");
  app.add_option("--steps", t.steps, "total optimiser steps")->capture_default_str();
  app.add_option("--batch", t.batch, "batch size")->capture_default_str();
  app.add_option("--lr", t.lr, "Adam learning rate")->capture_default_str();
  app.add_option("--warmup-images", t.warmup_images, "linear lr warm-up over this many images")->capture_default_str();
  app.add_option("--lr-cooldown-images", t.lr_cooldown_images,
                 "the lr falls linearly to 0 over the last this many images before --steps (0: constant; a resume "
                 "may change it, to branch a cool-down off a run)")
      ->capture_default_str();
  app.add_option("--ema-halflife-images", t.ema_halflife_images, "EMA half-life in images")->capture_default_str();
  app.add_option("--ema-rampup", t.ema_rampup, "EMA half-life at most this fraction of images seen (0: off)")
      ->capture_default_str();
  app.add_option("--grad-clip", t.grad_clip, "max gradient norm (0: off)")->capture_default_str();
  app.add_option("--max-bad-steps", t.max_bad_steps, "abort after this many non-finite losses in a row")
      ->capture_default_str();
  app.add_option("--sigma-data", t.sigma_data, "EDM sigma_data (0: 0.5 for images, data std for points)")
      ->capture_default_str();
  app.add_option("--seed", t.seed, "seed: data order, noise and dropout are functions of (seed, step)")
      ->capture_default_str();
  app.add_option("--arch", t.arch.arch, "auto | unet-small | unet | ddpmpp-small (sizes of EDM's DDPM++; ddpmpp-small: the PFGM++ reference) | mlp")->capture_default_str();
  app.add_option("--channels", t.arch.channels, "UNet base channels (unet-small 32, unet 64, ddpmpp-small 32)")->check(at_least_one());
  app.add_option("--channel-mult", opt->channel_mult, "UNet channel multipliers per resolution, e.g. 1,2,2");
  app.add_option("--blocks", t.arch.num_blocks, "UNet residual blocks per resolution (unet-small 1, unet 2, ddpmpp-small 2)")->check(at_least_one());
  app.add_option("--attn", opt->attn, "UNet self-attention resolutions, e.g. 7,14, or none (default: the lowest)");
  app.add_option("--dropout", t.arch.dropout, "dropout probability (default 0; ddpmpp-small 0.1)")->check(probability_below_one());
  app.add_option("--hidden", t.arch.hidden, "MLP width (default 128)")->check(at_least_one());
  app.add_option("--depth", t.arch.depth, "MLP residual layers (default 3)")->check(at_least_one());
  app.add_option("--emb-channels", t.arch.emb_channels, "noise embedding channels (MLP; the UNets: their base channels)")->check(at_least_one());
  app.add_flag("--conditional", t.conditional,
               "class-conditional: the data's labels feed a label embedding (idx label files, png:DIR class "
               "sub-folders, a csv 'label' column; any --arch)");
  app.add_option("--label-dropout", t.label_dropout,
                 "conditional: drop each label with this probability (trains the unconditional model guidance needs)")
      ->check(probability_below_one())
      ->capture_default_str();
  app.add_option("--device", t.device, "cpu | cuda | cuda:K")->capture_default_str();
  app.add_option("--threads", t.threads, "CPU threads (0: physical cores)")->capture_default_str();
  app.add_flag("--no-progress", opt->no_progress, "no progress bar on stderr");
  app.add_option("--nproc", opt->nproc,
                 "data-parallel ranks to start on this machine (as torchrun --nproc-per-node; the batch is split)")
      ->check(at_least_one())
      ->capture_default_str();
  app.add_option("--log-every", t.log_every, "stats.jsonl line every N steps")->capture_default_str();
  app.add_option("--grid-every", t.grid_every, "sample grid PNG every N steps and at the end (0: never)")
      ->capture_default_str();
  app.add_option("--grid-nfe", t.grid_nfe, "Heun NFE for the grids")->capture_default_str();
  app.add_option("--ckpt-every", t.ckpt_every, "checkpoint every N steps (always at the end)")->capture_default_str();
  app.add_option("--snapshot-every", t.snapshot_every,
                 "keep RUN_DIR/snapshots/snapshot-<images>.ckpt each time this many more training images were seen "
                 "(0: none; stored in the run, a resume may change it)")
      ->capture_default_str();
  app.add_option("--snapshot-keep", t.snapshot_keep, "keep only the newest K snapshots (0: all)")->capture_default_str();
  app.add_option("--eval-samples", t.eval_samples, "fixed evaluation set size for the start/end loss (0: skip)")
      ->capture_default_str();

  return [opt, &app]() -> int {
    TrainOptions t = opt->train;
    prefer_passive_openmp();
    if (opt->nproc > 1) return run_local_ranks(opt->nproc);
    const bool root = process_rank() == 0;  // under several ranks rank 0 alone reports
    if (t.module.empty() && !t.resume) throw InputError("--pde is required (see genphys check --all)");
    if (t.data.empty() && !t.resume) throw InputError("--data is required");
    if (app.count("--label-dropout") > 0 && !t.conditional && !t.resume)
      throw InputError("--label-dropout is for class-conditional training (--conditional)");
    if (!t.module.empty()) {
      t.module = opt->module.spec(t.module.name);
      make_module(t.module);  // validates the parameters before any data is read
    } else if (!opt->module.given().empty() || !opt->module.expr().empty()) {
      throw InputError("module parameters need --pde");
    }
    if (app.count("--sigma-max") > 0 && !(t.sigma_max > 0)) throw InputError("--sigma-max must be > 0");
    if (app.count("--sigma-max") > 0 && t.auto_sigma_max)
      throw InputError("--sigma-max and --auto-sigma-max exclude each other");
    // The prior from the module and the data unless sigma_max is given outright.
    if (!(t.sigma_max > 0)) t.auto_sigma_max = true;
    if (!opt->channel_mult.empty()) t.arch.channel_mult = integer_list(opt->channel_mult, "--channel-mult", 1, 1 << 16);
    if (opt->attn == "none") {
      t.arch.no_attention = true;
    } else if (!opt->attn.empty()) {
      t.arch.attn_resolutions = integer_list(opt->attn, "--attn", 1, 1 << 16);
    }
    // What the command line sets on purpose must match the run it resumes.
    if (t.resume)
      for (const std::string& field : train_config_fields())
        if (const CLI::Option* flag = app.get_option_no_throw(flag_for(field)); flag != nullptr && flag->count() > 0)
          t.chosen.push_back(field);
    ProgressBar bar;
    if (!opt->no_progress && root) t.progress = [&bar](const TrainProgress& p) { bar.update(p); };
    t.messages = print_to_stderr;
    const TrainResult r = train(t);
    if (!root) return r.interrupted ? 128 + r.stop_signal : 0;
    if (r.steps_done == r.start_step) {
      std::cout << fmt::format("already at step {}: nothing to train, {}\n", r.steps_done, r.checkpoint);
      return 0;
    }
    std::cout << fmt::format("steps {}..{}, loss {:.4f}, eval loss {:.4f} -> {:.4f}, {:.1f} images/s, {} skipped, {}{}\n",
                             r.start_step, r.steps_done, r.last_loss, r.eval_loss_start, r.eval_loss_end,
                             r.images_per_second, r.skipped_steps, r.checkpoint,
                             r.interrupted ? " (interrupted)" : "");
    return r.interrupted ? 128 + r.stop_signal : 0;  // the shell's code for death by that signal
  };
}

}  // namespace genphys::cli
