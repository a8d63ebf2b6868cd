#include "genphys/density_flow.hpp"

#include <fmt/format.h>

#include <boost/math/quadrature/gauss.hpp>
#include <boost/math/special_functions/bessel.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <algorithm>
#include <cmath>
#include <limits>

#include "genphys/special.hpp"

namespace genphys {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// J_nu(x) / x^nu, finite at x = 0 (nu >= -1/2).
double normalized_j(double nu, double x) {
  if (nu == -0.5) return std::sqrt(2.0 / kPi) * std::cos(x);
  if (nu == 0.5) {
    if (x < 1e-4) return std::sqrt(2.0 / kPi) * (1.0 - x * x / 6.0);
    return std::sqrt(2.0 / kPi) * std::sin(x) / x;
  }
  if (x < 1e-3) {
    // Three terms of the power series; the next is below 1e-18 relative here.
    const double q = 0.25 * x * x;
    const double c0 = std::exp(-nu * std::log(2.0) - std::lgamma(nu + 1.0));
    return c0 * (1.0 - q / (nu + 1.0) + q * q / (2.0 * (nu + 1.0) * (nu + 2.0)));
  }
  return boost::math::cyl_bessel_j(nu, x) / std::pow(x, nu);
}

// 1 / Gamma(x) as a SignedLog (zero at the poles).
SignedLog reciprocal_gamma(double x) {
  if (x <= 0.0 && std::floor(x) == x) return {};
  int sign = 1;
  const double lg = boost::math::lgamma(x, &sign);
  return {-lg, sign};
}

// I_(-mu)(z) for mu >= 0 an integer or half-integer, z > 0:
// I_(-mu) = I_mu + (2/pi) sin(mu pi) K_mu; the K part dominates (and flips sign) at small z.
SignedLog bessel_i_negative_order(double mu, double z) {
  const SignedLog i{special::log_bessel_i(mu, z), 1};
  if (std::floor(mu) == mu) return i;
  const double s = std::sin(mu * kPi);
  return i + SignedLog{std::log(2.0 / kPi) + special::log_bessel_k(mu, z), s > 0 ? 1 : -1};
}

SignedLog scaled(SignedLog a, double log_factor) {
  if (a.sign == 0) return a;
  return {a.log_abs + log_factor, a.sign};
}

}  // namespace

void check_green_arguments(double r, double t, int dim) {
  if (dim < 1) throw InputError("dimension must be >= 1, got " + std::to_string(dim));
  if (!(t > 0.0) || !std::isfinite(t)) throw InputError(fmt::format("t must be a positive number, got {}", t));
  if (!(r >= 0.0) || !std::isfinite(r)) throw InputError(fmt::format("r must be a number >= 0, got {}", r));
}

void require_radial_transform_dim(const std::string& module, int dim) {
  if (dim > kMaxRadialTransformDim)
    throw NotSupported(fmt::format(
        "PDE '{}' has no closed-form Green's function; its radial inverse Fourier transform is used only "
        "for N <= {} (in N = {} the kernel's tails cancel below double precision)",
        module, kMaxRadialTransformDim, dim));
}

