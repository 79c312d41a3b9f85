// libFuzzer target: routing-trace JSON Lines, then the statistics over what was read.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "llmgps/moe/trace.hpp"
#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto tr = llmgps::moe::parse_trace(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.jsonl");
    if (tr.layers <= 64 && tr.experts <= 1024) {
      (void)llmgps::moe::trace_stats(tr, 16);
      (void)llmgps::moe::layer_transitions(tr);
    }
  } catch (const llmgps::InputError&) {
  }
  return 0;
}
