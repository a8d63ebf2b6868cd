#include "engine/process.hpp"

#include <fmt/format.h>

#include "genphys/check.hpp"
#include "genphys/errors.hpp"

namespace genphys::engine {

void require_trainable(const GenerativeProcess& process, const std::string& pde, int dim) {
  if (process.dim() != dim)
    throw InputError(fmt::format("the generative process of '{}' has dimension {}, the data {}", pde, process.dim(), dim));
  if (!process.affine_velocity()) {
    // Trained on each source's own velocity, which the process must then supply.
    try {
      process.source_radial_speed(1.0, process.time(1.0));
    } catch (const NotSupported& e) {
      throw InputError(fmt::format("PDE '{}' has a velocity that is not affine in E[y|x,t] and no per-source "
                                   "velocity to train on: {}",
                                   pde, e.what()));
    }
  }
}

ResolvedProcess resolve_process(const ModuleSpec& spec, int dim, bool run_check) {
  ResolvedProcess r;
  r.module = make_module(spec);
  const std::string name = r.module->name();
  if (run_check) {
    const CheckResult c = check(*r.module, dim);
    r.verdict = c.verdict;
    if (c.verdict == Verdict::no) {
      const bool c1 = c.c1.verdict == Verdict::no, c2 = !c1 && c.c2.verdict == Verdict::no;
      const ConditionVerdict& failed = c1 ? c.c1 : c2 ? c.c2 : c.kernel;
      throw InputError(fmt::format("PDE '{}' is not s-generative in N = {} (check verdict: no; {}: {}): refusing to train",
                                   name, dim, c1 ? "C1" : c2 ? "C2" : "kernel", failed.reason));
    }
    if (c.verdict == Verdict::conditional) r.condition = c.condition.empty() ? "(no condition given)" : c.condition;
  }
  std::unique_ptr<GenerativeProcess> process;
  try {
    process = r.module->generative(dim);
  } catch (const NotSupported& e) {
    throw InputError(fmt::format("PDE '{}' has no generative process in N = {}: {}", name, dim, e.what()));
  }
  if (!process)
    throw InputError(fmt::format(
        "PDE '{}'{} has no generative process (kernel sampler) in N = {} yet: cannot train or sample it", name,
        r.verdict == Verdict::conditional ? " (conditionally s-generative: " + r.condition + ")" : "", dim));
  require_trainable(*process, name, dim);
  r.process = std::move(process);
  return r;
}

}  // namespace genphys::engine
