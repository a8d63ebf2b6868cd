// The model registry: one line per architecture, and the rules every entry shares.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <fmt/ranges.h>

#include "genphys/errors.hpp"
#include "models.hpp"

namespace genphys::engine {

namespace {
// What `auto` picks.
const char* const kAutoForImages = "unet-small";
const char* const kAutoForPoints = "mlp";
const char* const kAutoForLabelledImages = "ddpmpp-small";
}  // namespace

const std::vector<ModelInfo>& model_registry() {
  static const std::vector<ModelInfo> registry = {
      unet_small_model(),
      unet_model(),
      ddpmpp_small_model(),
      mlp_model(),
      legacy_unet_small_model(),
      legacy_unet_model(),
  };
  return registry;
}

const ModelInfo& find_model(const std::string& name) {
  std::string valid = "auto";
  for (const auto& model : model_registry()) {
    if (model.name == name) return model;
    if (model.listed) valid += ", " + model.name;
  }
  throw OptionError("arch", fmt::format("'{}' is unknown (valid: {})", name, valid));
}

ArchOptions resolve_arch(const ArchOptions& in, const DataShape& shape) {
  ArchOptions a = in;
  const bool image = shape.size() == 3;
  if (a.label_dim < 0 || a.label_dim > 10000) throw OptionError("arch.label_dim", "must be in [0, 10000]");
  if (a.arch == "auto") a.arch = image ? (a.label_dim > 0 ? kAutoForLabelledImages : kAutoForImages) : kAutoForPoints;
  const ModelInfo& model = find_model(a.arch);
  if (a.label_dim > 0 && !model.takes_labels) {
    std::string valid;
    for (const auto& m : model_registry())
      if (m.takes_labels && m.listed) valid += (valid.empty() ? "" : " or ") + m.name;
    throw OptionError("arch", fmt::format("{} has no label embedding: class-conditional training needs --arch {}",
                                          a.arch, valid));
  }
  if (model.input == ModelInput::square_images) {
    if (!image)
      throw OptionError("arch", fmt::format("{} needs image data (C x H x W); these are {}-dimensional points: use {}",
                                            a.arch, shape.empty() ? 0 : shape[0], kAutoForPoints));
    if (shape[1] != shape[2])
      throw OptionError("arch", fmt::format("{} needs square images, got {}x{}", a.arch, shape[1], shape[2]));
  }
  model.preset(a, shape);
  if (!(a.dropout >= 0.0 && a.dropout < 1.0)) throw OptionError("dropout", "must be in [0, 1)");
  return a;
}

Network make_network(const ArchOptions& arch, const DataShape& shape) { return find_model(arch.arch).build(arch, shape); }

ModelSize model_size(const ArchOptions& arch, const DataShape& shape) { return find_model(arch.arch).size(arch, shape); }

ModelSize unet_family_size(const ArchOptions& a, const DataShape& shape) {
  ModelSize s;
  s.widest_field = "channels";
  const double emb = a.emb_channels > 0 ? a.emb_channels : a.channels;
  for (std::size_t level = 0; level < a.channel_mult.size(); ++level) {
    const double c = double(a.channels) * a.channel_mult[level];
    const std::int64_t side = shape[1] >> level;
    const double pixels = double(side) * double(side);
    // Encoder and decoder blocks: two 3x3 convolutions and an embedding projection each, their
    // inputs, norms and activations kept for backward.
    const double blocks = 2.0 * a.num_blocks + 1.0;
    s.parameters += blocks * (2.0 * 9.0 * c * c + 4.0 * emb * c);
    s.activations_per_sample += blocks * 8.0 * c * pixels;
    if (std::find(a.attn_resolutions.begin(), a.attn_resolutions.end(), int(side)) != a.attn_resolutions.end()) {
      s.parameters += blocks * 4.0 * c * c;
      s.activations_per_sample += blocks * (4.0 * c * pixels + 2.0 * pixels * pixels);
    }
  }
  s.parameters += 4.0 * emb * emb;
  return s;
}

void finish_unet_layout(const std::string& name, ArchOptions& a, std::int64_t size) {
  const int levels = int(a.channel_mult.size());
  if (levels < 1 || size % (std::int64_t{1} << (levels - 1)) != 0)
    throw OptionError("arch", fmt::format("{}: image size {} does not halve {} times ({} resolutions); use fewer "
                                          "channel multipliers",
                                          name, size, levels - 1, levels));
  if (a.no_attention)
    a.attn_resolutions.clear();
  else if (a.attn_resolutions.empty())
    a.attn_resolutions = {int(size >> (levels - 1))};
  for (int m : a.channel_mult)
    if (m < 1) throw OptionError("channel_mult", "entries must be >= 1");
  if (a.channels < 4 || a.channels % 4 != 0) throw OptionError("channels", "must be a positive multiple of 4");
  a.hidden = a.depth = 0;
}

// ---- shared by the models ------------------------------------------------------------------

torch::Tensor NetworkImpl::forward_labelled(const torch::Tensor& x, const torch::Tensor& c_noise,
                                            const torch::Tensor& class_labels) {
  if (class_labels.defined()) throw InputError("this network has no label embedding: it takes no class labels");
  return forward(x, c_noise);
}

torch::Tensor label_embedding_input(const torch::Tensor& class_labels, std::int64_t batch, int label_dim,
                                    const torch::TensorOptions& options) {
  if (!class_labels.defined()) return torch::zeros({batch, label_dim}, options);
  if (class_labels.dim() != 2 || class_labels.size(0) != batch || class_labels.size(1) != label_dim)
    throw InputError(fmt::format("class labels must be ({}, {}), got {}", batch, label_dim,
                                 fmt::join(class_labels.sizes().vec(), "x")));
  // EDM scales the one-hot vector by sqrt(label_dim): unit mean square per entry.
  return class_labels.to(options) * std::sqrt(double(label_dim));
}

torch::Tensor positional_embedding(const torch::Tensor& c_noise, int channels) {
  const int half = channels / 2;
  auto freqs = torch::arange(half, c_noise.options().dtype(torch::kFloat32)) / double(std::max(half - 1, 1));
  freqs = torch::pow(1.0 / 10000.0, freqs);
  auto x = torch::outer(c_noise.to(torch::kFloat32), freqs);
  return torch::cat({torch::cos(x), torch::sin(x)}, 1);
}

}  // namespace genphys::engine
