#pragma once
// Output files are written atomically (temp file + rename): a failed write never leaves a partial
// file or clobbers the previous one.
#include <string>

namespace genphys {

/// Writes `content` to `path` via "<path>.tmp.<pid>" and rename; throws InputError naming the path
/// and the reason when the directory is missing or not writable.
void write_file_atomic(const std::string& path, const std::string& content);

/// Throws InputError unless the directory that would hold `path` exists and is writable. Lets a
/// command refuse bad output paths before doing expensive work.
void check_writable(const std::string& path);

}  // namespace genphys
