#pragma once
// The frozen-source step for modules whose field is not affine in E[y|x,t] (velocity-target flows:
// screened Poisson, mixed diffusion-Poisson, normalised Helmholtz, the subordinated modules). Each
// source's density moves radially by quantile transport, x - y = R u with R_t' = Q_t'(F_t(R)). The
// field at x is a posterior average of these velocities; a step takes the source y it implies (the
// velocity's direction gives u, the per-source radial speed s(R, t) = |dx/dt| gives R) and moves
// the particle by the exact transport towards that frozen source: the exponential integrator of
// the affine modules' x' = D + (x - D) lambda'/lambda, which it reduces to when s = c(t) R. A step
// to t = 0 lands on the source. Heun evaluates again at the predicted point and transports towards
// a weighted average of the two implied sources (weights below). NFE as the plain solvers:
// Euler one per step, Heun 2 per step but 1 on the last. No LibTorch here.

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "genphys/generative.hpp"
#include "genphys/ode.hpp"

namespace genphys {

/// How the fixed-step solvers step a velocity-target (non-affine) module.
///  source: the frozen-source step above (default);
///  plain:  Euler / Heun on dx/dlambda in the module's step variable (the earlier sampler).
/// Affine modules are not affected: their plain Euler step already is the frozen-D closed form.
enum class Stepping { source, plain };
Stepping parse_stepping(const std::string& name);  ///< "source" | "plain"; OptionError otherwise
std::string to_string(Stepping s);

/// True when `stepping` changes how `solver` steps `process` (fixed steps, not affine).
bool uses_source_steps(const GenerativeProcess& process, Solver solver, Stepping stepping);

/// The per-source radial law of `process` tabulated at the times of a fixed grid (the last may be
/// 0): at each time, radii r_k from the CDF's 1e-12 to 1 - 1e-12 (or the support's edge) with
/// z_k = logit F_t(r_k) no more than 0.2 apart, and the per-source speed s(r_k, t).
class SourceTransport {
 public:
  SourceTransport(const GenerativeProcess& process, const std::vector<double>& times);

  std::size_t levels() const { return levels_.size(); }
  double time(std::size_t level) const { return levels_[level].t; }
  /// The radius R at which a source's particle moves with speed |dx/dt| = `speed` at this level's
  /// time: the first radius outwards from the source with s(R, t) = speed (s ~ R below the table),
  /// i.e. the rising branch of s. Where s falls again (a heavy upper tail, screened Poisson in
  /// N = 784; a truncated kernel's shrinking edge, Helmholtz, where s < 0) a particle there is
  /// given a smaller radius; choosing among the branches by the previous step's source was tried
  /// and lost Helmholtz's shares at 35 NFE (README). A speed above every tabulated one (a
  /// network's velocity far outside the data) gets the fastest tabulated radius, never more.
  double implied_radius(std::size_t level, double speed) const;
  /// Q_{t_to}(F_{t_from}(r)): the radius the source's quantile at r moves to (0 when t_to = 0).
  double transport(std::size_t from, std::size_t to, double r) const;
  /// Radii tabulated at a level (tests and diagnostics).
  std::size_t table_size(std::size_t level) const { return levels_[level].log_r.size(); }
  /// True when the speed tells the bulk's radii apart at this level: over the radial law's central
  /// 90%, ln(r_95 / r_05) <= kMaxElasticity ln(s_max / s_min), or the speed changes sign there (a
  /// truncated kernel's edge). Where it does not (screened Poisson in N = 784 at mid t: the speed
  /// varies by 3% over the bulk, so a velocity a few % slow implies the 1% quantile instead of the
  /// median) a step from this level is a plain step in lambda when it is short enough for one
  /// (lambda'/lambda >= kPlainRatio; a plain Heun step across a decade of lambda overshoots the
  /// crossover, README "A step by level"). Every level is resolved in N = 2.
  bool resolves(std::size_t level) const { return levels_.at(level).resolved; }
  /// d lambda / dt at this level's time (the plain step's conversion).
  double step_rate(std::size_t level) const { return levels_.at(level).rate; }
  static constexpr double kMaxElasticity = 2.5, kPlainRatio = 0.15;

