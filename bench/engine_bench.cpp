// Speed measurements and loss-ratio experiments, hidden from the default run:
//   make -C build engine_bench && build/engine_bench "[.bench]"   (THREADS=n, CHANNELS_LAST=1, NO_MKLDNN=1)
//   PROC=pfgm1 DATA=images STEPS=150 build/engine_bench "[.experiment]"
#include <chrono>
#include <algorithm>
#include <cstdlib>
#include <iostream>

#include <ATen/Context.h>

#include "engine/network.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/kernels.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;

TEST_CASE("train speed: unet-small, 28x28, batch 128", "[.bench]") {
  const char* threads = std::getenv("THREADS");
  for (const std::int64_t steps : {3, 20}) {  // the first run pays oneDNN's kernel generation
    test::TempDir dir("bench");
    TrainOptions o = test::quiet_options(dir / "run");
    if (steps != 3) o.messages = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
    o.data = "fashion-mnist";
    o.limit = 4096;
    o.module.name = "diffusion";
    o.process = make_diffusion_process(784);
    o.steps = steps;
    o.batch = 128;
    o.threads = threads ? std::atoi(threads) : 2;
    o.eval_samples = 0;
    const TrainResult r = train(o);
    std::cout << "unet-small 28x28 batch 128, " << steps << " steps: " << r.images_per_second << " images/s\n";
  }
}

// unet-small against the UNet it replaced, in one process, alternating so that the machine's
// other load falls on both: training images/s (batch 128) and 35-NFE Heun sampling images/s
// (batch 64, EMA network). ARCHS=a,b picks others; ROUNDS=n (default 3).
TEST_CASE("unet-small vs the legacy unet-small: train and 35-NFE sample images/s", "[.bench]") {
  const char* threads = std::getenv("THREADS");
  const char* archs_env = std::getenv("ARCHS");
  const std::string archs_text = archs_env ? archs_env : std::string("unet-small,") + kLegacyUnetSmall;
  std::vector<std::string> archs;
  for (std::size_t start = 0; start <= archs_text.size();) {
    const std::size_t comma = std::min(archs_text.find(',', start), archs_text.size());
    archs.push_back(archs_text.substr(start, comma - start));
    start = comma + 1;
  }
  const int rounds = std::getenv("ROUNDS") ? std::atoi(std::getenv("ROUNDS")) : 3;
  test::TempDir dir("bench_pair");
  for (int round = 0; round <= rounds; ++round) {  // round 0 pays oneDNN's kernel generation
    for (const std::string& arch : archs) {
      TrainOptions o = test::quiet_options(dir / (arch + std::to_string(round)));
      o.data = "fashion-mnist";
      o.limit = 4096;
      o.module.name = "diffusion";
      o.process = make_diffusion_process(784);
      o.steps = round == 0 ? 2 : 12;
      o.batch = 128;
      o.threads = threads ? std::atoi(threads) : 2;
      o.eval_samples = 0;
      o.arch.arch = arch;
      const TrainResult r = train(o);
      SampleOptions s;
      s.checkpoint = r.checkpoint;
      s.process = o.process;
      s.nfe = 35;
      s.threads = o.threads;
      for (std::int64_t i = 0; i < 64; ++i) s.seeds.push_back(i);
      const auto t0 = std::chrono::steady_clock::now();
      sample(s);
      const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (round > 0)
        std::cout << "round " << round << " " << arch << ": train " << r.images_per_second
                  << " images/s, sample (35 NFE) " << 64 / seconds << " images/s\n";
    }
  }
}

