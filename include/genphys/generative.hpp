#pragma once
// What the samplers and the learning engine need from an s-generative PDE module, in one data
// dimension N. Everything PDE-specific reaches the engine through this interface; the engine
// never names a PDE. No LibTorch here.

#include <string>

#include "genphys/random.hpp"

namespace genphys {

class GenerativeProcess {
 public:
  virtual ~GenerativeProcess() = default;

  /// Data dimension N.
  virtual int dim() const = 0;

  // ---- time and noise level ---------------------------------------------------------------
  /// Effective noise level: per-dimension RMS displacement of the kernel at the module's time t.
  virtual double sigma(double t) const = 0;
  /// Inverse of sigma(t).
  virtual double time(double sigma) const = 0;

  // ---- the normalised perturbation kernel q_t(x | y), radial in r = |x - y| ------------------
  /// Draws x - y ~ q_t(. | y) into out[0 .. N).
  virtual void sample_displacement(Rng& rng, double t, double* out) const = 0;
  /// Draws only the radius |x - y|.
  virtual double sample_radius(Rng& rng, double t) const = 0;
  /// log q_t at a displacement of radius r (a density on R^N).
  virtual double log_kernel(double r, double t) const = 0;
  /// P(|x - y| <= r).
  virtual double radial_cdf(double r, double t) const = 0;

  /// True when the kernels form a convolution semigroup in t, q_(t+s) = q_t * q_s (the
  /// characteristic function is exp(-t psi(k))): x_t plus an independent draw of q_s is then
  /// distributed as x_(t+s), which EDM's churn needs (churn.hpp). Diffusion, fractional diffusion,
  /// PFGM (D = 1); not PFGM++ with D > 1 (a Student t).
  virtual bool kernel_semigroup() const { return false; }

  // ---- prior ------------------------------------------------------------------------------
  /// A draw of x at t = t_max for data centred at the origin.
  virtual void sample_prior(Rng& rng, double t_max, double* out) const { sample_displacement(rng, t_max, out); }

  // ---- velocity ---------------------------------------------------------------------------
  /// True when the field is affine in the posterior mean: dx/dt = velocity_scale(t) (x - E[y|x,t]),
  /// so a denoiser D(x, t) ~ E[y|x,t] serves. False: a velocity target is needed.
  virtual bool affine_velocity() const { return true; }
  /// The factor in dx/dt = velocity_scale(t) (x - E[y | x, t]): 1/t for the Poisson family,
  /// 1/(2t) for diffusion.
  virtual double velocity_scale(double t) const = 0;
  /// Each source's own density moves radially: dx/dt = source_radial_speed(r, t) (x - y)/r at
  /// displacement radius r = |x - y|. The field is the posterior average of these velocities, so
  /// they are the regression target when the field is not affine. Default: velocity_scale(t) r.
  virtual double source_radial_speed(double r, double t) const { return velocity_scale(t) * r; }

  // ---- the variable the samplers step in ----------------------------------------------------
  /// lambda(t): a variable in which each source's path is (close to) a straight line through its
  /// source, x - y proportional to lambda, so Euler and Heun steps in lambda are (near) exact.
  /// Affine modules must return lambda = exp(int velocity_scale dt) up to a constant factor: then
  /// dx/dlambda = (x - E[y|x,t]) / lambda exactly and a step with the denoiser frozen is the
  /// closed form x' = D + (x - D) lambda'/lambda. Default sigma(t), which is that for every
  /// self-similar kernel (diffusion, PFGM++, fractional diffusion: EDM's own steps).
  virtual double step_variable(double t) const { return sigma(t); }
  /// Inverse of step_variable.
  virtual double step_time(double lambda) const { return time(lambda); }
  /// d lambda / dt at t (default: central differences of step_variable).
  virtual double step_rate(double t) const {
    const double h = 1e-5 * t;
    return (step_variable(t + h) - step_variable(t - h)) / (2.0 * h);
  }

  // ---- tails ------------------------------------------------------------------------------
  /// True when the kernel's second moment is infinite, so sigma(t) is a scale rather than an RMS
  /// and single draws land arbitrarily far out; training then scales each input by its own size.
  virtual bool heavy_tailed() const { return false; }

  // ---- birth / death ----------------------------------------------------------------------
  /// True when the density flow has R != 0 (mass is created or destroyed).
  virtual bool has_birth_death() const { return false; }
  /// Per-source R/p at displacement radius r and time t; the field's R/p is its posterior
  /// average over sources. Only called when has_birth_death().
  virtual double birth_death_ratio(double r, double t) const { return 0.0; }

  // ---- defaults for training and sampling -------------------------------------------------
  /// The sigma range sampling integrates over by default (EDM: 0.002 .. 80).
  virtual double sigma_min() const { return 0.002; }
  virtual double sigma_max() const { return 80.0; }
  /// True when sigma_min is a floor of the flow rather than a choice (the dissipative wave: before
  /// t = ln(1e3)/eps its front still carries mass, so the flow ends there): data structure finer
  /// than sigma_min cannot be resolved (check.hpp: resolution_limit).
  virtual bool sigma_min_is_floor() const { return false; }
};

}  // namespace genphys
