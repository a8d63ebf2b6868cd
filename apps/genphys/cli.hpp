#pragma once
// Shared pieces of the genphys command line: the subcommand table and module parameters.

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "genphys/generative.hpp"
#include "genphys/pde.hpp"

namespace genphys::cli {

/// Adds one subcommand to `app`; the returned callback runs it after parsing and returns the exit
/// code. Throw genphys::InputError for bad input (printed as one line, exit code 2).
using CommandRunner = std::function<int()>;
using CommandSetup = std::function<CommandRunner(CLI::App& app)>;

/// Every module parameter (--D, --m, --k0, ...) as an optional option, plus --expr for `custom`.
/// Only the ones given reach make_module, which rejects those the chosen PDE does not take.
class ModuleOptions {
 public:
  void add_to(CLI::App* cmd);
  ParamValues given() const;
  const std::string& expr() const { return expr_; }
  /// The module `pde` with the parameters (or, for custom, the --expr) given. With `only_its_own`,
  /// parameters the module does not take are skipped (for --pde lists); call check_used() once
  /// for the whole list.
  ModuleSpec spec(const std::string& pde, bool only_its_own = false) const;
  /// make_module(spec(...)): builds and so validates it.
  std::unique_ptr<PdeModule> make(const std::string& pde, bool only_its_own = false) const;
  /// Throws InputError for a given parameter that none of `pdes` takes, or --expr without custom.
  void check_used(const std::vector<std::string>& pdes) const;

 private:
  std::map<std::string, std::optional<double>> values_;
  std::string expr_;
};

/// The module's generative process in `dim`, or an InputError quoting why there is none.
std::unique_ptr<GenerativeProcess> require_process(const PdeModule& module, int dim);

/// Largest data dimension the physics commands take: beyond it some modules' Bessel and
/// quadrature machinery runs for minutes or gives up.
constexpr int kMaxDim = 100000;
/// Throws InputError ("--dim must be >= 1 and <= 100000, got 0") for a dimension out of range.
void check_dim(int dim);

/// Refuses an empty value (`--D ""`, `--csv ""`) instead of letting it mean "not given".
CLI::Validator non_empty();

/// Refuses a size below 1 for an option whose 0 would otherwise mean "the preset" (`--hidden 0`).
CLI::Validator at_least_one();

/// Refuses a probability outside [0, 1), NaN included (`--dropout -0.5`).
CLI::Validator probability_below_one();

/// Refuses a negative value for an unsigned option (`--seed -1` would wrap to 2^64 - 1).
CLI::Validator non_negative();

/// The flag of an engine option field: "batch" -> --batch, "arch.num_blocks" -> --blocks.
std::string flag_for(std::string field);

/// Splits "a,b,c" (no empty items allowed). Lists are split here, not by CLI11 2.1's
/// ->delimiter(','), which drops empty items ("1,,2" would pass as "1,2").
std::vector<std::string> split_list(const std::string& text, const std::string& what);
/// A list of finite numbers in [lo, hi], each converted by CLI11 (CLI::Range lets NaN through).
/// Throws InputError naming `what` and the item.
std::vector<double> number_list(const std::string& text, const std::string& what, double lo, double hi);
/// As number_list, each an integer.
std::vector<int> integer_list(const std::string& text, const std::string& what, int lo, int hi);

// One setup function per subcommand, each in its own cmd_*.cpp.
CommandRunner setup_check(CLI::App& app);
CommandRunner setup_dispersion(CLI::App& app);
CommandRunner setup_green(CLI::App& app);
CommandRunner setup_simulate(CLI::App& app);
CommandRunner setup_kernel(CLI::App& app);
CommandRunner setup_sample(CLI::App& app);
#ifdef GENPHYS_WITH_TORCH
CommandRunner setup_train(CLI::App& app);
CommandRunner setup_classifier(CLI::App& app);
CommandRunner setup_eval(CLI::App& app);
CommandRunner setup_compare(CLI::App& app);
CommandRunner setup_robustness(CLI::App& app);
CommandRunner setup_export(CLI::App& app);
#endif

}  // namespace genphys::cli
