#pragma once
// The network samplers beyond the deterministic ODE: EDM's churn (churn.hpp) on torch batches, and
// the checks that tie a solver to the module it may drive. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/sampler.hpp"

namespace genphys::engine {

/// Throws InputError for churn settings the samplers cannot run (check_churn; churn needs heun
/// and excludes noise injection). The process is not consulted (require_solver_fits is).
void check_stochastic_options(const OdeOptions& options);

/// Refuses (InputError, one line) dpmpp-2m for a process whose field is not affine (a velocity
/// target: D cannot be recovered) and churn for a process whose marginals it cannot keep.
void require_solver_fits(const GenerativeProcess& process, const OdeOptions& options);

/// One increment stream per sample index (churn_rng): the paths do not depend on the batch.
std::vector<Rng> churn_streams(std::uint64_t seed, const std::vector<std::int64_t>& indices);

/// EDM Algorithm 2 (integrate_heun_churn) on the StepClock's Heun grid: x (B, ...) float64 on any
/// device, streams[b] draws sample b's increments on the CPU. NFE = 2n - 1, as Heun's; with
/// churn 0 the result is integrate_velocity's bit for bit.
torch::Tensor integrate_churn(const GenerativeProcess& process, torch::Tensor x, const StepVelocity& velocity,
                              const OdeOptions& options, std::vector<Rng>&& streams, std::int64_t& nfe);

}  // namespace genphys::engine
