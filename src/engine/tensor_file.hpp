#pragma once
// Named float32 tensors in a plain binary file that a few lines of Python read too (bench/
// ddpmpp_twin.py): "GPTF", uint32 count, then per tensor uint32 name length, the name, uint32
// rank, int64 sizes[rank], float32 data; little-endian, row-major. It carries weights and inputs
// between genphys and the PyTorch twin. Internal to the engine.

#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

namespace genphys::engine {

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

/// Writes the tensors (converted to contiguous float32 on the CPU). Throws InputError when the
/// file cannot be written.
void write_tensor_file(const std::string& path, const NamedTensors& tensors);

/// Reads a tensor file; throws InputError for a missing, truncated or foreign file.
NamedTensors read_tensor_file(const std::string& path);

/// The module's parameters by name, as the file carries them.
NamedTensors named_parameters_of(torch::nn::Module& module);

/// Copies every parameter of `module` from the tensor of the same name; throws InputError when
/// one is missing or has another shape.
void load_parameters(torch::nn::Module& module, const NamedTensors& tensors);

}  // namespace genphys::engine
