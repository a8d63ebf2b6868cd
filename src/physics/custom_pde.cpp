// Custom PDEs: a small parser for polynomials in d/dt and the Laplacian, and their dispersion
// roots from a companion matrix.
#include "genphys/custom_pde.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "genphys/check.hpp"
#include "genphys/generative.hpp"
#include "physics/subordinator.hpp"

#include <Eigen/Dense>
#include <Eigen/Eigenvalues>
#include <fmt/format.h>

namespace genphys {
namespace {

// A coefficient sum at most this fraction of the sum of its parts' magnitudes is rounding noise
// from cancellation and counts as zero.
constexpr double kCancel = 1e-13;

// ---------------------------------------------------------------------------------------------
// Lexer

enum class Tok { number, word, symbol, end };

struct Token {
  Tok kind = Tok::end;
  std::size_t pos = 0;  // 0-based offset into the expression
  std::string text;
  double value = 0.0;
};

class Lexer {
 public:
  explicit Lexer(const std::string& s) : s_(s) { advance(); }

  const Token& peek() const { return tok_; }
  Token take() {
    Token t = tok_;
    advance();
    return t;
  }

 private:
  void advance() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    tok_ = Token{};
    tok_.pos = i_;
    if (i_ >= s_.size()) return;
    const char c = s_[i_];
    const auto is_digit = [&](std::size_t j) {
      return j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j]));
    };
    if (is_digit(i_) || (c == '.' && is_digit(i_ + 1))) {
      std::size_t j = i_;
      while (is_digit(j)) ++j;
      if (j < s_.size() && s_[j] == '.') {
        ++j;
        while (is_digit(j)) ++j;
      }
      // The exponent only counts when digits follow: "2e" is the number 2 and the word "e".
      if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
        std::size_t e = j + 1;
        if (e < s_.size() && (s_[e] == '+' || s_[e] == '-')) ++e;
        if (is_digit(e)) {
          j = e;
          while (is_digit(j)) ++j;
        }
      }
      tok_.kind = Tok::number;
      tok_.text = s_.substr(i_, j - i_);
      tok_.value = std::strtod(tok_.text.c_str(), nullptr);
      i_ = j;
      return;
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::size_t j = i_;
      while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
      tok_.kind = Tok::word;
      tok_.text = s_.substr(i_, j - i_);
      i_ = j;
      return;
    }
    tok_.kind = Tok::symbol;
    tok_.text = std::string(1, c);
    ++i_;
  }

  const std::string& s_;
  std::size_t i_ = 0;
  Token tok_;
};

// ---------------------------------------------------------------------------------------------
// Parser

struct RawTerm {
  int time_order;
  double space_power;
  complex coefficient;
  double magnitude;  // sum of |parts| combined into this term
  double shift = 0.0;  // (-lap + shift)^space_power
};

class Parser {
 public:
  explicit Parser(const std::string& expr) : quoted_(printable(expr)), lex_(expr) {}

  std::vector<RawTerm> parse() {
    if (lex_.peek().kind == Tok::end) fail("empty expression");
    if (is_symbol(lex_.peek(), '=')) fail("empty expression (nothing before '=')");
    std::vector<RawTerm> terms;
    double sign = 1.0;
    if (is_symbol(lex_.peek(), '+') || is_symbol(lex_.peek(), '-')) sign = lex_.take().text == "-" ? -1.0 : 1.0;
    terms.push_back(term(sign));
    for (;;) {
      const Token& t = lex_.peek();
      if (t.kind == Tok::end) break;
      if (is_symbol(t, '+') || is_symbol(t, '-')) {
        sign = lex_.take().text == "-" ? -1.0 : 1.0;
        terms.push_back(term(sign));
        continue;
      }
      if (is_symbol(t, '=')) {
        lex_.take();
        const Token rhs = lex_.take();
        if (rhs.kind != Tok::number) unexpected(rhs, "expected 0 after '='");
        if (rhs.value != 0.0) unexpected(rhs, "the right-hand side must be 0");
        if (lex_.peek().kind != Tok::end) unexpected(lex_.peek(), "nothing may follow '= 0'");
        break;
      }
      unexpected(t, "expected '+', '-', '= 0' or the end");
    }
    return terms;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw InputError("custom PDE: " + what + " in '" + quoted_ + "'");
  }

 private:
  static bool is_symbol(const Token& t, char c) { return t.kind == Tok::symbol && t.text[0] == c; }

