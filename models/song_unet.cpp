#include "song_unet.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <cstdint>
#include <mutex>
#include <set>
#include <string>

#include "genphys/errors.hpp"
#include "group_norm_silu.hpp"
#include "models.hpp"

namespace genphys::engine {
namespace nn = torch::nn;
namespace F = torch::nn::functional;

namespace {

constexpr double kSkipScale = 0.7071067811865476;  // sqrt(0.5): keeps the residual sum's variance

// EDM's GroupNorm: min(32, C/4) groups, eps 1e-6 inside SongUNet.
nn::GroupNorm group_norm(int channels) {
  return nn::GroupNorm(nn::GroupNormOptions(std::min(32, channels / 4), channels).eps(1e-6));
}

// EDM's xavier_uniform init times `gain`, zero bias.
template <class Layer>
void init_layer(Layer& layer, double gain) {
  torch::NoGradGuard guard;
  nn::init::xavier_uniform_(layer->weight);
  layer->weight.mul_(gain);
  nn::init::zeros_(layer->bias);
}

nn::Conv2d conv(int in, int out, int kernel, double gain = 1.0) {
  nn::Conv2d c(nn::Conv2dOptions(in, out, kernel).padding(kernel / 2));
  init_layer(c, gain);
  return c;
}

nn::Linear linear(int in, int out) {
  nn::Linear l(in, out);
  init_layer(l, 1.0);
  return l;
}

// silu(norm(x + shift)), fused into two passes over x when no gradient is recorded.
torch::Tensor norm_silu(const nn::GroupNorm& norm, const torch::Tensor& x, const torch::Tensor& shift = {},
                        bool silu = true) {
  const auto& o = norm->options;
  return group_norm_silu(x, shift, o.num_groups(), norm->weight, norm->bias, o.eps(), silu);
}

// The residual sums (conv(h) + skip) * s run as conv(h; s w, s b) + s skip: the scale rides on
// the (small) weights, and the sum with its scale is one pass over the activations instead of two.
torch::Tensor scaled_conv(const nn::Conv2d& conv, const torch::Tensor& x, double s) {
  const auto pad = conv->weight.size(2) / 2;
  return torch::conv2d(x, conv->weight * s, conv->bias * s, 1, pad);
}

// a + s b, in place on `a` when no gradient is recorded.
torch::Tensor add_scaled(torch::Tensor a, const torch::Tensor& b, double s) {
  return torch::GradMode::is_enabled() ? torch::add(a, b, s) : a.add_(b, s);
}

// torch::bmm on CPU runs its batch one GEMM at a time on one thread (OpenBLAS is pinned to one
// under torch's threads); without autograd the batch is split across the threads instead.
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (torch::GradMode::is_enabled() || !a.is_cpu() || at::get_num_threads() == 1) return torch::bmm(a, b);
  auto out = torch::empty({a.size(0), a.size(1), b.size(2)}, a.options());
  const bool inference = c10::InferenceMode::is_enabled();  // thread-local: the workers need it too
  at::parallel_for(0, a.size(0), 1, [&](std::int64_t begin, std::int64_t end) {
    c10::InferenceMode guard(inference);
    auto o = out.narrow(0, begin, end - begin);
    torch::bmm_out(o, a.narrow(0, begin, end - begin), b.narrow(0, begin, end - begin));
  });
  return out;
}

}  // namespace

torch::Tensor parallel_dropout(const torch::Tensor& x, double p) {
  std::uint64_t key = 0;
  {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    key = at::check_generator<at::CPUGeneratorImpl>(gen)->random64();
  }
  auto mask = torch::empty(x.sizes(), x.options().dtype(torch::kFloat32));
  float* m = mask.data_ptr<float>();
  const std::int64_t n = mask.numel();
  // Keep an element when its 32 random bits are >= p 2^32: probability 1 - p to within 2^-32.
  const auto threshold = std::uint32_t(std::min(p * 4294967296.0, 4294967295.0));
  const float keep = float(1.0 / (1.0 - p));
  at::parallel_for(0, (n + 1) / 2, 16384, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      std::uint64_t z = key + std::uint64_t(i) * 0x9e3779b97f4a7c15ULL;  // SplitMix64 of the counter
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      z ^= z >> 31;
      m[2 * i] = std::uint32_t(z) >= threshold ? keep : 0.0f;
      if (2 * i + 1 < n) m[2 * i + 1] = std::uint32_t(z >> 32) >= threshold ? keep : 0.0f;
    }
  });
  return x * mask;
}

