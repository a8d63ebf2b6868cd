// genphys::export_checkpoint: a checkpoint's weights in torch's own pickle archive, which
// Python's torch.load reads without genphys.
#include <torch/torch.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "engine/checkpoint.hpp"
#include "engine/classifier_file.hpp"
#include "genphys/engine.hpp"
#include "genphys/errors.hpp"
#include "genphys/io.hpp"

namespace genphys {

namespace {

c10::Dict<std::string, torch::Tensor> state_dict(torch::nn::Module& module) {
  c10::Dict<std::string, torch::Tensor> out;
  for (const auto& p : module.named_parameters()) out.insert(p.key(), p.value().detach().cpu().contiguous());
  for (const auto& b : module.named_buffers()) out.insert(b.key(), b.value().detach().cpu().contiguous());
  return out;
}

bool is_classifier_file(const std::string& path) {
  const std::string magic = "GENPHYS-CLASSIFIER";
  std::string head(magic.size(), '\0');
  std::ifstream in(path, std::ios::binary);
  return in.read(head.data(), std::streamsize(head.size())) && head == magic;
}

void write_pickle(const std::string& path, const c10::impl::GenericDict& root) {
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
}

// A feature classifier: {"classifier": {name: tensor}, "info": JSON text}.
ExportSummary export_classifier(const std::string& path, const std::string& out) {
  engine::ClassifierInfo info;
  engine::ClassifierNet net = engine::load_classifier(path, info);
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  auto weights = state_dict(*net);
  ExportSummary summary;
  summary.tensors = std::int64_t(weights.size());
  summary.classifier = true;
  root.insert("classifier", weights);
  root.insert("info", nlohmann::json(info).dump());
  write_pickle(out, root);
  return summary;
}

}  // namespace

ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out) {
  if (checkpoint.empty()) throw OptionError("checkpoint", "is required");
  if (out.empty()) throw OptionError("out", "is required");
  check_writable(out);
  if (is_classifier_file(checkpoint)) return export_classifier(checkpoint, out);
  engine::CheckpointReader reader(checkpoint, torch::kCPU);
  const engine::RunConfig& config = reader.config();
  c10::impl::GenericDict root(c10::StringType::get(), c10::AnyType::get());
  ExportSummary summary;
  for (const bool ema : {false, true}) {
    if (ema && !reader.has_ema()) continue;
    engine::EdmPrecond model = engine::make_model(config);
    reader.load_model(model, ema);
    auto weights = state_dict(*model);
    summary.tensors += std::int64_t(weights.size());
    root.insert(ema ? "ema" : "model", weights);
  }
  summary.has_ema = reader.has_ema();
  root.insert("config", engine::config_to_json(config));
  root.insert("step", reader.state().step);
  summary.step = reader.state().step;
  write_pickle(out, root);
  return summary;
}

}  // namespace genphys
