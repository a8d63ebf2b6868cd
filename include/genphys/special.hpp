#pragma once
// Bessel functions for Green's functions in N up to ~1e4 dimensions: orders nu = (N -+ 1)/2 in
// the hundreds or thousands, where K_nu, I_nu and Y_nu overflow double (K_391.5(1) ~ 1e956).
// Values come back as logs (K, I) or signed logs (J, Y).
//
// Routes (all chosen from nu and x alone, so every switch is a fixed point):
//  * K, I: nu >= kDebyeMinOrder: uniform asymptotic (Debye) expansion, DLMF 10.41.3-4, with the
//    u_k polynomials up to u_15 (terms summed until below 1e-17).
//    nu < kDebyeMinOrder: Boost.Math for x < kLargeArgument, the large-argument (Hankel)
//    expansion DLMF 10.40.1-2 beyond; I also uses its power series for x <= 2. Where Boost's K
//    would overflow (x < ~1e-9, only for nu >= 2) the leading small-x term is used.
//  * J, Y: nu >= kDebyeMinOrder and x < jy_debye_limit(nu) (deep below the turning point x = nu,
//    where nu (alpha - tanh alpha) > kJYDebyeExponent with x = nu sech alpha): the Debye
//    expansion DLMF 10.19.3. Everywhere else Boost.Math, which is accurate in the oscillatory
//    region for orders in the thousands (checked by Wronskians); for nu < kDebyeMinOrder, where
//    Boost under/overflows at tiny x, J uses its power series and Y its leading small-x term.
// Accuracy: |delta log| within a few ulps of |log| (<= ~2e-13 for |log| < 700, ~4e-12 at 1e4),
// checked against Boost (double and long double), closed forms, recurrences and Wronskians in
// tests/physics/test_special.cpp.

#include "genphys/numeric.hpp"

namespace genphys::special {

/// Orders at and above this use the Debye expansions.
inline constexpr double kDebyeMinOrder = 25.0;
/// For nu < kDebyeMinOrder, K and I switch from Boost to the large-argument expansion here.
inline constexpr double kLargeArgument = 600.0;
/// J and Y use Debye's DLMF 10.19.3 where nu (alpha - tanh alpha) exceeds this
/// (Boost's values there are ~e^-+100: comfortably finite on either side of the switch).
inline constexpr double kJYDebyeExponent = 100.0;

/// log K_nu(x) (modified Bessel, second kind); nu >= 0, x > 0.
double log_bessel_k(double nu, double x);

/// log I_nu(x) (modified Bessel, first kind); nu >= 0, x >= 0 (-inf at x = 0 for nu > 0).
double log_bessel_i(double nu, double x);

/// K_{nu+1}(x) / K_nu(x), without forming either (no overflow for orders in the thousands).
double bessel_k_ratio(double nu, double x);

/// J_nu(x) as sign * exp(log_abs); nu >= 0, x >= 0.
SignedLog bessel_j(double nu, double x);

/// Y_nu(x) as sign * exp(log_abs); nu >= 0, x > 0.
SignedLog bessel_y(double nu, double x);

/// log |H^(1)_nu(x)| = log sqrt(J^2 + Y^2), the modulus of the Helmholtz kernel's Hankel factor.
double log_hankel1_modulus(double nu, double x);

/// First positive zero of J_nu (j_{nu,1}) and of Y_nu (y_{nu,1}); nu >= 0.
/// y_{nu,1} ~ nu + 0.9315768 nu^(1/3), j_{nu,1} ~ nu + 1.8557571 nu^(1/3) for large nu.
double bessel_j_first_zero(double nu);
double bessel_y_first_zero(double nu);

/// log |Gamma(x)|; x not a non-positive integer.
double log_gamma(double x);

/// log of the area of the unit sphere S^(n-1) in R^n, 2 pi^(n/2) / Gamma(n/2); n > 0.
double log_unit_sphere_area(double n);

/// The x at which J and Y switch from Debye (x below it) to Boost (x at or above it) for this
/// order; 0 when nu < kDebyeMinOrder (no switch). Exposed so that continuity can be tested.
double jy_debye_limit(double nu);

}  // namespace genphys::special
