// genphys::sample and the sample writers.
#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "engine/checkpoint.hpp"
#include "engine/conditioning.hpp"
#include "engine/distributed.hpp"
#include "engine/process.hpp"
#include "engine/runtime.hpp"
#include "engine/sampler.hpp"
#include "engine/stochastic_sampler.hpp"
#include "genphys/errors.hpp"
#include "genphys/io.hpp"
#include "genphys/plot.hpp"
#include "genphys/random.hpp"

namespace genphys {
using namespace engine;

std::vector<std::int64_t> parse_seed_list(const std::string& text) {
  std::vector<std::int64_t> out;
  auto number = [&](const std::string& s) -> std::int64_t {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 15)
      throw InputError("bad --seeds '" + text + "': expected non-negative integers like 0-63 or 0,5,9-12");
    return std::stoll(s);
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    const std::size_t dash = item.find('-');
    if (dash == std::string::npos) {
      out.push_back(number(item));
    } else {
      const auto a = number(item.substr(0, dash)), b = number(item.substr(dash + 1));
      if (b < a) throw InputError("bad --seeds range '" + item + "': end before start");
      if (b - a >= 10000000) throw OptionError("seeds", "range '" + item + "' is too long");
      for (auto i = a; i <= b; ++i) out.push_back(i);
    }
    start = comma + 1;
  }
  if (out.empty()) throw OptionError("seeds", "is empty");
  return out;
}

std::vector<std::int64_t> parse_class_list(const std::string& text) {
  try {
    return parse_seed_list(text);
  } catch (const InputError&) {
    throw InputError("bad --class '" + text + "': expected class ids like 3, 0,3,5 or 0-9");
  }
}

namespace {

// Post-training quantisation: each weight tensor rounded to 2^(bits-1) - 1 symmetric levels of
// its largest magnitude (biases and normalisation parameters included).
void quantize_weights(torch::nn::Module& model, int bits) {
  torch::NoGradGuard guard;
  const double levels = std::pow(2.0, bits - 1) - 1.0;
  for (auto& p : model.parameters()) {
    const double top = p.abs().max().item<double>();
    if (top == 0) continue;
    const double step = top / levels;
    p.copy_((p / step).round() * step);
  }
}

}  // namespace

