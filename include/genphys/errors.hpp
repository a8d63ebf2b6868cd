#pragma once
#include <stdexcept>

namespace genphys {

/// Bad input from a user (unknown name, out-of-range parameter, malformed file).
/// The CLI prints the message as one line and exits with code 2.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A capability a module does not provide (no closed-form Green's function, no exact sampler...).
class NotSupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace genphys
