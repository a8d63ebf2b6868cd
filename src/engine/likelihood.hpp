#pragma once
// A torch velocity's divergence for likelihood.hpp's integrator. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/sampler.hpp"
#include "genphys/likelihood.hpp"

namespace genphys::engine {

/// `velocity` (dx/dlambda of (B, shape...) float64 states) as a DivergenceField: an undefined
/// `probes` gives the exact divergence (one backward pass per dimension); probes (K, B, N) give
/// Hutchinson's K estimates eps^T (dv/dx) eps, one vector-Jacobian product each.
DivergenceField velocity_divergence_field(const StepVelocity& velocity, const std::vector<std::int64_t>& shape,
                                          torch::Device device, const torch::Tensor& probes);

/// K Rademacher probes (K, rows, dim) float64 for examples first .. first + rows - 1, example i
/// from its own stream sample_rng(seed ^ kProbeStream, i): a result never depends on batching.
torch::Tensor rademacher_probes(int k, std::int64_t first, std::int64_t rows, std::int64_t dim, std::uint64_t seed);

}  // namespace genphys::engine
