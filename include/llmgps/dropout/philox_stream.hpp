#pragma once
// Philox4x32-R over a run of consecutive counters, the workhorse of CPU mask generation: a
// scalar path, an AVX2 path (8 counters per vector) and an AVX-512F path (16), the widest the CPU
// has chosen at run time (the binary stays portable). All are bit-exact with philox::generate.
#include <cstddef>
#include <cstdint>

#include "llmgps/dropout/philox.hpp"

namespace llmgps::philox {

enum class Impl { scalar, avx2, avx512, best };

bool avx2_available();
bool avx512_available();
const char* impl_name(Impl i);
// The path a request runs on this CPU: `best` is the widest available; a path the CPU lacks
// falls back to the next narrower one.
Impl resolve(Impl want);

// out[4 * i + w] = word w of Philox(start + i, key), i = 0 .. n - 1 (128-bit counter, first word
// lowest, with carry), on the path resolve(impl) names.
void generate_stream(Counter start, Key key, int rounds, std::size_t n, std::uint32_t* out,
                     Impl impl = Impl::best);

}  // namespace llmgps::philox
