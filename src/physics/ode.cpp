#include "genphys/ode.hpp"

#include <string>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys {

std::vector<double> edm_sigma_schedule(int n, double sigma_min, double sigma_max, double rho) {
  if (n < 1) throw InputError("schedule needs at least 1 level, got " + std::to_string(n));
  if (!(sigma_min > 0) || !(sigma_max >= sigma_min))
    throw InputError("schedule needs 0 < sigma_min <= sigma_max");
  std::vector<double> sigmas;
  sigmas.reserve(n + 1);
  const double a = std::pow(sigma_max, 1.0 / rho), b = std::pow(sigma_min, 1.0 / rho);
  for (int i = 0; i < n; ++i) {
    const double frac = n == 1 ? 0.0 : static_cast<double>(i) / (n - 1);
    sigmas.push_back(std::pow(a + frac * (b - a), rho));
  }
  sigmas.push_back(0.0);
  return sigmas;
}

void check_rho(double rho) {
  if (!(rho >= kMinRho && rho <= kMaxRho))
    throw OptionError("rho", fmt::format("must be in [{:g}, {:g}] (EDM: 7), got {}", kMinRho, kMaxRho, rho));
}

int heun_steps_for_nfe(int nfe) {
  if (nfe < 1 || nfe % 2 == 0)
    throw InputError("Heun needs an odd NFE >= 1 (NFE = 2 steps - 1), got " + std::to_string(nfe));
  return (nfe + 1) / 2;
}

Solver parse_solver(const std::string& name) {
  for (const Solver s : {Solver::euler, Solver::heun, Solver::rk45, Solver::dpmpp_2m})
    if (to_string(s) == name) return s;
  throw OptionError("solver", "'" + name + "' is unknown (valid: euler, heun, rk45, dpmpp-2m)");
}

std::string to_string(Solver s) {
  switch (s) {
    case Solver::euler: return "euler";
    case Solver::heun: return "heun";
    case Solver::rk45: return "rk45";
    case Solver::dpmpp_2m: return "dpmpp-2m";
  }
  return "?";
}

void check_solver(Solver solver, int nfe, double rtol, double atol) {
  switch (solver) {
    case Solver::heun:
      if (nfe < 1 || nfe % 2 == 0)
        throw OptionError("nfe", fmt::format("must be odd and >= 1 for heun (NFE = 2 steps - 1), got {}", nfe));
      return;
    case Solver::euler:
    case Solver::dpmpp_2m:
      if (nfe < 1)
        throw OptionError("nfe", fmt::format("must be >= 1 for {} (NFE = steps), got {}", to_string(solver), nfe));
      return;
    case Solver::rk45:
      if (!(rtol > 0)) throw OptionError("rtol", fmt::format("must be > 0 for rk45, got {}", rtol));
      if (!(atol > 0)) throw OptionError("atol", fmt::format("must be > 0 for rk45, got {}", atol));
      return;
  }
}

int solver_levels(Solver solver, int nfe) { return solver == Solver::heun ? heun_steps_for_nfe(nfe) : nfe; }

}  // namespace genphys
