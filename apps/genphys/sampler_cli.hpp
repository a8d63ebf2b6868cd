#pragma once
// The schedule and stochastic-sampler options every sampling command shares (sample, with or
// without --exact; eval, compare, robustness): --rho and EDM's churn.

#include <CLI/CLI.hpp>

#include <limits>

#include <string>

#include "genphys/churn.hpp"
#include "genphys/ode.hpp"

namespace genphys::cli {

/// --bf16 (sample, eval, compare, robustness).
inline constexpr const char* kBf16Help =
    "the network in bfloat16 (CPU autocast: convolutions, linears, matrix products; about 1.4x faster where the "
    "CPU has bfloat16 instructions, refused where it has not); the sampler's state stays float64";

struct StochasticCliOptions {
  double rho = 7.0;
  Churn churn{};
};

inline void add_stochastic_options(CLI::App& app, StochasticCliOptions& o) {
  app.add_option("--rho", o.rho, "EDM's schedule exponent (more steps at low noise as it grows)")->capture_default_str();
  app.add_option("--churn", o.churn.s_churn,
                 "EDM's S_churn: stochastic Heun (0: the ODE); modules whose kernels form a semigroup")
      ->capture_default_str();
  app.add_option("--s-tmin", o.churn.s_tmin, "churn only where sigma >= this")->capture_default_str();
  app.add_option("--s-tmax", o.churn.s_tmax, "churn only where sigma <= this")->capture_default_str();
  app.add_option("--s-noise", o.churn.s_noise, "scale of the churn's added noise (EDM: 1.003-1.007)")
      ->capture_default_str();
}

/// Refuses a bad --rho or churn setting (or churn with a solver other than heun) before any work.
inline void check_stochastic_options(const StochasticCliOptions& o, const std::string& solver) {
  check_rho(o.rho);
  check_churn(o.churn, parse_solver(solver));
}

}  // namespace genphys::cli
