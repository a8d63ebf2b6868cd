#pragma once
// Networks and EDM preconditioning. Internal to the engine (includes LibTorch).

#include <torch/torch.h>

#include <memory>
#include <vector>

#include "genphys/engine.hpp"

namespace genphys::engine {

/// A raw network F(x_in, c_noise): x_in of the data's shape (B, ...), c_noise of shape (B).
class NetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) = 0;
};
using Network = std::shared_ptr<NetworkImpl>;

/// ArchOptions with the preset filled in for data of `data_shape` ({C, H, W} or {d}); throws
/// InputError for an arch that does not fit the data.
ArchOptions resolve_arch(const ArchOptions& arch, const std::vector<std::int64_t>& data_shape);

/// Builds the network for a resolved ArchOptions.
Network make_network(const ArchOptions& arch, const std::vector<std::int64_t>& data_shape);

/// EDM's positional embedding of a noise label: [cos(c f_j), sin(c f_j)], f_j = (1/10000)^(j/(n/2 - 1)).
torch::Tensor positional_embedding(const torch::Tensor& c_noise, int channels);

/// D(x, sigma) = c_skip x + c_out F(c_in x, ln(sigma)/4) (EDM, Karras et al. 2022, Table 1).
class EdmPrecondImpl : public torch::nn::Module {
 public:
  EdmPrecondImpl(Network net, double sigma_data);
  /// x: (B, ...), sigma: (B). Computed in float32.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& sigma);
  double sigma_data() const { return sigma_data_; }
  Network net() const { return net_; }

 private:
  Network net_;
  double sigma_data_;
};
TORCH_MODULE(EdmPrecond);

/// Per-sample weighted denoising loss lambda(sigma) mean_j (D(x, sigma)_j - y_j)^2 with
/// lambda = (sigma^2 + sd^2) / (sigma sd)^2. Shape (B).
torch::Tensor edm_loss(EdmPrecond& model, const torch::Tensor& y, const torch::Tensor& x,
                       const torch::Tensor& sigma);

}  // namespace genphys::engine
