#include "engine/conditioning.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys::engine {

torch::Tensor one_hot_labels(const torch::Tensor& ids, int num_classes) {
  const auto id = ids.to(torch::kInt64).flatten();
  auto out = torch::zeros({id.size(0), num_classes}, torch::kFloat32);
  const auto known = id.ge(0);
  if (known.any().item<bool>()) {
    const auto rows = torch::nonzero(known).flatten();
    out.index_put_({rows, id.index_select(0, rows)}, 1.0f);
  }
  return out;
}

torch::Tensor one_hot_labels(const std::vector<std::int64_t>& ids, int num_classes) {
  return one_hot_labels(torch::tensor(ids, torch::kInt64), num_classes);
}

torch::Tensor batch_labels(const Dataset& data, const std::vector<std::int64_t>& index, const std::vector<char>& dropped) {
  auto ids = data.labels.index_select(0, torch::tensor(index, torch::kInt64));
  if (!dropped.empty()) {
    const auto mask = torch::tensor(std::vector<std::int64_t>(dropped.begin(), dropped.end()), torch::kInt64).to(torch::kBool);
    ids = torch::where(mask, torch::full_like(ids, -1), ids);
  }
  return one_hot_labels(ids, data.num_classes);
}

void require_labels(const Dataset& data, int classes, const std::string& spec) {
  if (!data.labels.defined() || data.num_classes < 1)
    throw InputError("data " + spec + " carry no class labels");
  if (data.num_classes != classes)
    throw InputError(fmt::format("data {} now have {} classes, the checkpoint was trained on {}", spec,
                                 data.num_classes, classes));
}

int guidance_passes(const Guidance& g) { return g.labels.defined() && g.weight != 0.0 && g.weight != 1.0 ? 2 : 1; }

torch::Tensor guided_output(EdmPrecond& model, const torch::Tensor& x, const torch::Tensor& sigma, const Guidance& g) {
  if (!g.labels.defined()) return model->forward(x, sigma);
  if (g.weight == 1.0) return model->forward(x, sigma, g.labels);
  const auto none = torch::zeros_like(g.labels);
  if (g.weight == 0.0) return model->forward(x, sigma, none);
  const auto both = model->forward(torch::cat({x, x}), torch::cat({sigma, sigma}), torch::cat({g.labels, none}));
  const auto conditional = both.narrow(0, 0, x.size(0)), unconditional = both.narrow(0, x.size(0), x.size(0));
  return unconditional + g.weight * (conditional - unconditional);
}

std::vector<std::int64_t> classes_for_indices(const std::vector<std::int64_t>& indices,
                                              const std::vector<std::int64_t>& classes, int num_classes) {
  for (auto c : classes)
    if (c < 0 || c >= num_classes)
      throw InputError(fmt::format("class {} is out of range: the checkpoint has classes 0-{}", c, num_classes - 1));
  std::vector<std::int64_t> out;
  out.reserve(indices.size());
  for (auto i : indices) {
    const auto k = std::uint64_t(i) % (classes.empty() ? std::uint64_t(num_classes) : classes.size());
    out.push_back(classes.empty() ? std::int64_t(k) : classes[k]);
  }
  return out;
}

std::vector<std::int64_t> class_rows(const std::vector<std::int64_t>& labels, int& columns) {
  std::vector<std::int64_t> order;  // classes in order of first appearance
  std::map<std::int64_t, std::vector<std::int64_t>> members;
  for (std::size_t i = 0; i < labels.size(); ++i) {
    auto& m = members[labels[i]];
    if (m.empty()) order.push_back(labels[i]);
    m.push_back(std::int64_t(i));
  }
  std::size_t widest = 0;
  for (const auto& [label, m] : members) widest = std::max(widest, m.size());
  columns = int(widest);
  std::vector<std::int64_t> cells;
  for (auto label : order) {
    const auto& m = members[label];
    for (std::size_t j = 0; j < widest; ++j) cells.push_back(j < m.size() ? m[j] : -1);
  }
  return cells;
}

}  // namespace genphys::engine
