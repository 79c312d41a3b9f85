// libFuzzer target: Hugging Face config.json. Bad input must end in InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/model.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto m = llmgps::specs::model_from_json(
        std::string(reinterpret_cast<const char*>(data), size), "config.json", "fuzz");
    (void)m.params();
    (void)m.moe_layer_count();
  } catch (const llmgps::InputError&) {
  }
  return 0;
}
