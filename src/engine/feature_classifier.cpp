// genphys::FeatureClassifier: a trained classifier as the feature map of the Fréchet distance.
#include <fmt/format.h>

#include "engine/classifier_file.hpp"
#include "engine/runtime.hpp"
#include "genphys/errors.hpp"
#include "genphys/evaluation.hpp"

namespace genphys {
using namespace engine;

struct FeatureClassifier::Impl {
  ClassifierInfo info;
  ClassifierNet net{nullptr};

  torch::Tensor images(const std::vector<float>& values, std::int64_t count) const {
    const std::int64_t per = info.shape[0] * info.shape[1] * info.shape[2];
    if (count < 0 || std::int64_t(values.size()) != count * per)
      throw InputError(fmt::format("{} values are not {} images of {}x{}x{} (the classifier's shape)", values.size(),
                                   count, info.shape[0], info.shape[1], info.shape[2]));
    auto t = torch::from_blob(const_cast<float*>(values.data()), {count, info.shape[0], info.shape[1], info.shape[2]},
                              torch::kFloat32);
    // Diverged samples (NaN) become mid-grey instead of poisoning every moment.
    return torch::nan_to_num(t, 0.0, 1.0, -1.0).clamp(-1.0, 1.0);
  }
};

FeatureClassifier::FeatureClassifier(const std::string& path, int threads) : impl_(std::make_unique<Impl>()) {
  setup_runtime("cpu", threads);
  impl_->net = load_classifier(path, impl_->info);
}
FeatureClassifier::~FeatureClassifier() = default;
FeatureClassifier::FeatureClassifier(FeatureClassifier&&) noexcept = default;
FeatureClassifier& FeatureClassifier::operator=(FeatureClassifier&&) noexcept = default;

int FeatureClassifier::feature_dim() const { return impl_->info.features; }
std::vector<std::int64_t> FeatureClassifier::image_shape() const { return impl_->info.shape; }
double FeatureClassifier::test_accuracy() const { return impl_->info.test_accuracy; }
int FeatureClassifier::classes() const { return impl_->info.classes; }
std::string FeatureClassifier::data() const { return impl_->info.data; }

Eigen::MatrixXd FeatureClassifier::features(const std::vector<float>& values, std::int64_t count, int batch) const {
  const auto x = impl_->images(values, count);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Eigen::MatrixXd out(count, feature_dim());
  c10::InferenceMode inference;
  for (std::int64_t i = 0; i < count; i += batch) {
    const auto f = impl_->net->features(x.slice(0, i, std::min(count, i + batch))).to(torch::kFloat64).contiguous();
    out.middleRows(i, f.size(0)) = Eigen::Map<const RowMajor>(f.data_ptr<double>(), f.size(0), f.size(1));
  }
  return out;
}

metrics::Moments FeatureClassifier::feature_moments(const std::vector<float>& values, std::int64_t count,
                                                    int batch) const {
  return metrics::moments_of(features(values, count, batch));
}

std::vector<std::int64_t> FeatureClassifier::predict(const std::vector<float>& values, std::int64_t count) const {
  const auto x = impl_->images(values, count);
  c10::InferenceMode inference;
  std::vector<std::int64_t> out;
  out.reserve(std::size_t(count));
  for (std::int64_t i = 0; i < count; i += 500) {
    const auto p = impl_->net->forward(x.slice(0, i, std::min(count, i + 500))).argmax(1).contiguous();
    out.insert(out.end(), p.data_ptr<std::int64_t>(), p.data_ptr<std::int64_t>() + p.numel());
  }
  return out;
}

}  // namespace genphys
