// The checkpoint loader (sample/eval/export --ckpt, train --resume) past its CRC frame: the input
// is the run config (JSON, first line) and the training state (JSON, second line), written into a
// real checkpoint of a small MLP as save_checkpoint would; the loader then builds the network the
// config describes and loads the model, EMA, optimizer and RNG state as sampling and resuming do.
// (LibTorch's own archive reader is not the target: a mutated archive crashes it inside
// libtorch; see README.) The frame itself: fuzz_checkpoint_frame.
#include "engine/checkpoint.hpp"
#include "engine/framed_file.hpp"
#include "fuzz_common.hpp"

using namespace genphys;

namespace {

// The config of `genphys train --pde diffusion --data toy:moons:64 --arch mlp --hidden 4 --depth 1`.
const char* const kSmallMlpConfig =
    R"({"arch":{"arch":"mlp","attn_resolutions":[],"channel_mult":[],"channels":0,"depth":1,"dropout":0.0,)"
    R"("emb_channels":32,"hidden":4,"no_attention":false,"num_blocks":0},"batch":8,"clamp_sigma":false,)"
    R"("condition":"","data":"toy:moons:64","data_mean":[-0.148,0.034],"ema_halflife_images":500000.0,)"
    R"("ema_rampup":0.05,"format":2,"grad_clip":1.0,"hflip":false,"is_image":false,"limit":0,"lr":0.001,)"
    R"("max_bad_steps":10,"module":{"expr":"","name":"diffusion","params":{}},"noise_from_scale":false,)"
    R"("p_mean":-1.2,"p_std":1.2,"process_given":false,"scale_from_input":false,"seed":0,"shape":[2],)"
    R"("sigma_data":0.96,"sigma_max":80.0,"sigma_min":0.002,"spread_threshold":-1.0,"velocity_target":false,)"
    R"("warmup_images":10000.0})";

std::string checkpoint_with(const std::string& config, const std::string& state) {
  static engine::EdmPrecond model = engine::make_model(engine::config_from_json(kSmallMlpConfig));
  static torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
  torch::serialize::OutputArchive root, weights, ema, adam;
  root.write("config", c10::IValue(config));
  root.write("state", c10::IValue(state));
  model->save(weights);
  root.write("model", weights);
  model->save(ema);
  root.write("ema", ema);
  optimizer.save(adam);
  root.write("optimizer", adam);
  root.write("rng", at::detail::getDefaultCPUGenerator().get_state());
  std::string payload;
  root.save_to([&payload](const void* data, std::size_t n) -> std::size_t {
    payload.append(static_cast<const char*>(data), n);
    return n;
  });
  return engine::frame_payload("GENPHYS-CKPT 1\n", payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const std::size_t eol = input.find('\n');
  const std::string config = input.substr(0, eol);
  const std::string state = eol == std::string::npos ? "" : input.substr(eol + 1);
  const std::string bytes = checkpoint_with(config, state);
  const std::string path = fuzz::scratch_file("run.ckpt", bytes.data(), bytes.size());
  fuzz::refused_cleanly([&] {
    engine::CheckpointReader reader(path, torch::kCPU);
    engine::EdmPrecond model = engine::make_model(reader.config());
    reader.load_model(model, false);
    if (reader.has_ema()) reader.load_model(model, true);
    torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(1e-3));
    reader.load_optimizer(optimizer);
    reader.load_rng();
  });
  return 0;
}