  static std::string describe(const Token& t) {
    return t.kind == Tok::end ? "end of input" : "'" + printable(t.text) + "'";
  }

  [[noreturn]] void unexpected(const Token& t, const std::string& hint) const {
    throw InputError("custom PDE: unexpected " + describe(t) + " at position " + std::to_string(t.pos + 1) +
                     " in '" + quoted_ + "' (" + hint + ")");
  }

  double number(const Token& t) const {
    if (!std::isfinite(t.value))
      throw InputError("custom PDE: number '" + t.text + "' at position " + std::to_string(t.pos + 1) +
                       " is not finite in '" + quoted_ + "'");
    return t.value;
  }

  // Returns the time order when `w` is phi, phi_t, phi_tt, ...; -1 otherwise.
  static int phi_order(const std::string& w) {
    if (w == "phi") return 0;
    if (w.size() < 5 || w.compare(0, 4, "phi_") != 0) return -1;
    for (std::size_t j = 4; j < w.size(); ++j)
      if (w[j] != 't') return -1;
    return static_cast<int>(w.size() - 4);
  }

  RawTerm term(double sign) {
    shifted_ = false;
    shift_ = 0.0;
    complex coef = sign;
    double space = 0.0;
    bool after_star = false;
    bool any_factor = false;
    for (;;) {
      const Token t = lex_.peek();
      if (t.kind == Tok::number) {
        lex_.take();
        coef *= number(t);
        if (is_symbol(lex_.peek(), '/')) {
          lex_.take();
          const Token d = lex_.take();
          if (d.kind != Tok::number) unexpected(d, "expected a number after '/'");
          if (number(d) == 0.0) unexpected(d, "division by zero");
          coef /= d.value;
        }
      } else if (t.kind == Tok::word && t.text == "i") {
        lex_.take();
        coef *= complex(0.0, 1.0);
      } else if (t.kind == Tok::word && t.text == "lap") {
        if (shifted_) unexpected(t, "a tempered factor (-lap + c)^s cannot be multiplied by another spatial factor");
        lex_.take();
        int n = 1;
        if (is_symbol(lex_.peek(), '^')) {
          lex_.take();
          const Token e = lex_.take();
          if (e.kind != Tok::number || std::floor(number(e)) != e.value || e.value > 64)
            unexpected(e, "lap^n needs an integer n from 0 to 64; use (-lap)^s for fractional powers");
          n = static_cast<int>(e.value);
        }
        if (n % 2 == 1) coef = -coef;  // lap^n = (-1)^n (-lap)^n
        space += n;
      } else if (is_symbol(t, '(')) {
        lex_.take();
        const Token minus = lex_.take();
        if (!is_symbol(minus, '-')) unexpected(minus, "expected '(-lap)'");
        const Token lap = lex_.take();
        if (lap.kind != Tok::word || lap.text != "lap") unexpected(lap, "expected '(-lap)'");
        double shift = 0.0;
        if (is_symbol(lex_.peek(), '+')) {  // tempered: (-lap + c)^s
          lex_.take();
          const Token c = lex_.take();
          if (c.kind != Tok::number) unexpected(c, "expected a non-negative number in '(-lap + c)'");
          shift = number(c);
        }
        const Token close = lex_.take();
        if (!is_symbol(close, ')')) unexpected(close, "expected ')' closing '(-lap' or '(-lap + c'");
        double s = 1.0;
        if (is_symbol(lex_.peek(), '^')) {
          lex_.take();
          const Token e = lex_.take();
          if (e.kind != Tok::number) unexpected(e, "expected a non-negative number after '(-lap)^'");
          s = number(e);
        }
        if (shift != 0.0) {
          if (shifted_ || space != 0.0) unexpected(t, "a tempered factor (-lap + c)^s cannot be multiplied by another spatial factor");
          shifted_ = true;
          shift_ = shift;
        } else if (shifted_) {
          unexpected(t, "a tempered factor (-lap + c)^s cannot be multiplied by another spatial factor");
        }
        space += s;
      } else if (t.kind == Tok::word && phi_order(t.text) >= 0) {
        lex_.take();
        if (!std::isfinite(coef.real()) || !std::isfinite(coef.imag()))
          unexpected(t, "the coefficient of this term overflows");
        if (shifted_ && space == 0.0) shift_ = 0.0;  // (-lap + c)^0 = 1
        return {phi_order(t.text), space, coef, std::abs(coef), shift_};
      } else if (is_symbol(t, '*') && any_factor && !after_star) {
        lex_.take();
        after_star = true;
        continue;
      } else if (t.kind == Tok::word) {
        unexpected(t, "known symbols: phi, phi_t, phi_tt, ..., lap, i");
      } else if (t.kind == Tok::end || is_symbol(t, '+') || is_symbol(t, '-') || is_symbol(t, '=')) {
        unexpected(t, "expected a factor ending in 'phi' or 'phi_t...'");
      } else {
        unexpected(t, "expected a number, i, lap, (-lap)^s or phi");
      }
      after_star = false;
      any_factor = true;
    }
  }

