#include "llmgps/api/specs.hpp"

namespace llmgps::api {

HwListResult hw_list() {
  return {specs::list_hw()};
}

HwShowResult hw_show(const HwShowRequest& r) {
  HwShowResult out;
  out.spec = nlohmann::ordered_json::parse(specs::hw_json_text(r.ref, out.kind));
  return out;
}

ModelListResult model_list() {
  ModelListResult out;
  for (const auto& name : specs::model_presets()) out.models.push_back(specs::load_model(name));
  return out;
}

ModelShowResult model_show(const ModelShowRequest& r) {
  return {specs::load_model(r.ref)};
}

}  // namespace llmgps::api
