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
  std::unique_ptr<GenerativeProcess> process;
  try {
    process = m.generative(dim);
  } catch (const NotSupported& e) {
    throw InputError(fmt::format("PDE '{}' has no exact kernel sampler in N = {}: {}", m.name(), dim, e.what()));
  }
  if (process) return process;
  const ConditionVerdict c1 = m.c1(dim);
  throw InputError(fmt::format("PDE '{}' has no exact kernel sampler{}", m.name(),
                               c1.verdict == Verdict::yes ? " yet" : " (C1 " + to_string(c1.verdict) + ": " + c1.reason + ")"));
}

CommandRunner setup_kernel(CLI::App& app) {
  auto opt = std::make_shared<KernelOptions>();
  app.add_option("--pde", opt->pde, "PDE module name or alias")->required()->check(non_empty());
  app.add_option("--dim", opt->dim, "data dimension N")->required();
  app.add_option("--t", opt->t, "the module's time t (r_D for Poisson/PFGM++)");
  app.add_option("--sigma", opt->sigma, "or: the noise level sigma, mapped to t by the module");
  app.add_option("--samples", opt->samples, "number of independent draws")->capture_default_str();
  app.add_option("--seed", opt->seed, "draw i uses stream (seed, i)")->check(non_negative())->capture_default_str();
  app.add_option("--csv", opt->csv, "write the CSV (one column: radius) here (default: standard output)")->check(non_empty());
  opt->module.add_to(&app);
  return [opt]() -> int {
    check_dim(opt->dim);
    if (opt->samples < 1 || opt->samples > 100000000) throw InputError("--samples must be in [1, 1e8]");
    if ((opt->t != 0) == (opt->sigma != 0)) throw InputError("give exactly one of --t T or --sigma S");
    for (double v : {opt->t, opt->sigma})
      if (v < 0 || !std::isfinite(v)) throw InputError("--t and --sigma must be positive and finite");
    const std::string csv_path = opt->csv.empty() ? "-" : opt->csv;
    OutputSet outputs;
    outputs.add(csv_path);
    const auto module = opt->module.make(opt->pde);
    const auto process = require_process(*module, opt->dim);
    const double t = opt->t > 0 ? opt->t : process->time(opt->sigma);
    const double sigma = std::isfinite(t) && t > 0 ? process->sigma(t) : NAN;
    if (!(t > 0) || !std::isfinite(t) || !(sigma > 0) || !std::isfinite(sigma))
      throw InputError(fmt::format("{} {:g} is out of range for {} in N = {}: it gives t = {:g} and sigma = {:g}, "
                                   "both must be finite and > 0",
                                   opt->t > 0 ? "--t" : "--sigma", opt->t > 0 ? opt->t : opt->sigma, module->name(),
                                   opt->dim, t, sigma));

    std::ostringstream csv;
    csv << "radius\n";
    double sum = 0;
    for (long i = 0; i < opt->samples; ++i) {
      Rng rng = sample_rng(opt->seed, static_cast<std::uint64_t>(i));
      double r = NAN;
      try {
        r = process->sample_radius(rng, t);
      } catch (const InputError&) {
        throw;
      } catch (const std::exception& e) {
        throw InputError(fmt::format("cannot draw a radius for {} in N = {} at t = {:g}: {}", module->name(), opt->dim, t,
                                     e.what()));
      }
      // A radius of exactly 0 from a continuous kernel is an underflow, not a draw.
      if (!(r > 0) || !std::isfinite(r))
        throw InputError(fmt::format("the radius drawn for {} in N = {} at t = {:g} is {:g}; t is out of range",
                                     module->name(), opt->dim, t, r));
      sum += r;
      csv << fmt::format("{:.12g}\n", r);
    }
    outputs.set(csv_path, csv.str());
    outputs.commit();
    std::cerr << fmt::format("{} draws of |x - y| for {} in N = {} at t = {:.6g} (sigma = {:.6g}): mean {:.6g}\n",
                             opt->samples, module->name(), opt->dim, t, sigma, sum / opt->samples);
    return 0;
  };
}

}  // namespace genphys::cli
