#pragma once
// Output files are written atomically (temp file + rename): a failed write never leaves a partial
// file or clobbers the previous one. What is not a regular file is never replaced.
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace genphys {

/// Writes `content` to `path`:
///  - a regular file (or a new one): through a temp file unique to the call beside it, fsync'ed,
///    then renamed over it; the file keeps its mode (a new one gets 0666 less the umask);
///  - a symlink: its target is replaced as above, the link stays;
///  - a device or FIFO (/dev/null, /dev/stdout, a pipe): written in place, never replaced;
///  - "-": standard output, flushed and checked.
/// Throws InputError naming the path and the reason (missing or unwritable directory, a
/// directory as path, a failed write, e.g. a full disk).
void write_file_atomic(const std::string& path, const std::string& content);

/// Throws InputError unless `path` can be written as write_file_atomic would (its directory
/// exists and is writable; a device or FIFO is itself writable). Lets a command refuse bad output
/// paths before doing expensive work.
void check_writable(const std::string& path);

/// Throws InputError ("--plot writes a PNG: 'x.jpg' must end in .png") unless `path` ends in .png
/// (any case), is "-", or is a device or FIFO.
void check_png_path(const std::string& path, const std::string& flag);

/// The outputs of one command, all or nothing. add() each path before any work (it checks the
/// path as check_writable does, and refuses one file named for two outputs); set() the contents
/// as they are made; commit() at the end writes them with write_file_atomic's guarantees. commit
/// first stages every regular file as a flushed temp file beside it, then writes the in-place
/// outputs (devices and FIFOs, then standard output), and renames the temp files over their targets only
/// when all of that succeeded: a failure leaves every existing file as it was and no temp file.
class OutputSet {
 public:
  void add(const std::string& path);
  void set(const std::string& path, std::string content);
  /// For writers that take a path (plot::save_png): `write` writes to a private temporary file
  /// (with the target's extension), whose bytes become the content of `path`.
  void set_from_file(const std::string& path, const std::function<void(const std::string&)>& write);
  void commit();

 private:
  struct Output {
    std::string path, target;
    std::optional<std::string> content;
  };
  Output& find(const std::string& path);
  std::vector<Output> outputs_;
};

}  // namespace genphys
