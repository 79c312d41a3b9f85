#pragma once
// Presets compiled in from data/hw and data/models (see cmake/EmbedPresets.cmake).
#include <string>
#include <vector>

namespace llmgps::specs {

struct EmbeddedPreset {
  const char* kind;  // "hw" or "models"
  const char* name;  // file name without .json
  const char* json;  // file contents
};

const std::vector<EmbeddedPreset>& embedded_presets();
// Returns the JSON text of preset `name` of `kind`, or nullptr.
const char* find_preset(const std::string& kind, const std::string& name);
std::vector<std::string> preset_names(const std::string& kind);

}  // namespace llmgps::specs
