// libFuzzer target: the loads JSON of `moe plan`, then both planners on what was read.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmgps/moe/loads_file.hpp"
#include "llmgps/specs/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto loads = llmgps::moe::parse_loads_json(
        std::string(reinterpret_cast<const char*>(data), size), "loads.json");
    const int experts = int(loads[0].size());
    if (loads.size() <= 64 && experts <= 512 && experts % 2 == 0) {
      (void)llmgps::moe::eplb_plan(loads, {experts + 2, 1, 1, 2, 1});
      (void)llmgps::moe::greedy_plan(loads, {2, experts / 2 + 1, 0, 1.0, {}});
    }
  } catch (const llmgps::InputError&) {
  }
  return 0;
}
