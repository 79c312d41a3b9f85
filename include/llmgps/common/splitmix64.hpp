#pragma once
// splitmix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014):
// a tiny, fully specified generator. llmgps uses it wherever results must be identical on every
// platform and standard library (std's distributions are implementation-defined): synthetic
// traces, predictor initialisation, random attention problems in tests.
#include <cstdint>

namespace llmgps {

struct SplitMix64 {
  std::uint64_t state = 0;

  std::uint64_t next() {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return double(next() >> 11) * 0x1.0p-53; }
};

}  // namespace llmgps