SampleResult sample(const SampleOptions& opt) {
  if (opt.checkpoint.empty()) throw OptionError("checkpoint", "is required");
  if (opt.seeds.empty()) throw OptionError("seeds", "requests no samples");
  if (opt.batch < 1) throw OptionError("batch", "must be >= 1");
  const RankEnvironment& ranks_env = rank_environment();
  const torch::Device device = setup_runtime(ranks_env.local_device(opt.device), ranks_env.local_threads(opt.threads));
  const bool root = Ranks::join(device).is_root();  // the ranks split the batches; rank 0 speaks
  auto say = [&](const std::string& line) {
    if (opt.messages && root) opt.messages(line);
  };
  CheckpointReader reader(opt.checkpoint, device);
  const RunConfig& config = reader.config();
  std::int64_t dim = 1;
  for (auto s : config.shape) dim *= s;

  std::shared_ptr<const GenerativeProcess> process;
  if (opt.process) {
    require_trainable(*opt.process, config.module.name, int(dim));
    process = opt.process;
  } else {
    if (config.process_given)
      throw InputError("checkpoint " + opt.checkpoint + " was trained on a process given in code, not a module");
    process = resolve_process(config.module, int(dim), false).process;
  }
  require_model_fits(config.velocity_target, *process, config.module.name);

  OdeOptions ode;
  ode.solver = opt.solver;
  ode.stepping = opt.stepping;
  ode.nfe = opt.nfe;
  ode.rtol = opt.rtol;
  ode.atol = opt.atol;
  ode.sigma_min = opt.sigma_min > 0 ? opt.sigma_min : config.sigma_min;
  ode.sigma_max = opt.sigma_max > 0 ? opt.sigma_max : config.sigma_max;
  if (config.clamp_sigma && (ode.sigma_min < config.sigma_min || ode.sigma_max > config.sigma_max))
    throw InputError(fmt::format("the checkpoint was trained only inside sigma in [{:g}, {:g}] ({}); sampling outside "
                                 "it is refused",
                                 config.sigma_min, config.sigma_max, config.condition));
  if (!(opt.noise_alpha >= 0) || !std::isfinite(opt.noise_alpha))
    throw InputError(fmt::format("noise alpha must be finite and >= 0, got {}", opt.noise_alpha));
  if (!(opt.guidance >= 0) || !std::isfinite(opt.guidance))
    throw InputError(fmt::format("--guidance must be finite and >= 0 (1: plain conditional, 0: unconditional), got {}",
                                 opt.guidance));
  const int num_classes = config.conditional ? config.arch.label_dim : 0;
  if (num_classes == 0 && !opt.classes.empty())
    throw InputError("checkpoint " + opt.checkpoint + " is unconditional (trained without --conditional): --class needs a class-conditional checkpoint");
  if (num_classes == 0 && opt.guidance != 1.0)
    throw InputError("checkpoint " + opt.checkpoint + " is unconditional (trained without --conditional): --guidance needs a class-conditional checkpoint");
  ClassCondition condition;
  if (num_classes > 0) {
    condition.classes = classes_for_indices(opt.seeds, opt.classes, num_classes);
    condition.num_classes = num_classes;
    condition.guidance = opt.guidance;
  }
  if (opt.quantize_bits != 0 && (opt.quantize_bits < 2 || opt.quantize_bits > 16))
    throw InputError(fmt::format("quantisation bits must be in [2, 16], got {}", opt.quantize_bits));
  ode.noise_alpha = opt.noise_alpha;
  ode.rho = opt.rho;
  ode.churn = opt.churn;
  validate_ode_options(ode);
  require_solver_fits(*process, ode);
  if (opt.noise_alpha > 0) torch::manual_seed(mix_seed(opt.seed ^ 0x6e6f697365ULL));

  EdmPrecond model = make_model(config);
  model->to(device);
  const bool ema = opt.use_ema && reader.has_ema();
  reader.load_model(model, ema);
  model->eval();
  if (opt.quantize_bits > 0) quantize_weights(*model, opt.quantize_bits);
  if (opt.bfloat16 && !device.is_cpu())
    throw OptionError("bfloat16", "is implemented for the CPU; on " + device.str() + " sample in float32");
  model->set_inference_bfloat16(opt.bfloat16);

  say(engine_description(device.str(), torch::get_num_threads()));
  SampleResult result;
  result.shape = config.shape;
  result.is_image = config.is_image;
  result.pde = config.module.name;
  result.count = std::int64_t(opt.seeds.size());
  result.birth_death_ignored = process->has_birth_death();
  if (result.birth_death_ignored)
    say("note: PDE '" + config.module.name +
        "' has birth/death (R != 0); the plain ODE follows the learned velocity and ignores R "
        "(no trajectory reweighting)");
  torch::Tensor x;
  {
    c10::InferenceMode inference;
    x = generate(model, *process, config.shape, opt.seeds, opt.seed, ode, opt.batch, device, result.nfe,
                 config.data_mean, condition);
  }
  result.labels = condition.classes;
  result.num_classes = num_classes;
  result.class_names = config.class_names;
  result.guidance = opt.guidance;
  x = x.contiguous();
  result.values.assign(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  say(fmt::format("sampled {} from {} ({} weights{}): {}{} NFE {} per sample, sigma {:g} -> 0 (rho {:g}){}", result.count,
                  opt.checkpoint, ema ? "EMA" : "raw", opt.bfloat16 ? ", network in bfloat16" : "", to_string(opt.solver),
                  ode.churn.active() ? fmt::format(" with churn {:g}", ode.churn.s_churn) : "", result.nfe,
                  ode.sigma_max, ode.rho,
                  num_classes == 0 ? std::string()
                                   : fmt::format("; {} classes, guidance {:g} ({} network pass{} per evaluation)",
                                                 num_classes, opt.guidance, opt.guidance == 0 || opt.guidance == 1 ? 1 : 2,
                                                 opt.guidance == 0 || opt.guidance == 1 ? "" : "es")));
  return result;
}

void save_sample_grid(const SampleResult& s, const std::string& path) {
  check_writable(path);
  const bool labelled = !s.labels.empty();
  if (s.is_image) {
    if (labelled) {
      // One row per class; an empty cell is black (-1).
      int cols = 1;
      const auto cells = class_rows(s.labels, cols);
      const std::size_t per = std::size_t(s.shape[0] * s.shape[1] * s.shape[2]);
      std::vector<float> values(cells.size() * per, -1.0f);
      for (std::size_t c = 0; c < cells.size(); ++c)
        if (cells[c] >= 0)
          std::copy_n(s.values.begin() + std::ptrdiff_t(std::size_t(cells[c]) * per), per, values.begin() + std::ptrdiff_t(c * per));
      plot::save_image_grid_png(values, int(cells.size()), int(s.shape[0]), int(s.shape[1]), int(s.shape[2]), cols, path);
      return;
    }
    const int cols = std::max(1, int(std::ceil(std::sqrt(double(s.count)))));
    plot::save_image_grid_png(s.values, int(s.count), int(s.shape[0]), int(s.shape[1]), int(s.shape[2]), cols, path);
    return;
  }
  if (s.shape.size() != 1 || s.shape[0] < 2)
    throw InputError("a sample plot needs images or points of dimension >= 2 (got dimension " +
                     std::to_string(s.shape.empty() ? 0 : s.shape[0]) + ")");
  // One series (colour) per class for labelled samples.
  std::vector<plot::Series> series(labelled ? std::size_t(std::max(s.num_classes, 1)) : 1);
  for (std::size_t k = 0; k < series.size(); ++k) {
    series[k].style = plot::Series::Style::points;
    series[k].width = 2.0;
    if (labelled)
      series[k].label = k < s.class_names.size() ? s.class_names[k] : fmt::format("class {}", k);
  }
  const auto d = s.shape[0];
  plot::Series pts;  // all points, for the plot's range
  for (std::int64_t i = 0; i < s.count; ++i) {
    const double x = s.values[std::size_t(i * d)], y = s.values[std::size_t(i * d + 1)];
    if (std::isfinite(x) && std::isfinite(y)) {
      pts.x.push_back(x);
      pts.y.push_back(y);
      auto& to = series[labelled ? std::size_t(s.labels[std::size_t(i)]) : 0];
      to.x.push_back(x);
      to.y.push_back(y);
    }
  }
  plot::Figure fig;
  fig.width = 700;
  fig.height = 700;
  plot::Panel panel;
  panel.title = labelled ? fmt::format("{} samples ({}, guidance {:g})", s.count, s.pde, s.guidance)
                         : fmt::format("{} samples ({})", s.count, s.pde);
  panel.xlabel = "x0";
  panel.ylabel = "x1";
  panel.legend = labelled;
  panel.equal_aspect = true;
  // Outliers far from the bulk would flatten the plot: show the central 99.8%.
  if (pts.x.size() >= 10) {
    auto range = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      const auto k = std::size_t(0.001 * double(v.size()));
      return std::make_pair(v[k], v[v.size() - 1 - k]);
    };
    const auto [x0, x1] = range(pts.x);
    const auto [y0, y1] = range(pts.y);
    if (x1 > x0 && y1 > y0) {
      const double px = 0.05 * (x1 - x0), py = 0.05 * (y1 - y0);
      panel.xmin = x0 - px, panel.xmax = x1 + px, panel.ymin = y0 - py, panel.ymax = y1 + py;
    }
  }
  for (auto& one : series)
    if (!one.x.empty() || !labelled) panel.series.push_back(std::move(one));
  fig.panels.push_back(std::move(panel));
  plot::save_png(fig, path);
}

