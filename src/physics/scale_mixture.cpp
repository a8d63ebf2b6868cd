#include "physics/scale_mixture.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include <boost/math/tools/minima.hpp>

#include "genphys/errors.hpp"
#include "genphys/radial_kernel.hpp"
#include "genphys/special.hpp"
#include "physics/kernel_common.hpp"
#include "physics/kernel_quadrature.hpp"

namespace genphys {

using detail::check_kernel_time;
using detail::kLog2Pi;
using detail::kLogPi;

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- quadrature ---------------------------------------------------------------------------

double integrate(const std::function<double(double)>& g, double a, double b, double abs_tol = 0.0) {
  return detail::adaptive_integrate(g, a, b, 1e-12, abs_tol);
}

// Where a unimodal L has dropped by `drop` below its maximum Lmax at um, stepping from um in
// direction dir with steps that grow from s.
double window_edge(const std::function<double(double)>& L, double um, double Lmax, double s, int dir,
                   double drop) {
  double d = s;
  for (int i = 0; i < 200; ++i) {
    if (!(L(um + dir * d) > Lmax - drop)) break;
    d *= 1.6;
  }
  return um + dir * d;
}

// log of the integral over the real line of exp(L(u)), L unimodal (log-concave in practice),
// starting the search for its maximum at u0 with step h0.
double log_integral_unimodal(const std::function<double(double)>& L, double u0, double h0) {
  // Climb to a bracket of the maximum.
  double lo = u0 - h0, hi = u0 + h0;
  const double f0 = L(u0), fl = L(lo), fr = L(hi);
  if (!(f0 >= fl && f0 >= fr)) {
    const int dir = fr > fl ? 1 : -1;
    double prev = u0, cur = u0 + dir * h0, fcur = dir > 0 ? fr : fl, step = h0;
    for (int i = 0; i < 200; ++i) {
      step *= 2.0;
      const double next = cur + dir * step;
      const double fnext = L(next);
      if (!(fnext > fcur)) {
        lo = std::min(prev, next);
        hi = std::max(prev, next);
        break;
      }
      prev = cur;
      cur = next;
      fcur = fnext;
    }
  }
  auto neg = [&](double u) {
    const double v = L(u);
    return std::isnan(v) ? kInf : -v;
  };
  const auto best = boost::math::tools::brent_find_minima(neg, lo, hi, 40);
  const double um = best.first, Lmax = -best.second;
  if (!std::isfinite(Lmax)) return Lmax;
  // Curvature sets the first step of the window search.
  const double du = 1e-3 * h0;
  const double curv = (L(um + du) - 2.0 * Lmax + L(um - du)) / (du * du);
  double s = curv < 0.0 ? 1.0 / std::sqrt(-curv) : h0;
  s = std::clamp(s, 1e-8, 10.0);
  const double a = window_edge(L, um, Lmax, s, -1, 60.0);
  const double b = window_edge(L, um, Lmax, s, +1, 60.0);
  auto g = [&](double u) { return std::exp(L(u) - Lmax); };
  return Lmax + std::log(integrate(g, a, um) + integrate(g, um, b));
}

// log erfc(z), also far in the tail where erfc underflows.
double log_erfc(double z) {
  if (z < 25.0) return std::log(std::erfc(z));
  const double iz2 = 1.0 / (2.0 * z * z);
  // Asymptotic series 1 - 1/(2z^2) + 3/(2z^2)^2 - 15/(2z^2)^3 + ...
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 6; ++k) {
    term *= -(2.0 * k - 1.0) * iz2;
    sum += term;
  }
  return -z * z - std::log(z) - 0.5 * kLogPi + std::log(sum);
}

// Mills' ratio Phi(-z)/phi(z) for z >= 0: erfc form below 25, the asymptotic series beyond
// (error below 1e-15 there).
double mills_ratio(double z) {
  if (z < 25.0) return std::sqrt(0.5 * kPi) * std::exp(0.5 * z * z) * std::erfc(z / std::sqrt(2.0));
  const double iz2 = 1.0 / (z * z);
  double term = 1.0, sum = 1.0;
  for (int k = 1; k <= 6; ++k) {
    term *= -(2.0 * k - 1.0) * iz2;
    sum += term;
  }
  return sum / z;
}

}  // namespace

// ---- Gaussian scale mixtures -----------------------------------------------------------------

