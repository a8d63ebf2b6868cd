// Data loaders and checkpoints: good files load, bad ones are InputError naming the problem.
#include <fstream>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine_fixtures.hpp"
#include "genphys/errors.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;
using namespace genphys::engine;
using Catch::Matchers::Contains;

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_png(const std::string& path, int w, int h, int comp, unsigned char value) {
  std::vector<unsigned char> px(std::size_t(w * h * comp), value);
  REQUIRE(stbi_write_png(path.c_str(), w, h, comp, px.data(), w * comp));
}

}  // namespace

TEST_CASE("idx images: plain and gzipped, scaled to [-1, 1], limit") {
  test::TempDir dir("idx");
  const auto px = test::square_images(5);
  for (bool gz : {false, true}) {
    const std::string path = dir / (gz ? "a.gz" : "a.idx");
    test::write_bytes(path, test::idx_bytes(5, 8, 8, px), gz);
    Dataset d = load_dataset("idx:" + path, 0, 0);
    CHECK(d.is_image);
    CHECK((d.shape == std::vector<std::int64_t>{1, 8, 8}));
    CHECK(d.size() == 5);
    CHECK(d.x.min().item<double>() == Approx(10 / 127.5 - 1));
    CHECK(d.x.max().item<double>() == Approx(245 / 127.5 - 1));
    CHECK(d.x[0][0][0][0].item<double>() == Approx(245 / 127.5 - 1));  // image 0: square at the corner
    CHECK(load_dataset("mnist:" + path, 3, 0).size() == 3);
  }
  // A folder holding train-images-idx3-ubyte.gz works too.
  test::write_bytes(dir / "train-images-idx3-ubyte.gz", test::idx_bytes(5, 8, 8, px), true);
  CHECK(load_dataset("mnist:" + dir.str(), 0, 0).size() == 5);
}

TEST_CASE("bad idx files are InputError") {
  test::TempDir dir("badidx");
  const auto px = test::square_images(4);
  const std::string good = test::idx_bytes(4, 8, 8, px);
  auto fails_with = [&](const std::string& bytes, bool gz, const std::string& what) {
    const std::string path = dir / "bad";
    test::write_bytes(path, bytes, gz);
    CHECK_THROWS_WITH(load_dataset("idx:" + path, 0, 0), Contains(what));
  };
  fails_with(good.substr(0, good.size() - 10), false, "truncated");
  fails_with(good.substr(0, good.size() - 10), true, "truncated");
  fails_with(good.substr(0, 9), false, "no full header");
  fails_with(good + "xx", false, "after the 4 images");
  fails_with(test::idx_bytes(4, 8, 8, px, 0x801), false, "labels");
  fails_with(test::idx_bytes(4, 8, 8, px, 0x12345678), false, "magic");
  fails_with(test::idx_bytes(0, 8, 8, {}), false, "bad dimensions");
  // A gzip stream cut in the middle.
  {
    test::write_bytes(dir / "full.gz", good, true);
    const std::string gz = read_all(dir / "full.gz");
    std::ofstream(dir / "cut.gz", std::ios::binary) << gz.substr(0, gz.size() / 2);
    CHECK_THROWS_AS(load_dataset("idx:" + dir / "cut.gz", 0, 0), InputError);
  }
  CHECK_THROWS_WITH(load_dataset("idx:" + dir / "missing", 0, 0), Contains("does not exist"));
  CHECK_THROWS_WITH(load_dataset("fashion-mnist:" + dir / "nothing-here", 0, 0), Contains("does not exist"));
  CHECK_THROWS_WITH(load_dataset("imagenet", 0, 0), Contains("unknown --data"));
}

TEST_CASE("png folders: one size per folder, grey or colour") {
  test::TempDir dir("png");
  write_png(dir / "a.png", 6, 6, 3, 255);
  write_png(dir / "b.png", 6, 6, 4, 0);  // alpha dropped
  Dataset d = load_dataset("png:" + dir.str(), 0, 0);
  CHECK((d.shape == std::vector<std::int64_t>{3, 6, 6}));
  CHECK(d.size() == 2);
  CHECK(d.x[0].min().item<double>() == Approx(1.0));
  CHECK(d.x[1].max().item<double>() == Approx(-1.0));
  write_png(dir / "c.png", 5, 6, 3, 9);
  CHECK_THROWS_WITH(load_dataset("png:" + dir.str(), 0, 0), Contains("5x6"));
  CHECK(load_dataset("png:" + dir.str(), 2, 0).size() == 2);  // the odd one is past the limit
  test::TempDir grey("pnggrey");
  write_png(grey / "g.png", 4, 4, 1, 128);
  CHECK((load_dataset("png:" + grey.str(), 0, 0).shape == std::vector<std::int64_t>{1, 4, 4}));
  std::ofstream(grey / "junk.png") << "not a png";
  CHECK_THROWS_WITH(load_dataset("png:" + grey.str(), 0, 0), Contains("junk.png"));
  test::TempDir empty("pngempty");
  CHECK_THROWS_WITH(load_dataset("png:" + empty.str(), 0, 0), Contains("no .png"));
}

