// Networks and EDM preconditioning: shapes, presets, the identity-like start, the loss weight.
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.hpp"
#include "engine/network.hpp"
#include "engine_fixtures.hpp"
#include "genphys/errors.hpp"
#include "song_unet.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;

namespace {
ArchOptions preset(const std::string& name) {
  ArchOptions a;
  a.arch = name;
  return a;
}
}  // namespace

TEST_CASE("presets resolve per data shape") {
  const ArchOptions a = resolve_arch(preset("auto"), {1, 28, 28});
  CHECK(a.arch == "unet-small");
  CHECK(a.channels == 32);
  CHECK(a.num_blocks == 1);
  CHECK(a.dropout == 0.0);
  CHECK(a.emb_channels == 32);
  CHECK((a.channel_mult == std::vector<int>{1, 2, 2}));
  CHECK((a.attn_resolutions == std::vector<int>{7}));  // the lowest resolution
  const ArchOptions big = resolve_arch(preset("unet"), {1, 28, 28});
  CHECK(big.channels == 64);
  CHECK(big.num_blocks == 2);
  CHECK(resolve_arch(preset("auto"), {2}).arch == "mlp");
  // 6x6 halves only once: two resolutions.
  CHECK((resolve_arch(preset("unet-small"), {3, 6, 6}).channel_mult == std::vector<int>{1, 2}));
  ArchOptions none = preset("unet");
  none.no_attention = true;
  CHECK(resolve_arch(none, {1, 8, 8}).attn_resolutions.empty());
  CHECK_THROWS_AS(resolve_arch(preset("unet-small"), {2}), InputError);
  CHECK_THROWS_AS(resolve_arch(preset("resnet"), {1, 8, 8}), InputError);
  ArchOptions odd = preset("unet-small");
  odd.channel_mult = {1, 2, 2};
  CHECK_THROWS_AS(make_network(resolve_arch(odd, {1, 6, 6}), {1, 6, 6}), InputError);  // 6 / 4 is not whole
}

TEST_CASE("every registered architecture builds for data it takes and keeps the data's shape") {
  torch::manual_seed(0);
  torch::NoGradGuard guard;
  REQUIRE(model_registry().size() == 6);
  for (const ModelInfo& model : model_registry()) {
    const std::vector<DataShape> shapes = model.input == ModelInput::square_images
                                              ? std::vector<DataShape>{{1, 8, 8}, {3, 4, 4}}
                                              : std::vector<DataShape>{{2}, {1, 4, 4}};
    for (const DataShape& shape : shapes) {
      INFO(model.name << " on " << shape.size() << "-axis data of " << shape[0] << " leading entries");
      const ArchOptions a = resolve_arch(preset(model.name), shape);
      CHECK(a.arch == model.name);
      CHECK(&find_model(model.name) == &model);
      Network net = make_network(a, shape);
      std::int64_t parameters = 0;
      for (const auto& p : net->parameters()) parameters += p.numel();
      CHECK(parameters > 1000);
      DataShape batch{3};
      batch.insert(batch.end(), shape.begin(), shape.end());
      net->eval();
      const auto x = torch::randn(batch);
      const auto y = net->forward(x, torch::tensor({-1.0f, 0.0f, 1.0f}));
      CHECK(y.sizes() == x.sizes());
      CHECK(y.isfinite().all().item<bool>());
    }
  }
}

