#pragma once
// From a module name and parameters to the generative process the engine trains on, with the
// check verdict enforced. No LibTorch. Internal to the engine.

#include <memory>
#include <string>

#include "genphys/generative.hpp"
#include "genphys/pde.hpp"

namespace genphys::engine {

struct ResolvedProcess {
  std::shared_ptr<const PdeModule> module;
  std::shared_ptr<const GenerativeProcess> process;
  Verdict verdict = Verdict::yes;
  std::string condition;  ///< for `conditional`: the computed condition
};

/// Builds the module a spec names. With `run_check`: refuses a `no` verdict quoting
/// the failing condition's reason; reports a `conditional` verdict's condition. Refuses a module
/// without a generative process in `dim` dimensions and a non-affine process without per-source
/// velocities. All refusals are InputError.
ResolvedProcess resolve_process(const ModuleSpec& spec, int dim, bool run_check);

/// Refuses a process the engine cannot train or sample (wrong dimension; a non-affine velocity
/// without source_radial_speed).
void require_trainable(const GenerativeProcess& process, const std::string& pde, int dim);

}  // namespace genphys::engine
