#pragma once
// Random variates drawn from an Rng by hand-written algorithms, so that a seed gives the same
// numbers with every standard library (std::normal_distribution and std::gamma_distribution are
// implementation-defined). Also the laws of the positive stable variate, which have no closed form.

#include <cstddef>

#include "genphys/random.hpp"

namespace genphys {

/// Uniform on [0, 1) with 53 random bits.
inline double uniform01(Rng& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
/// Uniform on (0, 1): never 0 or 1, so its log and its complement are safe; 1 - u is exact.
inline double uniform_open(Rng& rng) { return (static_cast<double>(rng() >> 11) + 0.5) * 0x1.0p-53; }

/// Standard normal (256-layer ziggurat, one 64-bit draw per try: layer, sign and value use
/// disjoint bits).
double standard_normal(Rng& rng);
/// n standard normals into out[0 .. n).
void standard_normals(Rng& rng, double* out, std::size_t n);
/// Exponential with mean 1.
double standard_exponential(Rng& rng);

/// Gamma(shape, scale 1) with the shape's constants precomputed (Marsaglia-Tsang; shape < 1 via
/// Gamma(shape + 1) * U^(1/shape); shape 1/2 as Z^2 / 2). shape > 0.
class GammaVariate {
 public:
  explicit GammaVariate(double shape);
  double shape() const { return shape_; }
  double operator()(Rng& rng) const;

 private:
  double shape_, d_, c_, inv_shape_;
  bool boost_;  // shape < 1
  bool half_;   // shape == 1/2
};

double gamma_variate(Rng& rng, double shape);
/// Beta(a, b) as G_a / (G_a + G_b).
double beta_variate(Rng& rng, double a, double b);
/// Inverse Gaussian with the given mean and shape lambda (Michael-Schucany-Haas, with the small
/// root written without cancellation).
double inverse_gaussian_variate(Rng& rng, double mean, double shape);
/// Positive beta-stable S with E[exp(-s S)] = exp(-s^beta), 0 < beta <= 1 (Kanter's
/// representation; beta = 1 gives S = 1). For small beta the law is so heavy-tailed that a draw
/// can overflow to +inf.
double positive_stable_variate(Rng& rng, double beta);
/// log S for the same draw: finite where S itself would overflow.
double log_positive_stable_variate(Rng& rng, double beta);

/// Kanter's function K(phi) = [sin(beta phi)^beta sin((1-beta) phi)^(1-beta) / sin phi]^(1/(1-beta))
/// on (0, pi), as a log; S = (K(pi U) / E)^((1-beta)/beta).
double log_kanter(double beta, double phi);
/// P(S <= s) for the positive beta-stable law above (Zolotarev's integral, 0 < beta < 1).
double positive_stable_cdf(double beta, double s);
/// log of the density of S at s (Zolotarev's integral, 0 < beta < 1).
double positive_stable_log_pdf(double beta, double s);

}  // namespace genphys
