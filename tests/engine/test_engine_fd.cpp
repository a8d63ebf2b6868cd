// The Fréchet distance in classifier features: separates real images from noise by a wide margin
// and grows monotonically as real images are blurred or noised. A small classifier is trained
// inside the test on a subset of Fashion-MNIST (Debian's dataset-fashion-mnist).
#include <filesystem>
#include <fstream>
#include <iostream>

#include "engine/data.hpp"
#include "engine/classifier_file.hpp"
#include "engine_fixtures.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"
#include "genphys/evaluation.hpp"
#include "genphys/toy_data.hpp"

// Last: torch pulls in glog, whose CHECK macro would replace Catch's.
#include <catch2/catch.hpp>

using namespace genphys;

namespace {

std::vector<float> values_of(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Gaussian blur with standard deviation `s` pixels (separable, zero padding of the [-1, 1] data
// shifted to [0, 2] so the border fades to black as it would in a photo).
torch::Tensor blur(const torch::Tensor& x, double s) {
  const int r = int(std::ceil(3 * s));
  auto k = torch::arange(-r, r + 1, torch::kFloat32);
  k = torch::exp(-k * k / (2 * s * s));
  k = k / k.sum();
  namespace F = torch::nn::functional;
  auto y = x + 1.0;
  y = F::conv2d(y, k.view({1, 1, 1, 2 * r + 1}), F::Conv2dFuncOptions().padding({0, r}));
  y = F::conv2d(y, k.view({1, 1, 2 * r + 1, 1}), F::Conv2dFuncOptions().padding({r, 0}));
  return y - 1.0;
}

bool fashion_mnist_installed() {
  std::error_code ec;
  return std::filesystem::exists(engine::kFashionMnistTrain, ec) && std::filesystem::exists(engine::kFashionMnistTest, ec);
}

}  // namespace

TEST_CASE("classifier Fréchet distance: real vs noise, blur and noise monotone") {
  if (!fashion_mnist_installed()) {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist); skipped");
    return;
  }
  test::TempDir dir("fd");
  ClassifierTrainOptions o;
  o.out = dir / "small.cls";
  o.limit = 6000;
  o.test_limit = 1000;
  o.epochs = 3;
  o.width = 16;
  o.features = 64;
  o.threads = 1;
  const ClassifierTrainResult trained = train_classifier(o);
  INFO("test accuracy " << trained.test_accuracy);
  CHECK(trained.test_accuracy > 0.60);  // 10 classes: chance is 0.10 (this small run: 0.72)
  CHECK(trained.steps == 3 * (6000 / 128));
  CHECK_THROWS_WITH(train_classifier(o), Catch::Contains("already exists"));

  const FeatureClassifier classifier(o.out, 1);
  CHECK(classifier.feature_dim() == 64);
  CHECK(classifier.test_accuracy() == Approx(trained.test_accuracy));

  const std::int64_t n = 500;
  const EvalReference ref = make_eval_reference("fashion-mnist", n, 0, &classifier);
  INFO("FD real " << ref.real.fd << ", noise " << ref.noise.fd);
  CHECK(ref.real.fd > 0);
  CHECK(ref.noise.fd > 20 * ref.real.fd);  // a wide margin

  const auto test_images = engine::load_dataset("fashion-mnist-test", n, 0).x;
  auto fd_of = [&](const torch::Tensor& x) {
    return metrics::frechet_distance(classifier.feature_moments(values_of(x), n), ref.moments);
  };
  CHECK(fd_of(test_images) == Approx(ref.real.fd).epsilon(1e-9));
  // The features row by row give the same moments; the FD's bootstrap standard error is positive,
  // below the distance itself for these sets, and repeats exactly for the same set.
  const Eigen::MatrixXd rows = classifier.features(values_of(test_images), n);
  const metrics::Moments from_rows = metrics::moments_of(rows), accumulated = classifier.feature_moments(values_of(test_images), n);
  CHECK((from_rows.mean - accumulated.mean).norm() < 1e-9 * (1 + accumulated.mean.norm()));
  CHECK((from_rows.cov - accumulated.cov).norm() < 1e-9 * accumulated.cov.norm());
  INFO("FD se: real " << ref.real.fd_se << ", noise " << ref.noise.fd_se);
  CHECK(ref.real.fd_se > 0.0);
  CHECK(ref.real.fd_se < ref.real.fd);
  CHECK(ref.noise.fd_se > 0.0);
  CHECK(ref.noise.fd_se < 0.2 * ref.noise.fd);
  const SampleScore again = score_values(values_of(test_images), n, ref, &classifier);
  CHECK(again.fd == Approx(ref.real.fd).epsilon(1e-12));
  CHECK(again.fd_se == ref.real.fd_se);

  std::vector<double> blurred{ref.real.fd};
  for (double s : {0.5, 1.0, 2.0, 4.0}) blurred.push_back(fd_of(blur(test_images, s)));
  torch::manual_seed(1);
  const auto eps = torch::randn_like(test_images);
  std::vector<double> noised{ref.real.fd};
  for (double s : {0.1, 0.2, 0.4, 0.8}) noised.push_back(fd_of((test_images + s * eps).clamp(-1, 1)));
  for (std::size_t i = 1; i < blurred.size(); ++i) {
    INFO("blur step " << i << ": " << blurred[i - 1] << " -> " << blurred[i]);
    CHECK(blurred[i] > blurred[i - 1]);
  }
  for (std::size_t i = 1; i < noised.size(); ++i) {
    INFO("noise step " << i << ": " << noised[i - 1] << " -> " << noised[i]);
    CHECK(noised[i] > noised[i - 1]);
  }
  CHECK(blurred.back() > 5 * ref.real.fd);
  CHECK(noised.back() > 5 * ref.real.fd);
}

TEST_CASE("classifier files and eval references refuse bad input") {
  test::TempDir dir("fd_bad");
  CHECK_THROWS_WITH(FeatureClassifier(dir / "none.cls"), Catch::Contains("does not exist"));
  std::ofstream(dir / "junk.cls") << "not a classifier";
  CHECK_THROWS_WITH(FeatureClassifier(dir / "junk.cls"), Catch::Contains("not a genphys classifier"));
  ClassifierTrainOptions o;
  o.out = dir / "x.cls";
  o.data = dir / "no-such-folder";
  CHECK_THROWS_AS(train_classifier(o), InputError);
  CHECK_THROWS_WITH(make_eval_reference("fashion-mnist", 10, 0, nullptr), Catch::Contains("classifier"));
  CHECK_THROWS_WITH(make_eval_reference("toy:moons", 1, 0, nullptr), Catch::Contains("n must be >= 2"));
}

TEST_CASE("classifier files carry a CRC: a flipped or cut byte is refused; version 1 files still load") {
  test::TempDir dir("cls_crc");
  engine::ClassifierInfo info;
  info.width = 4;
  info.features = 8;
  info.shape = {1, 28, 28};
  info.data = "test";
  auto net = engine::make_classifier(info);
  const std::string path = dir / "c.cls";
  engine::save_classifier(path, info, net);
  engine::ClassifierInfo back;
  engine::load_classifier(path, back);
  CHECK(back.width == 4);
  CHECK(back.features == 8);

  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir / name, std::ios::binary) << content;
    return std::string(dir / name);
  };
  std::string flipped = bytes;
  flipped[bytes.size() / 2] = char(flipped[bytes.size() / 2] ^ 0x10);
  CHECK_THROWS_WITH(engine::load_classifier(write("flipped.cls", flipped), back), Catch::Contains("CRC"));
  CHECK_THROWS_WITH(engine::load_classifier(write("cut.cls", bytes.substr(0, bytes.size() - 7)), back),
                    Catch::Contains("truncated"));
  // Version 1: the same payload behind its own magic line, without size and CRC.
  const std::string v2_magic = "GENPHYS-CLASSIFIER 2\n";
  REQUIRE(bytes.compare(0, v2_magic.size(), v2_magic) == 0);
  const std::string v1 = "GENPHYS-CLASSIFIER 1\n" + bytes.substr(v2_magic.size() + 12);
  engine::ClassifierInfo old;
  engine::load_classifier(write("v1.cls", v1), old);
  CHECK(old.features == 8);
}

