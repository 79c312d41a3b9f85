#pragma once
// `estimate` as a library call: a whole model's prefill or decode step on a system.
#include <string>

#include "llmgps/schedule/estimate.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::api {

struct EstimateRequest {
  std::string model;   // preset or config.json
  std::string system;  // system preset, system JSON, or a GPU (a one-GPU system)
  StepConfig step;
  void validate() const {}
};
struct EstimateResult {
  ModelSpec model;
  SystemSpec system;
  StepConfig step;
  StepEstimate estimate;
};
EstimateResult estimate(const EstimateRequest& r);

}  // namespace llmgps::api