TEST_CASE("bad architecture names and data shapes are OptionErrors naming arch") {
  auto field_of = [](const ArchOptions& a, const DataShape& shape) -> std::string {
    try {
      resolve_arch(a, shape);
    } catch (const OptionError& e) {
      return e.field() + ": " + e.message();
    }
    return "(accepted)";
  };
  const std::string unknown = field_of(preset("resnet"), {1, 8, 8});
  CHECK(unknown.rfind("arch: 'resnet' is unknown (valid: auto, ", 0) == 0);
  for (const ModelInfo& model : model_registry()) {
    INFO(model.name);
    // Only the entries offered for new runs are listed: the legacy ones only read old checkpoints.
    CHECK((unknown.find(", " + model.name + ",") != std::string::npos ||
           unknown.find(", " + model.name + ")") != std::string::npos) == model.listed);
    CHECK(model.listed == (model.name != kLegacyUnetSmall && model.name != kLegacyUnet));
  }
  CHECK_THROWS_AS(find_model("auto"), OptionError);
  for (const std::string name : {"unet-small", "unet", "ddpmpp-small"}) {
    INFO(name);
    CHECK(field_of(preset(name), {2}) == "arch: " + name + " needs image data (C x H x W); these are 2-dimensional points: use mlp");
    CHECK(field_of(preset(name), {1, 8, 6}) == "arch: " + name + " needs square images, got 8x6");
    ArchOptions deep = preset(name);
    deep.channel_mult = {1, 2, 2, 2};  // 12 halves only twice
    CHECK(field_of(deep, {1, 12, 12}) ==
          "arch: " + name + ": image size 12 does not halve 3 times (4 resolutions); use fewer channel multipliers");
    ArchOptions narrow = preset(name);
    narrow.channels = 6;
    CHECK(field_of(narrow, {1, 8, 8}) == "channels: must be a positive multiple of 4");
  }
  ArchOptions wet = preset("mlp");
  wet.dropout = 1.0;
  CHECK(field_of(wet, {2}) == "dropout: must be in [0, 1)");
  CHECK(field_of(preset("mlp"), {1, 8, 6}) == "(accepted)");  // the MLP flattens any image
}

TEST_CASE("UNet maps images to images of the same shape, grey and colour") {
  torch::manual_seed(0);
  for (std::int64_t c : {1, 3}) {
    ArchOptions a = preset("unet-small");
    a.channels = 16;
    a.dropout = 0.1;
    a.attn_resolutions = {8, 2};
    a = resolve_arch(a, {c, 8, 8});
    Network net = make_network(a, {c, 8, 8});
    auto x = torch::randn({3, c, 8, 8});
    auto y = net->forward(x, torch::tensor({-1.0, 0.0, 1.0}));
    CHECK(y.sizes() == x.sizes());
    CHECK(y.isfinite().all().item<bool>());
  }
}

TEST_CASE("unet-small and unet are presets of the DDPM++ network: sizes at 28x28") {
  auto parameters_of = [](const std::string& name, const DataShape& shape) {
    Network net = make_network(resolve_arch(preset(name), shape), shape);
    std::int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.numel();
    return std::make_pair(net, n);
  };
  const auto [small, small_n] = parameters_of("unet-small", {1, 28, 28});
  REQUIRE(std::dynamic_pointer_cast<SongUNetImpl>(small) != nullptr);
  CHECK(small_n == 1259393);
  const auto [big, big_n] = parameters_of("unet", {1, 28, 28});
  REQUIRE(std::dynamic_pointer_cast<SongUNetImpl>(big) != nullptr);
  CHECK(big_n == 6987585);
  CHECK(parameters_of("ddpmpp-small", {1, 28, 28}).second == 1752993);
  // The legacy UNets keep their sizes.
  CHECK(parameters_of(kLegacyUnetSmall, {1, 28, 28}).second == 1369953);
  CHECK(parameters_of(kLegacyUnet, {1, 28, 28}).second == 7658625);
  torch::NoGradGuard g;
  CHECK((small->forward(torch::randn({2, 1, 28, 28}), torch::zeros({2})).sizes() == std::vector<std::int64_t>{2, 1, 28, 28}));
}

namespace {
std::string gunzip_file(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[65536];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, std::size_t(n));
  gzclose(f);
  return out;
}

// The values of a `genphys sample --out x.csv` file (one header line).
std::vector<float> csv_values(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::string line;
  std::getline(in, line);
  std::vector<float> values;
  while (std::getline(in, line)) {
    std::stringstream row(line);
    std::string cell;
    while (std::getline(row, cell, ',')) values.push_back(std::stof(cell));
  }
  return values;
}
}  // namespace

