#include "genphys/kernels.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <mutex>
#include <string>

#include <boost/math/special_functions/bessel.hpp>
#include <boost/math/special_functions/beta.hpp>
#include <boost/math/special_functions/gamma.hpp>
#include <boost/math/tools/minima.hpp>

#include "genphys/errors.hpp"
#include "genphys/special.hpp"
#include "genphys/variates.hpp"
#include "physics/chebyshev.hpp"
#include "physics/kernel_quadrature.hpp"

namespace genphys {

namespace {

constexpr double kPi = 3.141592653589793238462643383279502884;
constexpr double kLogPi = 1.144729885849400174143427351353058712;
constexpr double kLog2 = 0.693147180559945309417232121458176568;
constexpr double kLog2Pi = 1.837877066409345483560659472811235280;
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

// ---- special functions --------------------------------------------------------------------

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

// log K_nu(z) by the uniform (Debye) expansion, terms up to u_4 (A&S 9.3.7-9.3.10); the error is
// O(nu^-5): ratios K_{nu+1}/K_nu come out within 1e-11 of the recurrence for nu >= 50.
double log_bessel_k_debye(double nu, double z) {
  const double x = z / nu;
  const double sq = std::hypot(1.0, x);
  const double p = 1.0 / sq, p2 = p * p;
  const double eta = sq + std::log(x / (1.0 + sq));
  const double u1 = p * (3.0 - 5.0 * p2) / 24.0;
  const double u2 = p2 * (81.0 + p2 * (-462.0 + p2 * 385.0)) / 1152.0;
  const double u3 = p2 * p * (30375.0 + p2 * (-369603.0 + p2 * (765765.0 - p2 * 425425.0))) / 414720.0;
  const double u4 =
      p2 * p2 *
      (4465125.0 + p2 * (-94121676.0 + p2 * (349922430.0 + p2 * (-446185740.0 + p2 * 185910725.0)))) /
      39813120.0;
  const double in = 1.0 / nu;
  const double series = 1.0 + in * (-u1 + in * (u2 + in * (-u3 + in * u4)));
  return 0.5 * std::log(kPi / (2.0 * nu)) - nu * eta - 0.5 * std::log(sq) + std::log(series);
}

// K_1(z) / K_0(z).
double bessel_k1_over_k0(double z) {
  if (z < 600.0) return boost::math::cyl_bessel_k(1, z) / boost::math::cyl_bessel_k(0, z);
  // Hankel's expansion: K_nu(z) ~ sqrt(pi/2z) e^-z sum_k prod_j (4 nu^2 - (2j-1)^2) / (k! (8z)^k).
  auto series = [z](double nu) {
    const double mu = 4.0 * nu * nu;
    double term = 1.0, sum = 1.0;
    for (int k = 1; k <= 8; ++k) {
      term *= (mu - (2.0 * k - 1.0) * (2.0 * k - 1.0)) / (k * 8.0 * z);
      sum += term;
    }
    return sum;
  };
  return series(1.0) / series(0.0);
}

// K_{nu+1}(z) / K_nu(z) for nu an integer or half-integer >= 0. Forward recurrence (stable for
// K) from nu = 0 or -1/2 for small orders; the uniform expansion for large ones, where the
// values themselves overflow double.
double bessel_k_ratio(double nu, double z) {
  if (nu >= 50.0) return std::exp(log_bessel_k_debye(nu + 1.0, z) - log_bessel_k_debye(nu, z));
  const bool half = std::fabs(nu - std::floor(nu) - 0.5) < 0.25;
  double mu = half ? -0.5 : 0.0;
  double r = half ? 1.0 : bessel_k1_over_k0(z);  // K_{1/2} = K_{-1/2}
  // r_mu = K_{mu+1}/K_mu; K_{mu+2} = K_mu + 2(mu+1)/z K_{mu+1}.
  while (mu < nu - 0.25) {
    r = 1.0 / r + 2.0 * (mu + 1.0) / z;
    mu += 1.0;
  }
  return r;
}

void check_time(double t) {
  if (!(t > 0.0) || !std::isfinite(t)) throw InputError("kernel time must be positive and finite, got " + std::to_string(t));
}

void check_dim(int dim) {
  if (dim < 1) throw InputError("data dimension must be >= 1, got " + std::to_string(dim));
}

// ---- Gaussian scale mixtures -----------------------------------------------------------------

class MixtureProcess : public GenerativeProcess {
 public:
  explicit MixtureProcess(int dim) : n_(dim), half_n_(0.5 * dim), lgamma_half_n_(std::lgamma(0.5 * dim)) {
    // Window in v = log(chi2_N / 2) outside which the Gamma(N/2) weight is below e^-60 of its peak.
    auto lw = [this](double v) { return log_gamma_weight(v); };
    v_mode_ = std::log(0.5 * n_);
    const double peak = lw(v_mode_);
    const double s = 1.0 / std::sqrt(0.5 * n_);
    v_lo_ = window_edge(lw, v_mode_, peak, s, -1, 60.0);
    v_hi_ = window_edge(lw, v_mode_, peak, s, +1, 60.0);
  }

