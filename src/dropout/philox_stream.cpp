#include "llmgps/dropout/philox_stream.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMGPS_X86 1
#endif

namespace llmgps::philox {

namespace {

void stream_scalar(Counter c, Key k, int rounds, std::size_t n, std::uint32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const Counter r = generate(c, k, rounds);
    for (int w = 0; w < 4; ++w) out[4 * i + std::size_t(w)] = r.v[w];
    c = add(c, 1);
  }
}

#if LLMGPS_X86
// 8 lanes: lane j holds counter start + j. Products of 32-bit lanes by a constant: _mm256_mul_epu32
// multiplies the even lanes; shifting by 32 brings the odd lanes down for a second multiply.
__attribute__((target("avx2"))) inline void mulhilo8(__m256i a, __m256i m, __m256i& lo,
                                                     __m256i& hi) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

__attribute__((target("avx2"))) void stream_avx2(Counter c, Key k, int rounds, std::size_t n,
                                                 std::uint32_t* out) {
  const __m256i m0 = _mm256_set1_epi32(int(kM0)), m1 = _mm256_set1_epi32(int(kM1));
  const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(32) std::uint32_t lanes[4][8];
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i x0, x1, x2, x3;
    if (c.v[0] <=
        0xFFFFFFFFu - 7) {  // no carry out of the first word within these 8: the common case
      x0 = _mm256_add_epi32(_mm256_set1_epi32(int(c.v[0])), step);
      x1 = _mm256_set1_epi32(int(c.v[1]));
      x2 = _mm256_set1_epi32(int(c.v[2]));
      x3 = _mm256_set1_epi32(int(c.v[3]));
    } else {  // carries: build the 8 counters one by one
      Counter ci = c;
      for (int j = 0; j < 8; ++j) {
        for (int w = 0; w < 4; ++w) lanes[w][j] = ci.v[w];
        ci = add(ci, 1);
      }
      x0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[0]));
      x1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[1]));
      x2 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[2]));
      x3 = _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes[3]));
    }
    std::uint32_t k0 = k.v[0], k1 = k.v[1];
    for (int r = 0; r < rounds; ++r) {
      if (r > 0) k0 += kW0, k1 += kW1;
      __m256i lo0, hi0, lo1, hi1;
      mulhilo8(x0, m0, lo0, hi0);
      mulhilo8(x2, m1, lo1, hi1);
      const __m256i n0 = _mm256_xor_si256(_mm256_xor_si256(hi1, x1), _mm256_set1_epi32(int(k0)));
      const __m256i n2 = _mm256_xor_si256(_mm256_xor_si256(hi0, x3), _mm256_set1_epi32(int(k1)));
      x0 = n0;
      x1 = lo1;
      x2 = n2;
      x3 = lo0;
    }
    // Transpose 4 words x 8 counters into 8 consecutive 128-bit outputs.
    const __m256i t0 = _mm256_unpacklo_epi32(x0, x1), t1 = _mm256_unpackhi_epi32(x0, x1);
    const __m256i t2 = _mm256_unpacklo_epi32(x2, x3), t3 = _mm256_unpackhi_epi32(x2, x3);
    const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
    const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
    __m256i* o = reinterpret_cast<__m256i*>(out + 4 * i);
    _mm256_storeu_si256(o + 0, _mm256_permute2x128_si256(u0, u1, 0x20));
    _mm256_storeu_si256(o + 1, _mm256_permute2x128_si256(u2, u3, 0x20));
    _mm256_storeu_si256(o + 2, _mm256_permute2x128_si256(u0, u1, 0x31));
    _mm256_storeu_si256(o + 3, _mm256_permute2x128_si256(u2, u3, 0x31));
    c = add(c, 8);
  }
  stream_scalar(c, k, rounds, n - i, out + 4 * i);
}

// GCC 12's AVX-512 intrinsics start from _mm512_undefined_epi32() and trip -Wmaybe-uninitialized
// in its own headers (a known false positive); nothing here reads an undefined value.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// 16 lanes: the same rounds on 512-bit vectors (AVX-512F). _mm512_mul_epu32 multiplies the even
// lanes as the AVX2 path does; blends take a lane mask. Zen 4 runs each 512-bit operation as two
// 256-bit halves, so the gain over AVX2 there is fewer instructions issued, not wider units.
__attribute__((target("avx512f"))) inline void mulhilo16(__m512i a, __m512i m, __m512i& lo,
                                                         __m512i& hi) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

