#pragma once
#include <array>
#include <cstdint>
#include <limits>

namespace genphys {

/// SplitMix64 finaliser: decorrelates nearby seeds.
inline std::uint64_t mix_seed(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/// The random engine used everywhere: xoshiro256** (Blackman & Vigna), a 64-bit generator with
/// 2^256 - 1 period that passes BigCrush. Every sample owns its own stream (see sample_rng), so a
/// result never depends on how samples are batched; seeding is four SplitMix64 steps, so a stream
/// per draw costs nanoseconds where std::mt19937_64's 312-word state cost about 2 us.
/// Meets UniformRandomBitGenerator, so std:: distributions accept it too.
class Rng {
 public:
  using result_type = std::uint64_t;

  /// The state is filled from SplitMix64 steps of `seed`, as the authors recommend; it is never
  /// all zero.
  explicit Rng(std::uint64_t seed) {
    for (auto& word : s_) {
      word = mix_seed(seed);
      seed += 0x9e3779b97f4a7c15ULL;
    }
  }
  /// A given state (not all zero), for checking against the reference sequence.
  explicit Rng(const std::array<std::uint64_t, 4>& state) : s_(state) {}

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  friend bool operator==(const Rng& a, const Rng& b) { return a.s_ == b.s_; }
  friend bool operator!=(const Rng& a, const Rng& b) { return !(a == b); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<std::uint64_t, 4> s_{};
};

/// The stream of sample `index` under global seed `seed`.
inline Rng sample_rng(std::uint64_t seed, std::uint64_t index) {
  return Rng(mix_seed(mix_seed(seed) ^ mix_seed(index + 0x632be59bd9b4e019ULL)));
}

}  // namespace genphys
