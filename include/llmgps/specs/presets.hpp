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
// "a, b, c": the preset names of `kind`, for "unknown preset" messages.
std::string preset_list(const std::string& kind);
// A reference names a file (not a preset) if it has a slash or ends in .json.
bool looks_like_path(const std::string& ref);

}  // namespace llmgps::specs
