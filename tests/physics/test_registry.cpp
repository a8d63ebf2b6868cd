#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "genphys/pde.hpp"

using namespace genphys;

TEST_CASE("registry finds modules by name and alias") {
  CHECK(find_module("poisson").name == "poisson");
  CHECK(find_module("pfgm").name == "poisson");
  CHECK(find_module("yukawa").name == "screened-poisson");
  CHECK(module_registry().size() == 11);
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
