#pragma once
// The s-generative check: C2 from the dispersion branches (analysed on a k-grid), C1 from the
// module's own point-source density, and the overall verdict with its condition in numbers.

#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "genphys/pde.hpp"

namespace genphys {

/// C2 analysis of dispersion branches: which branch (if any) satisfies
/// Im omega(k) < Im omega(0) for all k > 0, and how well.
struct C2Analysis {
  ConditionVerdict verdict;
  int branch = -1;            ///< index of the decaying branch used; -1 when none
  double k_nondecay = 0.0;    ///< > 0: modes 0 < k <= k_nondecay do not decay relative to k = 0
  double gap_limit = 0.0;     ///< > 0: the decay-rate gap Im w(0) - Im w(k) saturates at this value
};

/// Decides C2 from `branches` on a log-spaced k-grid over [1e-6, 1e6] (plus bisection for the
/// edge of a non-decaying band). Each branch must be continuous in k.
C2Analysis analyse_c2(const std::vector<DispersionBranch>& branches);

/// The overall verdict: the weaker of the two (no < conditional < yes).
Verdict combine(Verdict a, Verdict b);

struct CheckResult {
  std::string pde;
  std::string equation;
  ParamValues params;
  int dim = 0;
  ConditionVerdict c1, c2;
  /// Whether the module's kernel in this N concentrates on its source as sigma -> sigma_min (the
  /// flow can reach the data): median radius at sigma_min <= kConcentrationFactor sigma_min
  /// sqrt(N). `no` with the numbers when it does not (Helmholtz in high N: a shell at ~Z/k0);
  /// `yes` with "not applicable" when the module has no kernel sampler in N.
  ConditionVerdict kernel;
  /// The generic subordination route (src/physics/subordinator.hpp): `yes` when C2's branch gives
  /// a Bernstein f(s) = i w(sqrt s) - i w(0), so the normalised kernel exp(-t f(k^2)) is a Gaussian
  /// scale mixture any N can sample; `no` with the reason otherwise. Informational for registered
  /// modules (they have their own samplers); a custom PDE's C1 and process come from it.
  ConditionVerdict subordination;
  Verdict verdict = Verdict::no;
  std::string condition;  ///< the computed condition(s) for a `conditional` verdict; else empty
};

inline constexpr double kConcentrationFactor = 10.0;

/// Runs C1 (module.c1(dim)), C2 (analyse_c2(module.dispersion())) and, unless either says no,
/// the kernel's concentration in N (kernel_concentration); the verdict is the weakest.
CheckResult check(const PdeModule& module, int dim);

class GenerativeProcess;
/// The concentration condition of CheckResult::kernel for one process. For a process whose
/// sigma_min is a floor (sigma_min_is_floor) the verdict is at best `conditional`: the reason
/// names the smallest resolvable scale sigma_min, the condition the data scales of
/// resolution_limit.
ConditionVerdict kernel_concentration(const GenerativeProcess& process);

/// The data a flow with a floor at sigma_min can generate from: distinct points at least
/// `min_spacing` = kResolvableSpacing sigma_min apart (closer ones merge into one basin), and an
/// RMS distance from the data mean (where the prior is centred) of at most `max_spread` =
/// kForgetFraction sigma_max (beyond it the prior at sigma_max has not forgotten the spread and
/// misweights the points). Measured on the dissipative wave, eps = 0.5, 1, 2, four points, n =
/// 4000 (README, "Which flow each module generates from"): every share within 4 standard errors
/// (0.027) of 1/4 at spacing 2 sigma_min and RMS spread 0.4 sigma_max; off by 0.033-0.09 at
/// spacing 1.5-1.75 sigma_min or spread 0.5-0.6 sigma_max.
inline constexpr double kResolvableSpacing = 2.0;
inline constexpr double kForgetFraction = 0.4;
struct ResolutionLimit {
  double min_spacing = 0.0;
  double max_spread = 0.0;
};
/// The limit for a process with sigma_min_is_floor(); nullopt for the others. sigma_max > 0
/// replaces the process's default, and so does a sigma_min above the floor (a sampling range
/// chosen by the caller).
std::optional<ResolutionLimit> resolution_limit(const GenerativeProcess& process, double sigma_min = 0.0,
                                                double sigma_max = 0.0);
/// Smallest distance between two distinct rows (+inf for fewer than two distinct points).
double nearest_neighbour_spacing(const Eigen::MatrixXd& data);
/// RMS distance of the rows from their mean.
double rms_spread(const Eigen::MatrixXd& data);
/// Throws InputError, one line naming the data's number and the limit, when `data` is finer or
/// wider than resolution_limit(process) allows; does nothing for processes without a floor.
void check_data_resolution(const GenerativeProcess& process, const Eigen::MatrixXd& data, double sigma_min = 0.0,
                           double sigma_max = 0.0);

/// One JSON object: pde, equation, params, dim, c1 and c2 {verdict, reason, condition}, kernel
/// {verdict, reason}, subordination {verdict, reason}, verdict, condition (the conditions of a conditional verdict only).
std::string to_json(const CheckResult& result);

/// C1 for a module whose point-source density is self-similar with Fourier transform
/// green_hat(k, t): computes the 1D kernel p(x) = (1/pi) int_0^inf cos(k x) G-hat(k, t) dk at
/// t = 1 by quadrature and reports its most negative value relative to its peak. A radial kernel
/// in N dimensions has this 1D function as its marginal, so negative values here mean negative
/// values in every N; `positive_reason` explains why positivity in 1D extends to N (e.g. a
/// Gaussian scale mixture), and is used when no negative value is found.
ConditionVerdict c1_from_green_hat(const PdeModule& module, const std::string& positive_reason);

/// Most negative value of the 1D kernel with Fourier transform green_hat(k, 1), relative to its
/// peak, over |x| <= x_max (0 when none is negative). Exposed for tests.
double min_relative_kernel_1d(const PdeModule& module, double x_max = 40.0);

}  // namespace genphys