TEST_CASE("forward/backward split: unet-small, 28x28, batch 128", "[.bench]") {
  torch::set_num_threads(std::getenv("THREADS") ? std::atoi(std::getenv("THREADS")) : 2);
  at::globalContext().setFlushDenormal(true);
  if (std::getenv("NO_MKLDNN")) at::globalContext().setUserEnabledMkldnn(false);
  ArchOptions a;
  a.arch = "unet-small";
  a = engine::resolve_arch(a, {1, 28, 28});
  engine::EdmPrecond model(engine::make_network(a, {1, 28, 28}), 0.5);
  auto x = torch::randn({128, 1, 28, 28});
  if (std::getenv("CHANNELS_LAST")) {
    torch::NoGradGuard g;
    for (auto& p : model->parameters())
      if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  auto s = torch::full({128}, 0.5);
  for (int i = 0; i < 4; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto loss = engine::edm_loss(model, x, x, s).mean();
    const auto t1 = std::chrono::steady_clock::now();
    loss.backward();
    const auto t2 = std::chrono::steady_clock::now();
    std::cout << "forward " << std::chrono::duration<double>(t1 - t0).count() << " s, backward "
              << std::chrono::duration<double>(t2 - t1).count() << " s\n";
  }
}

TEST_CASE("forward/backward split: unet 16 channels, 8x8, batch 32", "[.bench]") {
  torch::set_num_threads(2);
  if (std::getenv("NO_MKLDNN")) at::globalContext().setUserEnabledMkldnn(false);
  ArchOptions a;
  a.arch = "unet-small";
  a.channels = 16;
  a = engine::resolve_arch(a, {1, 8, 8});
  engine::EdmPrecond model(engine::make_network(a, {1, 8, 8}), 0.5);
  auto x = torch::randn({32, 1, 8, 8});
  auto s = torch::full({32}, 0.5);
  for (int i = 0; i < 4; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto loss = engine::edm_loss(model, x, x, s).mean();
    const auto t1 = std::chrono::steady_clock::now();
    loss.backward();
    const auto t2 = std::chrono::steady_clock::now();
    std::cout << "8x8 forward " << std::chrono::duration<double>(t1 - t0).count() << " s, backward "
              << std::chrono::duration<double>(t2 - t1).count() << " s\n";
  }
  test::TempDir dir("bench8");
  TrainOptions o = test::quiet_options(dir / "run");
  o.data = test::write_square_idx(dir / "sq.idx.gz", 64);
  o.process = make_diffusion_process(64);
  o.module.name = "diffusion";
  o.steps = 20;
  o.batch = 32;
  o.arch = a;
  o.eval_samples = 0;
  const auto t0 = std::chrono::steady_clock::now();
  auto r = train(o);
  std::cout << "20 steps: " << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s, "
            << r.images_per_second << " img/s\n";
}

TEST_CASE("experiment: loss ratios", "[.experiment]") {
  auto env = [](const char* k, const char* d) { const char* v = std::getenv(k); return std::string(v ? v : d); };
  const std::string proc = env("PROC", "diffusion"), data = env("DATA", "points");
  const int steps = std::stoi(env("STEPS", "400"));
  test::TempDir dir("exp");
  TrainOptions o = test::quiet_options(dir / "run");
  const int dim = data == "points" ? 2 : 64;
  o.data = data == "points" ? test::write_cluster_csv(dir / "p.csv", 256) : test::write_square_idx(dir / "s.gz", 64);
  o.module.name = proc;
  o.process = proc == "diffusion" ? make_diffusion_process(dim)
              : proc == "pfgm1"   ? make_pfgmpp_process(dim, 1.0)
              : proc == "pfgm128" ? make_pfgmpp_process(dim, 128.0)
                                  : make_yukawa_process(dim, std::stod(env("M", "1")));
  o.steps = steps;
  o.batch = std::stoi(env("BATCH", "128"));
  o.lr = std::stod(env("LR", "2e-3"));
  o.grad_clip = std::stod(env("CLIP", "1"));
  o.arch.arch = data == "points" ? "mlp" : "unet-small";
  o.arch.hidden = 64;
  o.arch.depth = 2;
  o.arch.channels = 16;
  o.eval_samples = 512;
  o.threads = std::stoi(env("THREADS", "1"));
  if (std::getenv("NO_MKLDNN")) at::globalContext().setUserEnabledMkldnn(false);
  const auto t0 = std::chrono::steady_clock::now();
  TrainResult r = train(o);
  std::cout << proc << " " << data << ": mean " << r.eval_loss_start << " -> " << r.eval_loss_end << " ("
            << r.eval_loss_start / r.eval_loss_end << "x), median " << r.eval_median_start << " -> " << r.eval_median_end
            << " (" << r.eval_median_start / r.eval_median_end << "x), "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s\n";
}