void save_samples(const SampleResult& s, const std::string& path) {
  check_writable(path);
  auto ends_with = [&](const std::string& ext) {
    return path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  };
  std::int64_t dim = 1;
  for (auto v : s.shape) dim *= v;
  if (ends_with(".pt")) {
    std::vector<std::int64_t> sizes{s.count};
    sizes.insert(sizes.end(), s.shape.begin(), s.shape.end());
    auto t = torch::from_blob(const_cast<float*>(s.values.data()), sizes, torch::kFloat32).clone();
    const std::vector<char> bytes = torch::pickle_save(t);
    write_file_atomic(path, std::string(bytes.begin(), bytes.end()));
  } else if (ends_with(".bin")) {
    // Raw little-endian float32 (x86 and ARM hosts are little-endian).
    write_file_atomic(path, std::string(reinterpret_cast<const char*>(s.values.data()), s.values.size() * sizeof(float)));
  } else if (ends_with(".csv")) {
    std::string out;
    const bool labelled = !s.labels.empty();
    for (std::int64_t j = 0; j < dim; ++j) out += (j ? ",x" : "x") + std::to_string(j);
    out += labelled ? ",label\n" : "\n";
    for (std::int64_t i = 0; i < s.count; ++i) {
      for (std::int64_t j = 0; j < dim; ++j)
        out += (j ? "," : "") + fmt::format("{:.9g}", s.values[std::size_t(i * dim + j)]);
      out += labelled ? fmt::format(",{}\n", s.labels[std::size_t(i)]) : "\n";
    }
    write_file_atomic(path, out);
  } else {
    throw InputError("--out " + path + ": unknown format (use .pt, .bin or .csv)");
  }
}

}  // namespace genphys
