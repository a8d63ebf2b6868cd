// genphys: physical processes as generative models.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <string>

#include "cli.hpp"
#include "launcher.hpp"

using namespace genphys;

namespace genphys::cli {

void ModuleOptions::add_to(CLI::App* cmd) {
  std::set<std::string> names;
  for (const auto& info : module_registry())
    for (const auto& spec : info.params) {
      if (!names.insert(spec.name).second) continue;
      std::string help = spec.help + " (";
      std::string owners;
      for (const auto& other : module_registry())
        for (const auto& s : other.params)
          if (s.name == spec.name) owners += (owners.empty() ? "" : ", ") + other.name;
      help += owners + "; default " + CLI::detail::to_string(spec.default_value) + ")";
      values_[spec.name] = std::nullopt;
      cmd->add_option("--" + spec.name, values_[spec.name], help)->check(non_empty());
    }
  cmd->add_option("--expr", expr_, "custom PDE: polynomial in phi_t/phi_tt/... and lap, e.g. \"phi_tt + lap phi - 0.25 phi\"");
}

ModuleSpec ModuleOptions::spec(const std::string& pde, bool only_its_own) const {
  ModuleSpec spec{pde, given(), expr_};
  if (only_its_own) {
    // One list serves several PDEs: each keeps what it takes (check_used refuses the leftovers).
    if (spec.is_custom()) {
      spec.params.clear();
    } else {
      spec.expr.clear();
      const ModuleInfo& info = find_module(pde);
      for (auto it = spec.params.begin(); it != spec.params.end();) {
        const bool taken = std::any_of(info.params.begin(), info.params.end(),
                                       [&](const ParamSpec& s) { return s.name == it->first; });
        it = taken ? std::next(it) : spec.params.erase(it);
      }
    }
  }
  return spec;
}

std::unique_ptr<PdeModule> ModuleOptions::make(const std::string& pde, bool only_its_own) const {
  return make_module(spec(pde, only_its_own));
}

void ModuleOptions::check_used(const std::vector<std::string>& pdes) const {
  const bool has_custom = std::any_of(pdes.begin(), pdes.end(), [](const std::string& p) { return p == ModuleSpec::kCustomName; });
  if (!expr_.empty() && !has_custom) throw InputError("--expr is only for --pde custom");
  for (const auto& [name, value] : given()) {
    bool used = false;
    for (const auto& pde : pdes) {
      if (pde == ModuleSpec::kCustomName) continue;
      for (const auto& s : find_module(pde).params) used = used || s.name == name;
    }
    if (!used) throw InputError("no PDE in the list takes --" + name);
  }
}

ParamValues ModuleOptions::given() const {
  ParamValues out;
  for (const auto& [name, value] : values_)
    if (value) out[name] = *value;
  return out;
}

void check_dim(int dim) {
  if (dim < 1 || dim > kMaxDim) throw InputError(fmt::format("--dim must be >= 1 and <= {}, got {}", kMaxDim, dim));
}

CLI::Validator non_negative() {
  return CLI::Validator(
      [](std::string& value) {
        return value.find('-') != std::string::npos ? "must be >= 0, got " + value : std::string();
      },
      "", "non-negative");
}

CLI::Validator at_least_one() {
  return CLI::Validator(
      [](std::string& value) {
        double v = NAN;
        return CLI::detail::lexical_cast(value, v) && v >= 1 ? std::string() : "must be >= 1, got " + value;
      },
      "", "at-least-one");
}

CLI::Validator probability_below_one() {
  return CLI::Validator(
      [](std::string& value) {
        double v = NAN;
        return CLI::detail::lexical_cast(value, v) && v >= 0 && v < 1 ? std::string() : "must be in [0, 1), got " + value;
      },
      "", "in-[0,1)");
}

CLI::Validator non_empty() {
  return CLI::Validator([](std::string& value) { return value.empty() ? std::string("an empty value") : std::string(); },
                        "", "non-empty");
}

std::vector<std::string> split_list(const std::string& text, const std::string& what) {
  std::vector<std::string> items;
  std::string item;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == ',') {
      if (item.empty()) throw InputError("empty item in " + what + " list '" + text + "'");
      items.push_back(item);
      item.clear();
    } else {
      item += text[i];
    }
  }
  return items;
}

std::vector<double> number_list(const std::string& text, const std::string& what, double lo, double hi) {
  std::vector<double> out;
  for (const auto& item : split_list(text, what)) {
    double v = NAN;
    if (!CLI::detail::lexical_cast(item, v) || !std::isfinite(v))
      throw InputError(what + ": '" + item + "' is not a finite number");
    if (v < lo || v > hi) throw InputError(fmt::format("{}: {} is outside [{:g}, {:g}]", what, item, lo, hi));
    out.push_back(v);
  }
  return out;
}

std::vector<int> integer_list(const std::string& text, const std::string& what, int lo, int hi) {
  std::vector<int> out;
  for (double v : number_list(text, what, lo, hi)) {
    if (v != std::floor(v)) throw InputError(fmt::format("{}: {:g} is not an integer", what, v));
    out.push_back(int(v));
  }
  return out;
}

