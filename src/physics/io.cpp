#include "genphys/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
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
  if (!fs::exists(parent, ec))
    throw InputError("cannot write " + path + ": directory " + parent.string() + " does not exist");
  if (!fs::is_directory(parent, ec)) throw InputError("cannot write " + path + ": " + parent.string() + " is not a directory");
  if (::access(parent.c_str(), W_OK | X_OK) != 0) fail(path, errno);
}

void write_file_atomic(const std::string& path, const std::string& content) {
  check_writable(path);
  if (path == "-") {
    if (std::fwrite(content.data(), 1, content.size(), stdout) != content.size() || std::fflush(stdout) != 0)
      throw InputError(std::string("cannot write to standard output: ") + std::strerror(errno ? errno : EIO));
    return;
  }
  const std::string target = resolve_links(path);
  struct stat st {};
  const bool exists = ::stat(target.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {
    // Devices and FIFOs are written in place: replacing /dev/null by a regular file would destroy it.
    const int fd = ::open(target.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(path, errno);
    int err = write_all(fd, content);
    if (::close(fd) != 0 && err == 0) err = errno;
    if (err != 0) fail(path, err);
    return;
  }
  // Regular files: a temp file unique to this call beside the target, flushed to disk, then
  // renamed over it, so a failure never leaves a partial file or clobbers the previous one. The
  // new file keeps the old one's mode (or gets the umask's default for a new file).
  std::vector<char> tmp(target.begin(), target.end());
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
  if (err == 0 && std::rename(tmp.data(), target.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.data());
    fail(path, err);
  }
}

}  // namespace genphys
