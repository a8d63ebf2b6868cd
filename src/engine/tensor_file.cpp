#include "engine/tensor_file.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>

#include "genphys/errors.hpp"

namespace genphys::engine {

namespace {
constexpr char kMagic[4] = {'G', 'P', 'T', 'F'};

template <class T>
void put(std::ofstream& out, T value) {
  out.write(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <class T>
T get(std::ifstream& in, const std::string& path) {
  T value{};
  if (!in.read(reinterpret_cast<char*>(&value), sizeof(T))) throw InputError(path + ": truncated tensor file");
  return value;
}
}  // namespace

void write_tensor_file(const std::string& path, const NamedTensors& tensors) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw InputError("cannot write " + path);
  out.write(kMagic, 4);
  put<std::uint32_t>(out, std::uint32_t(tensors.size()));
  for (const auto& [name, tensor] : tensors) {
    const auto t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    put<std::uint32_t>(out, std::uint32_t(name.size()));
    out.write(name.data(), std::streamsize(name.size()));
    put<std::uint32_t>(out, std::uint32_t(t.dim()));
    for (auto s : t.sizes()) put<std::int64_t>(out, s);
    out.write(reinterpret_cast<const char*>(t.data_ptr<float>()), std::streamsize(t.numel() * sizeof(float)));
  }
  if (!out.flush()) throw InputError("cannot write " + path);
}

NamedTensors read_tensor_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError("cannot read " + path);
  // Every length is checked against the bytes left before anything of that size is allocated.
  const std::streamoff file_size = in.tellg();
  in.seekg(0);
  if (file_size < 0 || !in) throw InputError("cannot read " + path);
  const auto bytes_left = [&] { return std::uint64_t(file_size - in.tellg()); };
  const auto require = [&](std::uint64_t count, std::uint64_t bytes_each) {
    if (count > bytes_left() / bytes_each) throw InputError(path + ": truncated tensor file");
  };
  char magic[4];
  if (!in.read(magic, 4) || std::memcmp(magic, kMagic, 4) != 0) throw InputError(path + ": not a tensor file");
  NamedTensors result;
  const auto count = get<std::uint32_t>(in, path);
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto name_size = get<std::uint32_t>(in, path);
    require(name_size, 1);
    std::string name(name_size, '\0');
    if (!in.read(name.data(), std::streamsize(name.size()))) throw InputError(path + ": truncated tensor file");
    const auto rank = get<std::uint32_t>(in, path);
    require(rank, sizeof(std::int64_t));
    std::vector<std::int64_t> sizes(rank);
    for (auto& s : sizes) s = get<std::int64_t>(in, path);
    // The data, 4 bytes per element, must fit in what is left. An empty tensor has no data, but
    // its other sizes must still multiply to a size torch can represent.
    const bool empty = std::find(sizes.begin(), sizes.end(), 0) != sizes.end();
    const std::uint64_t max_elements = empty ? std::uint64_t(1) << 48 : bytes_left() / sizeof(float);
    std::uint64_t elements = 1;
    for (const auto s : sizes) {
      if (s < 0) throw InputError(path + ": tensor " + printable(name) + " has a negative size");
      if (s == 0) continue;
      if (std::uint64_t(s) > max_elements / elements)
        throw InputError(path + (empty ? ": tensor " + printable(name) + " has sizes beyond any tensor" : ": truncated tensor file"));
      elements *= std::uint64_t(s);
    }
    auto t = torch::empty(sizes, torch::kFloat32);
    if (!in.read(reinterpret_cast<char*>(t.data_ptr<float>()), std::streamsize(t.numel() * sizeof(float))))
      throw InputError(path + ": truncated tensor file");
    result.emplace_back(std::move(name), std::move(t));
  }
  return result;
}

NamedTensors named_parameters_of(torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

void load_parameters(torch::nn::Module& module, const NamedTensors& tensors) {
  std::map<std::string, torch::Tensor> by_name(tensors.begin(), tensors.end());
  torch::NoGradGuard guard;
  for (auto& item : module.named_parameters()) {
    auto it = by_name.find(item.key());
    if (it == by_name.end()) throw InputError("tensor file lacks parameter " + item.key());
    if (it->second.sizes() != item.value().sizes())
      throw InputError("parameter " + item.key() + " has another shape in the tensor file");
    item.value().copy_(it->second);
  }
}

}  // namespace genphys::engine
