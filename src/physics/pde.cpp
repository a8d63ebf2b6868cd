#include "genphys/pde.hpp"

#include <cmath>
#include <sstream>

#include "genphys/custom_pde.hpp"
#include "genphys/errors.hpp"
#include "genphys/generative.hpp"

namespace genphys {

std::string to_string(Verdict v) {
  switch (v) {
    case Verdict::yes: return "yes";
    case Verdict::conditional: return "conditional";
    case Verdict::no: return "no";
  }
  return "?";
}

double PdeModule::param(const std::string& key) const {
  auto it = params_.find(key);
  if (it == params_.end()) throw std::logic_error("module " + name_ + " has no parameter " + key);
  return it->second;
}

ConditionVerdict PdeModule::c1(int) const {
  return {Verdict::conditional, "C1 not analysed for this module", "unknown"};
}

complex PdeModule::green_hat(double, double) const {
  throw NotSupported("PDE '" + name_ + "' has no Fourier-space Green's function");
}

SignedLog PdeModule::green(double, double, int) const {
  throw NotSupported("PDE '" + name_ + "' has no Green's function");
}

std::string PdeModule::green_method(int) const { return "none"; }

PdeModule::PointFlow PdeModule::point_flow(double, double, int) const {
  throw NotSupported("PDE '" + name_ + "' has no point-source density flow");
}

std::unique_ptr<GenerativeProcess> PdeModule::generative(int) const { return nullptr; }
std::unique_ptr<GenerativeProcess> PdeModule::unnormalised_generative(int) const { return nullptr; }

namespace {

std::string valid_names() {
  std::ostringstream out;
  bool first = true;
  for (const auto& info : module_registry()) {
    out << (first ? "" : ", ") << info.name;
    first = false;
  }
  return out.str();
}

std::string range_text(const ParamSpec& s) {
  std::ostringstream out;
  out << (s.lower_open ? "(" : "[") << s.lower << ", " << s.upper << "]";
  return out.str();
}

}  // namespace

const ModuleInfo& find_module(const std::string& name_or_alias) {
  for (const auto& info : module_registry()) {
    if (info.name == name_or_alias) return info;
    for (const auto& alias : info.aliases)
      if (alias == name_or_alias) return info;
  }
  throw InputError("unknown PDE '" + name_or_alias + "'; valid: " + valid_names() + ", custom (with --expr)");
}

std::unique_ptr<PdeModule> make_module(const std::string& name_or_alias, const ParamValues& given) {
  const ModuleInfo& info = find_module(name_or_alias);
  ParamValues values;
  for (const auto& spec : info.params) values[spec.name] = spec.default_value;
  for (const auto& [key, value] : given) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : info.params)
      if (s.name == key) spec = &s;
    if (!spec) {
      std::string valid;
      for (const auto& s : info.params) valid += (valid.empty() ? "--" : ", --") + s.name;
      throw InputError("PDE '" + info.name + "' has no parameter --" + key +
                       (valid.empty() ? "; it takes none" : "; valid: " + valid));
    }
    const bool below = spec->lower_open ? !(value > spec->lower) : !(value >= spec->lower);
    if (!std::isfinite(value) || below || value > spec->upper) {
      std::ostringstream msg;
      msg << "--" << key << " = " << value << " is out of range for PDE '" << info.name
          << "'; valid: " << range_text(*spec);
      throw InputError(msg.str());
    }
    values[key] = value;
  }
  return info.make(values);
}

std::unique_ptr<PdeModule> make_module(const ModuleSpec& spec) {
  if (spec.empty()) throw InputError("--pde is required (see genphys check --all)");
  if (spec.is_custom()) {
    if (spec.expr.empty())
      throw InputError("--pde custom needs --expr, e.g. --expr \"phi_tt + lap phi - 0.25 phi\"");
    if (!spec.params.empty())
      throw InputError("--pde custom takes no parameters other than --expr (write numbers into the expression)");
    return make_custom_module(spec.expr);
  }
  if (!spec.expr.empty()) throw InputError("--expr is only for --pde custom");
  return make_module(spec.name, spec.params);
}

}  // namespace genphys