// The flag of an engine option field: "batch" -> --batch, "warmup_images" -> --warmup-images,
// "arch.num_blocks" -> --blocks, and the few fields whose flags are spelt otherwise.
std::string flag_for(std::string field) {
  if (field.rfind("arch.", 0) == 0) field.erase(0, 5);
  static const std::map<std::string, std::string> renamed = {
      {"out_dir", "out"}, {"checkpoint", "ckpt"}, {"module", "pde"}, {"num_blocks", "blocks"}, {"attn_resolutions", "attn"}};
  if (const auto it = renamed.find(field); it != renamed.end()) field = it->second;
  std::replace(field.begin(), field.end(), '_', '-');
  return "--" + field;
}

// CLI11 reports the first failed rule, e.g. "--pde is required" for `dispersion --bogus 1`; an
// argument nobody took is the likelier mistake, so it is named first.
std::string parse_error_message(CLI::App& app, const std::string& what) {
  const CLI::App* sub = nullptr;
  for (const CLI::App* s : app.get_subcommands()) sub = s;
  const std::vector<std::string> left = app.remaining(true);
  if (left.empty()) return what;
  const std::string& first = left.front();
  if (sub == nullptr && first.rfind('-', 0) != 0) {
    std::string names;
    for (const CLI::App* s : app.get_subcommands([](CLI::App*) { return true; }))
      names += (names.empty() ? "" : ", ") + s->get_name();
    return "unknown command '" + first + "'; valid: " + names;
  }
  const std::string where = sub ? " for " + sub->get_name() : "";
  if (first.rfind('-', 0) == 0) return "unknown option '" + first.substr(0, first.find('=')) + "'" + where;
  return "unexpected argument '" + first + "'" + where;
}

}  // namespace genphys::cli

int main(int argc, char** argv) {
  CLI::App app{"genphys: physical processes (PDEs) as generative models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "genphys 0.1.0");

  std::vector<std::pair<CLI::App*, cli::CommandRunner>> commands;
  const std::vector<std::pair<std::string, std::pair<std::string, cli::CommandSetup>>> table = {
      {"check", {"Decide whether a PDE is s-generative (C1, C2)", cli::setup_check}},
      {"dispersion", {"Dispersion branches omega_j(k) as CSV and a plot", cli::setup_dispersion}},
      {"green", {"Green's function G(r, t) in N dimensions", cli::setup_green}},
      {"simulate", {"Evolve a density spectrally from point sources", cli::setup_simulate}},
      {"kernel", {"Draw radii from a perturbation kernel", cli::setup_kernel}},
      {"sample", {"Generate samples (exact empirical field or a trained network)", cli::setup_sample}},
#ifdef GENPHYS_WITH_TORCH
      {"train", {"Train a network for an s-generative PDE", cli::setup_train}},
      {"classifier", {"Train the feature classifier of the Fréchet distance", cli::setup_classifier}},
      {"eval", {"Score a trained model: FD (images) or sliced W2 and MMD (points), with baselines", cli::setup_eval}},
      {"compare", {"Score several runs at several NFE: table, plot, side-by-side grids", cli::setup_compare}},
      {"robustness", {"Score under sampling noise injection and weight quantisation", cli::setup_robustness}},
      {"export", {"Write a checkpoint's weights for Python's torch.load", cli::setup_export}},
#endif
  };
  for (const auto& [name, entry] : table) {
    CLI::App* sub = app.add_subcommand(name, entry.first);
    commands.emplace_back(sub, entry.second(*sub));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "genphys: error: " << cli::parse_error_message(app, e.what()) << " (see --help)\n";
    return 2;
  }

  // Output to a full disk or a closed pipe must not end in exit 0 with a partial result.
  auto flushed = [](int code) {
    std::cout.flush();
    if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
      std::cerr << "genphys: error: cannot write to standard output: " << std::strerror(errno ? errno : EIO) << "\n";
      return code == 0 ? 1 : code;
    }
    return code;
  };
  try {
    for (auto& [sub, run] : commands)
      if (sub->parsed()) return flushed(run());
  } catch (const OptionError& e) {
    if (!cli::quiet_local_rank())  // train --nproc: rank 0 says what all ranks found
      std::cerr << "genphys: error: " << cli::flag_for(e.field()) << " " << printable(e.message()) << "\n";
    return 2;
  } catch (const InputError& e) {
    if (!cli::quiet_local_rank()) std::cerr << "genphys: error: " << printable(e.what()) << "\n";
    return 2;
  } catch (const RankError& e) {
    std::cerr << "genphys: error: " << printable(e.what()) << "\n";
    return 1;
  } catch (const std::exception& e) {
    // LibTorch's messages carry a stack trace after the first line.
    std::string what = e.what();
    what = what.substr(0, what.find('\n'));
    // An allocation the sizes checked up front did not foresee: still the input's size, not a bug.
    if (what.find("can't allocate memory") != std::string::npos) {
      const auto tried = what.find("you tried");
      std::cerr << "genphys: error: out of memory: " << what.substr(tried == std::string::npos ? 0 : tried) << "\n";
      return 2;
    }
    std::cerr << "genphys: internal error: " << what << "\n";
    return 1;
  }
  return 0;
}
