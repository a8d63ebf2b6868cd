// The ddpmpp-small preset: EDM's DDPM++ SongUNet at the PFGM++ reference size, checked against
// its PyTorch twin (bench/ddpmpp_twin.py, Debian's python3-torch) on identical weights.
#include <cmath>
#include <cstdlib>
#include <string>

#include "engine/network.hpp"
#include "engine/sampler.hpp"
#include "engine/tensor_file.hpp"
#include "engine_fixtures.hpp"
#include "genphys/errors.hpp"
#include "genphys/kernels.hpp"
#include "group_norm_silu.hpp"
#include "song_unet.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;

namespace {

ArchOptions ddpmpp() {
  ArchOptions a;
  a.arch = "ddpmpp-small";
  return resolve_arch(a, {1, 28, 28});
}

// Weights away from EDM's near-zero output init, so that every layer shapes the output.
void randomise(torch::nn::Module& net) {
  torch::NoGradGuard guard;
  for (auto& p : net.parameters()) {
    if (p.dim() > 1)
      p.normal_(0.0, 1.0 / std::sqrt(double(p[0].numel())));
    else
      p.normal_(0.0, 0.2);
  }
}

// Runs the twin on `in` and returns its "out" tensor.
torch::Tensor run_twin(const std::string& mode, const std::string& in, const std::string& out,
                       const std::string& extra = "") {
  const char* src = std::getenv("GENPHYS_SOURCE_DIR");
  const char* py = std::getenv("GENPHYS_PYTHON");
  REQUIRE(src != nullptr);
  const std::string cmd = std::string(py ? py : "/usr/bin/python3") + " " + src + "/bench/ddpmpp_twin.py " + mode +
                          " " + in + " " + out + " --threads 1 " + extra;
  INFO(cmd << " (needs Debian's python3-torch: scripts/setup.sh installs it)");
  REQUIRE(std::system(cmd.c_str()) == 0);
  const auto t = read_tensor_file(out);
  REQUIRE(t.size() == 1);
  return t[0].second;
}

double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max() / b.to(torch::kFloat64).abs().max())
      .item<double>();
}

}  // namespace

TEST_CASE("ddpmpp-small is the PFGM++ reference network: 1,752,993 parameters, 0.638 GFLOP per image") {
  const ArchOptions a = ddpmpp();
  CHECK(a.channels == 32);
  CHECK(a.num_blocks == 2);
  CHECK((a.channel_mult == std::vector<int>{1, 2, 2}));
  CHECK((a.attn_resolutions == std::vector<int>{7}));
  CHECK(a.dropout == 0.1);
  Network net = make_network(a, {1, 28, 28});
  std::int64_t n = 0;
  for (const auto& p : net->parameters()) n += p.numel();
  CHECK(n == 1752993);
  // The twin's hook-based count (ddpmpp_twin.py count) gives the same figure.
  CHECK(std::dynamic_pointer_cast<SongUNetImpl>(net)->flops_per_image() == 638323712);
  // EDM's state-dict names, in EDM's order.
  const auto names = named_parameters_of(*net);
  CHECK(names.front().first == "map_layer0.weight");
  CHECK(names[4].first == "enc.28x28_conv.weight");
  CHECK(names.back().first == "dec.28x28_aux_conv.bias");
  torch::NoGradGuard g;
  CHECK((net->forward(torch::randn({2, 1, 28, 28}), torch::zeros({2})).sizes() == std::vector<std::int64_t>{2, 1, 28, 28}));
  ArchOptions bad;
  bad.arch = "ddpmpp-small";
  CHECK_THROWS_AS(resolve_arch(bad, {1, 30, 30}), InputError);  // 30 does not halve twice
  CHECK_THROWS_AS(resolve_arch(bad, {784}), InputError);
}