  const std::string quoted_;  // for messages: one line whatever the expression holds
  Lexer lex_;
  bool shifted_ = false;  // the current term has a tempered factor
  double shift_ = 0.0;
};

// ---------------------------------------------------------------------------------------------
// Text of parsed terms, in a form parse_operator reads back.

std::string format_terms(const std::vector<OperatorTerm>& terms) {
  std::string out;
  auto emit = [&](double value, bool imaginary, const OperatorTerm& t) {
    if (value == 0.0) return;
    double v = value;
    std::string op;
    const double s = t.space_power;
    if (t.shift != 0.0) {
      op = fmt::format("(-lap + {})^{} ", t.shift, s);
    } else if (s == std::floor(s) && s <= 64) {
      const int n = static_cast<int>(s);
      if (n % 2 == 1) v = -v;  // (-lap)^n = (-1)^n lap^n
      if (n == 1) op = "lap ";
      else if (n == 2) op = "lap lap ";
      else if (n >= 3) op = fmt::format("lap^{} ", n);
    } else {
      op = fmt::format("(-lap)^{} ", s);
    }
    if (out.empty()) out += v < 0 ? "-" : "";
    else out += v < 0 ? " - " : " + ";
    const double mag = std::fabs(v);
    if (mag != 1.0) out += fmt::format("{} ", mag);
    if (imaginary) out += "i ";
    out += op + "phi";
    if (t.time_order > 0) out += "_" + std::string(static_cast<std::size_t>(t.time_order), 't');
  };
  for (const auto& t : terms) {
    emit(t.coefficient.real(), false, t);
    emit(t.coefficient.imag(), true, t);
  }
  return out;
}

void validate_terms(const std::vector<OperatorTerm>& terms) {
  bool has_time = false;
  for (const auto& t : terms) {
    if (t.time_order < 0 || t.time_order > 64)
      throw InputError("dispersion: time order " + std::to_string(t.time_order) + " is outside [0, 64]");
    if (!std::isfinite(t.shift) || t.shift < 0)
      throw InputError(fmt::format("dispersion: shift {} of (-lap + shift) is not a finite non-negative number", t.shift));
    if (!std::isfinite(t.space_power) || t.space_power < 0)
      throw InputError(fmt::format("dispersion: space power {} is not a finite non-negative number", t.space_power));
    if (!std::isfinite(t.coefficient.real()) || !std::isfinite(t.coefficient.imag()))
      throw InputError("dispersion: a coefficient is not finite");
    if (t.time_order > 0 && t.coefficient != 0.0) has_time = true;
  }
  if (!has_time)
    throw InputError("dispersion: no term has a time derivative, so there is no dispersion relation");
}

// p(lambda) and p'(lambda) by Horner.
std::pair<complex, complex> horner(const std::vector<complex>& b, complex x) {
  complex p = 0.0, dp = 0.0;
  for (std::size_t j = b.size(); j-- > 0;) {
    dp = dp * x + p;
    p = p * x + b[j];
  }
  return {p, dp};
}