  int dim() const override { return n_; }

  // Normals first, then the mixing variable: the same stream then gives the same direction and
  // chi-square for every mixture, so PFGM++ at large D and diffusion start from nearly the same
  // prior point for the same seed.
  void sample_displacement(Rng& rng, double t, double* out) const override {
    standard_normals(rng, out, static_cast<std::size_t>(n_));
    const double s = std::sqrt(sample_mixing(rng, t));
    for (int i = 0; i < n_; ++i) out[i] *= s;
  }

  double sample_radius(Rng& rng, double t) const override {
    const double a = sample_mixing(rng, t);
    return std::sqrt(2.0 * a * half_n_(rng));
  }

  // log q(r) = log int p_A(A) (2 pi A)^(-N/2) exp(-r^2 / 2A) dA, integrated in u = log A.
  double log_kernel(double r, double t) const override {
    check_time(t);
    const double r2 = r * r, hn = 0.5 * n_;
    auto L = [&](double u) {
      const double a = std::exp(u);
      const double gauss = r2 == 0.0 ? 0.0 : -0.5 * r2 * std::exp(-u);
      return log_mixing_pdf(a, t) + u - hn * (kLog2Pi + u) + gauss;
    };
    return log_integral_unimodal(L, std::log(typical_mixing(t)), 1.0);
  }

