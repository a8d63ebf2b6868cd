// Data loaders and checkpoints: good files load, bad ones are InputError naming the problem.
#include <fstream>
#include <tuple>

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>

#include "engine/checkpoint.hpp"
#include "engine/classifier_file.hpp"
#include "engine/data.hpp"
#include "engine/framed_file.hpp"
#include "engine/tensor_file.hpp"
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

TEST_CASE("png folders: stb_image's reason quoting input bytes stays one line") {
  // Found by fuzzing (tests/fuzz/fuzz_png.cpp): an unknown chunk type with a line break in it.
  test::TempDir dir("pngchunk");
  write_png(dir / "a.png", 2, 2, 3, 7);
  std::string bytes = read_all(dir / "a.png");
  const std::size_t idat = bytes.find("IDAT");
  REQUIRE(idat != std::string::npos);
  bytes.replace(idat, 4, "\x1a\nGx");  // a critical chunk type (upper-case first letter) stb does not know
  std::ofstream(dir / "a.png", std::ios::binary) << bytes;
  try {
    load_dataset("png:" + dir.str(), 0, 0);
    FAIL("no InputError");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == "cannot decode image " + (dir / "a.png") + ": \\x1a\\nGx PNG chunk not known");
  }
  // Found by fuzzing: an IDAT chunk announcing 1 GiB made stb_image allocate 2 GiB for a tiny file.
  write_png(dir / "a.png", 2, 2, 3, 7);
  bytes = read_all(dir / "a.png");
  bytes.replace(bytes.find("IDAT") - 4, 4, std::string("\x40\0\0\0", 4));
  std::ofstream(dir / "a.png", std::ios::binary) << bytes;
  CHECK_THROWS_WITH(load_dataset("png:" + dir.str(), 0, 0),
                    Contains("a.png is truncated or corrupt: a chunk announces 1073741824 bytes"));
}

