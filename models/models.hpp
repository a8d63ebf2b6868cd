#pragma once
// Internal to models/: each model file defines its registry entries below; registry.cpp lists them.

#include <cstdint>

#include "engine/model_registry.hpp"

namespace genphys::engine {

ModelInfo unet_small_model();
ModelInfo unet_model();
ModelInfo ddpmpp_small_model();
ModelInfo mlp_model();
ModelInfo legacy_unet_small_model();
ModelInfo legacy_unet_model();

/// Activations in bfloat16 (inference under EdmPrecond's bfloat16 autocast) as float32, for the
/// norms, whose weights stay float32 (autocast leaves them alone); other tensors unchanged.
inline torch::Tensor float_activations(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 ? x.to(torch::kFloat32) : x;
}

/// The label embedding's input (B, label_dim): EDM's class_labels * sqrt(label_dim), zeros ("no
/// class") for undefined labels. Throws InputError for labels of another shape.
torch::Tensor label_embedding_input(const torch::Tensor& class_labels, std::int64_t batch, int label_dim,
                                    const torch::TensorOptions& options);

/// The UNet family's rules once a preset has set channels and channel_mult, for images of
/// `image_size`: the size halves once per extra resolution, attention defaults to the lowest
/// resolution (none with no_attention), multipliers >= 1, channels a positive multiple of 4; the
/// MLP's fields are cleared. Throws OptionError.
void finish_unet_layout(const std::string& name, ArchOptions& arch, std::int64_t image_size);

/// The UNet family's size estimate (ModelInfo::size) for a resolved layout.
ModelSize unet_family_size(const ArchOptions& arch, const DataShape& shape);

/// The layout fields the UNet family's option structs share, set from a resolved ArchOptions.
template <class Options>
Options with_unet_layout(Options options, const ArchOptions& a) {
  options.model_channels(a.channels)
      .channel_mult(a.channel_mult)
      .num_blocks(a.num_blocks)
      .attn_resolutions(a.attn_resolutions)
      .dropout(a.dropout);
  return options;
}

}  // namespace genphys::engine