  // Each source moves its density radially, keeping every radial quantile: with A's own quantile
  // speed a'(A) = -(d/dt P(A_t <= A)) / p_A(A), the flux of the mixture is J = (x/2) int a'(A)/A
  // p_A(A) N(x; 0, A I) dA (the heat kernel has dN/dA = Lap N / 2), so
  //   dx/dt = (x/2) E[a'(A)/A | x]  (posterior over A given |x| = r),
  // a ratio of two one-dimensional integrals in u = log A, in any N. Self-similar mixtures
  // (A proportional to t^k) give a' = k A/t and the affine velocity x k/(2t).
  double mixture_radial_speed(double r, double t) const {
    check_time(t);
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

  // P(R <= r) = E[P(A <= r^2 / chi2_N)], averaged over chi2_N = 2 e^v, v in its window.
  double radial_cdf(double r, double t) const override {
    check_time(t);
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

 protected:
  /// A draw of the mixing variable A at time t.
  virtual double sample_mixing(Rng& rng, double t) const = 0;
  /// log density and CDF of A (used by the generic log_kernel and radial_cdf).
  virtual double log_mixing_pdf(double a, double t) const = 0;
  virtual double mixing_cdf(double a, double t) const = 0;
  /// A scale of A at time t, to start quadrature searches.
  virtual double typical_mixing(double t) const = 0;
  /// The quantile speed dA/dt = -(d/dt P(A_t <= a)) / p_A(a) of the mixing law at a.
  virtual double mixing_speed(double a, double t) const {
    throw NotSupported("this mixture has no quantile speed for its mixing variable");
  }

  double log_gamma_weight(double v) const { return 0.5 * n_ * v - std::exp(v) - lgamma_half_n_; }

  int n_;
  GammaVariate half_n_;  // chi2_N / 2
  double lgamma_half_n_;
  double v_lo_ = 0, v_mode_ = 0, v_hi_ = 0;
};

// ---- diffusion: A = 2t -----------------------------------------------------------------------

class DiffusionProcess final : public MixtureProcess {
 public:
  explicit DiffusionProcess(int dim) : MixtureProcess(dim) {}
  double sigma(double t) const override { return std::sqrt(2.0 * t); }
  double time(double s) const override { return 0.5 * s * s; }
  double velocity_scale(double t) const override { return 0.5 / t; }
  double step_rate(double t) const override { return 1.0 / std::sqrt(2.0 * t); }
  double sample_radius(Rng& rng, double t) const override { return 2.0 * std::sqrt(t * half_n_(rng)); }
  double log_kernel(double r, double t) const override {
    check_time(t);
    return -0.5 * n_ * (std::log(4.0 * kPi * t)) - r * r / (4.0 * t);
  }
  double radial_cdf(double r, double t) const override {
    check_time(t);
    const double x = r * r / (4.0 * t);
    if (!(x > 0.0)) return 0.0;
    return x < kInf ? boost::math::gamma_p(0.5 * n_, x) : 1.0;
  }

 protected:
  double sample_mixing(Rng&, double t) const override { return 2.0 * t; }
  double log_mixing_pdf(double, double) const override { throw std::logic_error("diffusion: A is deterministic"); }
  double mixing_cdf(double a, double t) const override { return a >= 2.0 * t ? 1.0 : 0.0; }
  double typical_mixing(double t) const override { return 2.0 * t; }
};

// ---- PFGM++: A ~ InvGamma(D/2, t^2/2), R = t sqrt(G_{N/2} / G_{D/2}) -------------------------

class PfgmppProcess final : public MixtureProcess {
 public:
  PfgmppProcess(int dim, double D)
      : MixtureProcess(dim), D_(D), half_d_(0.5 * D),
        log_norm_(std::lgamma(0.5 * (dim + D)) - std::lgamma(0.5 * D) - 0.5 * dim * kLogPi) {}
  double sigma(double t) const override { return t / std::sqrt(D_); }
  double time(double s) const override { return s * std::sqrt(D_); }
  double velocity_scale(double t) const override { return 1.0 / t; }
  double step_rate(double) const override { return 1.0 / std::sqrt(D_); }
  // The radial density falls as r^(-D-1): E[r^2] is infinite for D <= 2.
  bool heavy_tailed() const override { return D_ <= 2.0; }
  double sigma_min() const override {
    if (!heavy_tailed()) return GenerativeProcess::sigma_min();
    std::call_once(sigma_min_once_, [this] { sigma_min_ = tail_matched_sigma_min(*this); });
    return sigma_min_;
  }
  // Normalised 1/(r^2 + t^2)^((N+D)/2), written with log1p so that D = 1e6 keeps its digits.
  double log_kernel(double r, double t) const override {
    check_time(t);
    const double q = r / t;
    const double l = q < 1e150 ? std::log1p(q * q) : 2.0 * std::log(q);
    return log_norm_ - n_ * std::log(t) - 0.5 * (n_ + D_) * l;
  }
  // R^2 / (R^2 + t^2) ~ Beta(N/2, D/2); the complement argument when it is the more accurate.
  double radial_cdf(double r, double t) const override {
    check_time(t);
    if (!(r > 0.0)) return 0.0;
    if (std::isinf(r)) return 1.0;
    const double q = r / t, q2 = q * q;
    if (!(q2 < kInf)) return 1.0;
    const double x = q2 / (1.0 + q2), y = 1.0 / (1.0 + q2);
    return x < 0.5 ? boost::math::ibeta(0.5 * n_, 0.5 * D_, x) : boost::math::ibetac(0.5 * D_, 0.5 * n_, y);
  }

 protected:
  double sample_mixing(Rng& rng, double t) const override { return 0.5 * t * t / half_d_(rng); }
  double log_mixing_pdf(double a, double t) const override {
    if (!(a > 0.0)) return -kInf;
    const double al = 0.5 * D_, b = 0.5 * t * t;
    return al * std::log(b) - std::lgamma(al) - (al + 1.0) * std::log(a) - b / a;
  }
  double mixing_cdf(double a, double t) const override {
    if (!(a > 0.0)) return 0.0;
    return boost::math::gamma_q(0.5 * D_, 0.5 * t * t / a);
  }
  double typical_mixing(double t) const override { return t * t / D_; }

 private:
  double D_;
  GammaVariate half_d_;
  double log_norm_;
  mutable std::once_flag sigma_min_once_;
  mutable double sigma_min_ = 0.0;
};

// ---- inverse-Gaussian mixtures: A ~ IG(mean c_mu t, shape c_lambda t^2) ----------------------
// The normalised screened-Poisson (Yukawa, mass m) kernel: c_mu = 1/m, c_lambda = 1. The mixed
// diffusion-Poisson equation a phi_tt - b phi_t + Lap phi = 0: c_mu = 2/b, c_lambda = 1/a. The
// two are one flow: phi = e^(-m t) psi turns Yukawa into the mixed equation with a = 1, b = 2m,
// whose density conserves mass and whose kernel is Yukawa's kernel normalised. The law is not
// self-similar in t (Poisson-like, A ~ t^2, for t << c_mu/c_lambda; diffusion-like, A ~ t, beyond),
// so the velocity is not affine in E[y|x,t]: each source moves by radial quantile transport.

class InverseGaussianProcess final : public MixtureProcess {
 public:
  InverseGaussianProcess(int dim, double c_mu, double c_lambda)
      : MixtureProcess(dim), c_mu_(c_mu), c_lambda_(c_lambda), alpha_(std::sqrt(c_lambda)),
        gamma_(std::sqrt(c_lambda) / c_mu) {}
  // RMS displacement per dimension: sqrt(E[A]).
  double sigma(double t) const override { return std::sqrt(c_mu_ * t); }
  double time(double s) const override { return s * s / c_mu_; }

  bool affine_velocity() const override { return false; }
  double velocity_scale(double) const override {
    throw NotSupported(
        "the inverse-Gaussian kernel (screened Poisson, mixed diffusion-Poisson) is not self-similar in t, so the "
        "velocity is not affine in E[y|x,t]; train on a velocity target (source_radial_speed)");
  }
  double source_radial_speed(double r, double t) const override { return mixture_radial_speed(r, t); }

  // lambda = alpha t / sqrt(1 + alpha gamma t): the scale of sqrt(A) in both regimes (alpha t for
  // small t, sqrt(c_mu t) for large t), so that each source's radius is close to linear in it.
  double step_variable(double t) const override { return alpha_ * t / std::sqrt(1.0 + alpha_ * gamma_ * t); }
  double step_time(double lambda) const override {
    const double g = lambda * gamma_;
    return lambda * (g + std::sqrt(g * g + 4.0)) / (2.0 * alpha_);
  }
  double step_rate(double t) const override {
    const double c = alpha_ * gamma_ * t;
    return alpha_ * (1.0 + 0.5 * c) / std::pow(1.0 + c, 1.5);
  }

  // Closed form of the mixture integral: with a = lam/(2 mu^2), b = (lam + r^2)/2 and
  // int A^(p-1) e^(-aA - b/A) dA = 2 (b/a)^(p/2) K_p(2 sqrt(ab)), p = -(N+1)/2. For Yukawa the
  // Bessel argument is m rho and the prefactor e^(lam/mu) = e^(m t) undoes the decaying mass.
  // ~100 ns per call (the quadrature it replaces took ~15 us and stalled at m t ~ 1e4).
  double log_kernel(double r, double t) const override {
    check_time(t);
    const double mu = mean(t), lam = shape(t), p = -0.5 * (n_ + 1);
    const double a = lam / (2.0 * mu * mu), b = 0.5 * (lam + r * r);
    const double z = std::sqrt(lam * (lam + r * r)) / mu;
    return 0.5 * (std::log(lam) - kLog2Pi) + lam / mu - 0.5 * n_ * kLog2Pi + std::log(2.0) +
           0.5 * p * std::log(b / a) + special::log_bessel_k(-p, z);
  }

 protected:
  double mean(double t) const { return c_mu_ * t; }
  double shape(double t) const { return c_lambda_ * t * t; }
  double sample_mixing(Rng& rng, double t) const override { return inverse_gaussian_variate(rng, mean(t), shape(t)); }
  double log_mixing_pdf(double a, double t) const override {
    if (!(a > 0.0)) return -kInf;
    const double mu = mean(t), lam = shape(t), d = a - mu;
    return 0.5 * (std::log(lam) - kLog2Pi) - 1.5 * std::log(a) - lam * d * d / (2.0 * mu * mu * a);
  }
  // Phi(z1) + exp(2 lam/mu) Phi(-z2), z1,2 = sqrt(lam/a)(a/mu -+ 1), the second term assembled in
  // logs (exp(2 lam/mu) alone overflows for large t).
  double mixing_cdf(double a, double t) const override {
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
  double mixing_speed(double a, double t) const override {
    const double sa = std::sqrt(a), z2 = gamma_ * sa + alpha_ * t / sa;
    return 2.0 * a / t * (1.0 - gamma_ * sa * mills_ratio(z2));
  }
  // Mode of the density of log A.
  double typical_mixing(double t) const override {
    const double mu = mean(t), lam = shape(t);
    return 2.0 * lam / (1.0 + std::sqrt(1.0 + 4.0 * (lam / mu) * (lam / mu)));
  }

 private:
  // Mills' ratio Phi(-z)/phi(z) for z >= 0: erfc form below 25, the asymptotic series beyond
  // (error below 1e-15 there).
  static double mills_ratio(double z) {
    if (z < 25.0) return std::sqrt(0.5 * kPi) * std::exp(0.5 * z * z) * std::erfc(z / std::sqrt(2.0));
    const double iz2 = 1.0 / (z * z);
    double term = 1.0, sum = 1.0;
    for (int k = 1; k <= 6; ++k) {
      term *= -(2.0 * k - 1.0) * iz2;
      sum += term;
    }
    return sum / z;
  }

  double c_mu_, c_lambda_, alpha_, gamma_;
};

// The screened-Poisson kernel as first written: density -phi_t of Yukawa's own (unnormalised)
// flow, velocity (x - y)/t and mass removed at the rate R/p. Sampling its plain ODE ignores R and
// gets the data's weights wrong (an isolated point among clustered ones gets none of the samples;
// tests/physics/test_exact_shares.cpp measures it); kept as the measured alternative.
class UnnormalisedYukawaProcess final : public GenerativeProcess {
 public:
  UnnormalisedYukawaProcess(int dim, double m) : m_(m), kernel_(dim, 1.0 / m, 1.0) {}
  int dim() const override { return kernel_.dim(); }
  double sigma(double t) const override { return kernel_.sigma(t); }
  double time(double s) const override { return kernel_.time(s); }
  double velocity_scale(double t) const override { return 1.0 / t; }
  double step_variable(double t) const override { return t; }
  double step_time(double lambda) const override { return lambda; }
  double step_rate(double) const override { return 1.0; }
  double log_kernel(double r, double t) const override { return kernel_.log_kernel(r, t); }
  double radial_cdf(double r, double t) const override { return kernel_.radial_cdf(r, t); }
  void sample_displacement(Rng& rng, double t, double* out) const override { kernel_.sample_displacement(rng, t, out); }
  double sample_radius(Rng& rng, double t) const override { return kernel_.sample_radius(rng, t); }
  bool has_birth_death() const override { return true; }
  // R/p = -m^2 phi / (-phi_t) with phi = rho^-nu K_nu(m rho), nu = (N-1)/2, rho^2 = r^2 + t^2;
  // d/drho [rho^-nu K_nu(m rho)] = -m rho^-nu K_{nu+1}(m rho) gives
  // R/p = -(m rho / t) K_nu(m rho) / K_{nu+1}(m rho).
  double birth_death_ratio(double r, double t) const override {
    const double z = m_ * std::hypot(r, t);
    return -(z / t) / bessel_k_ratio(0.5 * (dim() - 1), z);
  }

 private:
  double m_;
  InverseGaussianProcess kernel_;
};

// ---- fractional diffusion: A = 2 t^(1/beta) S ------------------------------------------------

class StableProcess final : public MixtureProcess {
 public:
  // beta = 1/2 is the Poisson kernel, PFGM's (D = 1) at the same t: closed forms instead of
  // quadrature over the stable law (~5 ms per density).
  StableProcess(int dim, double beta)
      : MixtureProcess(dim), beta_(beta), poisson_(beta == 0.5 ? make_pfgmpp_process(dim, 1.0) : nullptr) {}
  // A scale: the mixture's variance is infinite for beta < 1, so there is no RMS to report.
  double sigma(double t) const override { return std::sqrt(2.0) * std::pow(t, 0.5 / beta_); }
  double time(double s) const override { return std::pow(s / std::sqrt(2.0), 2.0 * beta_); }
  // Self-similar: x - y = t^(1/(2 beta)) Z, so each source moves as (x - y) / (2 beta t).
  double velocity_scale(double t) const override { return 0.5 / (beta_ * t); }
  double step_rate(double t) const override { return sigma(t) * velocity_scale(t); }
  bool heavy_tailed() const override { return beta_ < 1.0; }
  double sigma_min() const override {
    if (!heavy_tailed()) return GenerativeProcess::sigma_min();
    std::call_once(sigma_min_once_, [this] { sigma_min_ = tail_matched_sigma_min(*this); });
    return sigma_min_;
  }
  // sqrt(A) = sqrt(2 t^(1/beta) S) assembled in logs: S alone overflows for small beta.
  double sample_radius(Rng& rng, double t) const override {
    const double sqrt_a = std::exp(0.5 * (kLog2 + std::log(t) / beta_ + log_positive_stable_variate(rng, beta_)));
    return std::sqrt(2.0 * half_n_(rng)) * sqrt_a;
  }
  void sample_displacement(Rng& rng, double t, double* out) const override {
    const double sqrt_a = std::exp(0.5 * (kLog2 + std::log(t) / beta_ + log_positive_stable_variate(rng, beta_)));
    standard_normals(rng, out, static_cast<std::size_t>(n_));
    for (int i = 0; i < n_; ++i) out[i] *= sqrt_a;
  }
  double log_kernel(double r, double t) const override {
    if (poisson_) return poisson_->log_kernel(r, t);
    if (beta_ < 1.0) return tabulated_log_kernel(r, t);
    check_time(t);
    return -0.5 * n_ * (std::log(4.0 * kPi * t)) - r * r / (4.0 * t);
  }
  double radial_cdf(double r, double t) const override {
    if (poisson_) return poisson_->radial_cdf(r, t);
    if (beta_ < 1.0) return MixtureProcess::radial_cdf(r, t);
    check_time(t);
    const double x = r * r / (4.0 * t);
    if (!(x > 0.0)) return 0.0;
    return x < kInf ? boost::math::gamma_p(0.5 * n_, x) : 1.0;
  }

 protected:
  double scale(double t) const { return 2.0 * std::pow(t, 1.0 / beta_); }
  double sample_mixing(Rng& rng, double t) const override { return scale(t) * positive_stable_variate(rng, beta_); }
  double log_mixing_pdf(double a, double t) const override {
    const double c = scale(t);
    return positive_stable_log_pdf(beta_, a / c) - std::log(c);
  }
  double mixing_cdf(double a, double t) const override { return positive_stable_cdf(beta_, a / scale(t)); }
  double typical_mixing(double t) const override { return scale(t); }

 private:
  // Self-similar: x - y = s Z with s = t^(1/(2 beta)) and Z the t = 1 law, so log q_t(r) =
  // -N log s + g(log(r/s)) with g(u) = log q_1(e^u), fitted once per process (the quadrature over
  // the stable law costs ~5 ms per value; the exact field needs one per sample and source). Below
  // kLo, g is flat to e^(2 kLo); beyond kHi it is the power tail r^-(N + 2 beta), whose relative
  // correction is O(r^(-2 beta)) < e^(-2 beta kHi).
  static constexpr double kLo = -12.0, kHi = 25.0;
  double tabulated_log_kernel(double r, double t) const {
    check_time(t);
    std::call_once(fit_once_, [this] {
      fit_ = detail::PiecewiseChebyshev(
          [this](double u) { return MixtureProcess::log_kernel(std::exp(u), 1.0); }, kLo, kHi, 1e-11, 8);
      g_lo_ = fit_(kLo);
      g_hi_ = fit_(kHi);
    });
    const double log_s = std::log(t) / (2.0 * beta_);
    const double u = (r > 0.0 ? std::log(r) : -kInf) - log_s;
    const double g = u <= kLo ? g_lo_ : u >= kHi ? g_hi_ - (n_ + 2.0 * beta_) * (u - kHi) : fit_(u);
    return g - n_ * log_s;
  }

  double beta_;
  std::unique_ptr<GenerativeProcess> poisson_;
  mutable std::once_flag fit_once_;
  mutable detail::PiecewiseChebyshev fit_;
  mutable double g_lo_ = 0.0, g_hi_ = 0.0;
  mutable std::once_flag sigma_min_once_;
  mutable double sigma_min_ = 0.0;
};

void check_param(const char* what, double v, bool ok) {
  if (!std::isfinite(v) || !ok) throw InputError(std::string("invalid kernel parameter ") + what + " = " + std::to_string(v));
}

}  // namespace

std::unique_ptr<GenerativeProcess> make_diffusion_process(int dim) {
  check_dim(dim);
  return std::make_unique<DiffusionProcess>(dim);
}

std::unique_ptr<GenerativeProcess> make_pfgmpp_process(int dim, double D) {
  check_dim(dim);
  check_param("D (needs D >= 1)", D, D >= 1.0);
  return std::make_unique<PfgmppProcess>(dim, D);
}

std::unique_ptr<GenerativeProcess> make_yukawa_process(int dim, double m) {
  check_dim(dim);
  check_param("m (needs m > 0)", m, m > 0.0);
  return std::make_unique<InverseGaussianProcess>(dim, 1.0 / m, 1.0);
}

std::unique_ptr<GenerativeProcess> make_unnormalised_yukawa_process(int dim, double m) {
  check_dim(dim);
  check_param("m (needs m > 0)", m, m > 0.0);
  return std::make_unique<UnnormalisedYukawaProcess>(dim, m);
}

std::unique_ptr<GenerativeProcess> make_stable_process(int dim, double beta) {
  check_dim(dim);
  check_param("beta (needs 0 < beta <= 1)", beta, beta > 0.0);
  if (beta > 1.0)
    throw NotSupported("fractional diffusion with beta = " + std::to_string(beta) +
                       " > 1: exp(-t k^(2 beta)) is not positive definite, so the kernel has negative lobes (C1 fails)");
  return std::make_unique<StableProcess>(dim, beta);
}

std::unique_ptr<GenerativeProcess> make_mixed_diffusion_poisson_process(int dim, double a, double b) {
  check_dim(dim);
  check_param("a (needs a > 0)", a, a > 0.0);
  check_param("b (needs b > 0)", b, b > 0.0);
  return std::make_unique<InverseGaussianProcess>(dim, 2.0 / b, 1.0 / a);
}

double log_radial_density(const GenerativeProcess& process, double r, double t) {
  const int n = process.dim();
  if (!(r > 0.0)) return n == 1 ? std::log(2.0) + process.log_kernel(0.0, t) : -kInf;
  // |S^(N-1)| = 2 pi^(N/2) / Gamma(N/2).
  return std::log(2.0) + 0.5 * n * kLogPi - std::lgamma(0.5 * n) + (n - 1) * std::log(r) + process.log_kernel(r, t);
}

double tail_matched_sigma_min(const GenerativeProcess& process, double gaussian_sigma, double q) {
  const int n = process.dim();
  // The Gaussian's q-quantile radius: sigma sqrt(chi2_N quantile q) = sigma sqrt(2 P^-1(N/2, q)).
  const double r_star = gaussian_sigma * std::sqrt(2.0 * boost::math::gamma_p_inv(0.5 * n, q));
  auto f = [&](double log_sigma) { return process.radial_cdf(r_star, process.time(std::exp(log_sigma))) - q; };
  // A heavier tail needs a smaller sigma; a kernel no heavier than the Gaussian keeps its level;
  // one that has not matched it by kSigmaMinFloor ends there (and `check` then finds that it does
  // not concentrate).
  double lo = std::log(kSigmaMinFloor), hi = std::log(gaussian_sigma);
  if (!(f(hi) < 0.0)) return gaussian_sigma;
  if (!(f(lo) > 0.0)) return kSigmaMinFloor;
  for (int i = 0; i < 80 && hi - lo > 1e-6; ++i) {
    const double mid = 0.5 * (lo + hi), fm = f(mid);
    (fm > 0.0 ? lo : hi) = mid;
  }
  return std::exp(lo);
}

double quantile_radial_velocity(const GenerativeProcess& process, double r, double t) {
  check_time(t);
  const double h = 1e-3 * t;
  auto F = [&](double s) { return process.radial_cdf(r, s); };
  const double dF = (-F(t + 2 * h) + 8.0 * F(t + h) - 8.0 * F(t - h) + F(t - 2 * h)) / (12.0 * h);
  return -dF / std::exp(log_radial_density(process, r, t));
}

}  // namespace genphys