TEST_CASE("2D references: held-out draws score near zero, a moment-matched Gaussian does not") {
  // n = 2000: across seeds the real MMD^2 has spread 3e-4 and the Gaussian's is 1.2e-3 +- 1.5e-4
  // (at n = 800 the two overlap).
  const int n = 2000;
  const EvalReference ref = make_eval_reference("toy:rings", n, 0, nullptr);
  CHECK(!ref.is_image);
  CHECK(ref.points.rows() == n);
  CHECK(ref.bandwidth > 0);
  INFO("SW real " << ref.real.sw << " noise " << ref.noise.sw << "; MMD real " << ref.real.mmd << " noise "
                  << ref.noise.mmd);
  CHECK(ref.noise.sw > 2 * ref.real.sw);
  // The median-heuristic kernel is wide, so MMD separates less sharply than SW on 2D data: the
  // difference is about 3.5 standard deviations.
  CHECK(ref.noise.mmd > ref.real.mmd);
  CHECK(ref.noise.mmd > 0);
  // Scoring the real set again reproduces its baseline.
  const Eigen::MatrixXd again = make_toy("rings", n, 2000003);
  std::vector<float> values;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < 2; ++j) values.push_back(float(again(i, j)));
  const SampleScore s = score_values(values, n, ref, nullptr);
  CHECK(s.sw == Approx(ref.real.sw).epsilon(1e-4));
  CHECK(s.mmd == Approx(ref.real.mmd).margin(1e-6));
}

