// genphys::network_likelihood: a trained network's velocity and its divergence (autograd: exact
// or Hutchinson) driven through likelihood.hpp's integrator.
#include <chrono>
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine/held_out.hpp"
#include "engine/likelihood.hpp"
#include "engine/process.hpp"
#include "engine/runtime.hpp"
#include "engine/sampler.hpp"
#include "genphys/empirical.hpp"
#include "genphys/errors.hpp"
#include "genphys/network_likelihood.hpp"
#include "genphys/random.hpp"

namespace genphys {
namespace engine {

namespace {

// Dequantisation draws and probes use streams of their own (neither sampling's nor training's).
constexpr std::uint64_t kDequantiseStream = 0x6465717561ULL, kProbeStream = 0x70726f6265ULL;
constexpr std::uint64_t kHeldOutSeedOffset = 3000017;

torch::Tensor to_tensor(const Eigen::MatrixXd& m, const std::vector<std::int64_t>& shape, torch::Device device) {
  std::vector<std::int64_t> sizes{m.rows()};
  sizes.insert(sizes.end(), shape.begin(), shape.end());
  // Eigen is column-major: copy through the transpose so each row is one example.
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = m;
  return torch::from_blob(const_cast<double*>(rows.data()), {m.rows(), m.cols()}, torch::kFloat64).clone().reshape(sizes).to(device);
}

Eigen::MatrixXd to_matrix(const torch::Tensor& t) {
  const auto c = t.detach().to(torch::kCPU, torch::kFloat64).flatten(1).contiguous();
  Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows(c.size(0), c.size(1));
  std::copy_n(c.data_ptr<double>(), c.numel(), rows.data());
  return rows;
}

}  // namespace

DivergenceField velocity_divergence_field(const StepVelocity& velocity, const std::vector<std::int64_t>& shape,
                                          torch::Device device, const torch::Tensor& probes) {
  return [=](const Eigen::MatrixXd& xm, const FieldPoint& at, Eigen::MatrixXd& v, Eigen::MatrixXd& div) {
    torch::Tensor x = to_tensor(xm, shape, device).requires_grad_(true);
    const torch::Tensor out = velocity(x, ClockPoint{at.lambda, at.t, at.sigma}).flatten(1);
    const std::int64_t rows = xm.rows(), dim = xm.cols();
    torch::Tensor estimates;
    if (!probes.defined()) {
      estimates = torch::zeros({rows, 1}, torch::kFloat64);
      for (std::int64_t j = 0; j < dim; ++j) {
        const auto g = torch::autograd::grad({out.select(1, j).sum()}, {x}, {}, /*retain_graph=*/true)[0];
        estimates.select(1, 0).add_(g.flatten(1).select(1, j).to(torch::kCPU, torch::kFloat64));
      }
    } else {
      const std::int64_t k = probes.size(0);
      estimates = torch::empty({rows, k}, torch::kFloat64);
      for (std::int64_t p = 0; p < k; ++p) {
        const auto eps = probes[p].to(device);
        const auto g = torch::autograd::grad({out}, {x}, {eps}, /*retain_graph=*/p + 1 < k)[0];
        estimates.select(1, p).copy_((g.flatten(1) * eps).sum(1));
      }
    }
    v = to_matrix(out);
    div = to_matrix(estimates);
  };
}

torch::Tensor rademacher_probes(int k, std::int64_t first, std::int64_t rows, std::int64_t dim, std::uint64_t seed) {
  auto probes = torch::empty({k, rows, dim}, torch::kFloat64);
  auto a = probes.accessor<double, 3>();
  for (std::int64_t i = 0; i < rows; ++i) {
    Rng rng = sample_rng(seed ^ kProbeStream, std::uint64_t(first + i));
    for (int p = 0; p < k; ++p)
      for (std::int64_t j = 0; j < dim; ++j) a[p][i][j] = (rng() >> 63) ? 1.0 : -1.0;
  }
  return probes;
}

}  // namespace engine

using namespace engine;

NetworkLikelihood network_likelihood(const NetworkLikelihoodOptions& opt) {
  if (opt.checkpoint.empty()) throw OptionError("checkpoint", "is required");
  if (opt.n < 1) throw InputError(fmt::format("--n must be >= 1, got {}", opt.n));
  if (opt.probes < 0) throw InputError(fmt::format("--hutchinson must be >= 1 probes, got {}", opt.probes));
  if (opt.batch < 1) throw InputError("--batch must be >= 1");
  const auto start = std::chrono::steady_clock::now();
  const torch::Device device = setup_runtime(opt.device, opt.threads);
  CheckpointReader reader(opt.checkpoint, device);
  const RunConfig& config = reader.config();
  if (config.process_given)
    throw InputError("checkpoint " + opt.checkpoint + " was trained on a process given in code, not a module");
  if (config.conditional)
    throw InputError("checkpoint " + opt.checkpoint + " is class-conditional: the likelihood needs an unconditional model");
  std::int64_t dim = 1;
  for (auto s : config.shape) dim *= s;
  const auto process = resolve_process(config.module, int(dim), false).process;
  LikelihoodOptions ode = opt.ode;
  if (!(ode.sigma_min > 0)) ode.sigma_min = config.sigma_min;
  if (!(ode.sigma_max > 0)) ode.sigma_max = config.sigma_max;
  check_likelihood(*process, ode, config.module.name);
  require_model_fits(config.velocity_target, *process, config.module.name);
  if (opt.exact_field && opt.probes > 0)
    throw InputError("the exact field's divergence is computed exactly: --hutchinson goes with a network");
  if (opt.probes == 0 && dim > 64 && !opt.exact_field)
    throw InputError(fmt::format("the exact divergence takes one backward pass per dimension ({} here): use "
                                 "--hutchinson K for data of more than 64 dimensions",
                                 dim));

  // Held-out data: the test split's first n images, uniformly dequantised; or n fresh toy draws.
  Eigen::MatrixXd x;
  NetworkLikelihood out;
  if (config.is_image) {
    const std::string split = test_split_of(config.data);
    if (split.empty()) throw InputError("data " + config.data + " has no test split to measure the likelihood on");
    const Dataset test = load_dataset(split, opt.n, 0);
    if (test.size() < opt.n) throw InputError(fmt::format("{} holds {} images; --n {} is too many", split, test.size(), opt.n));
    x = to_matrix(test.x.to(torch::kFloat64));
    for (Eigen::Index i = 0; i < x.rows(); ++i) {
      Rng rng = sample_rng(opt.seed ^ kDequantiseStream, std::uint64_t(i));
      for (Eigen::Index j = 0; j < x.cols(); ++j)
        x(i, j) += (double(rng() >> 11) * 0x1.0p-53 - 0.5) / kPixelScale;
    }
    out.data_set = fmt::format("first {} test images ({}), dequantised", opt.n, split);
  } else {
    x = held_out_points(config.data, opt.n, opt.seed + kHeldOutSeedOffset, 0);
    out.data_set = fmt::format("{} held-out points of {}", opt.n, config.data);
  }

  // The field: the network (gradients w.r.t. x only) or the training set's exact field.
  EdmPrecond model = make_model(config);
  std::unique_ptr<EmpiricalField> empirical;
  DivergenceField exact;
  if (opt.exact_field) {
    if (dim > 64)
      throw InputError(fmt::format("the exact field's divergence takes 2N + 1 evaluations by central differences ({} "
                                   "dimensions here): --exact goes with points of at most 64 dimensions",
                                   dim));
    const Dataset train = load_dataset(config.data, config.limit, config.seed);
    empirical = std::make_unique<EmpiricalField>(*process, to_matrix(train.x.to(torch::kFloat64)));
    exact = empirical_divergence_field(*empirical);
    out.field = fmt::format("exact field of {} training points", empirical->size());
  } else {
    model->to(device);
    const bool ema = opt.use_ema && reader.has_ema();
    reader.load_model(model, ema);
    model->eval();
    for (auto& p : model->parameters()) p.requires_grad_(false);
    out.field = ema ? "network (EMA)" : "network (raw)";
  }
  const StepVelocity velocity = model_velocity(model, *process);
  Eigen::RowVectorXd centre = Eigen::RowVectorXd::Zero(dim);
  for (std::int64_t j = 0; j < std::int64_t(config.data_mean.size()) && j < dim; ++j) centre(j) = config.data_mean[std::size_t(j)];

  out.pde = config.module.name;
  out.dim = int(dim);
  out.is_image = config.is_image;
  out.probes = opt.probes;
  out.steps = ode.steps;
  out.sigma_min = ode.sigma_min;
  out.sigma_max = ode.sigma_max;
  for (std::int64_t first = 0; first < opt.n; first += opt.batch) {
    const std::int64_t rows = std::min<std::int64_t>(opt.batch, opt.n - first);
    const torch::Tensor probes =
        opt.probes > 0 && !empirical ? rademacher_probes(opt.probes, first, rows, dim, opt.seed) : torch::Tensor();
    const DivergenceField field = empirical ? exact : velocity_divergence_field(velocity, config.shape, device, probes);
    const LogLikelihood r = log_likelihood(*process, x.middleRows(first, rows), field, ode, centre);
    out.evaluations = r.evaluations;
    out.log_p.insert(out.log_p.end(), r.log_p.data(), r.log_p.data() + rows);
    out.log_p_se.insert(out.log_p_se.end(), r.log_p_se.data(), r.log_p_se.data() + rows);
    if (opt.messages)
      opt.messages(fmt::format("likelihood: {} of {} examples done", first + rows, opt.n));
  }
  // bits/dim per example, then the mean and its standard error over examples.
  const double n = double(opt.n), nats_to_bits = 1.0 / (double(dim) * std::log(2.0));
  std::vector<double> bits(out.log_p.size());
  double probe_var = 0;
  for (std::size_t i = 0; i < bits.size(); ++i) {
    bits[i] = config.is_image ? bits_per_dim(out.log_p[i], int(dim)) : -out.log_p[i] * nats_to_bits;
    out.bpd += bits[i] / n;
    probe_var += std::pow(out.log_p_se[i] * nats_to_bits, 2);
  }
  double var = 0;
  for (double b : bits) var += (b - out.bpd) * (b - out.bpd);
  out.bpd_se = opt.n > 1 ? std::sqrt(var / (n - 1) / n) : 0.0;
  out.bpd_probe_se = std::sqrt(probe_var) / n;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

}  // namespace genphys