namespace {

// The [1,1] resampling filter is a 2x2 box: average pooling down, replication up.
torch::Tensor resample(const torch::Tensor& x, int mode) {
  if (mode < 0) return F::avg_pool2d(x, F::AvgPool2dFuncOptions(2));
  if (mode > 0)
    return F::interpolate(x, F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0}).mode(torch::kNearest));
  return x;
}

std::int64_t conv_flops(int in, int out, int kernel, int res) {
  return 2LL * res * res * out * in * kernel * kernel;
}

}  // namespace

SongUNetBlockImpl::SongUNetBlockImpl(int in_channels, int out_channels, int emb_channels, int resample,
                                     bool attention, double dropout)
    : in_channels_(in_channels),
      out_channels_(out_channels),
      resample_(resample),
      attention_(attention),
      dropout_(dropout) {
  // Registration order is EDM's, so parameters() lists them as its state dict does.
  norm0_ = register_module("norm0", group_norm(in_channels));
  conv0_ = register_module("conv0", conv(in_channels, out_channels, 3));
  affine_ = register_module("affine", linear(emb_channels, out_channels));
  norm1_ = register_module("norm1", group_norm(out_channels));
  conv1_ = register_module("conv1", conv(out_channels, out_channels, 3, 1e-5));
  if (in_channels != out_channels || resample != 0) skip_ = register_module("skip", conv(in_channels, out_channels, 1));
  if (attention) {
    norm2_ = register_module("norm2", group_norm(out_channels));
    qkv_ = register_module("qkv", conv(out_channels, 3 * out_channels, 1, std::sqrt(0.2)));
    proj_ = register_module("proj", conv(out_channels, out_channels, 1, 1e-5));
  }
}

torch::Tensor SongUNetBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  auto h = conv0_(resample(norm_silu(norm0_, x), resample_));
  h = norm_silu(norm1_, h, affine_(emb));
  if (dropout_ > 0 && is_training()) h = h.is_cpu() ? parallel_dropout(h, dropout_) : torch::dropout(h, dropout_, true);
  h = scaled_conv(conv1_, h, kSkipScale);
  if (skip_) {
    // A 1x1 convolution commutes with both resamplings: run it at the lower resolution.
    auto skip = resample_ > 0 ? resample(scaled_conv(skip_, x, kSkipScale), resample_)
                              : scaled_conv(skip_, resample(x, resample_), kSkipScale);
    h = add_scaled(h, skip, 1.0);
  } else {
    h = add_scaled(h, x, kSkipScale);
  }
  if (attention_) h = add_scaled(scaled_conv(proj_, attend(h), kSkipScale), h, kSkipScale);
  return h;
}

torch::Tensor SongUNetBlockImpl::attend(const torch::Tensor& h) {
  const auto C = h.size(1);
  // One head. EDM lays the qkv channels out as (C, 3); with the weight's rows permuted to (3, C),
  // q, k and v are channel slices of one (B, HW, 3C) token view, which the GEMMs read in place
  // when h is NHWC, and the result (B, HW, C) is NHWC as it comes.
  auto weight = qkv_->weight.view({C, 3, C, 1, 1}).transpose(0, 1).reshape({3 * C, C, 1, 1});
  auto bias = qkv_->bias.view({C, 3}).t().reshape({3 * C});
  auto qkv = torch::conv2d(norm_silu(norm2_, h, {}, false), weight, bias);
  auto tokens = qkv.flatten(2).transpose(1, 2);  // (B, HW, 3C)
  const auto q = tokens.narrow(2, 0, C), k = tokens.narrow(2, C, C), v = tokens.narrow(2, 2 * C, C);
  auto w = torch::softmax(batched_matmul(q, k.transpose(1, 2)) * (1.0 / std::sqrt(double(C))), 2);  // (B, HWq, HWk)
  auto a = batched_matmul(w, v);                                                                    // (B, HWq, C)
  return a.transpose(1, 2).view(h.sizes()).contiguous(h.suggest_memory_format());
}

