#pragma once
// Point-source density flows (p, J, R) where no closed form exists (radial inverse Fourier
// transforms), the dissipative-wave kernel inside its light cone, and the density flow of many
// sources: p, v = J / p and R at any x, summed in log space so N = 784 does not overflow.

#include <functional>
#include <vector>

#include <Eigen/Dense>

#include "genphys/pde.hpp"

namespace genphys {

/// Throws InputError unless dim >= 1, t > 0 and r >= 0 (all finite).
void check_green_arguments(double r, double t, int dim);

/// Largest N for which the radial inverse Fourier transform is used: the transform cancels down
/// to ~1e-16 of int k^(N-1) |f-hat| dk, so the tails of a kernel of radius ~sqrt(N) in high N
/// are lost in rounding. Fluxes need the transform in N + 2 dimensions.
inline constexpr int kMaxRadialTransformDim = 16;

/// f(r) = (2 pi)^(-N/2) r^(1-N/2) int_0^inf k^(N/2) J_(N/2-1)(k r) fhat(k) dk, the inverse
/// Fourier transform in N = dim dimensions of a radial fhat. 20-point Gauss-Legendre on panels of
/// half a period of J (geometric panels towards k = 0 for cusps and integrable singularities),
/// truncated where k^(N-1) |fhat| has fallen below 1e-17 of its maximum. Absolute error
/// ~1e-14 (2 pi)^(-N) |S^(N-1)| int k^(N-1) |fhat| dk, i.e. ~1e-14 of f(0) for positive fhat.
/// dim in [1, kMaxRadialTransformDim + 2]; throws NotSupported beyond, or when fhat does not
/// decay by k = 1e8 or needs more than 4e5 panels. `breaks`: k where fhat has a kink (Helmholtz's
/// square root at k0); panels are graded geometrically towards them from both sides.
double radial_inverse_fourier(const std::function<double(double)>& fhat, double r, int dim,
                              const std::vector<double>& breaks = {});

/// A mass-conserving (R = 0) point-source flow given in Fourier space at one time t:
/// p-hat, phi-hat and dp-hat/dt / k^2. The radial flux is J(r) = -2 pi r f_(N+2)(r), where
/// f_(N+2) is the inverse transform of dp-hat/dt / k^2 in N + 2 dimensions (J = grad of the
/// N-dim transform, the only radial flux regular at r = 0 with div J = -dp/dt).
struct FourierFlow {
  std::function<double(double)> p_hat, phi_hat, dpdt_over_k2;
};
PdeModule::PointFlow fourier_point_flow(const FourierFlow& flow, double r, int dim);
/// phi from phi_hat, as a SignedLog.
SignedLog fourier_green(const FourierFlow& flow, double r, int dim);
/// Throws NotSupported naming the module when dim > kMaxRadialTransformDim.
void require_radial_transform_dim(const std::string& module, int dim);

/// The dissipative wave phi_tt + 2 eps phi_t - Lap phi = 0 (eps >= 0; eps = 0 is the ideal wave)
/// for the point source u(0) = 0, u_t(0) = delta: phi = e^(-eps t) u with u the Klein-Gordon
/// kernel u_tt - Lap u - eps^2 u = 0. Inside the light cone r < t, with tau = sqrt(t^2 - r^2),
/// nu = (N-1)/2:
///   u   = (2 pi)^(-nu)/2 eps^(2 nu) z^(-nu) I_(-nu)(z),  z = eps tau,
///   u_t = (2 pi)^(-nu)/2 eps^(2 nu + 2) t z^(-nu-1) I_(-nu-1)(z),
/// density p = e^(-eps t)(u_t + eps u) (p-hat = e^(-eps t)[cosh(s t) + (eps/s) sinh(s t)],
/// s = sqrt(eps^2 - k^2)), radial flux J = e^(-eps t) u_t r / t, R = 0. Outside (r > t) all
/// vanish. The front r = t carries a singular part (delta pulses in N = 1, a layer and its
/// derivative in higher N) that is not a function and is not included.
struct TelegraphValue {
  SignedLog u;  ///< e^(-eps t) u, i.e. minus the module's phi
  PdeModule::PointFlow flow;
};
TelegraphValue telegraph_interior(double eps, double r, double t, int dim);
/// p-hat of the dissipative wave above (eps = 0: cos(k t)).
double telegraph_p_hat(double eps, double k, double t);

/// C1 measured: the sign of module.point_flow(r, t, dim).p on a grid, r in {0} and t in
/// [lo, hi] each log-spaced with per_decade points per decade.
struct DensitySignScan {
  int points = 0, negative = 0, zero = 0;
  double min_log_p = 0.0, max_log_p = 0.0;  ///< range of log p over the positive points
  double r_negative = -1.0, t_negative = -1.0;  ///< the first negative point found; -1 when none
  double lo = 0.0, hi = 0.0;
};
DensitySignScan scan_density_sign(const PdeModule& module, int dim, double lo = 1e-3, double hi = 1e3,
                                  int per_decade = 4);

/// C1 by scan_density_sign: `no` naming the first negative point, else `yes` with `why_positive`
/// (the closed-form argument) and the grid that confirmed it.
ConditionVerdict c1_from_sign_scan(const PdeModule& module, int dim, const std::string& why_positive);

/// The flow of sources {y_i} (rows of `sources`, N columns) with weights w_i (empty: 1/K each,
/// so p is a probability density at t -> 0), evaluated at x (N entries):
///   p = sum_i w_i p_i, J = sum_i w_i J_i (x - y_i)/|x - y_i|, R = sum_i w_i R_i, v = J / p,
/// with p_i, J_i, R_i from module.point_flow(|x - y_i|, t, N), summed as SignedLog.
struct DensityFlowValue {
  SignedLog p, rate;
  std::vector<SignedLog> flux;  ///< J, N components
  Eigen::VectorXd v;            ///< J / p; NaN where p = 0
  double rate_over_p = 0.0;     ///< R / p; NaN where p = 0
};
DensityFlowValue density_flow(const PdeModule& module, const Eigen::MatrixXd& sources, const Eigen::VectorXd& x,
                              double t, const Eigen::VectorXd& weights = Eigen::VectorXd());

}  // namespace genphys