TEST_CASE("tensor files: a round trip; sizes beyond the file are refused before allocating") {
  test::TempDir dir("gptf");
  const auto w = torch::arange(6, torch::kFloat32).reshape({2, 3});
  write_tensor_file(dir / "t.gptf", {{"w", w}, {"none", torch::empty({0, 4})}});
  const NamedTensors back = read_tensor_file(dir / "t.gptf");
  REQUIRE(back.size() == 2);
  CHECK(back[0].first == "w");
  CHECK(torch::equal(back[0].second, w));
  CHECK(back[1].second.sizes() == torch::IntArrayRef({0, 4}));

  // Found by fuzzing (tests/fuzz/fuzz_tensor_file.cpp): a name length of 4 GB was allocated (and
  // zeroed) before the file was found short; a negative size reached torch::empty.
  const auto header = [](std::uint32_t name_size, const std::string& name, std::vector<std::int64_t> sizes) {
    std::string b = "GPTF";
    const auto put = [&b](const void* p, std::size_t n) { b.append(static_cast<const char*>(p), n); };
    const std::uint32_t count = 1, rank = std::uint32_t(sizes.size());
    put(&count, 4);
    put(&name_size, 4);
    b += name;
    put(&rank, 4);
    for (auto s : sizes) put(&s, 8);
    return b + std::string(16, '\0');
  };
  const auto refused = [&](const std::string& bytes) {
    std::ofstream(dir / "bad.gptf", std::ios::binary) << bytes;
    try {
      read_tensor_file(dir / "bad.gptf");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no InputError");
  };
  CHECK_THAT(refused(header(0xfffffff0u, "w", {2})), Contains("truncated tensor file"));
  std::string huge_rank = header(1, "w", {});
  huge_rank.replace(13, 4, std::string("\xff\xff\xff\x7f", 4));
  CHECK_THAT(refused(huge_rank), Contains("truncated tensor file"));
  CHECK_THAT(refused(header(1, "w", {-1})), Contains("tensor w has a negative size"));
  CHECK_THAT(refused(header(1, "w", {5})), Contains("truncated tensor file"));  // 20 bytes, 16 there
  CHECK_THAT(refused(header(1, "w", {std::int64_t(1) << 40, std::int64_t(1) << 40})), Contains("truncated"));
  // Empty, but sizes whose product overflows: torch::empty threw c10::Error.
  CHECK_THAT(refused(header(1, "w", {0, std::int64_t(1) << 40, std::int64_t(1) << 40})),
             Contains("tensor w has sizes beyond any tensor"));
  CHECK_THAT(refused(header(2, "w\n", {-3})), Contains("tensor w\\n has a negative size"));
  std::ofstream(dir / "exact.gptf", std::ios::binary) << header(1, "w", {4});  // 16 bytes of data: just enough
  const NamedTensors exact = read_tensor_file(dir / "exact.gptf");
  CHECK(exact.at(0).second.sizes() == torch::IntArrayRef({4}));
  CHECK(exact.at(0).second.abs().sum().item<float>() == 0.0f);
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
  CHECK(j.at("format") == 3);
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
  // Unconditional: configs written before class-conditional training existed.
  CHECK(!old.conditional);
  CHECK(old.arch.label_dim == 0);
  CHECK(old.class_names.empty());
  auto before_labels = j;
  for (const char* key : {"conditional", "label_dropout", "class_names"}) before_labels.erase(key);
  before_labels["arch"].erase("label_dim");
  const RunConfig plain = config_from_json(before_labels.dump());
  CHECK(!plain.conditional);
  CHECK(plain.arch.label_dim == 0);
  CHECK(plain.arch.hidden == 64);
  // A conditional run's fields round-trip.
  RunConfig cond = c;
  cond.conditional = true;
  cond.label_dropout = 0.2;
  cond.arch.label_dim = 10;
  cond.class_names = {"a", "b"};
  const RunConfig cond_back = config_from_json(config_to_json(cond));
  CHECK(cond_back.conditional);
  CHECK(cond_back.label_dropout == 0.2);
  CHECK(cond_back.arch.label_dim == 10);
  CHECK(cond_back.class_names == std::vector<std::string>{"a", "b"});

  // Up to format 2, unet-small and unet named the legacy UNet; since, DDPM++ presets.
  for (const auto& [format, written, read] : std::vector<std::tuple<int, std::string, std::string>>{
           {2, "unet-small", kLegacyUnetSmall},
           {2, "unet", kLegacyUnet},
           {2, "ddpmpp-small", "ddpmpp-small"},
           {2, "mlp", "mlp"},
           {1, "unet-small", kLegacyUnetSmall},
           {3, "unet-small", "unet-small"},
           {3, "unet", "unet"}}) {
    INFO("format " << format << ", " << written);
    auto named = j;
    named["format"] = format;
    named["arch"]["arch"] = written;
    if (format == 1) {
      named["pde"] = named["module"]["name"];
      named["params"] = named["module"]["params"];
      named["expr"] = named["module"]["expr"];
      named.erase("module");
    }
    CHECK(config_from_json(named.dump()).arch.arch == read);
  }

  auto broken = j;
  broken.erase("batch");
  CHECK_THROWS_AS(config_from_json(broken.dump()), InputError);
  broken = j;
  broken["format"] = 4;
  CHECK_THROWS_WITH(config_from_json(broken.dump()), Catch::Contains("unsupported checkpoint format 4"));
  // Found by fuzzing (fuzz_checkpoint_frame): a number beyond an integer field's range reached an
  // int through nlohmann-json's cast (undefined behaviour); now refused by name.
  for (const auto& [key, value] : std::vector<std::pair<std::string, nlohmann::json>>{
           {"max_bad_steps", 1.3e68}, {"batch", 3000000000LL}, {"batch", 64.5}, {"seed", -1.5e30}, {"limit", 1e300}}) {
    broken = j;
    broken[key] = value;
    CHECK_THROWS_WITH(config_from_json(broken.dump()), Catch::Contains("'" + key + "' is not an integer in range"));
  }
  broken = j;
  broken["arch"]["hidden"] = 1e10;
  CHECK_THROWS_WITH(config_from_json(broken.dump()), Catch::Contains("'hidden' is not an integer in range"));
  broken = j;
  broken["arch"]["channel_mult"] = {1, 2e40};
  CHECK_THROWS_WITH(config_from_json(broken.dump()), Catch::Contains("'channel_mult' is not an integer in range"));
}

TEST_CASE("files describing another network than their weights, or one larger than the file, are refused") {
  // Found by fuzzing (tests/fuzz/fuzz_classifier.cpp): Module::load took weights of any shape. Found
  // by hand-made inputs to the same targets: a meta line or config announcing a huge network was
  // built (memory exhausted) before anything was checked.
  test::TempDir dir("described");
  ClassifierInfo info;
  info.width = 2;
  info.features = 4;
  info.shape = {1, 8, 8};
  ClassifierNet net = make_classifier(info);
  save_classifier(dir / "c.cls", info, net);
  ClassifierInfo read;
  load_classifier(dir / "c.cls", read);
  CHECK(read.width == 2);
  // The same weights behind another meta line, framed with a valid size and CRC.
  const std::string payload = unframe_payload(read_all(dir / "c.cls"), "GENPHYS-CLASSIFIER 2\n", "classifier", "c.cls");
  const std::string weights = payload.substr(payload.find('\n') + 1);
  const auto classifier_refusal = [&](int width) {
    ClassifierInfo other = info;
    other.width = width;
    std::ofstream(dir / "d.cls", std::ios::binary)
        << frame_payload("GENPHYS-CLASSIFIER 2\n", nlohmann::json(other).dump() + "\n" + weights);
    try {
      load_classifier(dir / "d.cls", other);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no InputError");
  };
  CHECK_THAT(classifier_refusal(3), Contains("its weights do not match its meta line (conv1.weight has another shape)"));
  CHECK_THAT(classifier_refusal(100000), Contains("describes a network larger than the file holds"));
  CHECK(classifier_refusal(2) == "no InputError");

  RunConfig c;
  c.module.name = "diffusion";
  c.data = "toy:moons";
  c.shape = {2};
  ArchOptions small;
  small.arch = "mlp";
  small.hidden = 8;
  small.depth = 1;
  c.arch = resolve_arch(small, {2});
  EdmPrecond model = make_model(c);
  RunConfig huge = c;
  huge.arch.hidden = 1000000;  // 10^12 weights in the hidden layers' config, 8 in the file
  save_checkpoint(dir / "huge.ckpt", huge, TrainState{}, model, nullptr, nullptr);
  CHECK_THROWS_WITH(CheckpointReader(dir / "huge.ckpt", torch::kCPU),
                    Contains("describes a network larger than the file holds"));
  RunConfig wider = c;
  wider.arch.hidden = 16;
  save_checkpoint(dir / "wider.ckpt", wider, TrainState{}, model, nullptr, nullptr);
  CheckpointReader reader(dir / "wider.ckpt", torch::kCPU);
  EdmPrecond described = make_model(reader.config());
  CHECK_THROWS_WITH(reader.load_model(described, false), Contains("the network does not match its config"));
  // A genuine file still loads, and the budget's allocator is torch's own again afterwards.
  save_checkpoint(dir / "ok.ckpt", c, TrainState{}, model, nullptr, nullptr);
  CheckpointReader ok(dir / "ok.ckpt", torch::kCPU);
  EdmPrecond same = make_model(ok.config());
  ok.load_model(same, false);
  CHECK(torch::equal(same->parameters()[0], model->parameters()[0]));
  CHECK(torch::zeros({1 << 20}).numel() == 1 << 20);
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

// ---- class labels -----------------------------------------------------------------------------

namespace {
std::string idx_labels_bytes(const std::vector<unsigned char>& labels) {
  return test::be32(0x801) + test::be32(std::uint32_t(labels.size())) + std::string(labels.begin(), labels.end());
}
}  // namespace

TEST_CASE("labels: idx label files beside the images, counts checked", "[labels]") {
  test::TempDir dir("idxlabels");
  const std::string spec = test::write_square_idx(dir / "train-images-idx3-ubyte.gz", 5);
  // Without labels asked for, none are read (and none are needed).
  CHECK_FALSE(load_dataset(spec, 0, 0).labels.defined());
  CHECK_THROWS_WITH(load_dataset(spec, 0, 0, true), Contains("expected " + dir / "train-labels-idx1-ubyte.gz"));
  test::write_bytes(dir / "train-labels-idx1-ubyte.gz", idx_labels_bytes({3, 0, 1, 3, 2}), true);
  Dataset d = load_dataset(spec, 0, 0, true);
  CHECK(d.num_classes == 4);
  CHECK(d.labels.size(0) == 5);
  CHECK(d.labels[3].item<std::int64_t>() == 3);
  CHECK(load_dataset("mnist:" + dir.str(), 2, 0, true).labels.size(0) == 2);  // the folder form; limit
  CHECK(load_dataset("mnist:" + dir.str(), 2, 0, true).num_classes == 4);     // classes from the whole file
  // One label short: refused naming both counts, limit or not.
  test::write_bytes(dir / "train-labels-idx1-ubyte.gz", idx_labels_bytes({3, 0, 1, 3}), true);
  for (std::int64_t limit : {0, 2})
    CHECK_THROWS_WITH(load_dataset(spec, limit, 0, true), Contains("holds 4 labels, but the images file") &&
                                                              Contains("holds 5 images"));
  // Fashion-MNIST's own files name their ten classes.
  const Dataset f = load_dataset("fashion-mnist-test", 20, 0, true);
  CHECK(f.num_classes == 10);
  REQUIRE(f.class_names.size() == 10);
  CHECK(f.class_names[9] == "Ankle boot");
  CHECK(f.labels[0].item<std::int64_t>() == 9);  // the test split's first image is an ankle boot
}

TEST_CASE("labels: png class sub-folders, sorted names = class ids, classes in turn", "[labels]") {
  test::TempDir dir("pngclasses");
  std::filesystem::create_directories(dir / "b-shirts");
  std::filesystem::create_directories(dir / "a-bags");
  write_png(dir / "a-bags/1.png", 4, 4, 1, 0);
  write_png(dir / "a-bags/2.png", 4, 4, 1, 0);
  write_png(dir / "a-bags/3.png", 4, 4, 1, 0);
  write_png(dir / "b-shirts/1.png", 4, 4, 1, 255);
  Dataset d = load_dataset("png:" + dir.str(), 0, 0, true);
  CHECK(d.size() == 4);
  CHECK(d.num_classes == 2);
  CHECK((d.class_names == std::vector<std::string>{"a-bags", "b-shirts"}));
  // Taken in turn: a/1, b/1, a/2, a/3.
  CHECK((std::vector<std::int64_t>(d.labels.data_ptr<std::int64_t>(), d.labels.data_ptr<std::int64_t>() + 4) ==
         std::vector<std::int64_t>{0, 1, 0, 0}));
  CHECK(d.x[1].min().item<double>() == Approx(1.0));  // the shirt is white
  CHECK(d.x[0].max().item<double>() == Approx(-1.0));
  CHECK(load_dataset("png:" + dir.str(), 2, 0, true).labels[1].item<std::int64_t>() == 1);  // limit keeps both
  // Unconditional training reads the same folders, without labels.
  CHECK_FALSE(load_dataset("png:" + dir.str(), 0, 0).labels.defined());
  std::filesystem::create_directories(dir / "c-empty");
  CHECK_THROWS_WITH(load_dataset("png:" + dir.str(), 0, 0, true), Contains("c-empty holds no .png files"));
  // A flat folder has no classes.
  test::TempDir flat("pngflat");
  write_png(flat / "a.png", 4, 4, 1, 0);
  CHECK_THROWS_WITH(load_dataset("png:" + flat.str(), 0, 0, true), Contains("one sub-folder of images per class"));
}

TEST_CASE("labels: a csv's `label` column, and the labelled toy", "[labels]") {
  test::TempDir dir("csvlabels");
  std::ofstream(dir / "p.csv") << "x,label,y\n0.5,1,2\n-1,0,3\n2,1,4\n";
  for (bool labels : {false, true}) {
    const Dataset d = load_dataset("csv:" + dir / "p.csv", 0, 0, labels);
    CHECK((d.shape == std::vector<std::int64_t>{2}));  // the label is never a coordinate
    CHECK(d.x[1][1].item<float>() == 3.0f);
    CHECK(d.labels.defined() == labels);
  }
  const Dataset d = load_dataset("csv:" + dir / "p.csv", 0, 0, true);
  CHECK(d.num_classes == 2);
  CHECK(d.labels[2].item<std::int64_t>() == 1);
  std::ofstream(dir / "bad.csv") << "x,label\n0.5,1.5\n";
  CHECK_THROWS_WITH(load_dataset("csv:" + dir / "bad.csv", 0, 0, true), Contains("label 1.5 is not a class id"));
  std::ofstream(dir / "none.csv") << "x,y\n0.5,1\n";
  CHECK_THROWS_WITH(load_dataset("csv:" + dir / "none.csv", 0, 0, true), Contains("no column named 'label'"));

  const Dataset toy = load_dataset("toy:two-clusters:4000", 0, 3, true);
  CHECK(toy.num_classes == 2);
  const auto side = toy.x.select(1, 0).gt(0).to(torch::kInt64);
  // Class 1 lies at x > 0 but for the tail beyond 2.5 spreads (0.6%).
  CHECK(side.eq(toy.labels).to(torch::kFloat64).mean().item<double>() > 0.98);
  CHECK(toy.labels.to(torch::kFloat64).mean().item<double>() == Approx(0.5).margin(0.03));
  CHECK_THROWS_WITH(load_dataset("toy:moons", 0, 0, true), Contains("carry no class labels"));
}
