#pragma once
// Data parallelism on torch's c10d: the ranks torchrun (or train --nproc) starts meet through a
// TCPStore, talk through ProcessGroupGloo (CPU) or ProcessGroupNCCL (CUDA builds), all-reduce
// gradient buckets while backward runs, and split sampling by whole batches. One process without
// torchrun's variables: every call here is then a plain local operation. Internal to the engine.

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace genphys::engine {

/// What torchrun sets for each process: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE, LOCAL_RANK
/// (default RANK), LOCAL_WORLD_SIZE (default WORLD_SIZE). WORLD_SIZE unset: one process.
struct RankEnvironment {
  int rank = 0, world = 1, local_rank = 0, local_world = 1;
  std::string master_addr;
  int master_port = 0;
  /// "cuda" becomes "cuda:LOCAL_RANK" (one GPU a rank); anything else is kept.
  std::string local_device(const std::string& requested) const;
  /// 0 (physical cores) becomes this machine's cores shared among its local ranks.
  int local_threads(int requested) const;
};

/// Read from the environment once; InputError naming the variable when one is missing or bad.
const RankEnvironment& rank_environment();

/// This process's place among the ranks. The first join() meets the others (rendezvous, then the
/// process group); later calls return the same group. Every rank must make the same collective
/// calls in the same order. A lost or hung peer throws RankError (genphys/errors.hpp).
class Ranks {
 public:
  static Ranks& join(torch::Device device);
  int rank() const { return rank_; }
  int world() const { return world_; }
  bool is_root() const { return rank_ == 0; }
  bool active() const { return world_ > 1; }

  /// Sum (or maximum) over the ranks, in place; any device, any dtype the backend takes.
  void all_reduce(torch::Tensor& t, bool maximum = false);
  double sum(double value);
  int max(int value);
  /// Rank 0's values, copied into `t` on every rank.
  void broadcast(torch::Tensor& t);
  /// Every rank's `local` (same dtype, first dimensions may differ; the rest equal), in rank order.
  std::vector<torch::Tensor> all_gather(const torch::Tensor& local);

  ~Ranks();
  struct Group;
  Group* group() { return group_.get(); }  ///< null for one process

 private:
  Ranks() = default;
  int rank_ = 0, world_ = 1;
  std::unique_ptr<Group> group_;
};

/// Data-parallel training of one model: rank r computes rows [begin, end) of every global batch,
/// and gradients are averaged over the whole batch on every rank, so K ranks follow one process up
/// to summation order. Gradient buckets (about 25 MB, first 1 MB, in reverse parameter order as
/// backward produces them) are all-reduced from the parameters' gradient hooks while backward
/// goes on; rank 0's weights are copied to all at the start.
class DataParallel {
 public:
  DataParallel(Ranks& ranks, std::vector<torch::Tensor> params, std::int64_t global_batch);
  ~DataParallel();
  std::pair<std::int64_t, std::int64_t> rows() const { return rows_; }
  /// The global batch's mean loss from this rank's mean `loss` (collective: every rank gets it).
  double global_loss(const torch::Tensor& loss);
  /// Backward of this rank's share of the loss; each parameter's .grad comes out as the gradient of
  /// the global mean loss, bitwise the same on every rank.
  void backward(const torch::Tensor& loss);
  /// The largest stop signal any rank caught (0: none); collective, so all stop at the same step.
  int agree_stop(int signal);
  /// Copies rank 0's values of `tensors` to every rank.
  void copy_from_root(const std::vector<torch::Tensor>& tensors);

  struct Buckets;

 private:
  Ranks& ranks_;
  std::pair<std::int64_t, std::int64_t> rows_;
  double share_ = 1.0;  ///< this rank's rows * world / global batch: weights the local mean loss
  std::unique_ptr<Buckets> buckets_;
};

/// Which batches of `batches` this rank integrates when sampling is split: b = rank, rank + K, ...
/// (whole batches, so each batch is computed as one process computes it).
std::vector<std::int64_t> batches_of_rank(const Ranks& ranks, std::int64_t batches);

}  // namespace genphys::engine
