#pragma once
// Philox4x32-R over a run of consecutive counters, the workhorse of CPU mask generation: a
// scalar path and an AVX2 path (8 counters per vector, selected at run time when the CPU has
// AVX2; the binary stays portable). Both are bit-exact with philox::generate.
#include <cstddef>
#include <cstdint>

#include "llmgps/dropout/philox.hpp"

namespace llmgps::philox {

enum class Impl { scalar, avx2, best };

bool avx2_available();
const char* impl_name(Impl i);

// out[4 * i + w] = word w of Philox(start + i, key), i = 0 .. n - 1 (128-bit counter, first word
// lowest, with carry). `Impl::best` picks AVX2 when available; asking for AVX2 on a CPU without
// it falls back to scalar.
void generate_stream(Counter start, Key key, int rounds, std::size_t n, std::uint32_t* out,
                     Impl impl = Impl::best);

}  // namespace llmgps::philox
