#pragma once
// Gaussian scale mixtures, the generic half of the perturbation kernels (physics.md section 3):
// x = y + sqrt(A) xi, xi ~ N(0, I_N), over a mixing law A that depends on the module's own time t.
// A subclass supplies the law of A (a draw, its density and CDF, a typical value, optionally its
// quantile speed); this class turns it into sampling, log_kernel and radial_cdf in any N, radii
// drawn as sqrt(A * chi2_N) in O(1). The modules' own mixtures live in pdes/ (diffusion A = 2t,
// PFGM++ inverse gamma, fractional stable); the inverse-Gaussian law, shared by the screened
// Poisson and mixed diffusion-Poisson modules, is here.

#include <cmath>
#include <mutex>

#include "genphys/generative.hpp"
#include "genphys/variates.hpp"

namespace genphys {

class GaussianScaleMixture : public GenerativeProcess {
 public:
  explicit GaussianScaleMixture(int dim);

  int dim() const override { return n_; }

  // Normals first, then the mixing variable: the same stream then gives the same direction and
  // chi-square for every mixture, so PFGM++ at large D and diffusion start from nearly the same
  // prior point for the same seed.
  void sample_displacement(Rng& rng, double t, double* out) const override;
  double sample_radius(Rng& rng, double t) const override;

  // log q(r) = log int p_A(A) (2 pi A)^(-N/2) exp(-r^2 / 2A) dA, integrated in u = log A.
  double log_kernel(double r, double t) const override;

  // P(R <= r) = E[P(A <= r^2 / chi2_N)], averaged over chi2_N = 2 e^v, v in its window.
  double radial_cdf(double r, double t) const override;

  // Each source moves its density radially, keeping every radial quantile: with A's own quantile
  // speed a'(A) = -(d/dt P(A_t <= A)) / p_A(A), the flux of the mixture is J = (x/2) int a'(A)/A
  // p_A(A) N(x; 0, A I) dA (the heat kernel has dN/dA = Lap N / 2), so
  //   dx/dt = (x/2) E[a'(A)/A | x]  (posterior over A given |x| = r),
  // a ratio of two one-dimensional integrals in u = log A, in any N. Self-similar mixtures
  // (A proportional to t^k) give a' = k A/t and the affine velocity x k/(2t).
  double mixture_radial_speed(double r, double t) const;

 protected:
  /// A draw of the mixing variable A at time t.
  virtual double sample_mixing(Rng& rng, double t) const = 0;
  /// log density and CDF of A (used by the generic log_kernel and radial_cdf).
  virtual double log_mixing_pdf(double a, double t) const = 0;
  virtual double mixing_cdf(double a, double t) const = 0;
  /// A scale of A at time t, to start quadrature searches.
  virtual double typical_mixing(double t) const = 0;
  /// The quantile speed dA/dt = -(d/dt P(A_t <= a)) / p_A(a) of the mixing law at a.
  virtual double mixing_speed(double a, double t) const;

  /// For heavy-tailed mixtures: tail_matched_sigma_min, computed once per process; otherwise the
  /// default sigma_min.
  double heavy_tail_sigma_min() const;

  double log_gamma_weight(double v) const { return 0.5 * n_ * v - std::exp(v) - lgamma_half_n_; }

  int n_;
  GammaVariate half_n_;  // chi2_N / 2
  double lgamma_half_n_;
  double v_lo_ = 0, v_mode_ = 0, v_hi_ = 0;

 private:
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
class InverseGaussianMixture final : public GaussianScaleMixture {
 public:
  InverseGaussianMixture(int dim, double c_mu, double c_lambda);
  // RMS displacement per dimension: sqrt(E[A]).
  double sigma(double t) const override { return std::sqrt(c_mu_ * t); }
  double time(double s) const override { return s * s / c_mu_; }

  bool affine_velocity() const override { return false; }
  double velocity_scale(double) const override;
  double source_radial_speed(double r, double t) const override { return mixture_radial_speed(r, t); }

  // lambda = alpha t / sqrt(1 + alpha gamma t): the scale of sqrt(A) in both regimes (alpha t for
  // small t, sqrt(c_mu t) for large t), so that each source's radius is close to linear in it.
  double step_variable(double t) const override;
  double step_time(double lambda) const override;
  double step_rate(double t) const override;

  double log_kernel(double r, double t) const override;

 protected:
  double mean(double t) const { return c_mu_ * t; }
  double shape(double t) const { return c_lambda_ * t * t; }
  double sample_mixing(Rng& rng, double t) const override { return inverse_gaussian_variate(rng, mean(t), shape(t)); }
  double log_mixing_pdf(double a, double t) const override;
  double mixing_cdf(double a, double t) const override;
  double mixing_speed(double a, double t) const override;
  double typical_mixing(double t) const override;

 private:
  double c_mu_, c_lambda_, alpha_, gamma_;
};

}  // namespace genphys
