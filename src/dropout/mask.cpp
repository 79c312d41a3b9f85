#include "llmgps/dropout/mask.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>

#include "llmgps/specs/error.hpp"
#include "llmgps/util/parallel.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define LLMGPS_X86 1
#endif

namespace llmgps::dropout {

std::int64_t keep_threshold(const DropoutRng& r) {
  if (!(r.p >= 0 && r.p < 1))
    throw InputError("dropout.p",
                     fmt::format("dropout probability must be in [0, 1) (got {})", r.p));
  if (r.bits != 8 && r.bits != 32)
    throw InputError("dropout.bits", fmt::format("must be 8 or 32 (got {})", r.bits));
  if (r.rounds < 1 || r.rounds > 64)
    throw InputError("dropout.rounds", fmt::format("must be in [1, 64] (got {})", r.rounds));
  return std::int64_t(std::floor((1.0 - r.p) * std::ldexp(1.0, r.bits) - 1.0));
}

void validate(const MaskShape& s, const DropoutRng& rng) {
  keep_threshold(rng);
  const std::pair<const char*, std::int64_t> dims[] = {{"mask.batch", s.batch},
                                                       {"mask.heads", s.heads},
                                                       {"mask.seq_q", s.seq_q},
                                                       {"mask.seq_k", s.seq_k}};
  for (const auto& [name, v] : dims)
    if (v <= 0) throw InputError(name, fmt::format("must be positive (got {})", v));
  const double n = double(s.batch) * double(s.heads) * double(s.seq_q) * double(s.seq_k);
  if (n > 4e12)
    throw InputError("mask.seq_q", fmt::format("mask of {:.3g} elements is too large", n));
}

namespace {

// Random words of calls [call0, call0 + calls) -> mask words (32 elements each).
void pack_scalar(const std::uint32_t* rnd, std::size_t calls, int bits, std::int64_t threshold,
                 std::uint32_t* out) {
  const std::size_t per_call = std::size_t(128 / bits);
  const std::size_t elements = calls * per_call;
  for (std::size_t w = 0; w < elements / 32; ++w) {
    std::uint32_t word = 0;
    for (std::size_t b = 0; b < 32; ++b) {
      const std::size_t e = w * 32 + b;
      std::uint32_t r;
      if (bits == 32)
        r = rnd[e];
      else
        r = (rnd[e / 4] >> (8 * (e % 4))) & 0xFFu;
      word |= std::uint32_t(std::int64_t(r) <= threshold) << b;
    }
    out[w] = word;
  }
}

#if LLMGPS_X86
// 8-bit: 32 random bytes (two calls) become one mask word: keep iff max(r, T) == T, movemask.
// 32-bit: 8 words per vector, unsigned compare through a sign flip, 4 vectors per mask word.
__attribute__((target("avx2"))) void pack_avx2(const std::uint32_t* rnd, std::size_t calls,
                                               int bits, std::int64_t threshold,
                                               std::uint32_t* out) {
  const std::size_t words = calls * std::size_t(128 / bits) / 32;
  if (threshold < 0) {  // p so close to 1 that no random value is kept
    std::fill(out, out + words, 0u);
    return;
  }
  if (bits == 8) {
    const __m256i t = _mm256_set1_epi8(char(std::uint8_t(threshold)));
    for (std::size_t w = 0; w < words; ++w) {
      const __m256i r = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rnd + 8 * w));
      const __m256i keep = _mm256_cmpeq_epi8(_mm256_max_epu8(r, t), t);
      out[w] = std::uint32_t(_mm256_movemask_epi8(keep));
    }
    return;
  }
  const __m256i flip = _mm256_set1_epi32(int(0x80000000u));
  const __m256i t = _mm256_xor_si256(_mm256_set1_epi32(int(std::uint32_t(threshold))), flip);
  for (std::size_t w = 0; w < words; ++w) {
    std::uint32_t word = 0;
    for (int q = 0; q < 4; ++q) {
      const __m256i r = _mm256_xor_si256(
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rnd + 32 * w + 8 * std::size_t(q))),
          flip);
      const __m256i drop = _mm256_cmpgt_epi32(r, t);
      word |= std::uint32_t(~_mm256_movemask_ps(_mm256_castsi256_ps(drop)) & 0xFF) << (8 * q);
    }
    out[w] = word;
  }
}
#endif

}  // namespace

void generate_mask_words(const MaskShape& s, const DropoutRng& rng, std::int64_t first_word,
                         std::int64_t last_word, std::uint32_t* out, philox::Impl impl) {
  const std::int64_t threshold = keep_threshold(rng);
  const int per_call = elements_per_call(rng.bits);
  const std::int64_t calls_per_word = 32 / per_call > 0 ? 32 / per_call : 1;
  const philox::Key key = key_of(rng.seed);
  constexpr std::int64_t kChunkWords = 256;
  std::vector<std::uint32_t> buf(std::size_t(kChunkWords * calls_per_word * 4));
  const bool simd = impl != philox::Impl::scalar && philox::avx2_available();
  for (std::int64_t w0 = first_word; w0 < last_word; w0 += kChunkWords) {
    const std::int64_t w1 = std::min(last_word, w0 + kChunkWords);
    const std::uint64_t call0 = std::uint64_t(w0 * calls_per_word);
    const std::size_t calls = std::size_t((w1 - w0) * calls_per_word);
    philox::generate_stream(counter_of(call0, rng.offset), key, rng.rounds, calls, buf.data(),
                            impl);
#if LLMGPS_X86
    if (simd) {
      pack_avx2(buf.data(), calls, rng.bits, threshold, out + (w0 - first_word));
      continue;
    }
#endif
    (void)simd;
    pack_scalar(buf.data(), calls, rng.bits, threshold, out + (w0 - first_word));
  }
  // Bits past the last element stay zero (the last word may be partial).
  const std::int64_t n = s.elements();
  if (last_word == s.words() && n % 32 != 0 && last_word > first_word)
    out[last_word - 1 - first_word] &= (1u << (n % 32)) - 1u;
}

std::vector<std::uint32_t> generate_mask(const MaskShape& s, const DropoutRng& rng, int threads,
                                         philox::Impl impl) {
  validate(s, rng);
  const std::int64_t words = s.words();
  std::vector<std::uint32_t> mask(std::size_t(words), 0u);
  int t = threads > 0 ? threads : util::hardware_threads();
  t = int(std::min<std::int64_t>(t, std::max<std::int64_t>(1, words / 4096)));
  util::parallel_for(t, t, [&](int i) {
    const std::int64_t a = words * i / t, b = words * (i + 1) / t;
    generate_mask_words(s, rng, a, b, mask.data() + a, impl);
  });
  return mask;
}

double keep_fraction(const std::vector<std::uint32_t>& m, std::int64_t elements) {
  std::int64_t kept = 0;
  for (std::uint32_t w : m) kept += std::popcount(w);
  return elements > 0 ? double(kept) / double(elements) : 0.0;
}

}  // namespace llmgps::dropout
