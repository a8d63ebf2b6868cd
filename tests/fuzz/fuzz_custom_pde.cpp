// The custom-PDE expression parser (--pde custom --expr): any text is parsed or refused; a parsed
// operator prints as an equation that parses back to the same terms, and its dispersion roots at
// a few k are computed or refused.
#include <cmath>
#include <string>
#include <vector>

#include "fuzz_common.hpp"
#include "genphys/custom_pde.hpp"

using namespace genphys;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string expr(reinterpret_cast<const char*>(data), size);
  fuzz::refused_cleanly([&] {
    const std::vector<OperatorTerm> terms = parse_operator(expr);
    const auto module = make_custom_module(expr);
    const std::vector<OperatorTerm> again = parse_operator(module->equation());
    if (again.size() != terms.size()) fuzz::fail("'" + module->equation() + "' parses to another number of terms");
    for (std::size_t j = 0; j < terms.size(); ++j)
      if (again[j].time_order != terms[j].time_order || again[j].space_power != terms[j].space_power ||
          again[j].coefficient != terms[j].coefficient)
        fuzz::fail("'" + module->equation() + "' parses to other terms than '" + expr + "'");
    for (const double k : {0.0, 0.5, 1.0, 3.0, 1e3})
      fuzz::refused_cleanly([&] {
        const auto roots = dispersion_roots(terms, k);
        for (const auto& w : roots)
          if (!std::isfinite(w.real()) || !std::isfinite(w.imag())) fuzz::fail("a non-finite dispersion root");
      });
  });
  return 0;
}