TEST_CASE("ddpmpp-small matches its PyTorch twin on the same weights: forward and a Heun solve") {
  torch::manual_seed(3);
  test::TempDir dir("twin");
  EdmPrecond model(make_network(ddpmpp(), {1, 28, 28}), 0.5);
  randomise(*model->net());
  model->eval();
  torch::NoGradGuard g;

  // Forward at noise levels across the EDM range.
  auto x = torch::randn({4, 1, 28, 28});
  auto sigma = torch::tensor({0.002, 0.3, 5.0, 80.0});
  x = x * sigma.reshape({4, 1, 1, 1}).to(torch::kFloat32);
  NamedTensors in = named_parameters_of(*model->net());
  in.emplace_back("x", x);
  in.emplace_back("sigma", sigma.to(torch::kFloat32));
  write_tensor_file(dir / "in.gptf", in);
  const auto ours = model->forward(x, sigma);
  const auto twin = run_twin("forward", dir / "in.gptf", dir / "out.gptf");
  REQUIRE(twin.sizes() == ours.sizes());
  // float32 through 30 blocks with different but equivalent kernels (here the NHWC no-grad
  // path): measured 1.3e-7 of the largest output value.
  CHECK(relative_error(ours, twin) < 1e-5);

  // A 5-NFE Heun solve from the same PFGM++ (D = 128) prior draws.
  const auto process = make_pfgmpp_process(784, 128.0);
  OdeOptions ode;
  ode.nfe = 5;
  // Rounded to float32, as the file carries it.
  auto prior = draw_prior(*process, {0, 1}, 7, {1, 28, 28}, ode.sigma_max).to(torch::kFloat32).to(torch::kFloat64);
  NamedTensors heun_in = named_parameters_of(*model->net());
  heun_in.emplace_back("x", prior);
  write_tensor_file(dir / "heun.gptf", heun_in);
  std::int64_t nfe = 0;
  Denoiser denoise = [&](const torch::Tensor& s, const torch::Tensor& sig) { return model->forward(s, sig); };
  const auto ours_heun = integrate_denoiser(*process, prior, denoise, ode, nfe);
  const auto twin_heun = run_twin("heun", dir / "heun.gptf", dir / "heun_out.gptf", "--nfe 5");
  CHECK(nfe == 5);
  // The twin integrates in float64 as the reference sampler does (measured 3e-6 apart).
  CHECK(relative_error(ours_heun, twin_heun) < 1e-4);
  // The solve moved far from the prior (radius ~ 80 sqrt(784)): a real comparison.
  CHECK(ours_heun.abs().max().item<double>() < 0.05 * prior.abs().max().item<double>());
}

TEST_CASE("ddpmpp-small gives the same outputs and gradients in NCHW and NHWC, with and without autograd") {
  torch::manual_seed(4);
  auto make = [](ActivationLayout layout) {
    SongUNet net(SongUNetOptions(1, 28).layout(layout));
    net->eval();
    return net;
  };
  SongUNet nchw = make(ActivationLayout::nchw), nhwc = make(ActivationLayout::nhwc),
           automatic = make(ActivationLayout::nhwc_without_grad);
  randomise(*nchw);
  for (auto* net : {&nhwc, &automatic}) {
    torch::NoGradGuard g;
    auto src = nchw->parameters(), dst = (*net)->parameters();
    for (std::size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
  }
  // Three images: the batched attention products split an odd batch across the threads.
  auto x = torch::randn({3, 1, 28, 28});
  auto c_noise = torch::tensor({-1.5, 0.0, 1.0});
  const auto reference = nchw->forward(x, c_noise);  // autograd on: torch's own ops throughout
  CHECK(!nchw->runs_nhwc(x));
  CHECK(!automatic->runs_nhwc(x));
  CHECK(nhwc->runs_nhwc(x));
  {
    torch::NoGradGuard g;
    CHECK(automatic->runs_nhwc(x));
    CHECK(!nchw->runs_nhwc(x));
    // Fused GroupNorm, in-place sums and the threaded attention products, in both layouts
    // (measured: 2e-7 to 4e-7 of the largest value).
    for (auto* net : {&nchw, &nhwc, &automatic}) {
      const auto y = (*net)->forward(x, c_noise);
      CHECK(y.is_contiguous());
      CHECK(relative_error(y, reference) < 1e-5);
    }
  }
  {
    c10::InferenceMode guard;  // what the benchmarks and the sampler's callers may use
    CHECK(relative_error(automatic->forward(x, c_noise), reference) < 1e-5);
  }
  // Gradients through the NHWC graph equal those through NCHW (measured 4e-7).
  auto input_grad = [&](SongUNet& net) {
    auto xi = x.clone().requires_grad_(true);
    net->forward(xi, c_noise).pow(2).sum().backward();
    return xi.grad();
  };
  CHECK(relative_error(input_grad(nhwc), input_grad(nchw)) < 1e-4);
}

TEST_CASE("parallel dropout: rate, scale and repeatability under torch::manual_seed") {
  auto x = torch::ones({64, 32, 28, 28}, torch::requires_grad());
  torch::manual_seed(5);
  auto a = parallel_dropout(x, 0.1);
  torch::manual_seed(5);
  auto b = parallel_dropout(x, 0.1);
  auto c = parallel_dropout(x, 0.1);
  CHECK(torch::equal(a, b));
  CHECK(!torch::equal(b, c));
  const double zeros = a.eq(0).to(torch::kFloat64).mean().item<double>();
  CHECK(zeros == Approx(0.1).margin(0.001));  // 1.6M draws: 4 standard errors = 0.001
  CHECK(a.max().item<double>() == Approx(1.0 / 0.9));
  CHECK(a.to(torch::kFloat64).mean().item<double>() == Approx(1.0).margin(0.002));
  // Gradients flow through the kept elements only.
  a.sum().backward();
  CHECK(torch::equal(x.grad(), a.detach()));
}

TEST_CASE("fused GroupNorm + SiLU equals torch's shift, group_norm and silu in NCHW and NHWC") {
  torch::manual_seed(11);
  // 7x7 and 5x3 planes and 12 channels: lengths that are not multiples of the vector width.
  for (auto shape : {std::vector<std::int64_t>{3, 64, 7, 7}, std::vector<std::int64_t>{2, 12, 5, 3}}) {
    const std::int64_t B = shape[0], C = shape[1], groups = C / 4;
    auto x = torch::randn(shape) * 3 + 1.5;  // an offset, so the moments do not start centred
    auto shift = torch::randn({B, C});
    auto w = torch::randn({C}), b = torch::randn({C});
    for (bool silu : {true, false}) {
      for (bool with_shift : {true, false}) {
        const auto t = with_shift ? shift : torch::Tensor();
        auto h = with_shift ? x + shift.unsqueeze(2).unsqueeze(3) : x;
        auto want = torch::group_norm(h.to(torch::kFloat64), groups, w.to(torch::kFloat64), b.to(torch::kFloat64), 1e-6);
        if (silu) want = torch::silu(want);
        torch::NoGradGuard g;
        for (auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
          INFO("C = " << C << ", silu " << silu << ", shift " << with_shift << ", NHWC " << (format != torch::MemoryFormat::Contiguous));
          const auto got = group_norm_silu(x.contiguous(format), t, groups, w, b, 1e-6, silu);
          CHECK(got.is_contiguous(format));
          // Against a float64 reference: float32 rounding of values up to ~10 (measured 1e-6).
          CHECK((got.to(torch::kFloat64) - want).abs().max().item<double>() < 1e-5);
        }
      }
    }
  }
  // With autograd it is torch's ops, so gradients flow.
  auto x = torch::randn({2, 8, 4, 4}, torch::requires_grad());
  auto w = torch::ones({8}, torch::requires_grad()), b = torch::zeros({8});
  auto y = group_norm_silu(x, torch::randn({2, 8}), 2, w, b, 1e-6);
  y.sum().backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().abs().sum().item<double>() > 0);
  // NaN spreads to its group and only to its group; channels that do not split are refused.
  torch::NoGradGuard g;
  auto z = torch::randn({1, 8, 4, 4});
  z[0][1][2][3] = std::nan("");
  const auto out = group_norm_silu(z, {}, 2, torch::ones({8}), torch::zeros({8}), 1e-6);
  CHECK(out.slice(1, 0, 4).isnan().all().item<bool>());
  CHECK(out.slice(1, 4, 8).isfinite().all().item<bool>());
  CHECK_THROWS_AS(group_norm_silu(z, {}, 3, torch::ones({8}), torch::zeros({8}), 1e-6), InputError);
}

