#pragma once
// genphys sample: the options every sampling path shares, and the trained-network path
// (cmd_torch_sample.cpp, built with the LibTorch engine).

#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "sampler_cli.hpp"

#include <string>

namespace genphys::cli {

struct SampleCliOptions {
  std::string ckpt;             ///< trained network checkpoint
  int nfe = 35;                 ///< heun: odd, exactly this many evaluations; euler, dpmpp-2m: steps
  std::string solver = "heun";  ///< heun | euler | rk45 | dpmpp-2m
  std::string stepping = "source";  ///< source | plain (velocity-target modules, heun/euler)
  double rtol = 1e-4, atol = 1e-4;
  StochasticCliOptions stochastic;  ///< --rho, --churn, --s-tmin, --s-tmax, --s-noise
  std::string seeds = "0-63";   ///< sample indices: "0-63", "0,5,9-12"
  unsigned long long seed = 0;  ///< global seed; sample i starts from sample_rng(seed, i)
  int batch = 64;
  std::string grid;             ///< PNG grid (images) or scatter plot (points)
  std::string out;              ///< .pt, .bin or .csv
  bool no_ema = false;
  double sigma_min = 0, sigma_max = 0;  ///< 0: the checkpoint's range
  std::string device = "cpu";
  int threads = 0;
  std::string classes;    ///< class-conditional checkpoints: "3", "0,3,5", "0-9"; empty: all in turn
  double guidance = 1.0;  ///< classifier-free guidance weight
  bool bf16 = false;      ///< the network in bfloat16 (CPUs with bfloat16 instructions)
};

/// The exact-field path (`--exact`): no network, the empirical field of a data set.
struct ExactSampleCliOptions {
  bool exact = false;
  std::string pde;
  std::string data;          ///< toy:NAME[:N] or a CSV of points
  int n = 1000;
  std::string csv, plot;
  int trajectories = 0;
  std::string flow = "normalised";  ///< normalised | unnormalised (modules whose PDE has R != 0)
  std::string birth_death;   ///< ignore | reweight; required with --flow unnormalised
  bool prior_gap = false;    ///< report how far the prior is from the forward marginal at t_max
  bool auto_sigma_max = false;  ///< sigma_max from the module and the data (forgetting_sigma_max)
  ModuleOptions module;
};

/// Registers the shared options on `app`.
void add_sample_options(CLI::App& app, SampleCliOptions& options);

/// Registers the --exact options on `app`.
void add_exact_sample_options(CLI::App& app, ExactSampleCliOptions& options);
/// Samples with the exact empirical field; returns the exit code.
int run_exact_sample(const SampleCliOptions& shared, const ExactSampleCliOptions& options);

#ifdef GENPHYS_WITH_TORCH
/// Samples from options.ckpt; returns the exit code.
int run_network_sample(const SampleCliOptions& options);
#endif

}  // namespace genphys::cli