__attribute__((target("avx512f"))) void stream_avx512(Counter c, Key k, int rounds, std::size_t n,
                                                      std::uint32_t* out) {
  const __m512i m0 = _mm512_set1_epi32(int(kM0)), m1 = _mm512_set1_epi32(int(kM1));
  const __m512i step = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  alignas(64) std::uint32_t lanes[4][16];
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i x0, x1, x2, x3;
    if (c.v[0] <= 0xFFFFFFFFu - 15) {  // no carry out of the first word within these 16
      x0 = _mm512_add_epi32(_mm512_set1_epi32(int(c.v[0])), step);
      x1 = _mm512_set1_epi32(int(c.v[1]));
      x2 = _mm512_set1_epi32(int(c.v[2]));
      x3 = _mm512_set1_epi32(int(c.v[3]));
    } else {  // carries: build the 16 counters one by one
      Counter ci = c;
      for (int j = 0; j < 16; ++j) {
        for (int w = 0; w < 4; ++w) lanes[w][j] = ci.v[w];
        ci = add(ci, 1);
      }
      x0 = _mm512_load_si512(lanes[0]);
      x1 = _mm512_load_si512(lanes[1]);
      x2 = _mm512_load_si512(lanes[2]);
      x3 = _mm512_load_si512(lanes[3]);
    }
    std::uint32_t k0 = k.v[0], k1 = k.v[1];
    for (int r = 0; r < rounds; ++r) {
      if (r > 0) k0 += kW0, k1 += kW1;
      __m512i lo0, hi0, lo1, hi1;
      mulhilo16(x0, m0, lo0, hi0);
      mulhilo16(x2, m1, lo1, hi1);
      // Three-input XOR in one instruction (vpternlogd, truth table 0x96).
      const __m512i n0 = _mm512_ternarylogic_epi32(hi1, x1, _mm512_set1_epi32(int(k0)), 0x96);
      const __m512i n2 = _mm512_ternarylogic_epi32(hi0, x3, _mm512_set1_epi32(int(k1)), 0x96);
      x0 = n0;
      x1 = lo1;
      x2 = n2;
      x3 = lo0;
    }
    // Transpose 4 words x 16 counters into 16 consecutive 128-bit outputs: within each 128-bit
    // block b, u_j holds counter 4b + j; then a 4 x 4 transpose of 128-bit blocks.
    const __m512i t0 = _mm512_unpacklo_epi32(x0, x1), t1 = _mm512_unpackhi_epi32(x0, x1);
    const __m512i t2 = _mm512_unpacklo_epi32(x2, x3), t3 = _mm512_unpackhi_epi32(x2, x3);
    const __m512i u0 = _mm512_unpacklo_epi64(t0, t2), u1 = _mm512_unpackhi_epi64(t0, t2);
    const __m512i u2 = _mm512_unpacklo_epi64(t1, t3), u3 = _mm512_unpackhi_epi64(t1, t3);
    const __m512i v0 = _mm512_shuffle_i64x2(u0, u1, 0x44), v1 = _mm512_shuffle_i64x2(u0, u1, 0xEE);
    const __m512i v2 = _mm512_shuffle_i64x2(u2, u3, 0x44), v3 = _mm512_shuffle_i64x2(u2, u3, 0xEE);
    std::uint32_t* o = out + 4 * i;
    _mm512_storeu_si512(o + 0, _mm512_shuffle_i64x2(v0, v2, 0x88));
    _mm512_storeu_si512(o + 16, _mm512_shuffle_i64x2(v0, v2, 0xDD));
    _mm512_storeu_si512(o + 32, _mm512_shuffle_i64x2(v1, v3, 0x88));
    _mm512_storeu_si512(o + 48, _mm512_shuffle_i64x2(v1, v3, 0xDD));
    c = add(c, 16);
  }
  stream_avx2(c, k, rounds, n - i, out + 4 * i);  // AVX-512F CPUs have AVX2
}
#pragma GCC diagnostic pop
#endif

}  // namespace

bool avx512_available() {
#if LLMGPS_X86
  return __builtin_cpu_supports("avx512f");
#else
  return false;
#endif
}

bool avx2_available() {
#if LLMGPS_X86
  return __builtin_cpu_supports("avx2");
#else
  return false;
#endif
}

const char* impl_name(Impl i) {
  switch (i) {
    case Impl::scalar:
      return "scalar";
    case Impl::avx2:
      return "avx2";
    case Impl::avx512:
      return "avx512";
    case Impl::best:
      break;
  }
  return "best";
}

Impl resolve(Impl want) {
  if (want == Impl::scalar) return Impl::scalar;
  if ((want == Impl::best || want == Impl::avx512) && avx512_available()) return Impl::avx512;
  if (want != Impl::scalar && avx2_available()) return Impl::avx2;
  return Impl::scalar;
}

void generate_stream(Counter start, Key key, int rounds, std::size_t n, std::uint32_t* out,
                     Impl impl) {
#if LLMGPS_X86
  switch (resolve(impl)) {
    case Impl::avx512:
      return stream_avx512(start, key, rounds, n, out);
    case Impl::avx2:
      return stream_avx2(start, key, rounds, n, out);
    default:
      break;
  }
#endif
  (void)impl;
  stream_scalar(start, key, rounds, n, out);
}

}  // namespace llmgps::philox
