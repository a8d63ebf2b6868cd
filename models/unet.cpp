#include "unet.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "genphys/errors.hpp"
#include "models.hpp"

namespace genphys::engine {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

// EDM's group count: min(32, C/4), reduced until it divides C.
int group_count(int channels) {
  int g = std::clamp(channels / 4, 1, 32);
  while (channels % g != 0) --g;
  return g;
}

nn::GroupNorm group_norm(int channels) {
  return nn::GroupNorm(nn::GroupNormOptions(group_count(channels), channels).eps(1e-6));
}

// Xavier-uniform weights, zero bias; `gain` = 1e-5 gives EDM's near-zero init for layers whose
// output is added to a residual stream, so each block starts close to the identity.
template <class Layer>
void init_layer(Layer& layer, double gain = 1.0) {
  torch::NoGradGuard guard;
  nn::init::xavier_uniform_(layer->weight);
  layer->weight.mul_(gain);
  if (layer->bias.defined()) nn::init::zeros_(layer->bias);
}

nn::Conv2d conv(int in, int out, int kernel, double gain = 1.0) {
  nn::Conv2d c(nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
  init_layer(c, gain);
  return c;
}

nn::Linear linear(int in, int out, double gain = 1.0) {
  nn::Linear l(in, out);
  init_layer(l, gain);
  return l;
}

constexpr double kSkipScale = 0.7071067811865476;  // 1/sqrt(2): keeps the residual sum's variance

}  // namespace

UNetBlockImpl::UNetBlockImpl(int in_channels, int out_channels, int emb_channels, double dropout,
                             bool attention, int resample)
    : out_channels_(out_channels), resample_(resample), attention_(attention) {
  norm0_ = register_module("norm0", group_norm(in_channels));
  conv0_ = register_module("conv0", conv(in_channels, out_channels, 3));
  affine_ = register_module("affine", linear(emb_channels, 2 * out_channels));
  norm1_ = register_module("norm1", group_norm(out_channels));
  dropout_ = register_module("dropout", nn::Dropout(dropout));
  conv1_ = register_module("conv1", conv(out_channels, out_channels, 3, 1e-5));
  if (in_channels != out_channels) skip_ = register_module("skip", conv(in_channels, out_channels, 1));
  if (attention) {
    norm2_ = register_module("norm2", group_norm(out_channels));
    qkv_ = register_module("qkv", conv(out_channels, 3 * out_channels, 1));
    proj_ = register_module("proj", conv(out_channels, out_channels, 1, 1e-5));
  }
}

namespace {
torch::Tensor resample(const torch::Tensor& x, int mode) {
  if (mode < 0) return F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
  if (mode > 0)
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .scale_factor(std::vector<double>{2.0, 2.0})
                                 .mode(torch::kNearest));
  return x;
}
}  // namespace

torch::Tensor UNetBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  torch::Tensor h = resample(torch::silu(norm0_(float_activations(x))), resample_);
  h = conv0_(h);
  auto params = affine_(emb).unsqueeze(2).unsqueeze(3);
  auto chunks = params.chunk(2, 1);
  h = torch::silu(torch::addcmul(chunks[1], norm1_(float_activations(h)), chunks[0] + 1.0));
  h = conv1_(dropout_(h));
  torch::Tensor skip = resample(x, resample_);
  if (skip_) skip = skip_(skip);
  h = (h + skip) * kSkipScale;
  if (attention_) {
    const auto B = h.size(0), C = h.size(1), H = h.size(2), W = h.size(3);
    const int64_t heads = std::max<int64_t>(1, C / 64), ch = C / heads;
    // (B*heads, ch, 3, HW) -> q, k, v each (B*heads, ch, HW)
    auto qkv = qkv_(norm2_(float_activations(h))).reshape({B * heads, ch, 3, H * W}).unbind(2);
    auto w = torch::softmax(torch::einsum("ncq,nck->nqk", {qkv[0], qkv[1] / std::sqrt(double(ch))}), 2);
    auto a = torch::einsum("nqk,nck->ncq", {w, qkv[2]}).reshape({B, C, H, W});
    h = (proj_(a) + h) * kSkipScale;
  }
  return h;
}

