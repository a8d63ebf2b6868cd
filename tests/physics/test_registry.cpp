#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "genphys/pde.hpp"

using namespace genphys;

TEST_CASE("registry finds modules by name and alias") {
  CHECK(find_module("poisson").name == "poisson");
  CHECK(find_module("pfgm").name == "poisson");
  CHECK(find_module("yukawa").name == "screened-poisson");
}

TEST_CASE("every registered module round-trips its name, aliases and defaults") {
  std::set<std::string> names;
  for (const ModuleInfo& info : module_registry()) {
    INFO("module " << info.name);
    // Names and aliases are unique across the registry and each finds its own module.
    CHECK(names.insert(info.name).second);
    CHECK(&find_module(info.name) == &info);
    for (const std::string& alias : info.aliases) {
      CHECK(names.insert(alias).second);
      CHECK(&find_module(alias) == &info);
    }
    // Defaults lie in their own ranges, and the module builds from them under its name.
    for (const ParamSpec& p : info.params) {
      CHECK(p.lower <= p.upper);
      CHECK((p.lower_open ? p.default_value > p.lower : p.default_value >= p.lower));
      CHECK(p.default_value <= p.upper);
    }
    const auto module = make_module(info.name);
    CHECK(module->name() == info.name);
    CHECK(module->params().size() == info.params.size());
    CHECK_FALSE(info.summary.empty());
  }
  // The modules of the README's table are all there.
  for (const char* known : {"diffusion", "poisson", "screened-poisson", "helmholtz", "dissipative-wave", "biharmonic",
                            "ideal-wave", "schrodinger", "mixed-diffusion-poisson", "fractional-diffusion",
                            "third-order", "fractional-poisson"}) {
    INFO("module " << known);
    CHECK(names.count(known) == 1);
  }
}

TEST_CASE("module parameters reject values outside their declared ranges") {
  // (0, upper] excludes its lower end, [lower, upper] includes it; both exclude upper + 1.
  for (const ModuleInfo& info : module_registry())
    for (const ParamSpec& p : info.params) {
      INFO("module " << info.name << " parameter " << p.name);
      if (p.lower_open) CHECK_THROWS_AS(make_module(info.name, {{p.name, p.lower}}), InputError);
      else CHECK(make_module(info.name, {{p.name, p.lower}})->param(p.name) == p.lower);
      CHECK_THROWS_AS(make_module(info.name, {{p.name, p.upper + 1.0}}), InputError);
    }
}

TEST_CASE("make_module validates parameters") {
  CHECK_THROWS_AS(find_module("nope"), InputError);
  CHECK_THROWS_AS(make_module("diffusion", {{"k0", 1.0}}), InputError);
  CHECK_THROWS_AS(make_module("screened-poisson", {{"m", 0.0}}), InputError);
  CHECK_THROWS_AS(make_module("helmholtz", {{"k0", std::nan("")}}), InputError);
  CHECK_THROWS_AS(make_module("helmholtz", {{"k0", -1.0}}), InputError);
  auto m = make_module("helmholtz", {{"k0", 0.25}});
  CHECK(m->param("k0") == 0.25);
  auto d = make_module("pfgm");
  CHECK(d->param("D") == 1.0);
}
