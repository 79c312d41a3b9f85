// libFuzzer target: hardware JSON (GPU, link and system files). Bad input must end in InputError.
#include <cstddef>
#include <cstdint>
#include <string>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)llmgps::specs::gpu_from_json(text, "fuzz.json");
  } catch (const llmgps::InputError&) {
  }
  try {
    (void)llmgps::specs::link_from_json(text, "fuzz.json");
  } catch (const llmgps::InputError&) {
  }
  try {
    (void)llmgps::specs::system_from_json(text, "fuzz.json");
  } catch (const llmgps::InputError&) {
  }
  return 0;
}