GaussianScaleMixture::GaussianScaleMixture(int dim)
    : n_(dim), half_n_(0.5 * dim), lgamma_half_n_(std::lgamma(0.5 * dim)) {
  // Window in v = log(chi2_N / 2) outside which the Gamma(N/2) weight is below e^-60 of its peak.
  auto lw = [this](double v) { return log_gamma_weight(v); };
  v_mode_ = std::log(0.5 * n_);
  const double peak = lw(v_mode_);
  const double s = 1.0 / std::sqrt(0.5 * n_);
  v_lo_ = window_edge(lw, v_mode_, peak, s, -1, 60.0);
  v_hi_ = window_edge(lw, v_mode_, peak, s, +1, 60.0);
}

void GaussianScaleMixture::sample_displacement(Rng& rng, double t, double* out) const {
  standard_normals(rng, out, static_cast<std::size_t>(n_));
  const double s = std::sqrt(sample_mixing(rng, t));
  for (int i = 0; i < n_; ++i) out[i] *= s;
}

double GaussianScaleMixture::sample_radius(Rng& rng, double t) const {
  const double a = sample_mixing(rng, t);
  return std::sqrt(2.0 * a * half_n_(rng));
}

double GaussianScaleMixture::log_kernel(double r, double t) const {
  check_kernel_time(t);
  const double r2 = r * r, hn = 0.5 * n_;
  auto L = [&](double u) {
    const double a = std::exp(u);
    const double gauss = r2 == 0.0 ? 0.0 : -0.5 * r2 * std::exp(-u);
    return log_mixing_pdf(a, t) + u - hn * (kLog2Pi + u) + gauss;
  };
  return log_integral_unimodal(L, std::log(typical_mixing(t)), 1.0);
}

double GaussianScaleMixture::mixture_radial_speed(double r, double t) const {
  check_kernel_time(t);
  if (!(r > 0.0)) return 0.0;
  const double r2 = r * r, hn = 0.5 * n_;
  auto L = [&](double u) {
    const double a = std::exp(u);
    return log_mixing_pdf(a, t) + u - hn * (kLog2Pi + u) - 0.5 * r2 * std::exp(-u);
  };
  auto L_speed = [&](double u) {
    const double a = std::exp(u);
    return L(u) + std::log(mixing_speed(a, t) / a);
  };
  const double u0 = std::log(std::max(typical_mixing(t), r2 / n_));
  return 0.5 * r * std::exp(log_integral_unimodal(L_speed, u0, 1.0) - log_integral_unimodal(L, u0, 1.0));
}

double GaussianScaleMixture::radial_cdf(double r, double t) const {
  check_kernel_time(t);
  if (!(r > 0.0)) return 0.0;
  if (std::isinf(r)) return 1.0;
  const double log_half_r2 = 2.0 * std::log(r) - std::log(2.0);
  auto g = [&](double v) { return std::exp(log_gamma_weight(v)) * mixing_cdf(std::exp(log_half_r2 - v), t); };
  // Break at the Gamma peak and where the mixing CDF switches over.
  double cuts[4] = {v_lo_, v_mode_, log_half_r2 - std::log(typical_mixing(t)), v_hi_};
  cuts[2] = std::clamp(cuts[2], v_lo_, v_hi_);
  std::sort(cuts, cuts + 4);
  double sum = 0.0;
  for (int i = 0; i < 3; ++i) sum += integrate(g, cuts[i], cuts[i + 1], 1e-15);
  return std::clamp(sum, 0.0, 1.0);
}

double GaussianScaleMixture::mixing_speed(double, double) const {
  throw NotSupported("this mixture has no quantile speed for its mixing variable");
}

double GaussianScaleMixture::heavy_tail_sigma_min() const {
  if (!heavy_tailed()) return GenerativeProcess::sigma_min();
  std::call_once(sigma_min_once_, [this] { sigma_min_ = tail_matched_sigma_min(*this); });
  return sigma_min_;
}

// ---- inverse-Gaussian mixtures -----------------------------------------------------------------

InverseGaussianMixture::InverseGaussianMixture(int dim, double c_mu, double c_lambda)
    : GaussianScaleMixture(dim), c_mu_(c_mu), c_lambda_(c_lambda), alpha_(std::sqrt(c_lambda)),
      gamma_(std::sqrt(c_lambda) / c_mu) {}

