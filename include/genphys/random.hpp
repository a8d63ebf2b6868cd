#pragma once
#include <cstdint>
#include <random>

namespace genphys {

/// The random engine used everywhere. Every sample owns its own stream (see sample_rng), so a
/// result never depends on how samples are batched.
using Rng = std::mt19937_64;

/// SplitMix64 finaliser: decorrelates nearby seeds.
inline std::uint64_t mix_seed(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The stream of sample `index` under global seed `seed`.
inline Rng sample_rng(std::uint64_t seed, std::uint64_t index) {
  return Rng(mix_seed(mix_seed(seed) ^ mix_seed(index + 0x632be59bd9b4e019ULL)));
}

}  // namespace genphys
