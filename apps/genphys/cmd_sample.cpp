// genphys sample
#include <fmt/format.h>

#include <memory>
#include <utility>

#include "cli.hpp"
#include "sample_cli.hpp"

namespace genphys::cli {

void add_sample_options(CLI::App& app, SampleCliOptions& o) {
  app.add_option("--ckpt", o.ckpt, "trained network checkpoint (RUN_DIR/last.ckpt)");
  app.add_option("--nfe", o.nfe,
                 "network evaluations: heun odd (2 steps - 1), euler and dpmpp-2m = steps; rk45 adapts")
      ->capture_default_str();
  app.add_option("--solver", o.solver, "heun | euler | rk45 | dpmpp-2m (DPM-Solver++(2M), denoiser modules)")
      ->capture_default_str();
  app.add_option("--stepping", o.stepping,
                 "velocity-target modules, heun/euler: source (move each particle by its implied source's exact "
                 "transport) | plain (linear steps in the module's step variable)")
      ->capture_default_str();
  add_stochastic_options(app, o.stochastic);
  app.add_option("--rtol", o.rtol, "rk45 relative tolerance")->capture_default_str();
  app.add_option("--atol", o.atol, "rk45 absolute tolerance")->capture_default_str();
  app.add_option("--seeds", o.seeds, "sample indices, e.g. 0-63 or 0,5,9-12")->capture_default_str();
  app.add_option("--seed", o.seed, "global seed: sample i starts from stream (seed, i)")->check(non_negative())->capture_default_str();
  app.add_option("--batch", o.batch, "samples integrated together (results do not depend on it)")->capture_default_str();
  app.add_option("--grid", o.grid, "write a PNG grid (images) or scatter plot (2D points)");
  app.add_option("--out", o.out, "write samples: .pt (torch.load), .bin (raw float32) or .csv");
  app.add_flag("--no-ema", o.no_ema, "use the raw weights instead of the EMA");
  app.add_option("--sigma-min", o.sigma_min, "lowest noise level (default: the checkpoint's)");
  app.add_option("--sigma-max", o.sigma_max, "prior noise level (default: the checkpoint's; --exact: the module's choice from the data)");
  app.add_option("--device", o.device, "cpu | cuda | cuda:K")->capture_default_str();
  app.add_option("--threads", o.threads, "CPU threads (0: physical cores)")->capture_default_str();
  app.add_option("--class", o.classes,
                 "class-conditional checkpoints: class ids, e.g. 3 or 0,3,5 or 0-9; sample i gets the (i mod count)-th "
                 "(default: every class in turn)");
  app.add_option("--guidance", o.guidance,
                 "classifier-free guidance weight w >= 0: D_u + w (D_c - D_u) (on the velocity for velocity models); "
                 "1: plain conditional, 0: unconditional")
      ->capture_default_str();
  app.add_flag("--bf16", o.bf16, kBf16Help);
}

namespace {

// Beyond these the squared distances and exponentials leave double's range (below kMinSigma the
// kernels are narrower than the distances' rounding), or the run cannot finish: refused up front.
constexpr double kMinSigma = 1e-6, kMaxSigma = 1e100;
constexpr int kMaxNfe = 100000;

// What both paths (network and exact field) take alike.
void check_shared_options(const SampleCliOptions& s) {
  if (s.nfe > kMaxNfe) throw InputError(fmt::format("--nfe must be <= {}, got {}", kMaxNfe, s.nfe));
  for (const auto& [flag, value] : {std::pair{"--sigma-min", s.sigma_min}, std::pair{"--sigma-max", s.sigma_max}})
    if (value != 0 && !(value >= kMinSigma && value <= kMaxSigma))
      throw InputError(fmt::format("{} must be in [{:g}, {:g}] (or 0: the default), got {}", flag, kMinSigma, kMaxSigma,
                                   value));
  if (s.sigma_min > 0 && s.sigma_max > 0 && !(s.sigma_min < s.sigma_max))
    throw InputError(fmt::format("--sigma-min ({}) must be below --sigma-max ({})", s.sigma_min, s.sigma_max));
  check_stochastic_options(s.stochastic, s.solver);
}

}  // namespace

CommandRunner setup_sample(CLI::App& app) {
  auto opt = std::make_shared<SampleCliOptions>();
  auto exact = std::make_shared<ExactSampleCliOptions>();
  add_sample_options(app, *opt);
  add_exact_sample_options(app, *exact);
  return [opt, exact, &app]() -> int {
    check_shared_options(*opt);
    if (exact->exact) {
      if (!opt->grid.empty() || !opt->out.empty()) throw InputError("--exact writes --csv and --plot (not --grid/--out)");
      for (const char* flag : {"--seeds", "--no-ema", "--device", "--threads", "--class", "--guidance", "--bf16"})
        if (app.count(flag) > 0)
          throw InputError(std::string(flag) + " is for a network (--ckpt); --exact draws samples 0..n-1 on the CPU");
      return run_exact_sample(*opt, *exact);
    }
    if (!exact->csv.empty() || !exact->plot.empty() || !exact->pde.empty() || !exact->data.empty())
      throw InputError("--pde, --data, --csv and --plot are for --exact; a network samples from --ckpt with --grid/--out");
    // --n N is --seeds 0-(N-1) for a network too.
    if (app.count("--n") > 0) {
      if (app.count("--seeds") > 0) throw InputError("give --n or --seeds, not both");
      if (exact->n < 1 || exact->n > 10000000) throw InputError("--n must be in [1, 1e7]");
      opt->seeds = fmt::format("0-{}", exact->n - 1);
    }
#ifdef GENPHYS_WITH_TORCH
    return run_network_sample(*opt);
#else
    throw InputError("sampling a trained network needs the LibTorch engine (configure with -DGENPHYS_WITH_TORCH=ON)");
#endif
  };
}

}  // namespace genphys::cli
