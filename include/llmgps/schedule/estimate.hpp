#pragma once
// A whole model's step on a system: the workload's ops, each costed by its model, run in order on
// every GPU's stream (all GPUs run the same op sequence under TP/EP with balanced routing).
#include <string>
#include <vector>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/model_error.hpp"
#include "llmgps/workload/step.hpp"

namespace llmgps {

// Cost of one op of a step (one occurrence).
OpCost cost_of(const Op& op, const SystemSpec& sys);
// The kernel class whose measured error an op carries (specs/model_error.hpp).
ErrorClass error_class_of(const Op& op);

struct OpEstimate {
  std::string name;
  std::string stage;
  int count = 1;
  OpCost each;        // one occurrence
  double time_s = 0;  // all occurrences
  double band_s = 0;  // all occurrences x the measured error of its class
};

struct StepEstimate {
  StepPlan plan;
  std::vector<OpEstimate> ops;
  double total_s = 0;
  // The model's own uncertainty: every op charged the median |error| of its kernel class on this
  // GPU (errors of one class taken as correlated, so they add): total_s +- band_s.
  double band_s = 0;
  ModelError model_error;
  double flops_per_gpu = 0;
  // Time by binding resource, for the summary ("where does the time go").
  std::vector<std::pair<std::string, double>> time_by_bound;

  double tokens_per_s() const { return total_s > 0 ? double(plan.tokens) / total_s : 0.0; }
  double tflops_per_gpu() const { return total_s > 0 ? flops_per_gpu / total_s / 1e12 : 0.0; }
};

StepEstimate estimate_step(const ModelSpec& model, const SystemSpec& sys, const StepConfig& cfg);
// Timeline of one layer-by-layer step on one GPU's stream, for Chrome-trace export.
std::string step_chrome_trace(const StepEstimate& est, const ModelSpec& model);

}  // namespace llmgps
