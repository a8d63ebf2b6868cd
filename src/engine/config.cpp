#include "engine/config.hpp"

#include <algorithm>
#include <climits>

#include <fmt/format.h>

#include "genphys/errors.hpp"

namespace genphys::engine {
using nlohmann::json;

namespace {

constexpr int kFormat = 3;

// Format 1 kept the module as three top-level fields and lacked the fields added later.
void upgrade_format_1(json& j) {
  j["module"] = json{{"name", j.at("pde")}, {"params", j.at("params")}, {"expr", j.at("expr")}};
  // Absent in runs written before they existed: their behaviour then.
  const RunFacts old;
  for (const char* key : {"velocity_target", "scale_from_input", "spread_threshold", "noise_from_scale"})
    if (!j.contains(key)) j[key] = json(old)[key];
}

// Up to format 2, unet-small and unet named the legacy UNet; since, presets of the DDPM++ network.
void upgrade_format_2(json& j) {
  if (!j.contains("arch") || !j["arch"].is_object() || !j["arch"].contains("arch")) return;
  json& arch = j["arch"]["arch"];
  if (arch == "unet-small") arch = kLegacyUnetSmall;
  if (arch == "unet") arch = kLegacyUnet;
}

// Class-conditional training came later: a config without its fields is an unconditional run.
void add_absent_conditional_fields(json& j) {
  const RunConfig none;
  json defaults = static_cast<const TrainConfig&>(none);
  defaults.update(json(static_cast<const RunFacts&>(none)));
  for (const char* key : {"conditional", "label_dropout", "class_names"})
    if (!j.contains(key)) j[key] = defaults[key];
  if (j.contains("arch") && j["arch"].is_object() && !j["arch"].contains("label_dim")) j["arch"]["label_dim"] = 0;
}

// TrainConfig's fields as JSON pointers ("/lr", "/arch/hidden"), module and data excepted.
std::vector<std::string> field_pointers() {
  std::vector<std::string> out;
  const json fields = TrainConfig{};  // named: items() only refers to it
  for (const auto& [key, value] : fields.items()) {
    if (key == "module" || key == "data") continue;
    if (value.is_object()) {
      for (const auto& [sub, unused] : value.items()) out.push_back("/" + key + "/" + sub);
    } else {
      out.push_back("/" + key);
    }
  }
  return out;
}

std::string field_name(std::string pointer) {
  pointer.erase(0, 1);
  std::replace(pointer.begin(), pointer.end(), '/', '.');
  return pointer;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

void require_integer_fields(const json& j, std::initializer_list<const char*> keys, bool int_range,
                            const std::string& what) {
  auto fits = [&](const json& v) {
    if (v.is_number_unsigned()) return !int_range || v.get<std::uint64_t>() <= std::uint64_t(INT_MAX);
    if (v.is_number_integer())
      return !int_range || (v.get<std::int64_t>() >= INT_MIN && v.get<std::int64_t>() <= INT_MAX);
    return !v.is_number();  // a float; anything else is left to get()'s own type check
  };
  for (const char* key : keys) {
    if (!j.is_object() || !j.contains(key)) continue;
    const json& v = j.at(key);
    bool ok = true;
    if (v.is_array()) {
      for (const json& item : v) ok = ok && fits(item);
    } else {
      ok = fits(v);
    }
    if (!ok) throw InputError(what + ": '" + key + "' is not an integer in range");
  }
}

void require_chosen_unchanged(const TrainConfig& given, const TrainConfig& kept, const std::vector<std::string>& chosen) {
  const json a = given, b = kept;
  for (const std::string& pointer : field_pointers()) {
    const std::string name = field_name(pointer);
    if (std::find(chosen.begin(), chosen.end(), name) == chosen.end()) continue;
    const json& mine = a.at(json::json_pointer(pointer));
    const json& theirs = b.at(json::json_pointer(pointer));
    if (mine != theirs)
      throw OptionError(name, fmt::format("{} differs from the run's {} (--resume keeps the run's config; train into a "
                                          "new --out to change it)",
                                          value_text(mine), value_text(theirs)));
  }
}

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
    if (format == 1) upgrade_format_1(j);
    if (format == 1 || format == 2) {
      upgrade_format_2(j);
    } else if (format != kFormat) {
      throw InputError("unsupported checkpoint format " + format.dump());
    }
    add_absent_conditional_fields(j);
    // Absent in runs written before they existed: no snapshots, no cool-down.
    const TrainConfig defaults;
    for (const char* key : {"snapshot_every", "snapshot_keep", "lr_cooldown_images"})
      if (!j.contains(key)) j[key] = json(defaults)[key];
    const std::string what = "checkpoint config";
    require_integer_fields(j, {"batch", "max_bad_steps", "format", "snapshot_keep"}, true, what);
    require_integer_fields(j, {"limit", "seed", "shape", "snapshot_every"}, false, what);
    if (j.contains("arch"))
      require_integer_fields(j.at("arch"),
                             {"channels", "num_blocks", "hidden", "depth", "emb_channels", "channel_mult", "attn_resolutions", "label_dim"},
                             true, what);
    RunConfig c;
    static_cast<TrainConfig&>(c) = j.get<TrainConfig>();
    static_cast<RunFacts&>(c) = j.get<RunFacts>();
    return c;
  } catch (const json::exception& e) {
    throw InputError(std::string("checkpoint config is malformed: ") + e.what());
  }
}

}  // namespace genphys::engine

namespace genphys {

std::vector<std::string> train_config_fields() {
  std::vector<std::string> out;
  for (const std::string& pointer : engine::field_pointers()) out.push_back(engine::field_name(pointer));
  return out;
}

double lr_factor(const TrainConfig& config, double images_before, double images_after, double total_images) {
  const double warmup = config.warmup_images > 0 ? std::min(1.0, images_after / config.warmup_images) : 1.0;
  const double cooldown =
      config.lr_cooldown_images > 0 ? std::clamp((total_images - images_before) / config.lr_cooldown_images, 0.0, 1.0)
                                    : 1.0;
  return std::min(warmup, cooldown);
}

}  // namespace genphys
