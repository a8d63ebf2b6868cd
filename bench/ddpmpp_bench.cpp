// genphys's side of bench/run_bench.py: a timing server answering one JSON request per line on
// stdin with one JSON line on stdout, so that the driver can interleave it with the PyTorch twin
// (bench/ddpmpp_twin.py serve) measurement by measurement. The work is the engine's own: the
// ddpmpp-small preset, the trainer's step, generate(), the PFGM++ kernel sampler, the exact field.
//
//   ddpmpp_bench serve [THREADS]     (THREADS 0: physical cores; the start-up line goes to stderr)
#include <chrono>
#include <cstdint>
#include <iostream>
#include <map>
#include <numeric>
#include <string>

#include <ATen/record_function.h>
#include <nlohmann/json.hpp>

#include "engine/network.hpp"
#include "engine/runtime.hpp"
#include "engine/sampler.hpp"
#include "engine/trainer.hpp"
#include "genphys/empirical.hpp"
#include "genphys/kernels.hpp"
#include "genphys/random.hpp"
#include "song_unet.hpp"

using namespace genphys;
using namespace genphys::engine;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

const std::vector<std::int64_t> kShape{1, 28, 28};

ArchOptions ddpmpp_arch() {
  ArchOptions a;
  a.arch = "ddpmpp-small";
  return resolve_arch(a, kShape);
}

// The trainer's step (src/engine/trainer.cpp) on the PFGM++ D = 128 process: batch from the
// kernel sampler, weighted loss, backward, gradient clipping, Adam, EMA.
class TrainBench {
 public:
  TrainBench() : process_(make_pfgmpp_process(784, 128.0)), model_(make_network(ddpmpp_arch(), kShape), 0.5),
                 ema_(make_network(ddpmpp_arch(), kShape), 0.5),
                 optimizer_(model_->parameters(), torch::optim::AdamOptions(1e-3).betas({0.9, 0.999}).eps(1e-8)) {
    torch::manual_seed(0);
    data_.x = torch::rand({4096, 1, 28, 28}) * 2 - 1;
    data_.shape = kShape;
    data_.is_image = true;
    config_.batch = 128;
    config_.shape = kShape;
    config_.is_image = true;
    maker_ = std::make_unique<BatchMaker>(data_, *process_, config_);
    copy_parameters(model_, ema_);
  }

  double step(int batch) {
    config_.batch = batch;
    const auto t0 = Clock::now();
    Batch b = maker_->make(step_++);
    model_->train();
    optimizer_.zero_grad();
    auto loss = edm_loss(model_, b.y, b.x, b.sigma).mean();
    loss.backward();
    torch::nn::utils::clip_grad_norm_(model_->parameters(), 1.0);
    optimizer_.step();
    torch::NoGradGuard guard;
    auto params = model_->parameters(), ema = ema_->parameters();
    for (std::size_t i = 0; i < params.size(); ++i) ema[i].copy_(params[i].detach().lerp(ema[i], 0.999));
    return seconds_since(t0);
  }

  EdmPrecond& ema() { return ema_; }
  const GenerativeProcess& process() const { return *process_; }

 private:
  std::unique_ptr<GenerativeProcess> process_;
  Dataset data_;
  RunConfig config_;
  std::unique_ptr<BatchMaker> maker_;
  EdmPrecond model_, ema_;
  torch::optim::Adam optimizer_;
  std::int64_t step_ = 0;
};

// Seconds per forward pass in steady state, as the sampler runs them: one untimed pass (after a
// training step the allocator and oneDNN's caches hold other shapes), then the mean of `repeat`.
double forward_seconds(EdmPrecond& model, int batch, int repeat) {
  auto x = torch::randn({batch, 1, 28, 28});
  auto s = torch::full({batch}, 0.5);
  model->eval();
  torch::InferenceMode guard;
  model->forward(x, s);
  const auto t0 = Clock::now();
  for (int i = 0; i < repeat; ++i) model->forward(x, s);
  return seconds_since(t0) / repeat;
}

