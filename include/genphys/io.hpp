#pragma once
// Output files are written atomically (temp file + rename): a failed write never leaves a partial
// file or clobbers the previous one. What is not a regular file is never replaced.
#include <string>

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

}  // namespace genphys
