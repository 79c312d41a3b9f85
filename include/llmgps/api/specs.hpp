#pragma once
// `hw list|show` and `model list|show` as library calls: the built-in presets and what a preset
// name or spec file resolves to.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::api {

struct HwListResult {
  std::vector<specs::HwEntry> entries;
};
HwListResult hw_list();

struct HwShowRequest {
  std::string ref;  // preset name or path to a GPU, link or system JSON file
};
struct HwShowResult {
  std::string kind;             // gpu, link or system
  nlohmann::ordered_json spec;  // the file as written, {"value", "source"} pairs included
};
HwShowResult hw_show(const HwShowRequest& r);

struct ModelListResult {
  std::vector<ModelSpec> models;  // in preset order
};
ModelListResult model_list();

struct ModelShowRequest {
  std::string ref;  // preset name or path to a Hugging Face config.json
};
struct ModelShowResult {
  ModelSpec model;
};
ModelShowResult model_show(const ModelShowRequest& r);

}  // namespace llmgps::api