double sample_seconds(EdmPrecond& model, const GenerativeProcess& process, int count, int nfe, int batch) {
  std::vector<std::int64_t> indices(static_cast<std::size_t>(count));
  std::iota(indices.begin(), indices.end(), 0);
  OdeOptions ode;
  ode.nfe = nfe;
  std::int64_t used = 0;
  const auto t0 = Clock::now();
  generate(model, process, kShape, indices, 0, ode, batch, torch::kCPU, used);
  return seconds_since(t0);
}

// Radii from the PFGM++ (D = 128) kernel in N dimensions: one stream per draw as `genphys kernel`
// does (seeding the engine dominates), or all from one stream (the sampler itself).
double radii_seconds(long count, int dim, bool per_draw_streams) {
  const auto process = make_pfgmpp_process(dim, 128.0);
  const double t = process->time(1.0);
  double sink = 0;
  Rng shared = sample_rng(0, 0);
  const auto t0 = Clock::now();
  for (long i = 0; i < count; ++i) {
    if (per_draw_streams) {
      Rng rng = sample_rng(0, std::uint64_t(i));
      sink += process->sample_radius(rng, t);
    } else {
      sink += process->sample_radius(shared, t);
    }
  }
  const double s = seconds_since(t0);
  if (!(sink > 0)) std::cerr << "radii: no draws\n";
  return s;
}

// The exact PFGM++ field of `n` points at `queries` query points: velocity() once.
double field_seconds(int n, int queries, int dim) {
  const auto process = make_pfgmpp_process(dim, 128.0);
  torch::manual_seed(1);
  Eigen::MatrixXd data = Eigen::MatrixXd::Random(n, dim);
  Eigen::MatrixXd x = Eigen::MatrixXd::Random(queries, dim) * 3.0;
  EmpiricalField field(*process, data);
  const auto t0 = Clock::now();
  auto v = field.velocity(x, process->time(1.0));
  const double s = seconds_since(t0);
  if (!v.allFinite()) std::cerr << "field: non-finite velocity\n";
  return s;
}

