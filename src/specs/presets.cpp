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

std::string preset_list(const std::string& kind) {
  std::string names;
  for (const auto& n : preset_names(kind)) names += (names.empty() ? "" : ", ") + n;
  return names;
}

bool looks_like_path(const std::string& ref) {
  return ref.find('/') != std::string::npos ||
         (ref.size() > 5 && ref.compare(ref.size() - 5, 5, ".json") == 0);
}

}  // namespace llmgps::specs
