#include "engine/framed_file.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "genphys/errors.hpp"

namespace genphys::engine {

namespace {

constexpr std::size_t kSizeBytes = 8, kCrcBytes = 4;

void put_le(std::string& s, std::uint64_t v, std::size_t bytes) {
  for (std::size_t i = 0; i < bytes; ++i) s.push_back(char((v >> (8 * i)) & 0xff));
}
std::uint64_t get_le(const char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < bytes; ++i) v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

std::uint32_t crc_of(const char* data, std::size_t n) {
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = uInt(std::min<std::size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), chunk);
    data += chunk;
    n -= chunk;
  }
  return std::uint32_t(crc);
}

}  // namespace

std::string frame_payload(const std::string& magic, const std::string& payload) {
  std::string out = magic;
  out.reserve(magic.size() + kSizeBytes + kCrcBytes + payload.size());
  put_le(out, payload.size(), kSizeBytes);
  put_le(out, crc_of(payload.data(), payload.size()), kCrcBytes);
  out += payload;
  return out;
}

std::string read_whole_file(const std::string& path, const std::string& what) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw InputError(what + " " + path + " does not exist");
  if (std::filesystem::is_directory(path, ec)) throw InputError(what + " " + path + " is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot open " + what + " " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string unframe_payload(const std::string& bytes, const std::string& magic, const std::string& what,
                            const std::string& path) {
  const std::size_t header = magic.size() + kSizeBytes + kCrcBytes;
  if (bytes.size() < header || bytes.compare(0, magic.size(), magic) != 0)
    throw InputError(what + " " + path + " is not a genphys " + what + " (bad header)");
  const std::uint64_t size = get_le(bytes.data() + magic.size(), kSizeBytes);
  const auto crc = std::uint32_t(get_le(bytes.data() + magic.size() + kSizeBytes, kCrcBytes));
  if (bytes.size() - header < size)
    throw InputError(what + " " + path + " is truncated: " + std::to_string(bytes.size()) + " bytes of " +
                     std::to_string(size + header));
  if (bytes.size() - header > size) throw InputError(what + " " + path + " has trailing bytes (corrupt)");
  if (crc_of(bytes.data() + header, size) != crc) throw InputError(what + " " + path + " is corrupt (CRC mismatch)");
  return bytes.substr(header);
}

}  // namespace genphys::engine
