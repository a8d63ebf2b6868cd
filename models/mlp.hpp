#pragma once
// A residual MLP for low-dimensional data (2D toys, point clouds): the noise embedding is added to
// the first hidden layer, then `depth` residual SiLU layers.

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
};

class MlpImpl : public NetworkImpl {
 public:
  explicit MlpImpl(const MlpOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) override;

 private:
  MlpOptions options_;
  torch::nn::Linear in_{nullptr}, emb0_{nullptr}, emb1_{nullptr}, out_{nullptr};
  std::vector<torch::nn::Linear> layers_;
  std::vector<torch::nn::LayerNorm> norms_;
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Mlp);

}  // namespace genphys::engine
