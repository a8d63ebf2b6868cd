// Ranks on c10d: rendezvous through a TCPStore, Gloo (or NCCL) collectives, bucketed gradients.
#include "engine/distributed.hpp"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#ifdef GENPHYS_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "engine/runtime.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"

namespace genphys::engine {

namespace {

// LibTorch 1.x: a backend is a ProcessGroup; 2.x splits the two and the backend has the collectives.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

std::optional<std::string> variable(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::optional<std::string>(v) : std::nullopt;
}

// An integer variable in [lo, hi]; `fallback` when unset (none: it is required).
int integer_variable(const char* name, int lo, int hi, std::optional<int> fallback, const std::string& note = "") {
  const auto text = variable(name);
  if (!text) {
    if (fallback) return *fallback;
    throw InputError(fmt::format("{} is not set: a multi-process run needs MASTER_ADDR, MASTER_PORT, RANK and "
                                 "WORLD_SIZE (torchrun and train --nproc set them)",
                                 name));
  }
  const bool digits = !text->empty() && text->size() < 10 && text->find_first_not_of("0123456789") == std::string::npos;
  const long value = digits ? std::stol(*text) : -1;
  if (!digits || value < lo || value > hi)
    throw InputError(fmt::format("{}={} must be an integer in [{}, {}]{}", name, printable(*text), lo, hi, note));
  return int(value);
}

// How long a collective or the rendezvous waits for a peer (GENPHYS_DIST_TIMEOUT, seconds).
std::chrono::milliseconds peer_timeout() {
  return std::chrono::seconds(integer_variable("GENPHYS_DIST_TIMEOUT", 1, 86400, 300));
}

std::string first_line(const std::string& text) { return printable(text.substr(0, text.find('\n'))); }

RankEnvironment read_environment() {
  RankEnvironment env;
  if (!variable("WORLD_SIZE")) {
    if (variable("RANK")) integer_variable("WORLD_SIZE", 1, 1 << 20, std::nullopt);  // throws: not set
    return env;
  }
  env.world = integer_variable("WORLD_SIZE", 1, 1 << 20, std::nullopt);
  if (env.world == 1) return env;
  env.rank = integer_variable("RANK", 0, env.world - 1, std::nullopt, fmt::format(" (WORLD_SIZE={})", env.world));
  env.local_world = integer_variable("LOCAL_WORLD_SIZE", 1, env.world, env.world);
  env.local_rank = integer_variable("LOCAL_RANK", 0, env.local_world - 1, env.rank % env.local_world,
                                    fmt::format(" (LOCAL_WORLD_SIZE={})", env.local_world));
  const auto addr = variable("MASTER_ADDR");
  if (!addr || addr->empty()) integer_variable("MASTER_ADDR", 0, 0, std::nullopt);  // throws: not set
  env.master_addr = *addr;
  env.master_port = integer_variable("MASTER_PORT", 1, 65535, std::nullopt);
  return env;
}

// Gloo's transport: GLOO_SOCKET_IFNAME as in torch, loopback for a one-machine run, else the
// address this host's name resolves to.
std::shared_ptr<::gloo::transport::Device> gloo_device(const RankEnvironment& env) {
  if (const auto ifname = variable("GLOO_SOCKET_IFNAME"))
    return c10d::ProcessGroupGloo::createDeviceForInterface(*ifname);
  if (env.master_addr == "localhost" || env.master_addr.rfind("127.", 0) == 0)
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

// c10d's sockets log each failed bind and connect retry through glog on stderr; the outcome is
// an exception this file turns into one line, so the log is silenced while the store starts.
class QuietStderr {
 public:
  QuietStderr() : saved_(::dup(STDERR_FILENO)) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0 && saved_ >= 0) ::dup2(null, STDERR_FILENO);
    if (null >= 0) ::close(null);
  }
  ~QuietStderr() {
    if (saved_ < 0) return;
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
  }
  QuietStderr(const QuietStderr&) = delete;
  QuietStderr& operator=(const QuietStderr&) = delete;

 private:
  int saved_;
};

}  // namespace

std::string RankEnvironment::local_device(const std::string& requested) const {
  return world > 1 && requested == "cuda" ? fmt::format("cuda:{}", local_rank) : requested;
}

int RankEnvironment::local_threads(int requested) const {
  return requested == 0 && local_world > 1 ? std::max(1, physical_cores() / local_world) : requested;
}

const RankEnvironment& rank_environment() {
  static const RankEnvironment env = read_environment();
  return env;
}

// ---- the process group ----------------------------------------------------------------------

