#include "blas.hpp"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <mutex>

// OpenBLAS's own thread count; absent from other BLAS libraries.
extern "C" void openblas_set_num_threads(int) __attribute__((weak));

namespace genphys::detail {
namespace {

// Each OpenMP thread makes its own BLAS call: a threaded BLAS underneath would oversubscribe.
void single_threaded_blas() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (openblas_set_num_threads) openblas_set_num_threads(1);
  });
}

// Splits [0, rows) into one block per OpenMP thread (one block when small) and runs
// body(begin, count) on each.
template <class Body>
void for_row_blocks(Eigen::Index rows, Body body) {
  const int threads = rows >= 64 ? std::max(1, omp_get_max_threads()) : 1;
  const Eigen::Index per = (rows + threads - 1) / threads;
#pragma omp parallel for schedule(static) num_threads(threads) if (threads > 1)
  for (int b = 0; b < threads; ++b) {
    const Eigen::Index begin = b * per, count = std::min(rows, begin + per) - begin;
    if (count > 0) body(begin, count);
  }
}

}  // namespace

RowMatrix times_transpose(const Eigen::MatrixXd& x, const Eigen::MatrixXd& y, double alpha) {
  single_threaded_blas();
  const Eigen::Index cols = y.rows(), k = x.cols();
  RowMatrix out(x.rows(), cols);
  if (out.size() == 0) return out;
  if (k == 0) {
    out.setZero();
    return out;
  }
  // Row block [begin, begin + count) of the row-major result is the column-major cols x count
  // matrix alpha * y * x_block^T.
  for_row_blocks(x.rows(), [&](Eigen::Index begin, Eigen::Index count) {
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, int(cols), int(count), int(k), alpha, y.data(),
                int(y.rows()), x.data() + begin, int(x.rows()), 0.0, out.data() + begin * cols, int(cols));
  });
  return out;
}

Eigen::MatrixXd times(const RowMatrix& w, const Eigen::MatrixXd& y) {
  single_threaded_blas();
  const Eigen::Index rows = w.rows(), n = w.cols(), k = y.cols();
  Eigen::MatrixXd out(rows, k);
  if (out.size() == 0) return out;
  if (n == 0) {
    out.setZero();
    return out;
  }
  // Rows [begin, begin + count) of w, read column-major, are its transpose: n x count, ld n.
  for_row_blocks(rows, [&](Eigen::Index begin, Eigen::Index count) {
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, int(count), int(k), int(n), 1.0, w.data() + begin * n,
                int(n), y.data(), int(y.rows()), 0.0, out.data() + begin, int(rows));
  });
  return out;
}

}  // namespace genphys::detail