double radial_inverse_fourier(const std::function<double(double)>& fhat, double r, int dim,
                              const std::vector<double>& breaks) {
  if (dim < 1 || dim > kMaxRadialTransformDim + 2)
    throw NotSupported(fmt::format("radial inverse Fourier transform supports N in [1, {}], got {}",
                                   kMaxRadialTransformDim + 2, dim));
  // Where the integrand matters: its size per unit log k, k^N |fhat(k)|, on a log grid.
  constexpr int kGrid = 161;  // 1e-8 .. 1e8, 10 per decade
  auto grid_k = [](int i) { return std::pow(10.0, -8.0 + i / 10.0); };
  std::vector<double> e(kGrid);
  double emax = 0.0;
  for (int i = 0; i < kGrid; ++i) {
    const double k = grid_k(i);
    e[i] = std::pow(k, dim) * std::fabs(fhat(k));
    if (!std::isfinite(e[i])) throw NotSupported("radial inverse Fourier transform: f-hat is not finite");
    emax = std::max(emax, e[i]);
  }
  if (emax == 0.0) return 0.0;
  const double threshold = 1e-17 * emax;
  int first = -1, last = -1;
  for (int i = 0; i < kGrid; ++i)
    if (e[i] >= threshold) {
      if (first < 0) first = i;
      last = i;
    }
  if (last == kGrid - 1)
    throw NotSupported("radial inverse Fourier transform: f-hat does not decay by k = 1e8");
  const double k_max = grid_k(last + 1);
  const double k_lo = first > 0 ? grid_k(first - 1) : 1e-10;
  // Half a period of J(k r), and fine enough for f-hat's own structure.
  const double h = std::min(r > 0 ? kPi / r : k_max, k_max / 64.0);
  if (k_max / h > 4e5)
    throw NotSupported(fmt::format("radial inverse Fourier transform at r = {}: f-hat decays too slowly "
                                   "(needs k up to {:.3g})",
                                   r, k_max));

  const double nu = 0.5 * dim - 1.0;
  auto integrand = [&](double k) {
    return std::pow(k, dim - 1) * normalized_j(nu, k * r) * fhat(k);
  };
  std::vector<double> edges{0.0, k_lo};
  double a = k_lo;
  while (a < h && a < k_max) edges.push_back(a = std::min({2.0 * a, h, k_max}));  // geometric towards 0
  while (a < k_max) edges.push_back(a = std::min(a + h, k_max));
  for (double b : breaks) {
    if (!(b > 0 && b < k_max)) continue;
    edges.push_back(b);
    for (int j = 1; j <= 45; ++j) {  // 2^-45 h: a square-root kink's last panel is below rounding
      const double d = h * std::ldexp(1.0, -j);
      if (b - d > 0) edges.push_back(b - d);
      edges.push_back(b + d);
    }
  }
  std::sort(edges.begin(), edges.end());
  using GL = boost::math::quadrature::gauss<double, 20>;
  double sum = 0.0;
  for (std::size_t i = 0; i + 1 < edges.size(); ++i)
    if (edges[i + 1] > edges[i] && edges[i] < k_max) sum += GL::integrate(integrand, edges[i], edges[i + 1]);
  return std::pow(2.0 * kPi, -0.5 * dim) * sum;
}

SignedLog fourier_green(const FourierFlow& flow, double r, int dim) {
  return SignedLog::from(radial_inverse_fourier(flow.phi_hat, r, dim));
}

PdeModule::PointFlow fourier_point_flow(const FourierFlow& flow, double r, int dim) {
  PdeModule::PointFlow out;
  out.p = SignedLog::from(radial_inverse_fourier(flow.p_hat, r, dim));
  if (r > 0) out.flux = SignedLog::from(-2.0 * kPi * r * radial_inverse_fourier(flow.dpdt_over_k2, r, dim + 2));
  return out;
}

double telegraph_p_hat(double eps, double k, double t) {
  if (k < eps) {
    const double s = std::sqrt((eps - k) * (eps + k));
    // e^(-eps t)[cosh(s t) + (eps/s) sinh(s t)] without overflow: exponents (s - eps) t <= 0.
    const double grow = std::exp((s - eps) * t), decay = std::exp(-(s + eps) * t);
    const double sinh_over_s = s * t > 1e-8 ? 0.5 * (grow - decay) / s : t * std::exp(-eps * t);
    return 0.5 * (grow + decay) + eps * sinh_over_s;
  }
  const double w = std::sqrt((k - eps) * (k + eps));
  const double sin_over_w = w * t > 1e-8 ? std::sin(w * t) / w : t;
  return std::exp(-eps * t) * (std::cos(w * t) + eps * sin_over_w);
}

TelegraphValue telegraph_interior(double eps, double r, double t, int dim) {
  check_green_arguments(r, t, dim);
  TelegraphValue out;
  if (r >= t) return out;
  const double nu = 0.5 * (dim - 1);
  const double tau = std::sqrt((t - r) * (t + r));
  const double log_a = -std::log(2.0) - nu * std::log(2.0 * kPi);
  SignedLog u, u_t;
  if (eps > 0) {
    const double z = eps * tau, le = std::log(eps), lz = std::log(z);
    u = scaled(bessel_i_negative_order(nu, z), log_a + 2 * nu * le - nu * lz);
    u_t = scaled(bessel_i_negative_order(nu + 1, z), log_a + (2 * nu + 2) * le + std::log(t) - (nu + 1) * lz);
  } else {
    // eps -> 0: z^(-mu) I_(-mu)(z) -> (z/2)^(-2 mu) / Gamma(1 - mu) (zero inside for odd N >= 3).
    const double lt = std::log(tau);
    u = scaled(reciprocal_gamma(1.0 - nu), log_a + nu * std::log(2.0) - 2 * nu * lt);
    u_t = scaled(reciprocal_gamma(-nu), log_a + (nu + 1) * std::log(2.0) + std::log(t) - (2 * nu + 2) * lt);
  }
  const double damp = -eps * t;
  out.u = scaled(u, damp);
  const SignedLog eps_u = eps > 0 ? scaled(u, std::log(eps)) : SignedLog{};
  out.flow.p = scaled(u_t + eps_u, damp);
  if (r > 0) out.flow.flux = scaled(u_t, damp + std::log(r / t));
  return out;
}

