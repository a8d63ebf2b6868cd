// genphys check: is a PDE s-generative (C1, C2)?
#include <fmt/format.h>

#include <iostream>

#include "cli.hpp"
#include "genphys/check.hpp"

namespace genphys::cli {
namespace {

struct CheckOptions {
  std::string pde;
  bool all = false;
  int dim = 784;
  bool json = false;
  ModuleOptions module;
};

void print_one(const CheckResult& r) {
  std::cout << "pde:       " << r.pde << "   " << r.equation << "\n";
  std::cout << "dimension: " << r.dim << "\n";
  std::cout << "C1:        " << to_string(r.c1.verdict) << " - " << r.c1.reason << "\n";
  std::cout << "C2:        " << to_string(r.c2.verdict) << " - " << r.c2.reason << "\n";
  std::cout << "kernel:    " << to_string(r.kernel.verdict) << " - " << r.kernel.reason << "\n";
  std::cout << "route:     " << to_string(r.subordination.verdict) << " - " << r.subordination.reason << "\n";
  std::cout << "verdict:   " << to_string(r.verdict) << "\n";
  if (!r.condition.empty()) std::cout << "condition: " << r.condition << "\n";
}

void print_table(const std::vector<CheckResult>& rows) {
  std::cout << fmt::format("{:<24} {:<12} {:<12} {:<12} {}\n", "pde", "C1", "C2", "verdict", "why / condition");
  for (const auto& r : rows) {
    std::string why = r.verdict == Verdict::yes ? "" : !r.condition.empty() ? r.condition
                      : r.c1.verdict == Verdict::no ? "C1: " + r.c1.reason
                      : r.c2.verdict == Verdict::no ? "C2: " + r.c2.reason
                                                    : "kernel: " + r.kernel.reason;
    std::cout << fmt::format("{:<24} {:<12} {:<12} {:<12} {}\n", r.pde, to_string(r.c1.verdict),
                             to_string(r.c2.verdict), to_string(r.verdict), why);
  }
}

}  // namespace

CommandRunner setup_check(CLI::App& app) {
  auto opt = std::make_shared<CheckOptions>();
  app.add_option("--pde", opt->pde, "PDE module name or alias (see --all for the list), or custom")->check(non_empty());
  app.add_flag("--all", opt->all, "check every registered module with its default parameters");
  app.add_option("--dim", opt->dim, "data dimension N")->capture_default_str();
  app.add_flag("--json", opt->json, "print JSON (one object, or one per line with --all)");
  opt->module.add_to(&app);
  return [opt]() -> int {
    check_dim(opt->dim);
    if (opt->all == !opt->pde.empty()) throw InputError("give exactly one of --pde NAME or --all");
    std::vector<CheckResult> rows;
    if (opt->all) {
      if (!opt->module.given().empty() || !opt->module.expr().empty())
        throw InputError("--all checks default parameters; use --pde NAME to set parameters");
      for (const auto& info : module_registry()) rows.push_back(check(*make_module(info.name), opt->dim));
    } else {
      rows.push_back(check(*opt->module.make(opt->pde), opt->dim));
    }
    if (opt->json) {
      for (const auto& r : rows) std::cout << to_json(r) << "\n";
    } else if (opt->all) {
      print_table(rows);
    } else {
      print_one(rows.front());
    }
    return 0;
  };
}

}  // namespace genphys::cli