// Roots of b[0] + b[1] x + ... + b[m] x^m with b[0], b[m] non-zero.
std::vector<complex> poly_roots(const std::vector<complex>& b) {
  const int m = static_cast<int>(b.size()) - 1;
  if (m == 1) return {-b[0] / b[1]};
  // Scale x = rho * y so the monic polynomial in y has coefficients of modulus <= 1.
  double rho = 0.0;
  for (int j = 0; j < m; ++j)
    if (b[j] != 0.0) rho = std::max(rho, std::pow(std::abs(b[j] / b[m]), 1.0 / (m - j)));
  Eigen::MatrixXcd companion = Eigen::MatrixXcd::Zero(m, m);
  for (int j = 1; j < m; ++j) companion(j, j - 1) = 1.0;
  for (int j = 0; j < m; ++j) companion(j, m - 1) = -(b[j] / b[m]) / std::pow(rho, m - j);
  Eigen::ComplexEigenSolver<Eigen::MatrixXcd> solver(companion, false);
  if (solver.info() != Eigen::Success) {
    // Shifted QR can stall on a companion matrix close to a cyclic shift (roots of equal modulus,
    // e.g. y^5 = 1 beside a root near 0). A fixed unitary similarity H C H (H a Householder
    // reflection, its own inverse) keeps the eigenvalues and breaks that structure.
    Eigen::VectorXcd v(m);
    for (int j = 0; j < m; ++j) v(j) = complex(1.0 + j, 0.5 * j);
    v.normalize();
    const Eigen::MatrixXcd reflect = Eigen::MatrixXcd::Identity(m, m) - 2.0 * v * v.adjoint();
    solver.compute(reflect * companion * reflect, false);
    if (solver.info() != Eigen::Success) throw InputError("dispersion: the eigenvalue solver did not converge");
  }
  std::vector<complex> roots(static_cast<std::size_t>(m));
  for (int j = 0; j < m; ++j) roots[static_cast<std::size_t>(j)] = rho * solver.eigenvalues()(j);

  // Newton polish on the unscaled polynomial; a step is kept only when it lowers |p| and stays
  // well inside the gap to the other roots, so close roots cannot collapse onto one.
  for (std::size_t j = 0; j < roots.size(); ++j) {
    double gap = std::numeric_limits<double>::infinity();
    for (std::size_t l = 0; l < roots.size(); ++l)
      if (l != j) gap = std::min(gap, std::abs(roots[j] - roots[l]));
    for (int it = 0; it < 4; ++it) {
      const auto [p, dp] = horner(b, roots[j]);
      if (p == 0.0 || dp == 0.0) break;
      const complex step = p / dp;
      if (!(std::abs(step) < 0.25 * gap)) break;
      const complex next = roots[j] - step;
      if (!(std::abs(horner(b, next).first) < std::abs(p))) break;
      roots[j] = next;
      if (std::abs(step) <= 1e-16 * std::abs(next)) break;
    }
  }
  return roots;
}

}  // namespace

std::vector<OperatorTerm> parse_operator(const std::string& expr) {
  Parser parser(expr);
  const std::vector<RawTerm> raw = parser.parse();

  // Combine like terms, keeping the order of first appearance.
  std::vector<RawTerm> combined;
  for (const auto& r : raw) {
    auto it = std::find_if(combined.begin(), combined.end(), [&](const RawTerm& c) {
      return c.time_order == r.time_order && c.space_power == r.space_power && c.shift == r.shift;
    });
    if (it == combined.end()) {
      combined.push_back(r);
    } else {
      it->coefficient += r.coefficient;
      it->magnitude += r.magnitude;
    }
  }
  std::vector<OperatorTerm> terms;
  for (const auto& c : combined) {
    if (!std::isfinite(c.coefficient.real()) || !std::isfinite(c.coefficient.imag()))
      parser.fail("combined coefficient overflows");
    complex coef = c.coefficient;
    // Drop parts that cancel to rounding noise (0.1 + 0.2 - 0.3).
    if (std::fabs(coef.real()) <= kCancel * c.magnitude) coef.real(0.0);
    if (std::fabs(coef.imag()) <= kCancel * c.magnitude) coef.imag(0.0);
    if (coef != 0.0) terms.push_back({c.time_order, c.space_power, coef, c.shift});
  }
  if (terms.empty()) parser.fail("every coefficient is zero");
  const bool has_time = std::any_of(terms.begin(), terms.end(), [](const OperatorTerm& t) { return t.time_order > 0; });
  if (!has_time) parser.fail("no time derivative (phi_t, phi_tt, ...), so this is not an evolution equation,");
  return terms;
}

