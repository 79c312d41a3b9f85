#pragma once
// Philox4x32-R (Salmon et al., SC11), one header for C++ and CUDA: the CPU reference, the CPU mask
// generator and the CUDA kernels share this exact algorithm. Bit-exact with Random123's
// philox4x32_R for any round count R (tests/philox_test.cpp checks R = 7 and 10).
#include <cstdint>

#if defined(__CUDACC__)
#define LLMGPS_HD __host__ __device__ __forceinline__
#else
#define LLMGPS_HD inline
#endif

namespace llmgps::philox {

struct Counter {
  std::uint32_t v[4];
};
struct Key {
  std::uint32_t v[2];
};

inline constexpr std::uint32_t kM0 = 0xD2511F53u;  // multiplier for words 0/1
inline constexpr std::uint32_t kM1 = 0xCD9E8D57u;  // multiplier for words 2/3
inline constexpr std::uint32_t kW0 = 0x9E3779B9u;  // key bump (golden ratio)
inline constexpr std::uint32_t kW1 = 0xBB67AE85u;  // key bump (sqrt(3) - 1)

LLMGPS_HD std::uint32_t mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
#if defined(__CUDA_ARCH__)
  // The device's own 32-bit high and low multiplies (as Random123 does): written as a 64-bit
  // product, NVVM keeps the counter words in 64-bit registers and emits 64-bit XORs and shifts.
  *hi = __umulhi(a, b);
  return a * b;
#else
  const std::uint64_t p = std::uint64_t(a) * std::uint64_t(b);
  *hi = std::uint32_t(p >> 32);
  return std::uint32_t(p);
#endif
}

// One round: (c0,c1,c2,c3) -> (hi(M1*c2)^c1^k0, lo(M1*c2), hi(M0*c0)^c3^k1, lo(M0*c0)).
LLMGPS_HD Counter round(Counter c, Key k) {
  std::uint32_t hi0, hi1;
  const std::uint32_t lo0 = mulhilo(kM0, c.v[0], &hi0);
  const std::uint32_t lo1 = mulhilo(kM1, c.v[2], &hi1);
  return Counter{{hi1 ^ c.v[1] ^ k.v[0], lo1, hi0 ^ c.v[3] ^ k.v[1], lo0}};
}

// Philox4x32 with `rounds` rounds; the key is bumped between rounds (not before the first).
LLMGPS_HD Counter generate(Counter c, Key k, int rounds) {
  for (int r = 0; r < rounds; ++r) {
    if (r > 0) {
      k.v[0] += kW0;
      k.v[1] += kW1;
    }
    c = round(c, k);
  }
  return c;
}

// Adds `n` to a 128-bit counter whose first word is the lowest, with carry.
LLMGPS_HD Counter add(Counter c, std::uint64_t n) {
  std::uint64_t carry = n;
  for (int i = 0; i < 4 && carry != 0; ++i) {
    const std::uint64_t s = std::uint64_t(c.v[i]) + (carry & 0xFFFFFFFFu);
    c.v[i] = std::uint32_t(s);
    carry = (carry >> 32) + (s >> 32);
  }
  return c;
}

}  // namespace llmgps::philox
