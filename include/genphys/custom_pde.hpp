#pragma once
// `--pde custom --expr "phi_tt + lap phi - 0.25 phi"`: linear constant-coefficient PDEs that are
// polynomials in d/dt and the Laplacian, with dispersion branches from polynomial roots.

#include <memory>
#include <string>
#include <vector>

#include "genphys/pde.hpp"

namespace genphys {

/// Parses an operator expression into terms. Grammar (whitespace free-form):
///   expr  := term (('+' | '-') term)*        an optional "= 0" at the end is allowed
///   term  := [number ['*']] ['i' ['*']] factor* 'phi'   or  [number] 'phi_' 't'+
///   factor:= 'lap' | 'lap^' int | '(-lap)^' number | '(-lap + ' number ')^' number
/// The tempered factor (-lap + c)^s (c >= 0) stands alone: no other spatial factor in its term.
/// phi_t, phi_tt, phi_ttt... give the time order. Throws InputError naming the position.
std::vector<OperatorTerm> parse_operator(const std::string& expr);

/// All roots omega of the dispersion polynomial sum_j c_j (-i omega)^n_j k^(2 s_j) = 0 at one k,
/// sorted by Im omega ascending (ties by Re). Throws InputError when no term has d/dt.
std::vector<complex> dispersion_roots(const std::vector<OperatorTerm>& terms, double k);

/// The roots lambda (= -i omega) of sum_j c_j lambda^n_j s^p_j = 0 at a complex s = k^2 (principal
/// powers), in no particular order: the dispersion relation continued off the real k axis.
std::vector<complex> laplace_roots(const std::vector<OperatorTerm>& terms, complex s);
/// The same without validating `terms` (for callers that validated them once).
std::vector<complex> laplace_roots_unchecked(const std::vector<OperatorTerm>& terms, complex s);

/// Branches labelled "root 1".."root n" (root j = j-th of dispersion_roots at each k).
std::vector<DispersionBranch> numeric_branches(const std::vector<OperatorTerm>& terms);

/// A module named "custom" whose dispersion comes from the parsed expression.
std::unique_ptr<PdeModule> make_custom_module(const std::string& expr);

}  // namespace genphys
