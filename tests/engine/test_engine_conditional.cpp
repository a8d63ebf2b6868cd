// Class-conditional training and classifier-free guidance through the one training and sampling
// path, for a denoiser module and velocity modules: the labelled toy toy:two-clusters (class 0
// around (-1, 0), class 1 around (1, 0), spread 0.4; 0.6% of each class lies across x = 0), a
// small MLP trained briefly (1000 steps of 128) with label dropout 0.1, then 2000 samples of the
// two classes in turn (Heun 35 NFE) at guidance w = 0, 1 and 3. With depth = the mean of s x0
// (s = -1 for class 0, +1 for class 1; the data's is 1):
//   - w = 1 (conditional): at least 95% of the samples on their class's side of x = 0 (the data:
//     99.4%), and depth 1 +- 0.1;
//   - w = 0 (the "no class" model): the classes' mixture, half on each side (0.5 +- 0.06);
//   - w = 3: the samples sit further into their own cluster, depth at least 0.2 above w = 1's,
//     and no fewer on their own side.
// Measured with 2000 steps (genphys train/sample, same settings), own side w = 0 / 1 / 3 and depth:
//   diffusion          0.493 / 0.986 / 1.000   depth -0.03 / 0.981 / 1.343
//   PFGM++ D = 128     0.497 / 0.987 / 1.000   depth -0.03 / 0.980 / 1.311
//   screened Poisson   0.494 / 0.990 / 1.000   depth -0.03 / 0.980 / 1.368   (velocity target)
// (diffusion after 300 steps: 0.501 / 0.981 / 1.000, depth 0.005 / 1.006 / 1.416.)
#include <cmath>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

#include "engine/conditioning.hpp"
#include "engine/network.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using genphys::test::TempDir;
using Catch::Matchers::Contains;
using Catch::Matchers::Equals;

namespace {

constexpr int kSamples = 2000;

struct ClassStats {
  double own_side = 0;  ///< share of finite samples on their class's side of x = 0
  double depth = 0;     ///< mean s x0 (s = -1 for class 0, +1 for class 1)
  int non_finite = 0;
};

ClassStats stats_at(const std::string& checkpoint, double guidance) {
  SampleOptions s;
  s.checkpoint = checkpoint;
  s.threads = 1;
  s.nfe = 35;
  s.batch = 1000;
  s.guidance = guidance;
  s.seeds.resize(kSamples);
  std::iota(s.seeds.begin(), s.seeds.end(), 0);
  const SampleResult out = sample(s);
  REQUIRE(out.labels.size() == std::size_t(kSamples));
  REQUIRE(out.nfe == 35);
  ClassStats st;
  int finite = 0, own = 0;
  for (int i = 0; i < kSamples; ++i) {
    REQUIRE(out.labels[std::size_t(i)] == i % 2);  // the classes in turn, from the index
    const float x = out.values[std::size_t(2 * i)], y = out.values[std::size_t(2 * i + 1)];
    if (!std::isfinite(x) || !std::isfinite(y)) {
      ++st.non_finite;
      continue;
    }
    const double signed_x = i % 2 ? x : -x;
    ++finite;
    own += signed_x > 0;
    st.depth += signed_x;
  }
  st.own_side = double(own) / finite;
  st.depth /= finite;
  return st;
}

void check_conditional(const std::string& label, const std::string& pde, const ParamValues& params) {
  TempDir dir("cond_" + label);
  TrainOptions o = test::mlp_options(dir / "run", "toy:two-clusters:2000", 1000);
  o.module.name = pde;
  o.module.params = params;
  o.conditional = true;
  const TrainResult r = train(o);
  REQUIRE(r.steps_done == o.steps);
  const ClassStats none = stats_at(r.checkpoint, 0.0), plain = stats_at(r.checkpoint, 1.0),
                   guided = stats_at(r.checkpoint, 3.0);
  std::cout << label << ": own side w=0 " << none.own_side << ", w=1 " << plain.own_side << ", w=3 "
            << guided.own_side << "; depth w=0 " << none.depth << ", w=1 " << plain.depth << ", w=3 " << guided.depth
            << std::endl;
  for (const auto* st : {&none, &plain, &guided}) CHECK(st->non_finite == 0);
  CHECK(plain.own_side >= 0.95);
  CHECK(plain.depth == Approx(1.0).margin(0.1));
  CHECK(none.own_side == Approx(0.5).margin(0.06));
  CHECK(guided.depth > plain.depth + 0.2);
  CHECK(guided.own_side >= plain.own_side);
}

}  // namespace