struct Ranks::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> backend;
  torch::Device device = torch::kCPU;  // where the backend wants its tensors
  std::chrono::milliseconds timeout{0};

  template <class F>
  void guarded(int rank, const char* what, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      throw RankError(fmt::format("rank {}: {} failed: {} (a rank died, hung past {} s: GENPHYS_DIST_TIMEOUT, or "
                                  "cannot be reached)",
                                  rank, what, first_line(e.what()), timeout.count() / 1000));
    }
  }
};

namespace {

// Meets the other ranks at MASTER_ADDR:MASTER_PORT (rank 0 hosts the store): checks that all
// agree on WORLD_SIZE and that no RANK is taken twice, then waits until all have arrived.
c10::intrusive_ptr<c10d::Store> rendezvous(const RankEnvironment& env, std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = std::uint16_t(env.master_port);
  // Under torchrun the agent already serves the store on MASTER_PORT; every rank is its client.
  const bool agent_store = variable("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
  options.isServer = env.rank == 0 && !agent_store;
  options.waitWorkers = false;
  options.timeout = timeout;
  c10::intrusive_ptr<c10d::Store> store;
  try {
    const QuietStderr quiet;
    store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
  } catch (const std::exception& e) {
    if (env.rank == 0)
      throw InputError(fmt::format("MASTER_PORT={} cannot be listened on at {} (in use by another run? pick a free "
                                   "port): {}",
                                   env.master_port, env.master_addr, first_line(e.what())));
    throw RankError(fmt::format("rank {}: cannot reach rank 0's rendezvous at {}:{} within {} s: {}", env.rank,
                                env.master_addr, env.master_port, timeout.count() / 1000, first_line(e.what())));
  }
  auto bytes = [](const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); };
  // An agent's store outlives a restart of its workers: each attempt has its own keys.
  const std::string key = "genphys/" + variable("TORCHELASTIC_RESTART_COUNT").value_or("0") + "/";
  try {
    if (env.rank == 0) store->set(key + "world", bytes(std::to_string(env.world)));
    const auto root_world = store->get(key + "world");
    const std::string root(root_world.begin(), root_world.end());
    if (root != std::to_string(env.world))
      throw InputError(fmt::format("WORLD_SIZE={} differs from rank 0's WORLD_SIZE={}", env.world, root));
    if (store->add(key + fmt::format("rank/{}", env.rank), 1) > 1)
      throw InputError(fmt::format("RANK={} is already taken by another process of this run", env.rank));
    store->add(key + "arrived", 1);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const auto arrived = store->add(key + "arrived", 0);
      if (arrived >= env.world) break;
      if (std::chrono::steady_clock::now() > deadline)
        throw RankError(fmt::format("rank {}: rendezvous at {}:{} timed out after {} s (GENPHYS_DIST_TIMEOUT): {} "
                                    "of WORLD_SIZE={} ranks arrived",
                                    env.rank, env.master_addr, env.master_port, timeout.count() / 1000, arrived,
                                    env.world));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  } catch (const InputError&) {
    throw;
  } catch (const RankError&) {
    throw;
  } catch (const std::exception& e) {
    throw RankError(fmt::format("rank {}: rendezvous at {}:{} failed: {}", env.rank, env.master_addr,
                                env.master_port, first_line(e.what())));
  }
  return store;
}

}  // namespace

Ranks& Ranks::join(torch::Device device) {
  // Never destroyed: tearing a process group down at exit waits on peers that may be gone.
  static Ranks* ranks = nullptr;
  if (ranks) return *ranks;
  const RankEnvironment& env = rank_environment();
  std::unique_ptr<Ranks> made(new Ranks);
  made->rank_ = env.rank;
  made->world_ = env.world;
  if (env.world > 1) {
    auto group = std::make_unique<Group>();
    group->timeout = peer_timeout();
    group->store = rendezvous(env, group->timeout);
    group->guarded(env.rank, "creating the process group", [&] {
#ifdef GENPHYS_NCCL
      if (device.is_cuda()) {
        auto options = c10d::ProcessGroupNCCL::Options::create();
        options->timeout = group->timeout;
        group->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(group->store, env.rank, env.world, options);
        group->device = device;
        return;
      }
#endif
      auto options = c10d::ProcessGroupGloo::Options::create();
      options->devices.push_back(gloo_device(env));
      options->timeout = group->timeout;
      group->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(group->store, env.rank, env.world, options);
    });
    made->group_ = std::move(group);
  }
  ranks = made.release();
  return *ranks;
}

Ranks::~Ranks() = default;

