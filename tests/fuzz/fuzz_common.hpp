#pragma once
// Shared by the libFuzzer targets (make fuzz). The oracle: a reader handed any bytes either
// succeeds or throws InputError with a one-line message (the CLI prints it and exits 2). Anything
// else (another exception, a sanitizer report, a crash, a hang, memory beyond -rss_limit_mb)
// reaches libFuzzer, which saves the input as a crash.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "genphys/errors.hpp"

namespace genphys::fuzz {

/// A private folder for readers that take a path, removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "genphys-fuzz.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return std::filesystem::path(pattern);
  }();
  return dir;
}

/// Writes the bytes to `name` in the scratch folder; returns its path.
inline std::string scratch_file(const std::string& name, const void* data, std::size_t size) {
  const std::string path = (scratch_dir() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
  if (!out.flush()) {
    std::perror(path.c_str());
    std::abort();
  }
  return path;
}

[[noreturn]] inline void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz oracle: %s\n", what.c_str());
  std::abort();
}

/// Runs `read`; an InputError is the accepted refusal, provided its message is one line.
template <class Read>
void refused_cleanly(Read&& read) {
  try {
    read();
  } catch (const InputError& e) {
    if (std::strchr(e.what(), '\n') != nullptr) fail(std::string("message of more than one line: ") + e.what());
  }
}

}  // namespace genphys::fuzz
