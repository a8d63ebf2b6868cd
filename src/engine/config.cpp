#include "engine/config.hpp"

#include "genphys/errors.hpp"

namespace genphys::engine {
using nlohmann::json;

namespace {

constexpr int kFormat = 2;

// Format 1 kept the module as three top-level fields and lacked the fields added later.
void upgrade_format_1(json& j) {
  j["module"] = json{{"name", j.at("pde")}, {"params", j.at("params")}, {"expr", j.at("expr")}};
  // Absent in runs written before they existed: their behaviour then.
  const RunFacts old;
  for (const char* key : {"velocity_target", "scale_from_input", "spread_threshold", "noise_from_scale"})
    if (!j.contains(key)) j[key] = json(old)[key];
}

}  // namespace

std::string config_to_json(const RunConfig& c) {
  json j = static_cast<const TrainConfig&>(c);
  j.update(json(static_cast<const RunFacts&>(c)));
  j["format"] = kFormat;
  return j.dump();
}

RunConfig config_from_json(const std::string& text) {
  try {
    json j = json::parse(text);
    const json format = j.at("format");
    if (format == 1) {
      upgrade_format_1(j);
    } else if (format != kFormat) {
      throw InputError("unsupported checkpoint format " + format.dump());
    }
    RunConfig c;
    static_cast<TrainConfig&>(c) = j.get<TrainConfig>();
    static_cast<RunFacts&>(c) = j.get<RunFacts>();
    return c;
  } catch (const json::exception& e) {
    throw InputError(std::string("checkpoint config is malformed: ") + e.what());
  }
}

}  // namespace genphys::engine