DensitySignScan scan_density_sign(const PdeModule& module, int dim, double lo, double hi, int per_decade) {
  DensitySignScan out;
  out.lo = lo;
  out.hi = hi;
  const int steps = static_cast<int>(std::lround(std::log10(hi / lo) * per_decade));
  std::vector<double> grid;
  for (int i = 0; i <= steps; ++i) grid.push_back(lo * std::pow(hi / lo, static_cast<double>(i) / steps));
  std::vector<double> radii{0.0};
  radii.insert(radii.end(), grid.begin(), grid.end());
  out.min_log_p = std::numeric_limits<double>::infinity();
  out.max_log_p = -out.min_log_p;
  for (double t : grid)
    for (double r : radii) {
      const SignedLog p = module.point_flow(r, t, dim).p;
      ++out.points;
      if (p.sign < 0) {
        if (out.negative++ == 0) {
          out.r_negative = r;
          out.t_negative = t;
        }
      } else if (p.sign == 0) {
        ++out.zero;
      } else {
        out.min_log_p = std::min(out.min_log_p, p.log_abs);
        out.max_log_p = std::max(out.max_log_p, p.log_abs);
      }
    }
  return out;
}

DensityFlowValue density_flow(const PdeModule& module, const Eigen::MatrixXd& sources, const Eigen::VectorXd& x,
                              double t, const Eigen::VectorXd& weights) {
  const int n = static_cast<int>(sources.cols()), count = static_cast<int>(sources.rows());
  if (count < 1) throw InputError("density_flow needs at least one source");
  if (x.size() != n)
    throw InputError(fmt::format("density_flow: x has {} entries, the sources {} columns", x.size(), n));
  if (weights.size() != 0 && weights.size() != count)
    throw InputError(fmt::format("density_flow: {} weights for {} sources", weights.size(), count));
  DensityFlowValue out;
  out.flux.assign(n, SignedLog{});
  for (int i = 0; i < count; ++i) {
    const double w = weights.size() ? weights(i) : 1.0 / count;
    if (w == 0.0) continue;
    const SignedLog lw = SignedLog::from(w);
    const Eigen::VectorXd d = x - sources.row(i).transpose();
    const double r = d.norm();
    const PdeModule::PointFlow f = module.point_flow(r, t, n);
    out.p = out.p + lw * f.p;
    out.rate = out.rate + lw * f.rate;
    if (r > 0 && f.flux.sign != 0) {
      const SignedLog wf = lw * f.flux;
      for (int j = 0; j < n; ++j)
        if (d(j) != 0.0) out.flux[j] = out.flux[j] + wf * SignedLog::from(d(j) / r);
    }
  }
  auto ratio = [&](SignedLog a) {
    if (out.p.sign == 0) return kNaN;
    if (a.sign == 0) return 0.0;
    return a.sign * out.p.sign * std::exp(a.log_abs - out.p.log_abs);
  };
  out.v.resize(n);
  for (int j = 0; j < n; ++j) out.v(j) = ratio(out.flux[j]);
  out.rate_over_p = ratio(out.rate);
  return out;
}

ConditionVerdict c1_from_sign_scan(const PdeModule& module, int dim, const std::string& why_positive) {
  const DensitySignScan s = scan_density_sign(module, dim);
  if (s.negative > 0)
    return {Verdict::no,
            fmt::format("p < 0 measured at r = {:.4g}, t = {:.4g} ({} of {} grid points)", s.r_negative, s.t_negative,
                        s.negative, s.points),
            ""};
  return {Verdict::yes,
          fmt::format("{}; measured: p > 0 at all {} grid points r in {{0}} u [{:.0e}, {:.0e}], t in [{:.0e}, {:.0e}] in N = {}",
                      why_positive, s.points, s.lo, s.hi, s.lo, s.hi, dim),
          ""};
}

}  // namespace genphys
