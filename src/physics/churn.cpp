#include "genphys/churn.hpp"

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys {

namespace {
// Tags the churn streams apart from the prior's sample_rng(seed, index).
constexpr std::uint64_t kChurnStreamTag = 0x636875726e2d6e6fULL;
}  // namespace

void check_churn(const Churn& c, Solver solver) {
  if (!(c.s_churn >= 0.0) || !std::isfinite(c.s_churn))
    throw OptionError("churn", fmt::format("must be finite and >= 0, got {}", c.s_churn));
  if (!(c.s_tmin >= 0.0) || !std::isfinite(c.s_tmin))
    throw OptionError("s_tmin", fmt::format("must be finite and >= 0, got {}", c.s_tmin));
  if (!(c.s_tmax > c.s_tmin))
    throw OptionError("s_tmax", fmt::format("must be above --s-tmin ({}), got {}", c.s_tmin, c.s_tmax));
  if (!(c.s_noise > 0.0) || !std::isfinite(c.s_noise))
    throw OptionError("s_noise", fmt::format("must be finite and > 0, got {}", c.s_noise));
  if (c.active() && solver != Solver::heun)
    throw InputError(fmt::format("--churn is EDM's stochastic Heun sampler; it needs --solver heun, not {}",
                                 to_string(solver)));
}

void require_sampler_fits(const GenerativeProcess& process, Solver solver, const Churn& churn) {
  if (solver == Solver::dpmpp_2m && !process.affine_velocity())
    throw InputError("dpmpp-2m needs a denoiser (affine) module; this module's flow is a velocity field (use heun, "
                     "euler or rk45)");
  if (churn.active()) require_churn_support(process, "");
}

void require_churn_support(const GenerativeProcess& process, const std::string& module) {
  const std::string name = module.empty() ? "this module" : "PDE '" + module + "'";
  if (!process.affine_velocity())
    throw InputError(fmt::format("--churn is EDM's stochastic sampler for denoiser (affine) modules; {} is a velocity "
                                 "flow",
                                 name));
  if (process.has_birth_death())
    throw InputError(fmt::format("--churn cannot re-noise {}: its flow has R != 0, so its marginals are not the data "
                                 "convolved with a kernel",
                                 name));
  if (!process.kernel_semigroup())
    throw InputError(fmt::format("--churn cannot keep the marginals of {}: its kernels are no convolution semigroup "
                                 "(PFGM++ with D > 1: a Student t), so no increment takes q_t to q_t'",
                                 name));
}

std::vector<double> churn_gammas(const Churn& c, const std::vector<double>& sigmas) {
  const std::size_t steps = sigmas.empty() ? 0 : sigmas.size() - 1;
  std::vector<double> gammas(steps, 0.0);
  if (!c.active()) return gammas;
  const double gamma = std::min(c.s_churn / static_cast<double>(steps), std::sqrt(2.0) - 1.0);
  for (std::size_t i = 0; i < steps; ++i)
    if (sigmas[i] >= c.s_tmin && sigmas[i] <= c.s_tmax) gammas[i] = gamma;
  return gammas;
}

Rng churn_rng(std::uint64_t seed, std::uint64_t index) { return sample_rng(seed ^ kChurnStreamTag, index); }

void sample_churn_increment(const GenerativeProcess& process, Rng& rng, double t, double t_hat, double s_noise,
                            double* out) {
  process.sample_displacement(rng, t_hat - t, out);
  for (int i = 0; i < process.dim(); ++i) out[i] *= s_noise;
}

}  // namespace genphys
