#pragma once
// The exact field's two large products through the system BLAS (OpenBLAS on a set-up machine:
// it picks AVX2 or AVX-512 kernels at run time, where Eigen's own kernels are limited to the
// instruction set the library was compiled for, SSE2 in a portable build: 9 against 25-27
// GFLOP/s for 1000 x 784 x 1000 on one core). Row blocks run on the OpenMP threads, each a
// single-threaded BLAS call. Internal to the physics core.

#include <Eigen/Dense>

namespace genphys::detail {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// alpha * x * y^T (x: rows x k, y: cols x k) as a row-major rows x cols matrix.
RowMatrix times_transpose(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double alpha);

/// w * y (w: rows x n row-major, y: n x k).
Eigen::MatrixXd times(const RowMatrix& w, const Eigen::MatrixXd& y);

}  // namespace genphys::detail
