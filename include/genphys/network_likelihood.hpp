#pragma once
// A trained network's log-likelihood of held-out data through its probability-flow ODE
// (likelihood.hpp), in bits per dimension for 8-bit images. No LibTorch here.

#include <cstdint>
#include <string>
#include <vector>

#include "genphys/engine.hpp"
#include "genphys/likelihood.hpp"

namespace genphys {

struct NetworkLikelihoodOptions {
  std::string checkpoint;
  int n = 64;  ///< held-out examples: the first n test images, or n fresh draws of a toy
  /// 0: the exact divergence (autograd, one backward pass per dimension: small N only);
  /// K >= 1: Hutchinson's estimator with K Rademacher probes per example, each example drawing
  /// from its own stream sample_rng(seed, index), each probe kept along the whole path.
  int probes = 1;
  LikelihoodOptions ode;  ///< sigma_min / sigma_max <= 0: the checkpoint's
  std::uint64_t seed = 0;
  int batch = 64;
  int threads = 0;
  std::string device = "cpu";
  bool use_ema = true;
  /// Instead of the network: the exact empirical field of the run's training set (points of at
  /// most 64 dimensions), its divergence by central differences (empirical_divergence_field).
  bool exact_field = false;
  MessageSink messages;
};

struct NetworkLikelihood {
  std::string pde, data_set;
  std::string field;  ///< "network (EMA)", "network (raw)" or "exact field of K training points"
  int dim = 0;
  bool is_image = false;
  int probes = 0, steps = 0;
  double sigma_min = 0, sigma_max = 0;
  long evaluations = 0;  ///< field evaluations per example
  double seconds = 0;
  std::vector<double> log_p, log_p_se;  ///< per example (nats); se over the probes
  /// Mean over examples of bits/dim (images: bits_per_dim, dequantised; points: -log p / (N ln 2))
  /// and its standard error over examples.
  double bpd = 0, bpd_se = 0;
  /// The Hutchinson part of bpd_se: the probes' scatter alone, sqrt(sum se_i^2) / n in bits/dim.
  double bpd_probe_se = 0;
};

/// Throws InputError (one line) for a missing checkpoint, bad options, or a module without a
/// likelihood (birth/death, likelihood_refusal).
NetworkLikelihood network_likelihood(const NetworkLikelihoodOptions& options);

}  // namespace genphys
