// The UNet path on 64 tiny images: diffusion and PFGM (D = 1) losses fall, and a resumed run is
// bit-for-bit the run that never stopped.
#include <fstream>
#include <iostream>

#include "engine/checkpoint.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/kernels.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using genphys::test::TempDir;

namespace {

TrainOptions image_run(const TempDir& dir, std::shared_ptr<const GenerativeProcess> process) {
  TrainOptions o = test::quiet_options(dir / "run");
  o.data = test::write_square_idx(dir / "squares.idx.gz", 64);  // 64 images, 8x8
  o.module.name = "label";
  o.process = std::move(process);
  o.steps = 150;
  o.batch = 32;
  o.lr = 2e-3;
  o.arch.arch = "unet-small";
  o.arch.channels = 16;
  o.eval_samples = 256;
  return o;
}

void report(const std::string& label, const TrainResult& r) {
  std::cout << label << ": eval loss mean " << r.eval_loss_start << " -> " << r.eval_loss_end << " ("
            << r.eval_loss_start / r.eval_loss_end << "x), median " << r.eval_median_start << " -> "
            << r.eval_median_end << " (" << r.eval_median_start / r.eval_median_end << "x), "
            << r.images_per_second << " images/s\n";
}

}  // namespace

// Measured (150 steps): mean 1.86 -> 0.23 (8.1x), median 1.69 -> 0.077 (22x).
TEST_CASE("diffusion, UNet on 8x8 images: the loss falls") {
  TempDir dir("img_diffusion");
  const TrainResult r = train(image_run(dir, make_diffusion_process(64)));
  report("diffusion unet 8x8", r);
  CHECK(r.eval_loss_start / r.eval_loss_end > 4.0);
  CHECK(r.eval_median_start / r.eval_median_end > 8.0);
}

// PFGM's kernel has infinite variance (R^2 = t^2 B/(1-B), B ~ Beta(N/2, 1/2)): a few far
// samples dominate the mean loss, so the median carries the claim. Measured: median 2.88 -> 0.47
// (6.1x); mean 119 -> 93 (1.27x).
TEST_CASE("PFGM (D = 1), UNet on 8x8 images: the median loss falls") {
  TempDir dir("img_pfgm");
  const TrainResult r = train(image_run(dir, make_pfgmpp_process(64, 1.0)));
  report("pfgm D=1 unet 8x8", r);
  CHECK(r.skipped_steps == 0);
  CHECK(r.eval_median_start / r.eval_median_end > 3.0);
  CHECK(r.eval_loss_end < r.eval_loss_start);
}

TEST_CASE("resume: 2k steps in one go == k steps, save, resume (branching into a cool-down), k steps (bit-exact)") {
  TempDir dir("img_resume");
  auto options = [&](const std::string& run, std::int64_t steps) {
    TrainOptions o = image_run(dir, make_pfgmpp_process(64, 16.0));
    o.out_dir = dir / run;
    o.steps = steps;
    o.batch = 8;  // 64 images: an epoch boundary is crossed
    o.arch.dropout = 0.2;  // dropout draws from torch's generator
    o.hflip = true;
    o.eval_samples = 0;
    o.warmup_images = 40;  // the lr ramp spans the resume point
    return o;
  };
  // The straight run cools down over images 32..80, where its first 5 steps (images 0..40) still
  // see the full lr; the stopped run trains those without a cool-down and is branched into the
  // same cool-down on resume.
  TrainOptions straight = options("straight", 10);
  straight.lr_cooldown_images = 48;
  train(straight);
  train(options("stopped", 5));
  TrainOptions resumed = options("stopped", 10);
  resumed.resume = true;
  resumed.lr_cooldown_images = 48;
  resumed.chosen = {"lr_cooldown_images"};
  const TrainResult r = train(resumed);
  CHECK(r.start_step == 5);
  CHECK(r.steps_done == 10);

  engine::CheckpointReader a(dir / "straight/last.ckpt", torch::kCPU), b(dir / "stopped/last.ckpt", torch::kCPU);
  CHECK(a.state().step == 10);
  CHECK(b.state().step == 10);
  for (bool ema : {false, true}) {
    engine::EdmPrecond ma(engine::make_network(a.config().arch, a.config().shape), 0.5);
    engine::EdmPrecond mb(engine::make_network(b.config().arch, b.config().shape), 0.5);
    a.load_model(ma, ema);
    b.load_model(mb, ema);
    auto pa = ma->parameters(), pb = mb->parameters();
    REQUIRE(pa.size() == pb.size());
    int equal = 0;
    for (std::size_t i = 0; i < pa.size(); ++i) equal += torch::equal(pa[i], pb[i]);
    INFO((ema ? "EMA" : "model") << ": " << equal << " of " << pa.size() << " tensors equal");
    CHECK(equal == int(pa.size()));
  }
  // Adam's moments and step counts match too (the files themselves differ only in TorchScript's
  // per-process type-name counters).
  engine::EdmPrecond ma(engine::make_network(a.config().arch, a.config().shape), 0.5);
  engine::EdmPrecond mb(engine::make_network(b.config().arch, b.config().shape), 0.5);
  torch::optim::Adam oa(ma->parameters(), torch::optim::AdamOptions(1e-3));
  torch::optim::Adam ob(mb->parameters(), torch::optim::AdamOptions(1e-3));
  a.load_model(ma, false);
  b.load_model(mb, false);
  a.load_optimizer(oa);
  b.load_optimizer(ob);
  auto pa = ma->parameters(), pb = mb->parameters();
  int same = 0;
  for (std::size_t i = 0; i < pa.size(); ++i) {
    auto& sa = static_cast<torch::optim::AdamParamState&>(*oa.state().at(c10::guts::to_string(pa[i].unsafeGetTensorImpl())));
    auto& sb = static_cast<torch::optim::AdamParamState&>(*ob.state().at(c10::guts::to_string(pb[i].unsafeGetTensorImpl())));
    same += sa.step() == 10 && sb.step() == 10 && torch::equal(sa.exp_avg(), sb.exp_avg()) &&
            torch::equal(sa.exp_avg_sq(), sb.exp_avg_sq());
  }
  CHECK(same == int(pa.size()));
}