std::vector<complex> dispersion_roots(const std::vector<OperatorTerm>& terms, double k) {
  validate_terms(terms);
  if (!std::isfinite(k) || k < 0) throw InputError(fmt::format("dispersion: k = {} must be finite and >= 0", k));

  int order = 0;
  for (const auto& t : terms) order = std::max(order, t.time_order);
  std::vector<complex> c(static_cast<std::size_t>(order) + 1, 0.0);
  std::vector<double> mag(c.size(), 0.0);
  for (const auto& t : terms) {
    const double w = t.space_power == 0 ? 1.0 : t.shift != 0.0 ? std::pow(k * k + t.shift, t.space_power) : std::pow(k, 2 * t.space_power);
    c[static_cast<std::size_t>(t.time_order)] += t.coefficient * w;
    mag[static_cast<std::size_t>(t.time_order)] += std::abs(t.coefficient) * w;
  }
  for (std::size_t n = 0; n < c.size(); ++n)
    if (!std::isfinite(mag[n]) || !std::isfinite(c[n].real()) || !std::isfinite(c[n].imag()))
      throw InputError(fmt::format("dispersion: coefficients overflow at k = {}", k));
  const auto negligible = [&](int n) {
    return std::abs(c[static_cast<std::size_t>(n)]) <= kCancel * mag[static_cast<std::size_t>(n)];
  };

  // The leading coefficient can vanish at particular k (lap phi_tt at k = 0): drop the degree.
  int deg = order;
  while (deg >= 0 && negligible(deg)) --deg;
  if (deg <= 0) return {};  // constant or identically zero polynomial: no determined roots
  int low = 0;
  while (low < deg && negligible(low)) ++low;

  std::vector<complex> lambda(static_cast<std::size_t>(low), 0.0);  // exact zero roots
  if (deg > low) {
    const std::vector<complex> b(c.begin() + low, c.begin() + deg + 1);
    const auto r = poly_roots(b);
    lambda.insert(lambda.end(), r.begin(), r.end());
  }

  std::vector<complex> omega;
  double scale = 0.0;
  for (const auto& l : lambda) {
    // Finite coefficients can still have a root beyond double's range (a leading coefficient near
    // the smallest subnormal).
    if (!std::isfinite(l.real()) || !std::isfinite(l.imag()))
      throw InputError(fmt::format("dispersion: a root overflows at k = {}", k));
    complex w = complex(0.0, 1.0) * l;  // lambda = -i omega
    // Parts at rounding level of the root itself are zero (ideal wave: Im omega = 0 exactly).
    const double a = std::abs(w);
    if (std::fabs(w.real()) <= 1e-14 * a) w.real(0.0);
    if (std::fabs(w.imag()) <= 1e-14 * a) w.imag(0.0);
    omega.push_back(w);
    scale = std::max(scale, a);
  }
  // Im ascending; Im values equal to 1e-12 of the largest root count as ties, broken by Re.
  // Insertion sort: the tolerant comparison is not a strict weak order, std::sort needs one.
  const double tie = 1e-12 * scale;
  const auto before = [&](const complex& a, const complex& b) {
    if (std::fabs(a.imag() - b.imag()) > tie) return a.imag() < b.imag();
    return a.real() < b.real();
  };
  for (std::size_t j = 1; j < omega.size(); ++j)
    for (std::size_t l = j; l > 0 && before(omega[l], omega[l - 1]); --l) std::swap(omega[l], omega[l - 1]);
  return omega;
}

std::vector<complex> laplace_roots(const std::vector<OperatorTerm>& terms, complex s) {
  validate_terms(terms);
  return laplace_roots_unchecked(terms, s);
}

std::vector<complex> laplace_roots_unchecked(const std::vector<OperatorTerm>& terms, complex s) {
  int order = 0;
  for (const auto& t : terms) order = std::max(order, t.time_order);
  std::vector<complex> c(static_cast<std::size_t>(order) + 1, 0.0);
  std::vector<double> mag(c.size(), 0.0);
  for (const auto& t : terms) {
    complex w = 1.0;
    if (t.space_power == std::floor(t.space_power) && t.space_power <= 8) {  // integer: no log/exp
      for (int j = 0; j < static_cast<int>(t.space_power); ++j) w *= s + t.shift;
    } else {
      w = std::pow(s + t.shift, t.space_power);
    }
    c[static_cast<std::size_t>(t.time_order)] += t.coefficient * w;
    mag[static_cast<std::size_t>(t.time_order)] += std::abs(t.coefficient * w);
  }
  int deg = order;
  while (deg >= 0 && std::abs(c[static_cast<std::size_t>(deg)]) <= kCancel * mag[static_cast<std::size_t>(deg)]) --deg;
  if (deg <= 0) return {};
  if (deg == 1) return {-c[0] / c[1]};
  if (deg == 2) {  // the common case (second order in t), without an eigen-solve
    const complex d = std::sqrt(c[1] * c[1] - 4.0 * c[2] * c[0]);
    // The root of larger modulus first, the other from the product c0/c2 (no cancellation).
    const complex q = -0.5 * (c[1] + (std::real(std::conj(c[1]) * d) >= 0 ? d : -d));
    if (q == 0.0) return {0.0, 0.0};
    return {q / c[2], c[0] / q};
  }
  int low = 0;
  while (low < deg && std::abs(c[static_cast<std::size_t>(low)]) <= kCancel * mag[static_cast<std::size_t>(low)]) ++low;
  std::vector<complex> roots(static_cast<std::size_t>(low), 0.0);
  const auto r = poly_roots(std::vector<complex>(c.begin() + low, c.begin() + deg + 1));
  roots.insert(roots.end(), r.begin(), r.end());
  return roots;
}

