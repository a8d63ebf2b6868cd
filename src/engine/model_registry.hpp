#pragma once
// What the engine knows of its networks: the interface every model implements and the model
// registry (models/registry.cpp, one entry per architecture). The engine builds networks by name
// through this header and never includes a model's own; the models include nothing of the engine
// beyond it. Internal to the engine (includes LibTorch).

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "genphys/engine.hpp"

namespace genphys::engine {

/// A raw network F(x_in, c_noise): x_in of the data's shape (B, ...), c_noise of shape (B).
class NetworkImpl : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c_noise) = 0;
  /// F(x_in, c_noise, class_labels) of a class-conditional network (ArchOptions::label_dim > 0):
  /// class_labels (B, label_dim) float, one-hot rows, a zero row for "no class" (EDM's label
  /// dropout and the unconditional half of classifier-free guidance). An undefined tensor means
  /// no class for every sample. Networks without a label embedding take only undefined labels.
  virtual torch::Tensor forward_labelled(const torch::Tensor& x, const torch::Tensor& c_noise,
                                         const torch::Tensor& class_labels);
};
using Network = std::shared_ptr<NetworkImpl>;

/// The data shape a model takes: {d} points or {C, H, W} images.
using DataShape = std::vector<std::int64_t>;

/// What data an architecture takes (checked before its preset runs).
enum class ModelInput {
  any,            ///< points, or images flattened
  square_images,  ///< C x H x W with H = W
};

/// A network's size in float32 values, estimated from a resolved ArchOptions without building it
/// (within a small factor), so that training can refuse what will not fit before allocating.
struct ModelSize {
  double parameters = 0;
  double activations_per_sample = 0;  ///< kept for the backward pass in one training step
  std::string widest_field;           ///< the ArchOptions field that makes it large ("hidden", "channels")
};

/// One registered architecture.
struct ModelInfo {
  std::string name;
  ModelInput input = ModelInput::any;
  /// Fills the preset into the fields of the ArchOptions left unset (<= 0, < 0 or empty) for data
  /// of this shape and checks what the model needs of them; throws OptionError naming the field.
  std::function<void(ArchOptions&, const DataShape&)> preset;
  /// Builds the network for a resolved ArchOptions.
  std::function<Network(const ArchOptions&, const DataShape&)> build;
  /// Estimates the size of the network build() would make.
  std::function<ModelSize(const ArchOptions&, const DataShape&)> size;
  /// Has a label embedding: can be trained class-conditionally (ArchOptions::label_dim > 0).
  bool takes_labels = false;
  /// Offered for new runs (in `auto`, --arch's error messages and help). Legacy entries are not:
  /// they only rebuild the networks of old checkpoints.
  bool listed = true;
};


/// All architectures, in the order the error messages list them; the legacy entries last.
const std::vector<ModelInfo>& model_registry();

/// The architecture registered as `name`; OptionError("arch", ...) listing the valid names
/// otherwise ("auto" is resolve_arch's, not an entry).
const ModelInfo& find_model(const std::string& name);

/// ArchOptions with the preset filled in for data of `data_shape` ({C, H, W} or {d}); "auto" picks
/// unet-small (the DDPM++ network) for images (ddpmpp-small when label_dim > 0) and mlp for points. Throws OptionError
/// ("arch" for an unknown name, data the architecture cannot take or labels it has no embedding
/// for, else the offending field).
ArchOptions resolve_arch(const ArchOptions& arch, const DataShape& data_shape);

/// Builds the network for a resolved ArchOptions.
Network make_network(const ArchOptions& arch, const DataShape& data_shape);

/// The estimated size of that network.
ModelSize model_size(const ArchOptions& arch, const DataShape& data_shape);

/// EDM's positional embedding of a noise label: [cos(c f_j), sin(c f_j)], f_j = (1/10000)^(j/(n/2 - 1)).
torch::Tensor positional_embedding(const torch::Tensor& c_noise, int channels);

}  // namespace genphys::engine