 private:
  struct Level {
    double t = 0;
    std::vector<double> log_r, z;         // logit F at log r, strictly increasing
    bool bounded = false;                 // the table ends at the support's edge (F = 1)
    std::vector<double> speed;            // s(r_k, t), signed; NaN where it could not be evaluated
    bool resolved = true;                 // see resolves()
    double rate = 1;                      // d lambda / dt
  };
  Level build(const GenerativeProcess& process, double t) const;
  std::vector<Level> levels_;
};

/// Weight of the first implied source in Heun's averaged source, for a step lambda -> lambda'
/// (rho = lambda'/lambda < 1). For an affine field dx/dlambda = (x - D)/lambda the exact step is
/// x' = D_w + (x - D_w) rho with D_w the average of D over the step weighted by 1/lambda^2; with D
/// linear in lambda between the two evaluations that is theta D0 + (1 - theta) D1,
/// theta = rho (rho - 1 - ln rho) / (1 - rho)^2 (-> 1/2 as rho -> 1). Measured against 1/2, the
/// log-linear rule and EDM's Heun weight 1 - 1/(2 rho) (README, "Frozen-source steps").
double heun_source_weight(double lambda, double lambda_next);

/// Row operations the step needs on a batch State (one sample per row): the norm of each row
/// and each row scaled by its own factor, where a factor of 0 gives an exact 0 row (even for a
/// row that is not finite).
template <class State>
struct SourceRows {
  std::function<std::vector<double>(const State&)> norms;
  std::function<State(const State&, const std::vector<double>&)> scale;
};

/// Frozen-source Euler or Heun along `times` (decreasing, last 0). velocity(x, i) is dx/dt at
/// times[i]; lambdas are the step variable at the same entries (Heun's weights; the plain steps
/// from levels the transport does not resolve). A row whose
/// velocity is not finite (an exact field with no source within reach) keeps the source of its
/// previous evaluation (its own position before the first). `nfe` counts evaluations; `callback`
/// sees (step, times[step], x) after each step.
template <class State, class Velocity>
State integrate_source_steps(Solver solver, State x, const std::vector<double>& times, const std::vector<double>& lambdas,
                             const SourceTransport& transport, Velocity&& velocity, const SourceRows<State>& rows,
                             int& nfe, const StepCallback<State>& callback = nullptr) {
  // The source each row's velocity implies at level i; `fallback`'s row where it is not finite.
  auto implied_source = [&](const State& at, const State& v, std::size_t level, const State& fallback) -> State {
    std::vector<double> factor = rows.norms(v), found(factor.size(), 1.0), missing(factor.size(), 0.0);
    for (std::size_t k = 0; k < factor.size(); ++k) {
      const double speed = factor[k];
      if (!std::isfinite(speed)) {
        factor[k] = found[k] = 0.0;
        missing[k] = 1.0;
      } else {
        factor[k] = speed > 0 ? transport.implied_radius(level, speed) / speed : 0.0;
      }
    }
    return rows.scale(at - rows.scale(v, factor), found) + rows.scale(fallback, missing);
  };
  // x moved by the transport of level i -> j towards frozen sources y.
  auto move = [&](const State& from, const State& y, std::size_t i, std::size_t j) {
    const State d = from - y;
    std::vector<double> factor = rows.norms(d);
    for (double& f : factor) {
      const double r = f;
      f = r > 0 && std::isfinite(r) ? transport.transport(i, j, r) / r : 0.0;
    }
    return State(y + rows.scale(d, factor));
  };
  // A plain Euler / Heun step in lambda from level i (a level whose speed does not resolve radii).
  auto plain_step = [&](const State& from, std::size_t i) {
    const double dl = lambdas[i + 1] - lambdas[i];
    const State d0 = velocity(from, i) / transport.step_rate(i);
    ++nfe;
    State next = from + dl * d0;
    if (solver == Solver::heun && times[i + 1] != 0.0) {
      const State d1 = velocity(next, i + 1) / transport.step_rate(i + 1);
      ++nfe;
      next = from + (0.5 * dl) * (d0 + d1);
    }
    return next;
  };
  State source = x;
  for (std::size_t i = 0; i + 1 < times.size(); ++i) {
    if (!transport.resolves(i) && lambdas[i + 1] >= SourceTransport::kPlainRatio * lambdas[i]) {
      x = plain_step(x, i);
      if (callback) callback(static_cast<int>(i + 1), times[i + 1], x);
      continue;
    }
    State y0 = implied_source(x, velocity(x, i), i, source);
    ++nfe;
    State next = move(x, y0, i, i + 1);
    source = y0;
    if (solver == Solver::heun && times[i + 1] != 0.0) {
      State y1 = implied_source(next, velocity(next, i + 1), i + 1, y0);
      ++nfe;
      const double theta = heun_source_weight(lambdas[i], lambdas[i + 1]);
      source = theta * y0 + (1.0 - theta) * y1;
      next = move(x, source, i, i + 1);
    }
    x = next;
    if (callback) callback(static_cast<int>(i + 1), times[i + 1], x);
  }
  return x;
}

}  // namespace genphys
