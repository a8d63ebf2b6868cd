#include "genphys/check.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/math/quadrature/ooura_fourier_integrals.hpp>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "genphys/generative.hpp"
#include "physics/subordinator.hpp"

namespace genphys {
namespace {

constexpr double kGridMin = 1e-4, kGridMax = 1e4;
constexpr int kPerDecade = 20;

std::vector<double> k_grid() {
  std::vector<double> ks;
  const int decades = static_cast<int>(std::lround(std::log10(kGridMax / kGridMin)));
  for (int i = 0; i <= decades * kPerDecade; ++i)
    ks.push_back(kGridMin * std::pow(10.0, static_cast<double>(i) / kPerDecade));
  return ks;
}

// A mode decays relative to k = 0 when the gap Im w(0) - Im w(k) is positive beyond rounding,
// judged relative to the size of the frequencies so numeric roots (noise ~1e-16 |w|) and tiny-k
// closed forms (biharmonic: k^4) are both classified right.
bool decays(const DispersionBranch& b, complex w0, double k) {
  const complex w = b.omega(k);
  const double gap = w0.imag() - w.imag();
  return gap > 1e-9 * (std::abs(w0) + std::abs(w));
}

std::string num(double x) { return fmt::format("{:.4g}", x); }

}  // namespace

Verdict combine(Verdict a, Verdict b) {
  auto rank = [](Verdict v) { return v == Verdict::no ? 0 : v == Verdict::conditional ? 1 : 2; };
  return rank(a) <= rank(b) ? a : b;
}

C2Analysis analyse_c2(const std::vector<DispersionBranch>& branches) {
  if (branches.empty()) return {{Verdict::no, "no dispersion branches", ""}};
  const std::vector<double> ks = k_grid();
  const std::string grid_note =
      fmt::format("checked on {} k in [{}, {}]", ks.size(), num(kGridMin), num(kGridMax));

  // Per branch: the largest grid k that does not decay, and the gap at the top of the grid.
  struct Summary {
    int last_bad = -1;       // index into ks of the last non-decaying k
    bool any_bad = false;
    double gap_hi = 0, gap_mid = 0;
  };
  std::vector<Summary> sums(branches.size());
  for (size_t j = 0; j < branches.size(); ++j) {
    const complex w0 = branches[j].omega(0.0);
    for (size_t i = 0; i < ks.size(); ++i)
      if (!decays(branches[j], w0, ks[i])) {
        sums[j].any_bad = true;
        sums[j].last_bad = static_cast<int>(i);
      }
    sums[j].gap_hi = w0.imag() - branches[j].omega(kGridMax).imag();
    sums[j].gap_mid = w0.imag() - branches[j].omega(kGridMax / 100).imag();
  }

  // Preference: decays everywhere with unbounded gap, then with a saturating gap, then the
  // branch with the narrowest non-decaying band at small k.
  int unbounded = -1, bounded = -1, banded = -1;
  for (size_t j = 0; j < branches.size(); ++j) {
    const auto& s = sums[j];
    const int jj = static_cast<int>(j);
    if (!s.any_bad) {
      const bool saturates = s.gap_hi < 1.01 * s.gap_mid;
      if (!saturates && unbounded < 0) unbounded = jj;
      if (saturates && (bounded < 0 || s.gap_hi > sums[bounded].gap_hi)) bounded = jj;
    } else if (s.last_bad + 1 < static_cast<int>(ks.size())) {
      if (banded < 0 || s.last_bad < sums[banded].last_bad) banded = jj;
    }
  }

  C2Analysis out;
  if (unbounded >= 0) {
    out.branch = unbounded;
    out.verdict = {Verdict::yes,
                   fmt::format("branch {}: Im w(k) < Im w(0) = {} for all k > 0, the gap grows without "
                               "bound ({})",
                               branches[unbounded].label, num(branches[unbounded].omega(0).imag()),
                               grid_note),
                   ""};
    return out;
  }
  if (bounded >= 0) {
    const double gap = sums[bounded].gap_hi;
    const double t_forget = std::log(1e3) / gap;
    out.branch = bounded;
    out.gap_limit = gap;
    out.verdict = {Verdict::conditional,
                   fmt::format("branch {}: Im w(k) < Im w(0) for all k > 0, but the decay gap saturates at "
                               "{} for large k ({})",
                               branches[bounded].label, num(gap), grid_note),
                   fmt::format("fine structure decays only as exp(-{} t) relative to k = 0: forgetting the "
                               "data to 1e-3 needs t_max >= ln(1e3)/{} = {}",
                               num(gap), num(gap), num(t_forget))};
    return out;
  }
  if (banded >= 0) {
    // Bisect the edge of the non-decaying band between the last bad and the first good grid k.
    const auto& b = branches[banded];
    const complex w0 = b.omega(0.0);
    double lo = ks[sums[banded].last_bad], hi = ks[sums[banded].last_bad + 1];
    for (int it = 0; it < 200 && hi - lo > 1e-14 * hi; ++it) {
      const double mid = 0.5 * (lo + hi);
      (decays(b, w0, mid) ? hi : lo) = mid;
    }
    const double kc = lo;
    out.branch = banded;
    out.k_nondecay = kc;
    out.verdict = {Verdict::conditional,
                   fmt::format("branch {}: modes 0 < k <= {} keep Im w(k) = Im w(0) (no decay); above it "
                               "Im w(k) < Im w(0) ({})",
                               b.label, num(kc), grid_note),
                   fmt::format("modes 0 < k <= {} do not decay: data must lack structure at wavelengths "
                               "beyond 2 pi/{} = {}",
                               num(kc), num(kc), num(2 * M_PI / kc))};
    return out;
  }
  // Every branch fails at arbitrarily large k: name the first failure of the least bad branch.
  std::string detail;
  for (size_t j = 0; j < branches.size(); ++j) {
    const complex w0 = branches[j].omega(0.0);
    const double k = 1.0;
    detail += fmt::format("{}{}: Im w(1) - Im w(0) = {}", detail.empty() ? "" : "; ", branches[j].label,
                          num(branches[j].omega(k).imag() - w0.imag()));
  }
  out.verdict = {Verdict::no,
                 "no branch has Im w(k) < Im w(0) for all k > 0 (" + detail + "; " + grid_note + ")", ""};
  return out;
}

CheckResult check(const PdeModule& module, int dim) {
  if (dim < 1) throw InputError("--dim must be >= 1, got " + std::to_string(dim));
  CheckResult r;
  r.pde = module.name();
  r.equation = module.equation();
  r.params = module.params();
  r.dim = dim;
  const C2Analysis c2 = analyse_c2(module.dispersion());
  r.c2 = c2.verdict;
  const std::string analytic = module.c2_analytic();
  if (!analytic.empty()) r.c2.reason = analytic + "; confirmed: " + r.c2.reason;
  r.c1 = module.c1(dim);
  const SubordinatorRoute route = subordinator_route(module);
  r.subordination = {route.f ? Verdict::yes : Verdict::no, route.reason, ""};
  r.verdict = combine(r.c1.verdict, r.c2.verdict);
  r.kernel = {Verdict::yes, "not applicable", ""};
  if (r.verdict != Verdict::no) {
    std::unique_ptr<GenerativeProcess> process;
    try {
      process = module.generative(dim);
    } catch (const NotSupported& e) {
      r.kernel.reason = std::string("not applicable: no kernel sampler in this N (") + e.what() + ")";
    }
    if (process) {
      r.kernel = kernel_concentration(*process);
      r.verdict = combine(r.verdict, r.kernel.verdict);
    } else if (r.kernel.reason == "not applicable") {
      r.kernel.reason = "not applicable: no kernel sampler in this N";
    }
  }
  if (r.verdict != Verdict::no) {
    for (const auto* c : {&r.c1, &r.c2, &r.kernel})
      if (c->verdict == Verdict::conditional && !c->condition.empty())
        r.condition += (r.condition.empty() ? "" : "; ") + c->condition;
  }
  return r;
}

ConditionVerdict kernel_concentration(const GenerativeProcess& process) {
  const int n = process.dim();
  const double sigma_min = process.sigma_min(), t = process.time(sigma_min);
  // Median radius by bisection on the radial CDF in log r.
  double lo = std::log(sigma_min) - 40.0, hi = std::log(sigma_min) + 40.0;
  for (int i = 0; i < 100 && hi - lo > 1e-6; ++i) {
    const double mid = 0.5 * (lo + hi);
    (process.radial_cdf(std::exp(mid), t) < 0.5 ? lo : hi) = mid;
  }
  const double median = std::exp(0.5 * (lo + hi)), limit = kConcentrationFactor * sigma_min * std::sqrt(double(n));
  if (median <= limit) {
    ConditionVerdict v{Verdict::yes,
                       fmt::format("the kernel concentrates: median radius {} at sigma_min = {} (<= {} sigma_min sqrt(N) = {})",
                                   num(median), num(sigma_min), num(kConcentrationFactor), num(limit)),
                       ""};
    if (const auto res = resolution_limit(process)) {
      v.verdict = Verdict::conditional;
      v.reason += fmt::format("; but sigma_min = {} is a floor of the flow, not a choice: the smallest resolvable scale "
                              "is {} sigma_min = {} (closer points merge)",
                              num(sigma_min), num(kResolvableSpacing), num(res->min_spacing));
      v.condition = fmt::format("data with nearest-neighbour spacing >= {} sigma_min = {} and RMS spread about the mean "
                                "<= {} sigma_max = {}",
                                num(kResolvableSpacing), num(res->min_spacing), num(kForgetFraction),
                                num(res->max_spread));
    }
    return v;
  }
  return {Verdict::no,
          fmt::format("the kernel does not concentrate in N = {}: its median radius at sigma_min = {} is {} (> {} sigma_min "
                      "sqrt(N) = {}), so the flow cannot reach the data",
                      n, num(sigma_min), num(median), num(kConcentrationFactor), num(limit)),
          ""};
}

std::optional<ResolutionLimit> resolution_limit(const GenerativeProcess& process, double sigma_min, double sigma_max) {
  if (!process.sigma_min_is_floor()) return std::nullopt;
  // Below the floor the flow resolves nothing finer: a smaller sigma_min does not lower the limit.
  return ResolutionLimit{kResolvableSpacing * std::max(sigma_min, process.sigma_min()),
                         kForgetFraction * (sigma_max > 0.0 ? sigma_max : process.sigma_max())};
}

double nearest_neighbour_spacing(const Eigen::MatrixXd& data) {
  double best = std::numeric_limits<double>::infinity();
  if (data.cols() == 1) {  // sorted: O(n log n)
    std::vector<double> x(data.data(), data.data() + data.rows());
    std::sort(x.begin(), x.end());
    for (std::size_t i = 1; i < x.size(); ++i)
      if (x[i] > x[i - 1]) best = std::min(best, x[i] - x[i - 1]);
    return best;
  }
  for (Eigen::Index i = 1; i < data.rows(); ++i)
    for (Eigen::Index j = 0; j < i; ++j) {
      const double d = (data.row(i) - data.row(j)).norm();
      if (d > 0.0) best = std::min(best, d);
    }
  return best;
}

double rms_spread(const Eigen::MatrixXd& data) {
  if (data.rows() == 0) return 0.0;
  const Eigen::RowVectorXd mean = data.colwise().mean();
  return std::sqrt((data.rowwise() - mean).rowwise().squaredNorm().mean());
}

void check_data_resolution(const GenerativeProcess& process, const Eigen::MatrixXd& data, double sigma_min,
                           double sigma_max) {
  const auto res = resolution_limit(process, sigma_min, sigma_max);
  if (!res) return;
  const double spacing = nearest_neighbour_spacing(data), spread = rms_spread(data);
  if (spacing < res->min_spacing)
    throw InputError(fmt::format(
        "the data's nearest-neighbour spacing {} is finer than the smallest resolvable scale {} sigma_min = {} (the "
        "flow ends at sigma_min = {}; closer points merge into one basin): rescale the data",
        num(spacing), num(kResolvableSpacing), num(res->min_spacing), num(res->min_spacing / kResolvableSpacing)));
  if (spread > res->max_spread)
    throw InputError(fmt::format("the data's RMS spread about its mean {} exceeds {} sigma_max = {} (the prior at "
                                 "sigma_max = {} has not forgotten it and misweights the points): rescale the data "
                                 "or raise sigma_max",
                                 num(spread), num(kForgetFraction), num(res->max_spread),
                                 num(res->max_spread / kForgetFraction)));
}

std::string to_json(const CheckResult& r) {
  nlohmann::ordered_json j;
  j["pde"] = r.pde;
  j["equation"] = r.equation;
  j["params"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : r.params) j["params"][k] = v;
  j["dim"] = r.dim;
  j["c1"] = {{"verdict", to_string(r.c1.verdict)}, {"reason", r.c1.reason}, {"condition", r.c1.condition}};
  j["c2"] = {{"verdict", to_string(r.c2.verdict)}, {"reason", r.c2.reason}, {"condition", r.c2.condition}};
  j["kernel"] = {{"verdict", to_string(r.kernel.verdict)}, {"reason", r.kernel.reason}};
  j["subordination"] = {{"verdict", to_string(r.subordination.verdict)}, {"reason", r.subordination.reason}};
  j["verdict"] = to_string(r.verdict);
  j["condition"] = r.condition;
  return j.dump();
}

double min_relative_kernel_1d(const PdeModule& module, double x_max) {
  // Ooura's double-exponential rule handles the slowly decaying, cusped integrands of
  // exp(-k^(2 beta)) for small beta as well as the smooth ones.
  boost::math::quadrature::ooura_fourier_cos<double> integrator;
  auto ghat = [&](double k) { return module.green_hat(k, 1.0).real(); };
  double peak = 0.0, worst = 0.0;
  for (int i = 1; i <= 400; ++i) {
    const double x = x_max * i / 400.0;
    const double p = integrator.integrate(ghat, x).first / M_PI;
    peak = std::max(peak, p);
    worst = std::min(worst, p);
  }
  // The peak of a radial kernel that is positive near 0 sits at x -> 0.
  const double p0 = integrator.integrate(ghat, 1e-3).first / M_PI;
  peak = std::max(peak, p0);
  return peak > 0 ? worst / peak : -1.0;
}

ConditionVerdict c1_from_green_hat(const PdeModule& module, const std::string& positive_reason) {
  const double rel = min_relative_kernel_1d(module);
  // Quadrature error is ~1e-10 of the peak; a lobe must clear that by a wide margin.
  if (rel < -1e-7)
    return {Verdict::no,
            fmt::format("p = {} has negative lobes: min p/max p = {} for the 1D marginal of G-hat at t = 1 "
                        "(a marginal of the N-dim kernel, so p < 0 in every N)",
                        module.density_flow_form().p, num(rel)),
            ""};
  return {Verdict::yes, fmt::format("p >= 0: 1D marginal min p/max p = {} (measured); {}", num(rel), positive_reason),
          ""};
}

}  // namespace genphys
