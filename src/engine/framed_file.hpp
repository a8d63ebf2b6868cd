#pragma once
// The integrity frame of genphys's own files (checkpoints, classifiers): a magic line, the
// payload's size (8 bytes LE) and CRC-32 (4 bytes LE), then the payload. A truncated, extended or
// flipped file is refused before anything in it is parsed. No LibTorch. Internal to the engine.

#include <string>

namespace genphys::engine {

/// magic + size + CRC + payload.
std::string frame_payload(const std::string& magic, const std::string& payload);

/// Reads `path` whole. InputError ("<what> <path> does not exist", "... is a directory", "cannot open").
std::string read_whole_file(const std::string& path, const std::string& what);

/// The payload of a framed file's bytes; InputError naming `what` and `path` when the magic, the
/// size or the CRC does not match.
std::string unframe_payload(const std::string& bytes, const std::string& magic, const std::string& what,
                            const std::string& path);

}  // namespace genphys::engine