// The memorisation score on sample sets whose answer is known: training images copied (all
// nearer the training set than any held-out image: share 1), their mirror images (share 1 only
// for a run that trained with flips) and other held-out test images (about the quantile, 0.1).
TEST_CASE("memorisation score: copies score 1, held-out images about the quantile") {
  if (!fashion_mnist_installed()) {
    WARN("Fashion-MNIST is not installed (dataset-fashion-mnist); skipped");
    return;
  }
  test::TempDir dir("memo");
  TrainOptions o = test::quiet_options(dir / "run");
  o.data = "fashion-mnist";
  o.limit = 2000;
  o.module.name = "diffusion";
  o.steps = 1;
  o.batch = 4;
  o.arch.arch = "ddpmpp-small";
  o.arch.channels = 16;
  o.eval_samples = 0;
  o.hflip = true;
  train(o);
  const std::string ckpt = dir / "run/last.ckpt";
  const std::int64_t n = 300;
  auto as_samples = [&](const torch::Tensor& x) {
    SampleResult s;
    s.values = values_of(x);
    s.count = x.size(0);
    s.shape = {1, 28, 28};
    s.is_image = true;
    return s;
  };
  const engine::Dataset train_images = engine::load_dataset("fashion-mnist", 2000, 0);
  const engine::Dataset test_images = engine::load_dataset("fashion-mnist-test", 2 * n, 0);
  const MemorisationScore copies = memorisation_score(as_samples(train_images.x.slice(0, 1000, 1000 + n)), ckpt);
  CHECK(copies.share == 1.0);
  CHECK(copies.training_examples == 4000);  // with their mirror images
  CHECK(copies.median_samples == Approx(0.0).margin(1e-3));
  const MemorisationScore mirrored = memorisation_score(as_samples(train_images.x.slice(0, 0, n).flip({-1})), ckpt);
  CHECK(mirrored.share == 1.0);
  // Test images n..2n-1, disjoint from the first n that set the threshold: P(share) is about
  // Binomial(300, 0.1)/300 (sd 0.017).
  const MemorisationScore held_out = memorisation_score(as_samples(test_images.x.slice(0, n, 2 * n)), ckpt);
  std::cout << "memorisation of held-out test images: " << held_out.share << " (threshold " << held_out.threshold
            << ", median " << held_out.median_samples << " vs " << held_out.median_real << ")\n";
  CHECK(held_out.share > 0.03);
  CHECK(held_out.share < 0.2);
  CHECK(held_out.median_samples == Approx(held_out.median_real).epsilon(0.15));
  CHECK_THROWS_WITH(memorisation_score(SampleResult{}, ckpt), Catch::Matchers::Contains("defined for images"));
}
