#include "genphys/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cctype>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "genphys/errors.hpp"

namespace genphys {

namespace fs = std::filesystem;

namespace {

[[noreturn]] void fail(const std::string& path, int err) {
  throw InputError("cannot write " + path + ": " + std::strerror(err ? err : EIO));
}

// Writes all of `content` to fd; returns 0 or the errno of the failure.
int write_all(int fd, const std::string& content) {
  const char* p = content.data();
  std::size_t left = content.size();
  while (left > 0) {
    const ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

// A symlink's final target (so that the target is replaced, not the link); other paths as given.
std::string resolve_links(const std::string& path) {
  fs::path p = path;
  std::error_code ec;
  for (int hops = 0; hops < 40 && fs::is_symlink(p, ec); ++hops) {
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) break;
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  return p.string();
}

}  // namespace

void check_writable(const std::string& path) {
  if (path.empty()) throw InputError("empty output path");
  if (path == "-") return;
  const std::string target = resolve_links(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw InputError("cannot write " + path + ": it is a directory");
    if (!S_ISREG(st.st_mode)) {  // a device or FIFO is written in place
      if (::access(target.c_str(), W_OK) != 0) fail(path, errno);
      return;
    }
  }
  const fs::path parent = fs::path(target).parent_path().empty() ? fs::path(".") : fs::path(target).parent_path();
  std::error_code ec;
  const fs::file_status status = fs::status(parent, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)  // e.g. a folder on the way that cannot be searched
    throw InputError("cannot write " + path + ": directory " + parent.string() + ": " + ec.message());
  if (!fs::exists(status))
    throw InputError("cannot write " + path + ": directory " + parent.string() + " does not exist");
  if (!fs::is_directory(status)) throw InputError("cannot write " + path + ": " + parent.string() + " is not a directory");
  if (::access(parent.c_str(), W_OK | X_OK) != 0) fail(path, errno);
}

namespace {

// One output on its way: either a flushed temp file beside its (regular) target, waiting to be
// renamed over it, or the bytes for a target written in place (standard output, a device, a FIFO).
struct Staged {
  std::string path;    // as given, for messages
  std::string target;  // symlinks resolved
  std::string tmp;     // the temp file; empty: written in place
  std::string content;
};

Staged stage(const std::string& path, std::string content) {
  check_writable(path);
  Staged s{path, path == "-" ? path : resolve_links(path), "", {}};
  struct stat st {};
  const bool exists = s.target != "-" && ::stat(s.target.c_str(), &st) == 0;
  if (s.target == "-" || (exists && !S_ISREG(st.st_mode))) {
    // Devices and FIFOs are written in place: replacing /dev/null by a regular file would destroy it.
    s.content = std::move(content);
    return s;
  }
  // Regular files: a temp file unique to this call beside the target, flushed to disk; renamed
  // over it by publish(). The new file keeps the old one's mode (or gets the umask's default).
  std::vector<char> tmp(s.target.begin(), s.target.end());
  const std::string suffix = ".tmp.XXXXXX";
  tmp.insert(tmp.end(), suffix.begin(), suffix.end());
  tmp.push_back('\0');
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) fail(path, errno);
  mode_t mode = st.st_mode & 07777;
  if (!exists) {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  int err = ::fchmod(fd, mode) == 0 ? 0 : errno;
  if (err == 0) err = write_all(fd, content);
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.data());
    fail(path, err);
  }
  s.tmp = tmp.data();
  return s;
}

void discard(const Staged& s) {
  if (!s.tmp.empty()) ::unlink(s.tmp.c_str());
}

// Writes an in-place output now; a staged temp file is renamed over its target.
void publish(const Staged& s) {
  if (s.target == "-") {
    if (std::fwrite(s.content.data(), 1, s.content.size(), stdout) != s.content.size() || std::fflush(stdout) != 0)
      throw InputError(std::string("cannot write to standard output: ") + std::strerror(errno ? errno : EIO));
    return;
  }
  if (s.tmp.empty()) {
    const int fd = ::open(s.target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(s.path, errno);
    int err = write_all(fd, s.content);
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) fail(s.path, err);
    return;
  }
  if (std::rename(s.tmp.c_str(), s.target.c_str()) != 0) {
    const int err = errno;
    discard(s);
    fail(s.path, err);
  }
}

bool is_png_name(const std::string& path) {
  const std::string ext = fs::path(path).extension().string();
  std::string lower;
  for (char c : ext) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == ".png";
}

}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  publish(stage(path, content));
}

void check_png_path(const std::string& path, const std::string& flag) {
  if (path == "-" || is_png_name(path)) return;
  const std::string target = resolve_links(path);
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return;  // a device or FIFO
  throw InputError(flag + " writes a PNG: '" + path + "' must end in .png");
}

void OutputSet::add(const std::string& path) {
  check_writable(path);
  const std::string target = path == "-" ? path : resolve_links(path);
  for (const auto& o : outputs_)
    if (o.target == target && target != "-")
      throw InputError("the same file " + path + " is given for two outputs");
  outputs_.push_back({path, target, std::nullopt});
}

OutputSet::Output& OutputSet::find(const std::string& path) {
  for (auto& o : outputs_)
    if (o.path == path && !o.content) return o;
  throw std::logic_error("OutputSet: output " + path + " was not added (or is already set)");
}

void OutputSet::set(const std::string& path, std::string content) { find(path).content = std::move(content); }

void OutputSet::set_from_file(const std::string& path, const std::function<void(const std::string&)>& write) {
  Output& o = find(path);
  // A private directory: the writer's file never shows up beside the target.
  std::string dir_template = (fs::temp_directory_path() / "genphys.XXXXXX").string();
  std::vector<char> dir(dir_template.begin(), dir_template.end());
  dir.push_back('\0');
  if (::mkdtemp(dir.data()) == nullptr) throw InputError(std::string("cannot create a temporary directory: ") + std::strerror(errno));
  const fs::path file = fs::path(dir.data()) / ("output" + fs::path(o.target).extension().string());
  auto cleanup = [&] {
    std::error_code ec;
    fs::remove_all(dir.data(), ec);
  };
  try {
    write(file.string());
    std::ifstream in(file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in.good() && !in.eof()) throw InputError("cannot read back the output for " + path);
    o.content = std::move(bytes);
  } catch (...) {
    cleanup();
    throw;
  }
  cleanup();
}

void OutputSet::commit() {
  std::vector<Staged> staged;
  try {
    for (const auto& o : outputs_) {
      if (!o.content) throw std::logic_error("OutputSet: nothing was set for " + o.path);
      staged.push_back(stage(o.path, *o.content));
    }
    // In-place outputs first, devices and FIFOs before standard output: if one fails, no file
    // is replaced.
    for (const bool to_stdout : {false, true})
      for (const auto& s : staged)
        if (s.tmp.empty() && (s.target == "-") == to_stdout) publish(s);
  } catch (...) {
    for (const auto& s : staged) discard(s);
    throw;
  }
  for (std::size_t i = 0; i < staged.size(); ++i) {
    if (!staged[i].tmp.empty()) {
      try {
        publish(staged[i]);
      } catch (...) {
        for (std::size_t j = i + 1; j < staged.size(); ++j) discard(staged[j]);
        throw;
      }
    }
  }
  outputs_.clear();
}

}  // namespace genphys
