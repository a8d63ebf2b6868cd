#pragma once
#include <stdexcept>
#include <string>
#include <utility>

namespace genphys {

/// Bad input from a user (unknown name, out-of-range parameter, malformed file).
/// The CLI prints the message as one line and exits with code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input named by the option it came from: the engine names its own field ("batch"), and the
/// CLI, which owns the flag spellings, prints it as the flag ("--batch must be >= 1").
class OptionError : public InputError {
 public:
  OptionError(std::string field, const std::string& message)
      : InputError(field + " " + message), field_(std::move(field)), message_(message) {}
  const std::string& field() const noexcept { return field_; }
  /// The message without the field's name.
  const std::string& message() const noexcept { return message_; }

 private:
  std::string field_;
  std::string message_;
};

/// `text` with line breaks and other control characters spelled \n, \r, \t, \xNN: a message that
/// quotes user input (an expression, a path) stays on one line.
inline std::string printable(const std::string& text) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7f) out += {'\\', 'x', hex[u >> 4], hex[u & 15]};
    else out += c;
  }
  return out;
}

/// A capability a module does not provide (no closed-form Green's function, no exact sampler...).
class NotSupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Another rank of a multi-process run was lost (died, hung past the timeout, unreachable). The
/// CLI prints it as one line and exits with code 1: the input was fine, the run was not.
class RankError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace genphys
