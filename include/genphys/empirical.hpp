#pragma once
// The exact field of an empirical distribution {y_i} (physics.md section 4): a posterior average
// over data points, dx/dt = velocity_scale(t) (x - E[y | x, t]) with
// E[y | x, t] = sum_i w_i y_i, w_i = q_t(x | y_i) / sum_j q_t(x | y_j). No LibTorch here.

#include <atomic>

#include <Eigen/Dense>

#include "genphys/generative.hpp"

namespace genphys {

class EmpiricalField {
 public:
  /// `data`: one point per row, process.dim() columns, finite, at least one row (InputError
  /// otherwise). The process must outlive the field.
  EmpiricalField(const GenerativeProcess& process, Eigen::MatrixXd data);

  const GenerativeProcess& process() const { return process_; }
  const Eigen::MatrixXd& data() const { return data_; }
  int dim() const { return static_cast<int>(data_.cols()); }
  int size() const { return static_cast<int>(data_.rows()); }
  /// Mean of the data points (the prior's centre).
  Eigen::RowVectorXd data_mean() const { return data_.colwise().mean(); }

  /// Posterior weights w_ij for query rows x_i (rows x data size, each row sums to 1), from
  /// log_kernel(|x_i - y_j|, t) by log-sum-exp. A row where every log-kernel is -inf (outside a
  /// compactly supported kernel) puts all weight on its nearest data point.
  Eigen::MatrixXd posterior_weights(const Eigen::MatrixXd& x, double t) const;

  /// E[y | x, t], one row per query row.
  Eigen::MatrixXd posterior_mean(const Eigen::MatrixXd& x, double t) const;

  /// velocity_scale(t) (x - E[y | x, t]), one row per query row; for a field that is not affine,
  /// sum_j w_ij source_radial_speed(r_ij, t) (x_i - y_j)/r_ij. Counts one evaluation.
  Eigen::MatrixXd velocity(const Eigen::MatrixXd& x, double t) const;

  /// The field's birth/death ratio R/p = sum_j w_ij birth_death_ratio(|x_i - y_j|, t) (zeros when
  /// the process has none). Pairs with weight below 1e-30 are skipped.
  Eigen::VectorXd birth_death_ratio(const Eigen::MatrixXd& x, double t) const;

  /// Velocity and (when with_ratio and the process has birth/death) R/p from one weight pass.
  /// Counts one evaluation.
  struct Evaluation {
    Eigen::MatrixXd velocity;
    Eigen::VectorXd ratio;  ///< empty unless requested and has_birth_death()
  };
  Evaluation evaluate(const Eigen::MatrixXd& x, double t, bool with_ratio) const;

  /// Batched calls to velocity() / evaluate() since construction or the last reset.
  long evaluations() const { return evaluations_.load(); }
  void reset_evaluations() { evaluations_ = 0; }

 private:
  // Row-major so one query's values over the data are contiguous.
  using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  void check_query(const Eigen::MatrixXd& x, double t) const;
  /// Distances |x_i - y_j| (rows x data size) from |x|^2 + |y|^2 - 2 x.y, clamped at 0.
  RowMatrix distances(const Eigen::MatrixXd& x) const;
  RowMatrix weights_from_distances(const RowMatrix& r, double t) const;
  Eigen::VectorXd ratio_from_weights(const RowMatrix& r, const RowMatrix& w, double t) const;

  const GenerativeProcess& process_;
  Eigen::MatrixXd data_;
  Eigen::VectorXd data_sq_norm_;
  mutable std::atomic<long> evaluations_{0};
};

}  // namespace genphys