TEST_CASE("a checkpoint of the legacy unet-small (format 2) loads as the legacy UNet and samples as it did") {
  const char* src = std::getenv("GENPHYS_SOURCE_DIR");
  REQUIRE(src != nullptr);
  const std::string fixture = std::string(src) + "/tests/data/legacy-unet-small/";
  test::TempDir dir("legacy");
  const std::string ckpt = dir / "last.ckpt";
  std::ofstream(ckpt, std::ios::binary) << gunzip_file(fixture + "last.ckpt.gz");

  CheckpointReader reader(ckpt, torch::kCPU);
  CHECK(reader.config().arch.arch == kLegacyUnetSmall);
  CHECK(reader.config().arch.channels == 4);
  // Read as the new unet-small it would not match: the layout differs.
  RunConfig as_new = reader.config();
  as_new.arch.arch = "unet-small";
  EdmPrecond wrong = make_model(as_new);
  CHECK_THROWS_AS(reader.load_model(wrong, true), InputError);

  for (const bool ema : {true, false}) {
    INFO((ema ? "EMA" : "raw") << " weights");
    SampleOptions o;
    o.checkpoint = ckpt;
    o.nfe = 5;
    o.seeds = {0, 1};
    o.threads = 1;
    o.use_ema = ema;
    const SampleResult r = sample(o);
    const std::vector<float> expected = csv_values(fixture + (ema ? "samples-ema.csv" : "samples-raw.csv"));
    REQUIRE(r.values.size() == expected.size());
    REQUIRE(expected.size() == 2 * 64);
    double worst = 0, spread = 0;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      worst = std::max(worst, std::abs(double(r.values[i]) - expected[i]));
      spread = std::max(spread, std::abs(double(expected[i])));
    }
    CHECK(spread > 1.0);  // real samples, not a constant
    CHECK(worst < 1e-4);  // the values the old code wrote (9 significant digits)
  }
}

TEST_CASE("preconditioned denoiser starts near c_skip x; weighted loss starts near 1") {
  torch::manual_seed(1);
  ArchOptions a = resolve_arch(preset("unet-small"), {1, 8, 8});
  EdmPrecond model(make_network(a, {1, 8, 8}), 0.5);
  auto y = 0.5 * torch::randn({64, 1, 8, 8});  // data with sigma_data = 0.5
  auto sigma = torch::exp(-1.2 + 1.2 * torch::randn({64}, torch::kFloat64));
  auto x = y + sigma.reshape({64, 1, 1, 1}).to(torch::kFloat32) * torch::randn({64, 1, 8, 8});
  torch::NoGradGuard g;
  auto D = model->forward(x, sigma);
  auto s2 = (sigma * sigma).reshape({64, 1, 1, 1}).to(torch::kFloat32);
  auto c_skip = 0.25 / (s2 + 0.25);
  // Output layers start at 1e-5 of their Xavier scale.
  CHECK((D - c_skip * x).abs().max().item<double>() < 1e-3);
  // With F = 0 the weighted loss has expectation exactly 1 for data of std sigma_data.
  const double loss = edm_loss(model, y, x, sigma).mean().item<double>();
  CHECK(loss == Approx(1.0).margin(0.1));
}

TEST_CASE("MLP handles points and flattened images") {
  ArchOptions a = resolve_arch(preset("mlp"), {2});
  Network net = make_network(a, {2});
  CHECK((net->forward(torch::randn({5, 2}), torch::zeros({5})).sizes() == std::vector<std::int64_t>{5, 2}));
  Network img = make_network(resolve_arch(preset("mlp"), {1, 4, 4}), {1, 4, 4});
  CHECK((img->forward(torch::randn({3, 1, 4, 4}), torch::zeros({3})).sizes() == std::vector<std::int64_t>{3, 1, 4, 4}));
}

