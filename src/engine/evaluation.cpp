// Reference sets, baselines and sample scores for genphys eval / compare / robustness.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "engine/checkpoint.hpp"
#include "engine/data.hpp"
#include "engine/held_out.hpp"
#include "genphys/errors.hpp"
#include "genphys/evaluation.hpp"
#include "genphys/random.hpp"
#include "genphys/variates.hpp"
#include "genphys/toy_data.hpp"

namespace genphys {
using namespace engine;
namespace fs = std::filesystem;

namespace {

// Held-out toy draws use seeds no training run uses by default (training draws with its --seed).
constexpr std::uint64_t kReferenceSeedOffset = 1000003, kRealSeedOffset = 2000003;

std::vector<float> tensor_values(const torch::Tensor& t) {
  const auto c = t.to(torch::kFloat32).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

Eigen::MatrixXd to_matrix(const std::vector<float>& values, std::int64_t count, std::int64_t dim) {
  Eigen::MatrixXd m(count, dim);
  for (std::int64_t i = 0; i < count; ++i)
    for (std::int64_t j = 0; j < dim; ++j) m(i, j) = values[std::size_t(i * dim + j)];
  return m;
}

constexpr int kBootstrapResamples = 100;

// The FD of the images' features against the reference, with its bootstrap standard error.
SampleScore fd_score(const FeatureClassifier& classifier, const std::vector<float>& values, std::int64_t count,
                     const EvalReference& ref) {
  const Eigen::MatrixXd f = classifier.features(values, count);
  SampleScore s;
  s.fd = metrics::frechet_distance(metrics::moments_of(f), ref.moments);
  s.fd_se = metrics::frechet_distance_bootstrap_se(f, ref.moments, kBootstrapResamples, ref.seed);
  return s;
}

}  // namespace

std::string engine::test_split_of(const std::string& data) {
  if (data == "fashion-mnist") return "fashion-mnist-test";
  const auto colon = data.find(':');
  if (colon == std::string::npos) return "";
  const std::string kind = data.substr(0, colon), path = data.substr(colon + 1);
  if (kind != "fashion-mnist" && kind != "idx" && kind != "mnist") return "";
  std::error_code ec;
  const fs::path dir = fs::is_directory(path, ec) ? fs::path(path) : fs::path(path).parent_path();
  for (const char* name : {"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"})
    if (fs::exists(dir / name, ec)) return "idx:" + (dir / name).string();
  return "";
}

Eigen::MatrixXd engine::held_out_points(const std::string& data, std::int64_t n, std::uint64_t seed, std::int64_t skip) {
  if (is_toy_spec(data)) return make_toy(parse_toy_spec(data).name, int(n), seed);
  // A CSV holds a fixed set: its rows [skip, skip + n) stand in for held-out points.
  const Eigen::MatrixXd all = load_csv_points(data.substr(data.find(':') + 1));
  if (all.rows() < skip + n)
    throw InputError(fmt::format("{} holds {} points; evaluation at n = {} needs {}", data, all.rows(), n, skip + n));
  return all.middleRows(skip, n);
}

EvalReference make_eval_reference(const std::string& data, std::int64_t n, std::uint64_t seed,
                                  const FeatureClassifier* classifier) {
  if (n < 2) throw OptionError("n", "must be >= 2");
  // The MMD compares every pair: 1e6 points already take hours.
  if (n > 1000000) throw OptionError("n", fmt::format("must be <= 1000000 (the MMD's cost grows as n^2), got {}", n));
  EvalReference ref;
  ref.data = data;
  ref.n = n;
  ref.seed = seed;
  const bool points = data.rfind("toy:", 0) == 0 || data.rfind("csv:", 0) == 0;
  if (points) {
    ref.points = held_out_points(data, n, seed + kReferenceSeedOffset, 0);
    const Eigen::MatrixXd real = held_out_points(data, n, seed + kRealSeedOffset, n);
    const bool toy = is_toy_spec(data);
    ref.reference_set = fmt::format("{} {} points ({})", n, data,
                                    toy ? fmt::format("fresh draw, seed {}", seed + kReferenceSeedOffset) : "rows 0..n-1");
    ref.real_set = fmt::format("{} {} points ({})", n, data,
                               toy ? fmt::format("fresh draw, seed {}", seed + kRealSeedOffset) : "rows n..2n-1");
    // Noise: a Gaussian with the reference's mean and covariance (what a model that learned only
    // the first two moments would produce).
    const metrics::Moments m = metrics::moments_of(ref.points);
    const Eigen::MatrixXd chol = metrics::sqrt_psd(m.cov);
    Eigen::MatrixXd noise(n, ref.points.cols());
    for (std::int64_t i = 0; i < n; ++i) {
      Rng rng = sample_rng(seed + kRealSeedOffset + 1, std::uint64_t(i));
      Eigen::VectorXd z(ref.points.cols());
      for (auto& v : z) v = standard_normal(rng);
      noise.row(i) = (m.mean + chol * z).transpose();
    }
    ref.noise_set = fmt::format("{} points from a Gaussian with the reference's mean and covariance", n);
    ref.bandwidth = metrics::median_distance(ref.points, real);
    ref.real.sw = metrics::sliced_wasserstein(real, ref.points, 256, seed);
    ref.real.mmd = metrics::mmd_squared(real, ref.points, ref.bandwidth);
    ref.noise.sw = metrics::sliced_wasserstein(noise, ref.points, 256, seed);
    ref.noise.mmd = metrics::mmd_squared(noise, ref.points, ref.bandwidth);
    return ref;
  }

  ref.is_image = true;
  if (!classifier) throw InputError("image data need a classifier for the Fréchet distance (--classifier FILE)");
  const std::string test_split = test_split_of(data);
  const Dataset train = load_dataset(data, test_split.empty() ? 2 * n : n, 0);
  if (train.size() < (test_split.empty() ? 2 * n : n))
    throw InputError(fmt::format("{} holds {} images; evaluation at n = {} needs {}", data, train.size(), n,
                                 test_split.empty() ? 2 * n : n));
  if (train.shape != classifier->image_shape())
    throw InputError(fmt::format("the classifier was trained on {}x{}x{} images, the data are {}x{}x{}",
                                 classifier->image_shape()[0], classifier->image_shape()[1],
                                 classifier->image_shape()[2], train.shape[0], train.shape[1], train.shape[2]));
  const auto reference = train.x.slice(0, 0, n);
  ref.moments = classifier->feature_moments(tensor_values(reference), n);
  ref.reference_set = fmt::format("first {} training images of {}", n, data);
  torch::Tensor real;
  if (!test_split.empty()) {
    const Dataset test = load_dataset(test_split, n, 0);
    if (test.size() < n) throw InputError(fmt::format("{} holds {} images; n = {} is too many", test_split, test.size(), n));
    real = test.x;
    ref.real_set = fmt::format("first {} test images ({})", n, test_split);
  } else {
    real = train.x.slice(0, n, 2 * n);
    ref.real_set = fmt::format("training images {}..{} of {}", n, 2 * n - 1, data);
  }
  ref.real = fd_score(*classifier, tensor_values(real), n, ref);
  torch::manual_seed(mix_seed(seed + kRealSeedOffset));
  const auto noise = torch::rand_like(reference) * 2.0 - 1.0;
  ref.noise = fd_score(*classifier, tensor_values(noise), n, ref);
  ref.noise_set = fmt::format("{} images of uniform pixel noise in [-1, 1]", n);
  return ref;
}

SampleScore score_values(const std::vector<float>& values, std::int64_t count, const EvalReference& ref,
                         const FeatureClassifier* classifier) {
  SampleScore s;
  if (ref.is_image) {
    if (!classifier) throw InputError("image samples need a classifier for the Fréchet distance");
    return fd_score(*classifier, values, count, ref);
  }
  const std::int64_t dim = ref.points.cols();
  if (count < 2 || std::int64_t(values.size()) != count * dim)
    throw InputError(fmt::format("samples are not {} points of dimension {}", count, dim));
  const Eigen::MatrixXd x = to_matrix(values, count, dim);
  s.sw = metrics::sliced_wasserstein(x, ref.points, 256, ref.seed);
  s.mmd = metrics::mmd_squared(x, ref.points, ref.bandwidth);
  return s;
}

SampleScore score_samples(const SampleResult& samples, const EvalReference& ref, const FeatureClassifier* classifier) {
  if (samples.is_image != ref.is_image)
    throw InputError(std::string("the samples are ") + (samples.is_image ? "images" : "points") +
                     " but the reference holds " + (ref.is_image ? "images" : "points"));
  return score_values(samples.values, samples.count, ref, classifier);
}

namespace {

// The first `n` images of class `label`, or fewer when the data hold fewer.
torch::Tensor first_of_class(const Dataset& d, std::int64_t label, std::int64_t n, std::int64_t skip = 0) {
  const auto rows = torch::nonzero(d.labels.eq(label)).flatten();
  const auto take = std::max<std::int64_t>(0, std::min(n, rows.size(0) - skip));
  return d.x.index_select(0, rows.slice(0, skip, skip + take));
}

double share_of(const std::vector<std::int64_t>& predicted, std::int64_t label) {
  if (predicted.empty()) return std::numeric_limits<double>::quiet_NaN();
  return double(std::count(predicted.begin(), predicted.end(), label)) / double(predicted.size());
}

}  // namespace

std::vector<ClassScore> score_by_class(const SampleResult& samples, const std::string& data,
                                       const FeatureClassifier& classifier) {
  if (!samples.is_image || samples.labels.empty())
    throw InputError("per-class scores need labelled image samples (a class-conditional image checkpoint)");
  const Dataset train = load_dataset(data, 0, 0, true);
  const std::string test_split = test_split_of(data);
  const Dataset test = test_split.empty() ? Dataset() : load_dataset(test_split, 0, 0, true);
  const std::int64_t per = train.dim();
  const bool same_classes = classifier.classes() == samples.num_classes;
  std::vector<ClassScore> out;
  for (std::int64_t k = 0; k < samples.num_classes; ++k) {
    std::vector<float> mine;
    for (std::size_t i = 0; i < samples.labels.size(); ++i)
      if (samples.labels[i] == k)
        mine.insert(mine.end(), samples.values.begin() + std::ptrdiff_t(i * std::size_t(per)),
                    samples.values.begin() + std::ptrdiff_t((i + 1) * std::size_t(per)));
    ClassScore c;
    c.label = k;
    c.name = k < std::int64_t(samples.class_names.size()) ? samples.class_names[std::size_t(k)] : "";
    c.n = std::int64_t(mine.size()) / per;
    if (c.n == 0) continue;
    const auto reference = first_of_class(train, k, c.n);
    const auto real = test_split.empty() ? first_of_class(train, k, c.n, c.n) : first_of_class(test, k, c.n);
    if (reference.size(0) < c.n || real.size(0) < c.n)
      throw InputError(fmt::format("{} holds too few images of class {} for {} samples of it (reference and real "
                                   "baseline need {} each)",
                                   data, k, c.n, c.n));
    const auto moments = classifier.feature_moments(tensor_values(reference), c.n);
    if (c.n >= 2) {
      c.fd = metrics::frechet_distance(classifier.feature_moments(mine, c.n), moments);
      c.real_fd = metrics::frechet_distance(classifier.feature_moments(tensor_values(real), c.n), moments);
    }
    if (same_classes) {
      c.accuracy = share_of(classifier.predict(mine, c.n), k);
      c.real_accuracy = share_of(classifier.predict(tensor_values(real), c.n), k);
    }
    out.push_back(c);
  }
  return out;
}

CheckpointSummary read_checkpoint_summary(const std::string& path) {
  CheckpointReader reader(path, torch::kCPU);
  CheckpointSummary s;
  s.data = reader.config().data;
  s.pde = reader.config().module.name;
  s.is_image = reader.config().is_image;
  s.step = reader.state().step;
  s.num_classes = reader.config().conditional ? reader.config().arch.label_dim : 0;
  return s;
}

}  // namespace genphys

namespace genphys {
using namespace engine;

namespace {
// Distance of each row of `queries` (n x dim) to its nearest row of `examples`, as the root mean
// square over coordinates; streamed over the examples.
torch::Tensor nearest_distance(const torch::Tensor& queries, const torch::Tensor& examples) {
  torch::NoGradGuard guard;
  const auto q = queries.to(torch::kFloat32).contiguous();
  const auto q2 = q.square().sum(1, true);
  auto best = torch::full({q.size(0)}, std::numeric_limits<float>::infinity(), torch::kFloat32);
  for (std::int64_t start = 0; start < examples.size(0); start += 8192) {
    const auto e = examples.slice(0, start, std::min(examples.size(0), start + 8192)).to(torch::kFloat32).contiguous();
    const auto d2 = q2 + e.square().sum(1).unsqueeze(0) - 2.0 * q.matmul(e.t());
    best = torch::minimum(best, std::get<0>(d2.min(1)));
  }
  return (best.clamp_min(0.0) / double(q.size(1))).sqrt().to(torch::kFloat64);
}

double quantile_of(const torch::Tensor& values, double q) {
  const auto sorted = std::get<0>(values.sort());
  const double pos = q * double(sorted.size(0) - 1);
  const auto lo = std::int64_t(std::floor(pos)), hi = std::min<std::int64_t>(lo + 1, sorted.size(0) - 1);
  return sorted[lo].item<double>() + (pos - double(lo)) * (sorted[hi].item<double>() - sorted[lo].item<double>());
}
}  // namespace

MemorisationScore memorisation_score(const SampleResult& samples, const std::string& checkpoint, double quantile) {
  if (!samples.is_image) throw InputError("the memorisation score is defined for images");
  if (!(quantile > 0 && quantile < 1)) throw OptionError("quantile", "must be in (0, 1)");
  const CheckpointReader reader(checkpoint, torch::kCPU);
  const RunConfig& config = reader.config();
  const std::string test_split = test_split_of(config.data);
  if (test_split.empty())
    throw InputError("the memorisation score needs held-out images: " + config.data + " has no test split");
  const std::int64_t n = samples.count, dim = std::int64_t(samples.values.size()) / std::max<std::int64_t>(1, n);
  const Dataset train = load_dataset(config.data, config.limit, config.seed);
  const Dataset real = load_dataset(test_split, n, 0);
  if (real.size() < n) throw InputError(fmt::format("{} holds {} images; n = {} is too many", test_split, real.size(), n));
  auto examples = train.x;
  if (config.hflip) examples = torch::cat({examples, examples.flip({-1})});
  examples = examples.reshape({examples.size(0), -1});
  if (examples.size(1) != dim) throw InputError("the samples do not have the run's image shape");
  const auto generated =
      torch::from_blob(const_cast<float*>(samples.values.data()), {n, dim}, torch::kFloat32).clamp(-1.0, 1.0);
  const auto d_samples = nearest_distance(generated, examples), d_real = nearest_distance(real.x.reshape({n, dim}), examples);
  MemorisationScore m;
  m.n = n;
  m.training_examples = examples.size(0);
  m.quantile = quantile;
  m.threshold = quantile_of(d_real, quantile);
  m.share = (d_samples < m.threshold).to(torch::kFloat64).mean().item<double>();
  m.median_samples = quantile_of(d_samples, 0.5);
  m.median_real = quantile_of(d_real, 0.5);
  m.real_set = fmt::format("first {} test images ({})", n, test_split);
  return m;
}

}  // namespace genphys