namespace {

// c10d's worker threads run outside InferenceMode, where inference tensors (sampling's) cannot be
// written: collectives work on fresh normal copies.
torch::Tensor normal_copy(const torch::Tensor& t, torch::Device device) {
  c10::InferenceMode normal(false);
  return t.detach().to(device, t.scalar_type(), false, true).contiguous();
}

torch::Tensor normal_empty(torch::IntArrayRef sizes, const torch::TensorOptions& options) {
  c10::InferenceMode normal(false);
  return torch::empty(sizes, options);
}

}  // namespace

void Ranks::all_reduce(torch::Tensor& t, bool maximum) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors{normal_copy(t, group_->device)};
  c10d::AllreduceOptions options;
  options.reduceOp = maximum ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
  group_->guarded(rank_, "all-reduce", [&] { group_->backend->allreduce(tensors, options)->wait(); });
  t.copy_(tensors[0]);
}

double Ranks::sum(double value) {
  auto t = torch::full({1}, value, torch::kFloat64);
  all_reduce(t);
  return t.item<double>();
}

int Ranks::max(int value) {
  auto t = torch::full({1}, std::int64_t(value), torch::kInt64);
  all_reduce(t, true);
  return int(t.item<std::int64_t>());
}

void Ranks::broadcast(torch::Tensor& t) {
  if (!active()) return;
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> tensors{normal_copy(t, group_->device)};
  c10d::BroadcastOptions options;
  options.rootRank = 0;
  group_->guarded(rank_, "broadcast", [&] { group_->backend->broadcast(tensors, options)->wait(); });
  t.copy_(tensors[0]);
}

std::vector<torch::Tensor> Ranks::all_gather(const torch::Tensor& local) {
  if (!active()) return {local};
  // Rows differ between ranks: gather the counts, then equal-sized padded blocks.
  auto rows = torch::full({world_}, std::int64_t(0), torch::kInt64);
  rows[rank_] = local.size(0);
  all_reduce(rows);
  const auto most = rows.max().item<std::int64_t>();
  auto sizes = local.sizes().vec();
  sizes[0] = most;
  auto padded = normal_empty(sizes, local.options().device(group_->device));
  {
    c10::InferenceMode normal(false);
    padded.zero_().narrow(0, 0, local.size(0)).copy_(local);
  }
  std::vector<std::vector<at::Tensor>> out(1);
  for (int r = 0; r < world_; ++r) out[0].push_back(normal_empty(sizes, padded.options()));
  std::vector<at::Tensor> in{padded};
  group_->guarded(rank_, "all-gather", [&] { group_->backend->allgather(out, in)->wait(); });
  std::vector<torch::Tensor> parts;
  for (int r = 0; r < world_; ++r) parts.push_back(out[0][std::size_t(r)].narrow(0, 0, rows[r].item<std::int64_t>()).to(local.device()));
  return parts;
}

std::vector<std::int64_t> batches_of_rank(const Ranks& ranks, std::int64_t batches) {
  std::vector<std::int64_t> mine;
  for (std::int64_t b = ranks.rank(); b < batches; b += ranks.world()) mine.push_back(b);
  return mine;
}

// ---- gradient buckets -----------------------------------------------------------------------

struct DataParallel::Buckets {
  struct Bucket {
    std::vector<std::size_t> params;
    torch::Tensor flat;
    std::size_t ready = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };
  Ranks::Group& group;
  int rank = 0, world = 1;
  std::vector<torch::Tensor> params;
  std::vector<std::size_t> bucket_of;
  std::vector<std::int64_t> offset;  // of each parameter in its bucket
  std::vector<int> seen;             // gradients a parameter received in this backward
  std::vector<Bucket> buckets;
  std::vector<unsigned> hooks;
  std::size_t next = 0;  // buckets are launched in order, so every rank issues the same sequence
  bool armed = false;
  std::mutex mutex;  // CUDA runs hooks on the autograd engine's device threads

  Buckets(Ranks::Group& g, int r, int w, std::vector<torch::Tensor> ps) : group(g), rank(r), world(w), params(std::move(ps)) {
    constexpr std::int64_t kFirstBytes = 1 << 20, kBytes = 25 << 20;  // DDP's sizes
    bucket_of.resize(params.size());
    offset.resize(params.size());
    seen.assign(params.size(), 0);
    std::int64_t bytes = 0;
    // Reverse order: the last layers' gradients come first in backward.
    for (std::size_t k = params.size(); k-- > 0;) {
      const auto& p = params[k];
      const std::int64_t cap = buckets.size() <= 1 ? kFirstBytes : kBytes;
      if (buckets.empty() || bytes >= cap) {
        buckets.emplace_back();
        bytes = 0;
      }
      Bucket& b = buckets.back();
      offset[k] = bytes / std::int64_t(p.element_size());
      bytes += p.numel() * std::int64_t(p.element_size());
      bucket_of[k] = buckets.size() - 1;
      b.params.push_back(k);
    }
    for (auto& b : buckets) {
      std::int64_t n = 0;
      for (auto k : b.params) n += params[k].numel();
      b.flat = torch::zeros({n}, params[b.params.front()].options().requires_grad(false));
    }
    for (std::size_t k = 0; k < params.size(); ++k)
      hooks.push_back(params[k].register_hook([this, k](const torch::Tensor& grad) { ready(k, grad); }));
  }
  ~Buckets() {
    for (std::size_t k = 0; k < params.size(); ++k) params[k].remove_hook(hooks[k]);
  }