std::vector<DispersionBranch> numeric_branches(const std::vector<OperatorTerm>& terms) {
  validate_terms(terms);
  int order = 0;
  for (const auto& t : terms) order = std::max(order, t.time_order);
  std::vector<DispersionBranch> branches;
  for (int j = 0; j < order; ++j) {
    branches.push_back({"root " + std::to_string(j + 1), [terms, j](double k) -> complex {
                          const auto roots = dispersion_roots(terms, k);
                          // Fewer roots where the leading coefficient vanishes at this k.
                          if (static_cast<std::size_t>(j) >= roots.size())
                            return {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::quiet_NaN()};
                          return roots[static_cast<std::size_t>(j)];
                        }});
  }
  return branches;
}

namespace {

class CustomPde final : public PdeModule {
 public:
  explicit CustomPde(const std::string& expr)
      : PdeModule("custom", {}), terms_(parse_operator(expr)), text_(format_terms(terms_)) {}

  std::string equation() const override { return text_ + " = 0"; }
  std::vector<OperatorTerm> operator_terms() const override { return terms_; }
  std::vector<DispersionBranch> dispersion() const override { return numeric_branches(terms_); }
  DensityFlowForm density_flow_form() const override {
    if (first_order()) return {"phi", "from the flux of the subordinated kernel", "0"};
    return {"the decaying branch's normalised density", "from the flux of the subordinated kernel", "0"};
  }
  // First order in t: one branch, and the point-source density is exp(-i omega(k) t) itself.
  complex green_hat(double k, double t) const override {
    if (!first_order()) return PdeModule::green_hat(k, t);
    return std::exp(complex(0.0, -1.0) * dispersion_roots(terms_, k).front() * t);
  }
  // C1 through the subordination route: a Bernstein f makes the normalised kernel exp(-t f(k^2))
  // a Gaussian scale mixture, positive in every N. Otherwise, first order in t, the 1D marginal
  // of the kernel is measured (negative lobes there mean negative values in every N).
  ConditionVerdict c1(int) const override {
    const SubordinatorRoute route = subordinator_route(*this);
    if (route.f) return {Verdict::yes, "p >= 0 in every N: " + route.reason, ""};
    if (first_order()) {
      const double rel = min_relative_kernel_1d(*this);
      if (rel < -1e-7)
        return {Verdict::no,
                fmt::format("the kernel has negative lobes: 1D marginal min p/max p = {:.4g} at t = 1, so p < 0 in every N ({})",
                            rel, route.reason),
                ""};
    }
    return {Verdict::conditional, "C1 is not established for this custom PDE: " + route.reason,
            "C1 unknown: the kernel is not a Gaussian scale mixture (" + route.reason + ")"};
  }
  std::unique_ptr<GenerativeProcess> generative(int dim) const override {
    const SubordinatorRoute route = subordinator_route(*this);
    if (!route.f) throw NotSupported("the subordination route does not apply: " + route.reason);
    return make_subordinated_process(dim, *route.f);
  }

 private:
  bool first_order() const {
    int order = 0;
    for (const auto& t : terms_) order = std::max(order, t.time_order);
    return order == 1;
  }

  std::vector<OperatorTerm> terms_;
  std::string text_;
};

}  // namespace

std::unique_ptr<PdeModule> make_custom_module(const std::string& expr) {
  return std::make_unique<CustomPde>(expr);
}

}  // namespace genphys