TEST_CASE("points: toys and CSV") {
  test::TempDir dir("pts");
  Dataset t = load_dataset("toy:moons:300", 0, 3);
  CHECK(!t.is_image);
  CHECK((t.shape == std::vector<std::int64_t>{2}));
  CHECK(t.size() == 300);
  CHECK(load_dataset("toy:moons:300", 100, 3).size() == 100);
  Dataset c = load_dataset(test::write_cluster_csv(dir / "p.csv", 16), 0, 0);
  CHECK(c.size() == 16);
  CHECK(c.x[0][0].item<double>() == Approx(1.0).margin(0.1));
  CHECK_THROWS_AS(load_dataset("toy:nope", 0, 0), InputError);
  CHECK_THROWS_AS(load_dataset("csv:" + dir / "missing.csv", 0, 0), InputError);
}

TEST_CASE("run configs: one JSON object; format 1 (module as three fields) still reads; missing fields are InputError") {
  RunConfig c;
  c.module = {"screened-poisson", {{"m", 0.5}}, ""};
  c.data = "toy:moons";
  c.arch.arch = "mlp";
  c.arch.hidden = 64;
  c.shape = {2};
  c.sigma_max = 12.5;
  c.velocity_target = true;
  c.seed = 7;
  const auto j = nlohmann::json::parse(config_to_json(c));
  CHECK(j.at("format") == 2);
  CHECK(j.at("module").at("name") == "screened-poisson");
  CHECK(j.at("arch").at("hidden") == 64);
  CHECK(j.at("sigma_max") == 12.5);
  const RunConfig back = config_from_json(j.dump());
  CHECK(back.module.params.at("m") == 0.5);
  CHECK(back.arch.hidden == 64);
  CHECK(back.velocity_target);
  CHECK(back.seed == 7);

  // As the format-1 writer wrote it, before the heavy-tail fields existed.
  const std::string v1 =
      R"({"format":1,"pde":"custom","expr":"phi_t - lap phi","params":{},"process_given":false,"data":"toy:moons",)"
      R"("limit":0,"hflip":false,"shape":[2],"is_image":false,"data_mean":[0.5,0.25],"arch":{"arch":"mlp",)"
      R"("channels":0,"channel_mult":[],"num_blocks":0,"attn_resolutions":[],"no_attention":false,"dropout":0.0,)"
      R"("hidden":128,"depth":3,"emb_channels":0},"batch":64,"lr":0.001,"warmup_images":100.0,)"
      R"("ema_halflife_images":500.0,"ema_rampup":0.05,"grad_clip":1.0,"max_bad_steps":10,"sigma_data":0.5,)"
      R"("p_mean":-1.2,"p_std":1.2,"sigma_min":0.002,"sigma_max":80.0,"clamp_sigma":false,"condition":"","seed":3})";
  const RunConfig old = config_from_json(v1);
  CHECK(old.module.name == "custom");
  CHECK(old.module.expr == "phi_t - lap phi");
  CHECK(old.data_mean == std::vector<double>{0.5, 0.25});
  CHECK(old.batch == 64);
  CHECK(!old.velocity_target);
  CHECK(old.spread_threshold < 0);

  auto broken = j;
  broken.erase("batch");
  CHECK_THROWS_AS(config_from_json(broken.dump()), InputError);
  broken = j;
  broken["format"] = 3;
  CHECK_THROWS_WITH(config_from_json(broken.dump()), Catch::Contains("unsupported checkpoint format 3"));
}

TEST_CASE("checkpoints round-trip; truncated, corrupt or foreign files are InputError") {
  test::TempDir dir("ckpt");
  torch::manual_seed(3);
  RunConfig c;
  c.module.name = "diffusion";
  c.module.params = {{"D", 128.0}};
  c.data = "toy:moons";
  c.shape = {2};
  c.arch = resolve_arch(ArchOptions{}, {2});
  c.batch = 16;
  c.seed = 0xfedcba9876543210ULL;
  TrainState s;
  s.step = 42;
  s.skipped = 3;
  EdmPrecond model(make_network(c.arch, c.shape), 0.5);
  EdmPrecond ema(make_network(c.arch, c.shape), 0.5);
  torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
  const std::string path = dir / "last.ckpt";
  save_checkpoint(path, c, s, model, &ema, &opt);

  CheckpointReader r(path, torch::kCPU);
  CHECK(r.config().module.name == "diffusion");
  CHECK(r.config().module.params.at("D") == 128.0);
  CHECK(r.config().seed == 0xfedcba9876543210ULL);
  CHECK(r.state().step == 42);
  CHECK(r.state().skipped == 3);
  CHECK(r.has_ema());
  EdmPrecond loaded(make_network(c.arch, c.shape), 0.5);
  r.load_model(loaded, false);
  auto a = model->parameters(), b = loaded->parameters();
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) CHECK(torch::equal(a[i], b[i]));

  const std::string bytes = read_all(path);
  auto bad = [&](const std::string& content, const std::string& what) {
    const std::string p = dir / "bad.ckpt";
    std::ofstream(p, std::ios::binary) << content;
    CHECK_THROWS_WITH(CheckpointReader(p, torch::kCPU), Contains(what));
  };
  bad(bytes.substr(0, bytes.size() / 2), "truncated");
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 0x40;
  bad(flipped, "CRC");
  bad("hello world, not a checkpoint at all", "not a genphys checkpoint");
  bad("", "not a genphys checkpoint");
  bad(bytes + "x", "trailing");
  CHECK_THROWS_WITH(CheckpointReader(dir / "none.ckpt", torch::kCPU), Contains("does not exist"));

  // A different architecture cannot load these weights.
  ArchOptions wide = c.arch;
  wide.hidden = 64;
  EdmPrecond other(make_network(wide, c.shape), 0.5);
  CHECK_THROWS_AS(r.load_model(other, false), InputError);
}
