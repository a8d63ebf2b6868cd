#pragma once
// EDM's SongUNet in its DDPM++ configuration (Karras et al. 2022, networks.py; Song et al. 2021):
// positional noise embedding (sin/cos swapped) through a 2-layer SiLU MLP, residual blocks with
// an additive embedding, GroupNorm (eps 1e-6, min(32, C/4) groups), dropout, one attention head
// at the chosen resolutions, and 2x resampling with the [1,1] filter (average pooling down,
// nearest-neighbour up) inside the blocks. Parameter names follow EDM's state dict (`enc.28x28_
// block0.conv0.weight`, ...), so weights move between this and a PyTorch SongUNet by name.
//
// With label_dim > 0 it is class-conditional as EDM's: map_label, a linear map of the one-hot class
// vector times sqrt(label_dim), is added to the noise embedding before map_layer0.
//
// At model_channels 32, channel_mult 1,2,2, 2 blocks, attention at 7x7 on 28x28x1 images it has
// 1,752,993 parameters (the `ddpmpp-small` preset).

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "engine/model_registry.hpp"

namespace genphys::engine {

/// oneDNN's convolutions of this network run 20-25% faster on NHWC activations (B = 64: 101 vs
/// 125 ms for all 66 alone), and the fused GroupNorm + SiLU, resampling and attention keep NHWC
/// without copies; but with autograd LibTorch 1.13's CPU GroupNorm and convolution backward are
/// slower on NHWC (a B = 128 training pass took 1.65-1.91 s against 1.25-1.38 s). So the default
/// is NHWC on CPU when no gradient is recorded (sampling, evaluation) and NCHW otherwise.
enum class ActivationLayout { nchw, nhwc, nhwc_without_grad };

struct SongUNetOptions {
  SongUNetOptions(int in_channels, int image_size) : in_channels_(in_channels), image_size_(image_size) {}
  TORCH_ARG(int, in_channels);
  TORCH_ARG(int, image_size);  ///< height = width
  TORCH_ARG(int, model_channels) = 32;
  TORCH_ARG(std::vector<int>, channel_mult) = std::vector<int>{1, 2, 2};
  TORCH_ARG(int, channel_mult_emb) = 4;  ///< embedding width = model_channels * this
  TORCH_ARG(int, num_blocks) = 2;
  TORCH_ARG(std::vector<int>, attn_resolutions) = std::vector<int>{7};
  TORCH_ARG(double, dropout) = 0.1;
  TORCH_ARG(int, label_dim) = 0;  ///< classes of the label embedding; 0: unconditional
  /// Memory layout of the activations: see ActivationLayout.
  TORCH_ARG(ActivationLayout, layout) = ActivationLayout::nhwc_without_grad;
};

/// Dropout (training mode) of a CPU tensor with its mask from a counter-based hash evaluated in
/// parallel. LibTorch 1.13's CPU bernoulli_ draws element by element from one locked generator
/// (0.24 s for one 128x64x28x28 activation on a loaded 2-core machine; a B = 128 step of
/// ddpmpp-small drops 36M). The hash's key is drawn from torch's generator, so
/// torch::manual_seed repeats a run.
torch::Tensor parallel_dropout(const torch::Tensor& x, double p);

/// One DDPM++ block; `resample` = -1 halves the resolution, +1 doubles it.
class SongUNetBlockImpl : public torch::nn::Module {
 public:
  SongUNetBlockImpl(int in_channels, int out_channels, int emb_channels, int resample, bool attention,
                    double dropout);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);
  int in_channels() const { return in_channels_; }
  int out_channels() const { return out_channels_; }

 private:
  torch::Tensor attend(const torch::Tensor& h);
  int in_channels_, out_channels_, resample_;
  bool attention_;
  double dropout_;
  torch::nn::GroupNorm norm0_{nullptr}, norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv0_{nullptr}, conv1_{nullptr}, skip_{nullptr}, qkv_{nullptr}, proj_{nullptr};
  torch::nn::Linear affine_{nullptr};
};
TORCH_MODULE(SongUNetBlock);

class SongUNetImpl : public NetworkImpl {
 public:
  explicit SongUNetImpl(const SongUNetOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) override;
  torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& c_noise,
                                 const torch::Tensor& class_labels) override;
  const SongUNetOptions& options() const { return options_; }
  /// Whether forward(x) runs its activations in NHWC now (the layout option, autograd, device).
  bool runs_nhwc(const torch::Tensor& x) const;

  /// Multiply-adds x 2 of one forward pass per image (convolutions, linear layers, attention
  /// products), the figure GFLOP/s numbers are based on.
  std::int64_t flops_per_image() const { return flops_per_image_; }

 private:
  SongUNetOptions options_;
  torch::nn::Linear map_label_{nullptr}, map_layer0_{nullptr}, map_layer1_{nullptr};
  torch::nn::Conv2d conv_in_{nullptr}, conv_out_{nullptr};
  torch::nn::GroupNorm norm_out_{nullptr};
  std::vector<SongUNetBlock> enc_, dec_;
  std::int64_t flops_per_image_ = 0;
};
TORCH_MODULE(SongUNet);

}  // namespace genphys::engine
