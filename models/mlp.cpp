#include "mlp.hpp"

#include <functional>
#include <numeric>

#include "genphys/errors.hpp"
#include "models.hpp"

namespace genphys::engine {
namespace nn = torch::nn;

MlpImpl::MlpImpl(const MlpOptions& o) : options_(o) {
  if (o.dim() < 1 || o.hidden() < 1 || o.depth() < 1) throw InputError("mlp: dim, hidden and depth must be >= 1");
  if (o.emb_channels() % 2 != 0 || o.emb_channels() < 4) throw InputError("mlp: embedding channels must be even and >= 4");
  if (o.label_dim() < 0) throw InputError("mlp: label_dim must be >= 0");
  const int h = o.hidden();
  in_ = register_module("input", nn::Linear(o.dim(), h));
  if (o.label_dim() > 0) map_label_ = register_module("map_label", nn::Linear(o.label_dim(), o.emb_channels()));
  emb0_ = register_module("emb0", nn::Linear(o.emb_channels(), h));
  emb1_ = register_module("emb1", nn::Linear(h, h));
  for (int i = 0; i < o.depth(); ++i) {
    norms_.push_back(register_module("norm" + std::to_string(i), nn::LayerNorm(nn::LayerNormOptions({h}))));
    layers_.push_back(register_module("layer" + std::to_string(i), nn::Linear(h, h)));
  }
  dropout_ = register_module("dropout", nn::Dropout(o.dropout()));
  out_ = register_module("out", nn::Linear(h, o.dim()));
  // Zero output: the preconditioned denoiser starts as c_skip x.
  torch::NoGradGuard guard;
  out_->weight.zero_();
  out_->bias.zero_();
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x, const torch::Tensor& c_noise) {
  return forward_labelled(x, c_noise, {});
}

torch::Tensor MlpImpl::forward_labelled(const torch::Tensor& x, const torch::Tensor& c_noise,
                                        const torch::Tensor& class_labels) {
  auto noise = positional_embedding(c_noise, options_.emb_channels());
  if (map_label_)
    noise = noise + map_label_(label_embedding_input(class_labels, x.size(0), options_.label_dim(), noise.options()));
  else if (class_labels.defined())
    return NetworkImpl::forward_labelled(x, c_noise, class_labels);  // refuses them
  auto emb = emb1_(torch::silu(emb0_(noise)));
  auto h = in_(x.flatten(1)) + emb;
  for (size_t i = 0; i < layers_.size(); ++i) h = h + layers_[i](dropout_(torch::silu(norms_[i](float_activations(h)))));
  return out_(torch::silu(h)).view(x.sizes());
}

ModelInfo mlp_model() {
  auto preset = [](ArchOptions& a, const DataShape&) {
    if (a.hidden <= 0) a.hidden = 128;
    if (a.depth <= 0) a.depth = 3;
    if (a.emb_channels <= 0) a.emb_channels = 32;
    if (a.dropout < 0) a.dropout = 0.0;
    a.channels = a.num_blocks = 0;
    a.channel_mult.clear();
    a.attn_resolutions.clear();
  };
  auto build = [](const ArchOptions& a, const DataShape& shape) -> Network {
    const auto dim = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    return Mlp(MlpOptions(int(dim))
                   .hidden(a.hidden)
                   .depth(a.depth)
                   .emb_channels(a.emb_channels)
                   .dropout(a.dropout)
                   .label_dim(a.label_dim))
        .ptr();
  };
  auto size = [](const ArchOptions& a, const DataShape& shape) {
    const double dim = double(std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>()));
    const double h = a.hidden;
    ModelSize s;
    s.widest_field = a.depth / 3.0 > a.hidden / 128.0 ? "depth" : "hidden";  // the one further above its preset
    // input, embedding (two layers), depth x (norm + linear), output
    s.parameters = (dim + 1) * h + (a.emb_channels + 1) * h + (h + 1) * h + a.depth * ((h + 1) * h + 2 * h) + (h + 1) * dim +
                   (a.label_dim > 0 ? (a.label_dim + 1.0) * a.emb_channels : 0.0);
    s.activations_per_sample = 6.0 * h * (a.depth + 2) + 4.0 * dim;
    return s;
  };
  return {"mlp", ModelInput::any, preset, build, size, true};
}

}  // namespace genphys::engine
