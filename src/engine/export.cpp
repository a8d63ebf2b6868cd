// genphys::export_checkpoint: a checkpoint's weights in torch's own pickle archive, which
// Python's torch.load reads without genphys.
#include <torch/torch.h>

#include "engine/checkpoint.hpp"
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

}  // namespace

ExportSummary export_checkpoint(const std::string& checkpoint, const std::string& out) {
  if (checkpoint.empty()) throw OptionError("checkpoint", "is required");
  if (out.empty()) throw OptionError("out", "is required");
  check_writable(out);
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
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(root));
  write_file_atomic(out, std::string(bytes.begin(), bytes.end()));
  return summary;
}

}  // namespace genphys
