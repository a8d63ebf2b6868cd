#include "engine/checkpoint.hpp"

#include <mutex>

#include <nlohmann/json.hpp>

#include "engine/framed_file.hpp"
#include "genphys/errors.hpp"
#include "genphys/io.hpp"

namespace genphys::engine {
using nlohmann::json;

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainState, step, skipped, bad_in_row)

namespace {
const std::string kMagic = "GENPHYS-CKPT 1\n";
}  // namespace

EdmPrecond make_model(const RunConfig& c) {
  PrecondOptions p;
  p.sigma_data = c.sigma_data;
  p.velocity = c.velocity_target;
  p.scale_from_input = c.scale_from_input;
  p.spread_threshold = c.spread_threshold;
  p.noise_from_scale = c.noise_from_scale;
  p.centre = c.data_mean;
  return EdmPrecond(make_network(c.arch, c.shape), p);
}

void save_checkpoint(const std::string& path, const RunConfig& config, const TrainState& state, EdmPrecond& model,
                     EdmPrecond* ema, torch::optim::Optimizer* optimizer) {
  torch::serialize::OutputArchive root;
  root.write("config", c10::IValue(config_to_json(config)));
  root.write("state", c10::IValue(json(state).dump()));
  torch::serialize::OutputArchive m;
  model->save(m);
  root.write("model", m);
  if (ema) {
    torch::serialize::OutputArchive e;
    (*ema)->save(e);
    root.write("ema", e);
  }
  if (optimizer) {
    torch::serialize::OutputArchive o;
    optimizer->save(o);
    root.write("optimizer", o);
  }
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    root.write("rng", gen.get_state());
  }

  std::string payload;
  root.save_to([&payload](const void* data, size_t n) -> size_t {
    payload.append(static_cast<const char*>(data), n);
    return n;
  });
  write_file_atomic(path, frame_payload(kMagic, payload));
}

CheckpointReader::CheckpointReader(const std::string& path, torch::Device device) : path_(path) {
  bytes_ = unframe_payload(read_whole_file(path, "checkpoint"), kMagic, "checkpoint", path);
  try {
    archive_.load_from(bytes_.data(), bytes_.size(), device);
    c10::IValue v;
    archive_.read("config", v);
    config_ = config_from_json(v.toStringRef());
    // The weights of the network the config describes are in the file (model, EMA, Adam's
    // moments): a config describing a larger one is refused before it is built.
    build_within(bytes_.size(), "checkpoint " + path, [this] { make_model(config_); });
    archive_.read("state", v);
    state_ = json::parse(v.toStringRef()).get<TrainState>();
    torch::serialize::InputArchive probe;
    has_ema_ = archive_.try_read("ema", probe);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw InputError("checkpoint " + path + " is unreadable: " + what.substr(0, what.find('\n')));
  }
}

void CheckpointReader::load_model(EdmPrecond& model, bool ema) {
  try {
    torch::serialize::InputArchive a;
    if (!archive_.try_read(ema ? "ema" : "model", a))
      throw InputError("checkpoint " + path_ + " holds no " + (ema ? "EMA " : "") + "model");
    const std::string mismatch = load_matching_shapes(*model, a);
    if (!mismatch.empty())
      throw InputError("checkpoint " + path_ + ": the network does not match its config (" + mismatch +
                       " has another shape)");
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw InputError("checkpoint " + path_ + ": the network does not match its config (" +
                     what.substr(0, what.find('\n')) + ")");
  }
}

void CheckpointReader::load_optimizer(torch::optim::Optimizer& optimizer) {
  try {
    torch::serialize::InputArchive a;
    if (!archive_.try_read("optimizer", a)) throw InputError("checkpoint " + path_ + " holds no optimizer state");
    optimizer.load(a);
  } catch (const InputError&) {
    throw;
  } catch (const std::exception& e) {
    std::string what = e.what();
    throw InputError("checkpoint " + path_ + ": bad optimizer state (" + what.substr(0, what.find('\n')) + ")");
  }
}

void CheckpointReader::load_rng() {
  torch::Tensor state;
  if (!archive_.try_read("rng", state)) return;
  at::Generator gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state.cpu());
}

}  // namespace genphys::engine
