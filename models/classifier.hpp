#pragma once
// A small CNN image classifier whose penultimate activations serve as the feature space of the
// Fréchet distance (the role Inception plays in FID, for data such as Fashion-MNIST).

#include <torch/torch.h>

namespace genphys::engine {

struct ClassifierNetOptions {
  ClassifierNetOptions(int channels_in, int classes) : channels_in_(channels_in), classes_(classes) {}
  TORCH_ARG(int, channels_in);
  TORCH_ARG(int, classes);
  TORCH_ARG(int, width) = 32;      ///< channels of the first conv block (doubled per block)
  TORCH_ARG(int, features) = 128;  ///< penultimate width: the feature dimension
  TORCH_ARG(double, dropout) = 0.3;
};

/// Three conv blocks (conv-BN-ReLU, 2x2 max pool after the first two), global average pooling, a
/// fully connected feature layer and the class logits. Any image size >= 4x4.
class ClassifierNetImpl : public torch::nn::Module {
 public:
  explicit ClassifierNetImpl(const ClassifierNetOptions& options);
  /// Penultimate features (B, features), after ReLU.
  torch::Tensor features(const torch::Tensor& x);
  /// Class logits (B, classes).
  torch::Tensor forward(const torch::Tensor& x);
  const ClassifierNetOptions& options() const { return options_; }

 private:
  ClassifierNetOptions options_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, conv3_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr}, bn2_{nullptr}, bn3_{nullptr};
  torch::nn::Linear feature_{nullptr}, logits_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ClassifierNet);

}  // namespace genphys::engine
