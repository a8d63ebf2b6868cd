#pragma once
// A residual MLP for low-dimensional data (2D toys, point clouds): the noise embedding is added to
// the first hidden layer, then `depth` residual SiLU layers. With label_dim > 0 a class label
// embedding (EDM's map_label: a linear map of the scaled one-hot vector) is added to the
// positional noise embedding before the embedding layers.

#include <torch/torch.h>

#include <vector>

#include "engine/model_registry.hpp"

namespace genphys::engine {

struct MlpOptions {
  explicit MlpOptions(int dim) : dim_(dim) {}
  TORCH_ARG(int, dim);  ///< flattened data size (images are flattened)
  TORCH_ARG(int, hidden) = 128;
  TORCH_ARG(int, depth) = 3;
  TORCH_ARG(int, emb_channels) = 32;
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, label_dim) = 0;  ///< classes; 0: unconditional
};

class MlpImpl : public NetworkImpl {
 public:
  explicit MlpImpl(const MlpOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) override;
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& c_noise,
                                 const torch::Tensor& class_labels) override;

 private:
  MlpOptions options_;
  torch::nn::Linear in_{nullptr}, emb0_{nullptr}, emb1_{nullptr}, out_{nullptr}, map_label_{nullptr};
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace genphys::engine