SongUNetImpl::SongUNetImpl(const SongUNetOptions& o) : options_(o) {
  const auto& mult = o.channel_mult();
  if (mult.empty()) throw InputError("ddpmpp: channel_mult is empty");
  const int levels = int(mult.size());
  if (o.image_size() % (1 << (levels - 1)) != 0)
    throw InputError("ddpmpp: image size " + std::to_string(o.image_size()) + " does not halve " +
                     std::to_string(levels - 1) + " times (" + std::to_string(levels) + " resolutions)");
  const int C = o.model_channels(), emb = C * o.channel_mult_emb();
  if (C < 4 || C % 2 != 0) throw InputError("ddpmpp: model channels must be even and >= 4");
  for (int m : mult)
    if (m < 1) throw InputError("ddpmpp: channel multipliers must be >= 1");
  const std::set<int> attn(o.attn_resolutions().begin(), o.attn_resolutions().end());

  if (o.label_dim() < 0) throw InputError("ddpmpp: label_dim must be >= 0");
  if (o.label_dim() > 0) {
    map_label_ = register_module("map_label", linear(o.label_dim(), C));
    flops_per_image_ += 2LL * o.label_dim() * C;
  }
  map_layer0_ = register_module("map_layer0", linear(C, emb));
  map_layer1_ = register_module("map_layer1", linear(emb, emb));
  flops_per_image_ += 2LL * C * emb + 2LL * emb * emb;
  // Children named as EDM's ModuleDicts: enc.28x28_conv, enc.14x14_down, dec.7x7_in0, ...
  auto enc = register_module("enc", std::make_shared<nn::Module>());
  auto dec = register_module("dec", std::make_shared<nn::Module>());
  auto block_flops = [&](int cin, int cout, int res, bool attention) {
    std::int64_t f = conv_flops(cin, cout, 3, res) + conv_flops(cout, cout, 3, res) + 2LL * emb * cout;
    if (cin != cout) f += conv_flops(cin, cout, 1, res);
    if (attention) f += conv_flops(cout, 3 * cout, 1, res) + conv_flops(cout, cout, 1, res) + 4LL * res * res * res * res * cout;
    return f;
  };
  auto add_block = [&](std::shared_ptr<nn::Module>& parent, std::vector<SongUNetBlock>& list, const std::string& name,
                       int cin, int cout, int res, int resample, bool attention) {
    list.push_back(parent->register_module(name, SongUNetBlock(cin, cout, emb, resample, attention, o.dropout())));
    flops_per_image_ += block_flops(cin, cout, res, attention);
    if (resample != 0) flops_per_image_ += conv_flops(cin, cout, 1, res);  // the resampling skip projection
  };
  auto tag = [](int res) { return std::to_string(res) + "x" + std::to_string(res); };

  std::vector<int> skips;
  int cout = C;
  for (int level = 0; level < levels; ++level) {
    const int res = o.image_size() >> level;
    if (level == 0) {
      conv_in_ = enc->register_module(tag(res) + "_conv", conv(o.in_channels(), C, 3));
      flops_per_image_ += conv_flops(o.in_channels(), C, 3, res);
    } else {
      add_block(enc, enc_, tag(res) + "_down", cout, cout, res, -1, false);
    }
    skips.push_back(cout);
    for (int b = 0; b < o.num_blocks(); ++b) {
      const int cin = cout;
      cout = C * mult[level];
      add_block(enc, enc_, tag(res) + "_block" + std::to_string(b), cin, cout, res, 0, attn.count(res) > 0);
      skips.push_back(cout);
    }
  }
  for (int level = levels - 1; level >= 0; --level) {
    const int res = o.image_size() >> level;
    if (level == levels - 1) {
      add_block(dec, dec_, tag(res) + "_in0", cout, cout, res, 0, true);
      add_block(dec, dec_, tag(res) + "_in1", cout, cout, res, 0, false);
    } else {
      add_block(dec, dec_, tag(res) + "_up", cout, cout, res, +1, false);
    }
    for (int b = 0; b <= o.num_blocks(); ++b) {
      const int cin = cout + skips.back();
      skips.pop_back();
      cout = C * mult[level];
      add_block(dec, dec_, tag(res) + "_block" + std::to_string(b), cin, cout, res, 0,
                b == o.num_blocks() && attn.count(res) > 0);
    }
  }
  norm_out_ = dec->register_module(tag(o.image_size()) + "_aux_norm", group_norm(cout));
  conv_out_ = dec->register_module(tag(o.image_size()) + "_aux_conv", conv(cout, o.in_channels(), 3, 1e-5));
  flops_per_image_ += conv_flops(cout, o.in_channels(), 3, o.image_size());
}

bool SongUNetImpl::runs_nhwc(const torch::Tensor& x) const {
  switch (options_.layout()) {
    case ActivationLayout::nchw:
      return false;
    case ActivationLayout::nhwc:
      return true;
    case ActivationLayout::nhwc_without_grad:
      return !torch::GradMode::is_enabled() && x.is_cpu();
  }
  return false;
}

