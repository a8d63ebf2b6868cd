// genphys kernel: independent draws of the radius |x - y| from a module's perturbation kernel.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "genphys/check.hpp"
#include "genphys/generative.hpp"
#include "genphys/io.hpp"

namespace genphys::cli {
namespace {

struct KernelOptions {
  std::string pde;
  int dim = 0;
  double t = 0, sigma = 0;
  long samples = 1000;
  unsigned long long seed = 0;
  std::string csv;
  ModuleOptions module;
};

}  // namespace

/// The module's generative process in `dim`, or an InputError quoting why there is none.
std::unique_ptr<GenerativeProcess> require_process(const PdeModule& m, int dim) {
  auto process = m.generative(dim);
  if (process) return process;
  const ConditionVerdict c1 = m.c1(dim);
  throw InputError(fmt::format("PDE '{}' has no exact kernel sampler{}", m.name(),
                               c1.verdict == Verdict::yes ? " yet" : " (C1 " + to_string(c1.verdict) + ": " + c1.reason + ")"));
}

CommandRunner setup_kernel(CLI::App& app) {
  auto opt = std::make_shared<KernelOptions>();
  app.add_option("--pde", opt->pde, "PDE module name or alias")->required();
  app.add_option("--dim", opt->dim, "data dimension N")->required();
  app.add_option("--t", opt->t, "the module's time t (r_D for Poisson/PFGM++)");
  app.add_option("--sigma", opt->sigma, "or: the noise level sigma, mapped to t by the module");
  app.add_option("--samples", opt->samples, "number of independent draws")->capture_default_str();
  app.add_option("--seed", opt->seed, "draw i uses stream (seed, i)")->capture_default_str();
  app.add_option("--csv", opt->csv, "write the CSV (one column: radius) here (default: standard output)");
  opt->module.add_to(&app);
  return [opt]() -> int {
    if (opt->dim < 1) throw InputError("--dim must be >= 1, got " + std::to_string(opt->dim));
    if (opt->samples < 1 || opt->samples > 100000000) throw InputError("--samples must be in [1, 1e8]");
    if ((opt->t != 0) == (opt->sigma != 0)) throw InputError("give exactly one of --t T or --sigma S");
    for (double v : {opt->t, opt->sigma})
      if (v < 0 || !std::isfinite(v)) throw InputError("--t and --sigma must be positive and finite");
    if (!opt->csv.empty()) check_writable(opt->csv);
    const auto module = opt->module.make(opt->pde);
    const auto process = require_process(*module, opt->dim);
    const double t = opt->t > 0 ? opt->t : process->time(opt->sigma);

    std::ostringstream csv;
    csv << "radius\n";
    double sum = 0;
    for (long i = 0; i < opt->samples; ++i) {
      Rng rng = sample_rng(opt->seed, static_cast<std::uint64_t>(i));
      const double r = process->sample_radius(rng, t);
      sum += r;
      csv << fmt::format("{:.12g}\n", r);
    }
    if (opt->csv.empty()) {
      std::cout << csv.str();
    } else {
      write_file_atomic(opt->csv, csv.str());
    }
    std::cerr << fmt::format("{} draws of |x - y| for {} in N = {} at t = {:.6g} (sigma = {:.6g}): mean {:.6g}\n",
                             opt->samples, module->name(), opt->dim, t, process->sigma(t), sum / opt->samples);
    return 0;
  };
}

}  // namespace genphys::cli