TEST_CASE("positional embedding: cos/sin pairs, bounded, distinct per noise level") {
  auto e = positional_embedding(torch::tensor({-0.5, 0.0, 0.5}), 32);
  REQUIRE(e.sizes() == std::vector<std::int64_t>{3, 32});
  CHECK(e.abs().max().item<double>() <= 1.0);
  CHECK(e[1].slice(0, 0, 16).eq(1).all().item<bool>());  // cos(0) = 1
  CHECK((e[0] - e[2]).abs().max().item<double>() > 0.5);
}

// Heavy tails: the input's own scale takes over only beyond the widest training point, so clean
// data keep s = sigma and c_skip ~ 1 at sigma_min; under the old threshold sigma_data^2 every
// point wider than sigma_data switched (measured on Fashion-MNIST: 78% of clean images, c_skip ~0.73).
TEST_CASE("heavy-tail preconditioning: clean data keep c_skip ~ 1; old runs keep their rule") {
  torch::manual_seed(5);
  const auto data = torch::rand({200, 1, 8, 8}) * 2 - 1;  // |y|^2/N ~ 1/3 > sigma_data^2
  const auto centre = data.mean(0);
  const double tau2 = (data - centre).square().flatten(1).mean(1).max().item<double>();
  ArchOptions a;
  a.arch = "mlp";
  a = resolve_arch(a, {1, 8, 8});
  auto make = [&](double threshold, bool noise_from_scale) {
    PrecondOptions p;
    p.sigma_data = 0.5;
    p.scale_from_input = true;
    p.spread_threshold = threshold;
    p.noise_from_scale = noise_from_scale;
    auto c = centre.to(torch::kFloat64).flatten().contiguous();
    p.centre.assign(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    torch::manual_seed(6);
    EdmPrecond m(make_network(a, {1, 8, 8}), p);
    torch::NoGradGuard g;
    for (auto& w : m->parameters()) w.normal_(0.0, 0.2);  // no zero-initialised output layer
    m->eval();
    return m;
  };
  EdmPrecond fresh = make(tau2, true), old_rule = make(-1.0, false), sigma_label = make(tau2, false);
  const auto sigma = torch::full({200}, 0.002, torch::kFloat64);
  const auto c_skip = [&](EdmPrecond& m) {
    const auto s2 = m->effective_sigma(data, sigma).square();
    return 0.25 / (s2 + 0.25);
  };
  const auto ours = c_skip(fresh), before = c_skip(old_rule);
  std::cout << "clean data at sigma 0.002: c_skip min " << ours.min().item<double>() << " (old rule: min "
            << before.min().item<double>() << ", median " << before.median().item<double>() << ")\n";
  CHECK(ours.min().item<double>() > 0.9999);
  CHECK(before.median().item<double>() < 0.9);
  // There s = sigma, so the noise label is ln(sigma) either way; far out it is ln(s).
  torch::NoGradGuard g;
  CHECK(torch::allclose(fresh->forward(data, sigma), sigma_label->forward(data, sigma), 0, 1e-6));
  const auto far = data * 1000;
  CHECK((fresh->effective_sigma(far, sigma) > 100).all().item<bool>());
  CHECK(!torch::allclose(fresh->forward(far, sigma), sigma_label->forward(far, sigma), 1e-3, 1e-3));

  // Checkpoint configs written before the threshold was stored load with the old rule.
  RunConfig config;
  config.spread_threshold = tau2;
  config.noise_from_scale = true;
  const RunConfig back = config_from_json(config_to_json(config));
  CHECK(back.spread_threshold == tau2);
  CHECK(back.noise_from_scale);
  // Those were format 1, which also kept the module as three top-level fields.
  auto j = nlohmann::json::parse(config_to_json(config));
  j["format"] = 1;
  j["pde"] = j["module"]["name"];
  j["params"] = j["module"]["params"];
  j["expr"] = j["module"]["expr"];
  j.erase("module");
  j.erase("spread_threshold");
  j.erase("noise_from_scale");
  const RunConfig old = config_from_json(j.dump());
  CHECK(old.spread_threshold < 0);  // sigma_data^2
  CHECK(!old.noise_from_scale);
}
