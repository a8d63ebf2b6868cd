#pragma once
// A run's config: what was chosen (TrainConfig) and what the trainer derived from the data and the
// module (RunFacts). One struct, serialised once, by nlohmann-json's type macros, into the
// checkpoint. No LibTorch. Internal to the engine.

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "genphys/engine.hpp"

namespace genphys {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ModuleSpec, name, params, expr)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ArchOptions, arch, channels, channel_mult, num_blocks, attn_resolutions,
                                   no_attention, dropout, hidden, depth, emb_channels, label_dim)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TrainConfig, module, data, limit, hflip, batch, lr, warmup_images,
                                   lr_cooldown_images, ema_halflife_images, ema_rampup, grad_clip, max_bad_steps, sigma_data, p_mean,
                                   p_std, seed, arch, conditional, label_dropout, snapshot_every,
                                   snapshot_keep)

namespace engine {

/// What training derived: from the data, the module's process and its check verdict.
struct RunFacts {
  bool process_given = false;  ///< trained on a process handed in directly, not the module's
  std::vector<std::int64_t> shape;
  bool is_image = false;
  std::vector<double> data_mean;  ///< per coordinate; the prior is drawn around it
  double sigma_min = 0.002, sigma_max = 80.0;  ///< sampling range; also the training clamp when clamp_sigma
  bool clamp_sigma = false;
  bool velocity_target = false;    ///< the field is not affine: the network predicts dx/dsigma
  bool scale_from_input = false;   ///< heavy-tailed kernel: precondition with the input's own scale
  double spread_threshold = -1.0;  ///< tau^2 = max |y - mean|^2/N over the data; < 0: sigma_data^2 (old runs)
  bool noise_from_scale = false;   ///< heavy tails: the denoiser is conditioned on ln(s), not ln(sigma)
  std::string condition;           ///< the `conditional` verdict's condition, if any
  std::vector<std::string> class_names;  ///< conditional runs whose data name their classes
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(RunFacts, process_given, shape, is_image, data_mean, sigma_min, sigma_max,
                                   clamp_sigma, velocity_target, scale_from_input, spread_threshold,
                                   noise_from_scale, condition, class_names)

/// Everything that defines a run and must survive a resume. TrainConfig's sigma_data and arch
/// hold the resolved values (no "auto", no 0).
struct RunConfig : TrainConfig, RunFacts {};

/// nlohmann-json converts a number to its field's type with a plain cast, and a float (or an
/// integer beyond an int) cast to a narrower integer is undefined behaviour. Throws InputError
/// ("<what>: 'batch' is not an integer in range") unless each of `keys` present in `j` (a number or
/// an array of numbers) is an integer, within int's range when `int_range`.
void require_integer_fields(const nlohmann::json& j, std::initializer_list<const char*> keys, bool int_range,
                            const std::string& what);

/// Refuses (OptionError naming the field) a field named in `chosen` whose value in `given`
/// differs from `kept`, the resumed run's.
void require_chosen_unchanged(const TrainConfig& given, const TrainConfig& kept, const std::vector<std::string>& chosen);

/// One JSON object: TrainConfig's and RunFacts' fields side by side, and "format".
std::string config_to_json(const RunConfig& config);
/// Reads format 3, format 2 (its unet-small and unet are the legacy UNet: kLegacyUnetSmall,
/// kLegacyUnet) and format 1 (also pde/params/expr at the top level; later fields absent in old
/// runs take their old meaning). InputError when malformed.
RunConfig config_from_json(const std::string& text);

}  // namespace engine
}  // namespace genphys
