#pragma once
// A DDPM++/NCSN++-style UNet (the EDM "SongUNet" layout, smaller): residual blocks with GroupNorm,
// SiLU, an adaptive scale/shift from the noise embedding, dropout, optional self-attention at
// chosen resolutions, average-pool down and nearest-neighbour up sampling inside residual blocks.
// The legacy network of unet-small and unet (now presets of song_unet.hpp's DDPM++): kept as the
// unlisted registry entries kLegacyUnetSmall and kLegacyUnet, which checkpoints of format <= 2 load.

#include <torch/torch.h>

#include <vector>

#include "engine/model_registry.hpp"

namespace genphys::engine {

struct UNetOptions {
  UNetOptions(int in_channels, int image_size) : in_channels_(in_channels), image_size_(image_size) {}
  TORCH_ARG(int, in_channels);
  TORCH_ARG(int, image_size);                ///< height = width
  TORCH_ARG(int, model_channels) = 32;
  TORCH_ARG(std::vector<int>, channel_mult) = std::vector<int>{1, 2, 2};
  TORCH_ARG(int, num_blocks) = 1;
  TORCH_ARG(std::vector<int>, attn_resolutions) = std::vector<int>{};
  TORCH_ARG(double, dropout) = 0.0;
  TORCH_ARG(int, emb_channels) = 0;  ///< positional embedding width; 0: model_channels
};

/// One residual block; `resample` = -1 halves the resolution, +1 doubles it.
class UNetBlockImpl : public torch::nn::Module {
 public:
  UNetBlockImpl(int in_channels, int out_channels, int emb_channels, double dropout, bool attention,
                int resample);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

 private:
  int out_channels_, resample_;
  bool attention_;
  torch::nn::GroupNorm norm0_{nullptr}, norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv0_{nullptr}, conv1_{nullptr}, skip_{nullptr}, qkv_{nullptr}, proj_{nullptr};
  torch::nn::Linear affine_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(UNetBlock);

class UNetImpl : public NetworkImpl {
 public:
  explicit UNetImpl(const UNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) override;
  const UNetOptions& options() const { return options_; }

 private:
  UNetOptions options_;
  int emb_in_;
  torch::nn::Linear map0_{nullptr}, map1_{nullptr};
  torch::nn::Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::GroupNorm norm_out_{nullptr};
  std::vector<UNetBlock> enc_, dec_;
  std::vector<bool> dec_takes_skip_;
};
TORCH_MODULE(UNet);

}  // namespace genphys::engine