TEST_CASE("conditional: diffusion (denoiser)", "[conditional]") { check_conditional("diffusion", "diffusion", {}); }

TEST_CASE("conditional: PFGM++ D = 128 (denoiser)", "[conditional]") {
  check_conditional("pfgmpp", "poisson", {{"D", 128.0}});
}

TEST_CASE("conditional: screened Poisson m = 1 (velocity)", "[conditional]") {
  check_conditional("yukawa", "screened-poisson", {{"m", 1.0}});
}

TEST_CASE("conditional: guidance is D_u + w (D_c - D_u) on one batched pass", "[conditional][guidance]") {
  using namespace genphys::engine;
  torch::manual_seed(1);
  ArchOptions arch;
  arch.arch = "mlp";
  arch.label_dim = 3;
  const auto resolved = resolve_arch(arch, {2});
  EdmPrecond model(make_network(resolved, {2}), 0.5);
  model->eval();
  // A zero output layer would make every label give the same output: perturb all weights.
  {
    torch::NoGradGuard guard;
    for (auto& p : model->parameters()) p.add_(torch::randn_like(p) * 0.3);
  }
  const auto x = torch::randn({4, 2});
  const auto sigma = torch::full({4}, 0.7);
  const auto labels = one_hot_labels(std::vector<std::int64_t>{0, 2, 1, -1}, 3);
  CHECK(labels.sum().item<double>() == 3.0);  // -1: the zero "no class" row
  torch::NoGradGuard guard;
  const auto c = model->forward(x, sigma, labels), u = model->forward(x, sigma, torch::zeros_like(labels));
  CHECK(torch::allclose(model->forward(x, sigma), u));  // no labels = the "no class" label
  CHECK((c - u).abs().max().item<double>() > 1e-3);
  for (double w : {0.0, 1.0, 2.5}) {
    const auto g = guided_output(model, x, sigma, Guidance{labels, w});
    CHECK(torch::allclose(g, u + w * (c - u), 1e-5, 1e-5));
    CHECK(guidance_passes(Guidance{labels, w}) == (w == 2.5 ? 2 : 1));
  }
}

TEST_CASE("conditional: classes from the index, refusals", "[conditional][guidance]") {
  using namespace genphys::engine;
  CHECK((classes_for_indices({0, 1, 2, 3, 7}, {}, 3) == std::vector<std::int64_t>{0, 1, 2, 0, 1}));
  CHECK((classes_for_indices({0, 1, 2, 3}, {5, 2}, 10) == std::vector<std::int64_t>{5, 2, 5, 2}));
  CHECK_THROWS_WITH(classes_for_indices({0}, {10}, 10), Contains("class 10 is out of range") && Contains("0-9"));
  int cols = 0;
  CHECK((class_rows({1, 0, 1, 0, 1}, cols) == std::vector<std::int64_t>{0, 2, 4, 1, 3, -1}));
  CHECK(cols == 3);
  // The legacy UNet has no label embedding; the message lists the entries offered for new runs.
  ArchOptions arch;
  arch.arch = kLegacyUnetSmall;
  arch.label_dim = 10;
  CHECK_THROWS_WITH(resolve_arch(arch, {1, 8, 8}),
                    Equals("arch unet-small-legacy has no label embedding: class-conditional training needs --arch "
                           "unet-small or unet or ddpmpp-small or mlp"));
  arch.arch = "unet-small";
  CHECK(resolve_arch(arch, {1, 8, 8}).label_dim == 10);
  arch.arch = "auto";
  CHECK(resolve_arch(arch, {1, 8, 8}).arch == "ddpmpp-small");
}