// The ceilings: a 3x3 64->64 convolution through oneDNN (NHWC) and a 512^3 float32 matmul.
// Timed like forward_seconds: one untimed call, then the mean of `repeat`.
double conv_seconds(int batch, int repeat) {
  auto x = torch::randn({batch, 64, 28, 28}).contiguous(torch::MemoryFormat::ChannelsLast);
  auto w = torch::randn({64, 64, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast);
  auto b = torch::zeros({64});
  torch::InferenceMode guard;
  torch::conv2d(x, w, b, 1, 1);
  const auto t0 = Clock::now();
  for (int i = 0; i < repeat; ++i) torch::conv2d(x, w, b, 1, 1);
  return seconds_since(t0) / repeat;
}

// The network's convolutions alone: the (input, weight) shapes of one no-grad forward pass at
// `batch`, each run by itself on random data in NCHW or NHWC (one untimed call, then the mean of
// `repeat`); the sum of their times is what the forward pass would take if nothing else ran.
double network_convs_seconds(EdmPrecond& model, int batch, bool nhwc, int repeat, int& count) {
  static std::vector<std::pair<std::vector<std::int64_t>, std::vector<std::int64_t>>> shapes;
  shapes.clear();
  auto handle = at::addGlobalCallback(
      at::RecordFunctionCallback(
          [](const at::RecordFunction& fn) -> std::unique_ptr<at::ObserverContext> {
            if (std::string(fn.name()) == "aten::conv2d") {
              const auto in = fn.inputs();
              shapes.emplace_back(in[0].toTensor().sizes().vec(), in[1].toTensor().sizes().vec());
            }
            return nullptr;
          },
          nullptr)
          .needsInputs(true)
          .scopes({at::RecordScope::FUNCTION}));
  {
    torch::InferenceMode guard;
    model->eval();
    model->forward(torch::randn({batch, 1, 28, 28}), torch::full({batch}, 0.5));
  }
  at::removeCallback(handle);
  const auto format = nhwc ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  torch::InferenceMode guard;
  double total = 0;
  for (const auto& [input, weight] : shapes) {
    auto x = torch::randn(input).contiguous(format);
    auto w = torch::randn(weight), b = torch::randn({weight[0]});
    const auto pad = weight[2] / 2;
    torch::conv2d(x, w, b, 1, pad);
    const auto t0 = Clock::now();
    for (int i = 0; i < repeat; ++i) torch::conv2d(x, w, b, 1, pad);
    total += seconds_since(t0) / repeat;
  }
  count = int(shapes.size());
  return total;
}

double matmul_seconds(int n, torch::ScalarType type) {
  auto a = torch::randn({n, n}, type), b = torch::randn({n, n}, type);
  torch::InferenceMode guard;
  const auto t0 = Clock::now();
  torch::mm(a, b);
  return seconds_since(t0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::string(argv[1]) != "serve") {
    std::cerr << "usage: ddpmpp_bench serve [THREADS]\n";
    return 2;
  }
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  setup_runtime("cpu", threads);
  TrainBench train;
  const auto* net = dynamic_cast<const SongUNetImpl*>(train.ema()->net().get());
  std::cout << nlohmann::json{{"ready", true}, {"threads", torch::get_num_threads()},
                              {"engine", engine_description("cpu", torch::get_num_threads())},
                              {"flops_per_image", net ? net->flops_per_image() : 0}}
                   .dump()
            << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    const auto req = nlohmann::json::parse(line);
    const std::string what = req.at("what");
    const int batch = req.value("batch", 128);
    const int repeat = req.value("repeat", 1);
    if (repeat < 1) {
      std::cerr << "repeat must be >= 1\n";
      return 2;
    }
    double s = 0;
    int count = 0;  // network_convs: how many convolutions one forward pass runs
    if (what == "train") {
      s = train.step(batch);
    } else if (what == "forward") {
      s = forward_seconds(train.ema(), batch, repeat);
    } else if (what == "sample") {
      train.ema()->set_inference_bfloat16(req.value("bf16", false));
      s = sample_seconds(train.ema(), train.process(), batch, req.value("nfe", 35), req.value("sample_batch", batch));
      train.ema()->set_inference_bfloat16(false);
    } else if (what == "radii") {
      s = radii_seconds(batch, req.value("dim", 3072), req.value("streams", true));
    } else if (what == "field") {
      s = field_seconds(req.at("data"), batch, req.value("dim", 784));
    } else if (what == "network_convs") {
      s = network_convs_seconds(train.ema(), batch, req.value("nhwc", true), repeat, count);
    } else if (what == "conv") {
      s = conv_seconds(batch, repeat);
    } else if (what == "matmul") {
      s = matmul_seconds(batch, req.value("double", false) ? torch::kFloat64 : torch::kFloat32);
    } else if (what == "variant") {
      // Layout variants of the same network (0: NCHW, 1: NHWC, 2: NHWC without autograd), for
      // choosing the default by A/B timing in one process (not part of run_bench.py).
      static std::map<int, EdmPrecond> variants;
      const int v = req.at("variant");
      if (v < 0 || v > 2) {
        std::cerr << "variant must be 0, 1 or 2\n";
        return 2;
      }
      if (!variants.count(v)) {
        auto o = SongUNetOptions(1, 28).layout(ActivationLayout(v));
        variants.emplace(v, EdmPrecond(SongUNet(o).ptr(), 0.5));
      }
      auto& m = variants.at(v);
      if (req.value("train", false)) {
        auto x = torch::randn({batch, 1, 28, 28});
        auto sig = torch::exp(torch::randn({batch}) * 1.2 - 1.2);
        m->train();
        const auto t0 = Clock::now();
        auto loss = edm_loss(m, x, x, sig).mean();
        loss.backward();
        s = seconds_since(t0);
      } else {
        s = forward_seconds(m, batch, repeat);
      }
    } else if (what == "quit") {
      break;
    } else {
      std::cerr << "unknown request " << what << "\n";
      return 2;
    }
    nlohmann::json answer{{"what", what}, {"seconds", s}};
    if (count > 0) answer["count"] = count;
    std::cout << answer.dump() << std::endl;
  }
  return 0;
}