TEST_CASE("bfloat16 inference: within bfloat16's rounding of float32, autocast restored, training untouched") {
  torch::manual_seed(5);
  EdmPrecond model(make_network(ddpmpp(), {1, 28, 28}), 0.5);
  randomise(*model->net());
  model->eval();
  auto sigma = torch::tensor({0.002, 0.3, 5.0, 80.0});
  const auto x = (torch::randn({4, 1, 28, 28}) * sigma.reshape({4, 1, 1, 1})).to(torch::kFloat32);
  torch::Tensor f32, b16;
  {
    torch::NoGradGuard g;
    f32 = model->forward(x, sigma);
    model->set_inference_bfloat16(true);
    b16 = model->forward(x, sigma);
  }
  const double forward_error = relative_error(b16, f32);
  INFO("forward: bfloat16 vs float32 " << forward_error << " of the largest output value");
  CHECK(b16.scalar_type() == torch::kFloat32);
  // bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 2e-3 per operation) through 30
  // blocks; a run that stayed in float32 would agree to 1e-7.
  CHECK(forward_error < 1e-2);  // measured 9.6e-4
  CHECK(forward_error > 1e-4);
  // The autocast state is restored after the call: a float product stays float.
  CHECK(torch::mm(torch::ones({2, 2}), torch::ones({2, 2})).scalar_type() == torch::kFloat32);
  // With gradients (training) the flag does nothing.
  const auto with_grad = model->forward(x, sigma);
  CHECK(relative_error(with_grad.detach(), f32) < 1e-5);

  // A 5-NFE Heun solve from the same PFGM++ (D = 128) prior draws, float32 vs bfloat16 network.
  const auto process = make_pfgmpp_process(784, 128.0);
  OdeOptions ode;
  ode.nfe = 5;
  const auto prior = draw_prior(*process, {0, 1}, 7, {1, 28, 28}, ode.sigma_max);
  torch::NoGradGuard g;
  std::int64_t nfe = 0;
  Denoiser denoise = [&](const torch::Tensor& s, const torch::Tensor& sig) { return model->forward(s, sig); };
  const auto heun16 = integrate_denoiser(*process, prior, denoise, ode, nfe);
  model->set_inference_bfloat16(false);
  const auto heun32 = integrate_denoiser(*process, prior, denoise, ode, nfe);
  const double heun_error = relative_error(heun16, heun32);
  INFO("5-NFE Heun: bfloat16 vs float32 network " << heun_error << " of the largest value");
  CHECK(heun_error < 1e-2);  // measured 1.3e-3
  CHECK(heun_error > 1e-5);
}