  void ready(std::size_t k, const torch::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || ++seen[k] > 1) return;  // a second gradient of one parameter is refused in finish()
    Bucket& b = buckets[bucket_of[k]];
    b.flat.narrow(0, offset[k], params[k].numel()).copy_(grad.reshape({-1}));
    ++b.ready;
    launch_ready();
  }

  void launch_ready() {
    while (next < buckets.size() && buckets[next].ready == buckets[next].params.size()) {
      std::vector<at::Tensor> tensors{buckets[next].flat};
      group.guarded(rank, "gradient all-reduce", [&] { buckets[next].work = group.backend->allreduce(tensors); });
      ++next;
    }
  }

  void start() {
    std::lock_guard<std::mutex> lock(mutex);
    std::fill(seen.begin(), seen.end(), 0);
    for (auto& b : buckets) b.ready = 0;
    next = 0;
    armed = true;
  }

  // After backward: parameters that got no gradient count as zero, every bucket is reduced and
  // each .grad becomes the bucket's mean.
  void finish() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      armed = false;
      for (std::size_t k = 0; k < params.size(); ++k) {
        if (seen[k] > 1)
          throw std::logic_error("data-parallel training needs each parameter used once per step (a shared weight)");
        if (seen[k] == 0) {
          Bucket& b = buckets[bucket_of[k]];
          b.flat.narrow(0, offset[k], params[k].numel()).zero_();
          ++b.ready;
        }
      }
      launch_ready();
    }
    torch::NoGradGuard no_grad;
    for (auto& b : buckets) {
      group.guarded(rank, "gradient all-reduce", [&] { b.work->wait(); });
      b.work.reset();
      b.flat.div_(double(world));
      for (auto k : b.params) {
        auto mean = b.flat.narrow(0, offset[k], params[k].numel()).view_as(params[k]);
        if (params[k].grad().defined())
          params[k].mutable_grad().copy_(mean);
        else
          params[k].mutable_grad() = mean.clone();
      }
    }
  }
};

DataParallel::DataParallel(Ranks& ranks, std::vector<torch::Tensor> params, std::int64_t global_batch)
    : ranks_(ranks) {
  const std::int64_t K = ranks.world(), r = ranks.rank();
  if (global_batch < K)
    throw OptionError("batch", fmt::format("= {} is smaller than the {} ranks: each needs a sample", global_batch, K));
  rows_ = {global_batch * r / K, global_batch * (r + 1) / K};
  share_ = double((rows_.second - rows_.first) * K) / double(global_batch);
  if (ranks.active()) {
    copy_from_root(params);
    buckets_ = std::make_unique<Buckets>(*ranks.group(), ranks.rank(), ranks.world(), std::move(params));
  }
}

DataParallel::~DataParallel() = default;

double DataParallel::global_loss(const torch::Tensor& loss) {
  if (!ranks_.active()) return loss.item<double>();
  return ranks_.sum(loss.item<double>() * share_) / double(ranks_.world());
}

void DataParallel::backward(const torch::Tensor& loss) {
  if (!ranks_.active()) {
    loss.backward();
    return;
  }
  buckets_->start();
  try {
    (share_ == 1.0 ? loss : loss * share_).backward();
  } catch (...) {
    buckets_->armed = false;
    throw;
  }
  buckets_->finish();
}

int DataParallel::agree_stop(int signal) { return ranks_.active() ? ranks_.max(signal) : signal; }

void DataParallel::copy_from_root(const std::vector<torch::Tensor>& tensors) {
  if (!ranks_.active() || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}));
  auto all = torch::cat(flat);
  ranks_.broadcast(all);
  std::int64_t at = 0;
  for (const auto& t : tensors) {
    t.detach().copy_(all.narrow(0, at, t.numel()).view_as(t));
    at += t.numel();
  }
}

}  // namespace genphys::engine

int genphys::process_rank() { return engine::rank_environment().rank; }