UNetImpl::UNetImpl(const UNetOptions& o) : options_(o) {
  const auto& mult = o.channel_mult();
  if (mult.empty()) throw InputError("unet: channel_mult is empty");
  const int levels = int(mult.size());
  if (o.image_size() % (1 << (levels - 1)) != 0)
    throw InputError("unet: image size " + std::to_string(o.image_size()) + " is not divisible by 2^" +
                     std::to_string(levels - 1) + " (" + std::to_string(levels) +
                     " resolutions); use fewer channel multipliers");
  const int C = o.model_channels();
  emb_in_ = o.emb_channels() > 0 ? o.emb_channels() : C;
  if (emb_in_ % 2 != 0 || emb_in_ < 4) throw InputError("unet: embedding channels must be even and >= 4");
  const int emb = 4 * C;
  map0_ = register_module("map0", linear(emb_in_, emb));
  map1_ = register_module("map1", linear(emb, emb));
  const std::set<int> attn(o.attn_resolutions().begin(), o.attn_resolutions().end());

  // Encoder: conv_in, then per level an optional down block and num_blocks blocks. Every output
  // is kept for a skip connection.
  conv_in_ = register_module("conv_in", conv(o.in_channels(), C, 3));
  std::vector<int> skips{C};
  int cout = C, res = o.image_size();
  for (int level = 0; level < levels; ++level) {
    if (level > 0) {
      res /= 2;
      enc_.push_back(UNetBlock(cout, cout, emb, o.dropout(), false, -1));
      skips.push_back(cout);
    }
    for (int b = 0; b < o.num_blocks(); ++b) {
      const int cin = cout;
      cout = C * mult[level];
      enc_.push_back(UNetBlock(cin, cout, emb, o.dropout(), attn.count(res) > 0, 0));
      skips.push_back(cout);
    }
  }
  for (size_t i = 0; i < enc_.size(); ++i) register_module("enc" + std::to_string(i), enc_[i]);

  // Decoder: two middle blocks (the first with attention), then per level an up block and
  // num_blocks + 1 blocks each taking one skip.
  for (int level = levels - 1; level >= 0; --level) {
    if (level == levels - 1) {
      dec_.push_back(UNetBlock(cout, cout, emb, o.dropout(), true, 0));
      dec_.push_back(UNetBlock(cout, cout, emb, o.dropout(), false, 0));
      dec_takes_skip_.insert(dec_takes_skip_.end(), {false, false});
    } else {
      res *= 2;
      dec_.push_back(UNetBlock(cout, cout, emb, o.dropout(), false, +1));
      dec_takes_skip_.push_back(false);
    }
    for (int b = 0; b <= o.num_blocks(); ++b) {
      const int cin = cout + skips.back();
      skips.pop_back();
      cout = C * mult[level];
      dec_.push_back(UNetBlock(cin, cout, emb, o.dropout(), attn.count(res) > 0, 0));
      dec_takes_skip_.push_back(true);
    }
  }
  for (size_t i = 0; i < dec_.size(); ++i) register_module("dec" + std::to_string(i), dec_[i]);
  norm_out_ = register_module("norm_out", group_norm(cout));
  conv_out_ = register_module("conv_out", conv(cout, o.in_channels(), 3, 1e-5));
}

torch::Tensor UNetImpl::forward(const torch::Tensor& x, const torch::Tensor& c_noise) {
  auto emb = positional_embedding(c_noise, emb_in_);
  emb = torch::silu(map1_(torch::silu(map0_(emb))));
  std::vector<torch::Tensor> skips;
  auto h = conv_in_(x);
  skips.push_back(h);
  for (auto& block : enc_) {
    h = block(h, emb);
    skips.push_back(h);
  }
  for (size_t i = 0; i < dec_.size(); ++i) {
    if (dec_takes_skip_[i]) {
      h = torch::cat({h, skips.back()}, 1);
      skips.pop_back();
    }
    h = dec_[i](h, emb);
  }
  return conv_out_(torch::silu(norm_out_(float_activations(h))));
}

namespace {

// The legacy unet-small and unet: the same layout at two sizes. Their names are those their
// checkpoints recorded (format <= 2, renamed on reading); they are not offered for new runs.
ModelInfo unet_entry(const std::string& name, int channels, int blocks) {
  auto preset = [name, channels, blocks](ArchOptions& a, const DataShape& shape) {
    if (a.channels <= 0) a.channels = channels;
    if (a.num_blocks <= 0) a.num_blocks = blocks;
    if (a.dropout < 0) a.dropout = 0.0;
    if (a.emb_channels <= 0) a.emb_channels = a.channels;
    if (a.channel_mult.empty()) {
      // Preset 1,2,2, with fewer resolutions when the size does not halve twice.
      a.channel_mult = {1, 2, 2};
      while (a.channel_mult.size() > 1 && shape[1] % (1 << (a.channel_mult.size() - 1)) != 0)
        a.channel_mult.pop_back();
    }
    finish_unet_layout(name, a, shape[1]);
  };
  auto build = [](const ArchOptions& a, const DataShape& shape) -> Network {
    return UNet(with_unet_layout(UNetOptions(int(shape[0]), int(shape[1])), a).emb_channels(a.emb_channels)).ptr();
  };
  return {name, ModelInput::square_images, preset, build, unet_family_size, false, false};
}

}  // namespace

ModelInfo legacy_unet_small_model() { return unet_entry(kLegacyUnetSmall, 32, 1); }
ModelInfo legacy_unet_model() { return unet_entry(kLegacyUnet, 64, 2); }

}  // namespace genphys::engine