torch::Tensor SongUNetImpl::forward(const torch::Tensor& x_in, const torch::Tensor& c_noise) {
  return forward_labelled(x_in, c_noise, {});
}

torch::Tensor SongUNetImpl::forward_labelled(const torch::Tensor& x_in, const torch::Tensor& c_noise,
                                             const torch::Tensor& class_labels) {
  if (!map_label_ && class_labels.defined()) return NetworkImpl::forward_labelled(x_in, c_noise, class_labels);
  // Positional embedding with EDM's endpoint frequencies, in DDPM++ order [sin, cos].
  const int half = options_.model_channels() / 2;
  auto freqs = torch::pow(1.0 / 10000.0, torch::arange(half, c_noise.options().dtype(torch::kFloat32)) / double(half - 1));
  auto phase = torch::outer(c_noise.to(torch::kFloat32), freqs);
  auto emb = torch::cat({torch::sin(phase), torch::cos(phase)}, 1);
  if (map_label_)
    emb = emb + map_label_(label_embedding_input(class_labels, x_in.size(0), options_.label_dim(), emb.options()));
  emb = torch::silu(map_layer1_(torch::silu(map_layer0_(emb))));

  const bool nhwc = runs_nhwc(x_in);
  std::vector<torch::Tensor> skips;
  skips.reserve(enc_.size() + 1);
  // The input's single channel makes NCHW and NHWC the same strides, so conv_in's output would
  // stay NCHW: the layout is set on that output.
  auto h = conv_in_(x_in);
  if (nhwc) h = h.contiguous(torch::MemoryFormat::ChannelsLast);
  skips.push_back(h);
  for (auto& block : enc_) {
    h = block(h, emb);
    skips.push_back(h);
  }
  for (auto& block : dec_) {
    if (h.size(1) != block->in_channels()) {
      h = torch::cat({h, skips.back()}, 1);
      skips.pop_back();
    }
    h = block(h, emb);
  }
  auto out = conv_out_(norm_silu(norm_out_, h));
  return nhwc ? out.contiguous() : out;
}

namespace {

// One DDPM++ size preset: its fields stay overridable. With `halve_as_possible` the preset's
// 1,2,2 drops resolutions the image size does not halve into; without, such sizes are refused.
ModelInfo ddpmpp_entry(const std::string& name, int channels, int blocks, double dropout, bool halve_as_possible) {
  auto preset = [=](ArchOptions& a, const DataShape& shape) {
    if (a.channels <= 0) a.channels = channels;
    if (a.num_blocks <= 0) a.num_blocks = blocks;
    if (a.dropout < 0) a.dropout = dropout;
    if (a.channel_mult.empty()) {
      a.channel_mult = {1, 2, 2};
      while (halve_as_possible && a.channel_mult.size() > 1 && shape[1] % (1 << (a.channel_mult.size() - 1)) != 0)
        a.channel_mult.pop_back();
    }
    a.emb_channels = a.channels;  // DDPM++: the noise embedding is model_channels wide
    finish_unet_layout(name, a, shape[1]);
  };
  auto build = [](const ArchOptions& a, const DataShape& shape) -> Network {
    return SongUNet(with_unet_layout(SongUNetOptions(int(shape[0]), int(shape[1])), a).label_dim(a.label_dim)).ptr();
  };
  auto size = [](const ArchOptions& a, const DataShape& shape) {
    ModelSize s = unet_family_size(a, shape);
    if (a.label_dim > 0) s.parameters += (a.label_dim + 1.0) * a.channels;
    return s;
  };
  return {name, ModelInput::square_images, preset, build, size, true};
}

}  // namespace

// The image default: one block per resolution and no dropout, so that a training image costs
// about what it did with the legacy unet-small (README "Image networks"); 28x28x1: 1,259,393
// parameters.
ModelInfo unet_small_model() { return ddpmpp_entry("unet-small", 32, 1, 0.0, true); }

// Twice the channels and two blocks per resolution: 6,987,585 parameters at 28x28x1.
ModelInfo unet_model() { return ddpmpp_entry("unet", 64, 2, 0.0, true); }

// EDM's DDPM++ SongUNet at the size the PFGM++ reference trains on 28x28 images (1,752,993
// parameters for one channel).
ModelInfo ddpmpp_small_model() { return ddpmpp_entry("ddpmpp-small", 32, 2, 0.1, false); }

}  // namespace genphys::engine
