#include "llmgps/specs/presets.hpp"

namespace llmgps::specs {

const char* find_preset(const std::string& kind, const std::string& name) {
  for (const auto& p : embedded_presets())
    if (kind == p.kind && name == p.name) return p.json;
  return nullptr;
}

std::vector<std::string> preset_names(const std::string& kind) {
  std::vector<std::string> names;
  for (const auto& p : embedded_presets())
    if (kind == p.kind) names.emplace_back(p.name);
  return names;
}

}  // namespace llmgps::specs