double InverseGaussianMixture::velocity_scale(double) const {
  throw NotSupported(
      "the inverse-Gaussian kernel (screened Poisson, mixed diffusion-Poisson) is not self-similar in t, so the "
      "velocity is not affine in E[y|x,t]; train on a velocity target (source_radial_speed)");
}

double InverseGaussianMixture::step_variable(double t) const { return alpha_ * t / std::sqrt(1.0 + alpha_ * gamma_ * t); }

double InverseGaussianMixture::step_time(double lambda) const {
  const double g = lambda * gamma_;
  return lambda * (g + std::sqrt(g * g + 4.0)) / (2.0 * alpha_);
}

double InverseGaussianMixture::step_rate(double t) const {
  const double c = alpha_ * gamma_ * t;
  return alpha_ * (1.0 + 0.5 * c) / std::pow(1.0 + c, 1.5);
}

// Closed form of the mixture integral: with a = lam/(2 mu^2), b = (lam + r^2)/2 and
// int A^(p-1) e^(-aA - b/A) dA = 2 (b/a)^(p/2) K_p(2 sqrt(ab)), p = -(N+1)/2. For Yukawa the
// Bessel argument is m rho and the prefactor e^(lam/mu) = e^(m t) undoes the decaying mass.
// ~100 ns per call (the quadrature it replaces took ~15 us and stalled at m t ~ 1e4).
double InverseGaussianMixture::log_kernel(double r, double t) const {
  check_kernel_time(t);
  const double mu = mean(t), lam = shape(t), p = -0.5 * (n_ + 1);
  const double a = lam / (2.0 * mu * mu), b = 0.5 * (lam + r * r);
  const double z = std::sqrt(lam * (lam + r * r)) / mu;
  return 0.5 * (std::log(lam) - kLog2Pi) + lam / mu - 0.5 * n_ * kLog2Pi + std::log(2.0) +
         0.5 * p * std::log(b / a) + special::log_bessel_k(-p, z);
}

double InverseGaussianMixture::log_mixing_pdf(double a, double t) const {
  if (!(a > 0.0)) return -kInf;
  const double mu = mean(t), lam = shape(t), d = a - mu;
  return 0.5 * (std::log(lam) - kLog2Pi) - 1.5 * std::log(a) - lam * d * d / (2.0 * mu * mu * a);
}

// Phi(z1) + exp(2 lam/mu) Phi(-z2), z1,2 = sqrt(lam/a)(a/mu -+ 1), the second term assembled in
// logs (exp(2 lam/mu) alone overflows for large t).
double InverseGaussianMixture::mixing_cdf(double a, double t) const {
  if (!(a > 0.0)) return 0.0;
  if (std::isinf(a)) return 1.0;
  const double mu = mean(t), lam = shape(t), sq = std::sqrt(lam / a);
  const double z1 = sq * (a / mu - 1.0), z2 = sq * (a / mu + 1.0);
  const double t1 = 0.5 * std::erfc(-z1 / std::sqrt(2.0));
  const double t2 = std::exp(2.0 * lam / mu - std::log(2.0) + log_erfc(z2 / std::sqrt(2.0)));
  return std::min(1.0, t1 + t2);
}

// With sqrt(lam) = alpha t, sqrt(lam)/mu = gamma: z1 = gamma sqrt(A) - alpha t/sqrt(A),
// z2 = gamma sqrt(A) + alpha t/sqrt(A), and e^(2 lam/mu) phi(z2) = phi(z1), so
//   d/dt P(A_t <= A) = -(2 alpha/sqrt(A)) phi(z1) + 2 alpha gamma e^(2 lam/mu) Phi(-z2),
//   p_A(A) = alpha t A^(-3/2) phi(z1),
//   dA/dt = (2A/t) (1 - gamma sqrt(A) M(z2)),  M(z) = Phi(-z)/phi(z) (Mills' ratio).
// gamma -> 0 (m -> 0) gives the Poisson kernel's 2A/t.
double InverseGaussianMixture::mixing_speed(double a, double t) const {
  const double sa = std::sqrt(a), z2 = gamma_ * sa + alpha_ * t / sa;
  return 2.0 * a / t * (1.0 - gamma_ * sa * mills_ratio(z2));
}

// Mode of the density of log A.
double InverseGaussianMixture::typical_mixing(double t) const {
  const double mu = mean(t), lam = shape(t);
  return 2.0 * lam / (1.0 + std::sqrt(1.0 + 4.0 * (lam / mu) * (lam / mu)));
}

}  // namespace genphys
