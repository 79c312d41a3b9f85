#pragma once
// `estimate` as a library call: a whole model's prefill or decode step on a system, or (serve) a
// batch of requests end to end; with the memory each GPU needs against its capacity.
#include <optional>
#include <string>
#include <vector>

#include "llmgps/schedule/estimate.hpp"
#include "llmgps/schedule/serve.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"
#include "llmgps/util/progress.hpp"
#include "llmgps/workload/memory.hpp"

namespace llmgps::api {

struct EstimateRequest {
  std::string model;   // preset or config.json
  std::string system;  // system preset, system JSON, or a GPU (a one-GPU system)
  StepConfig step;
  // Serve: TTFT and TPOT for `prompt` tokens in and `output` tokens out per sequence (step.phase
  // and step.seq are then ignored; prompt 0 takes step.seq).
  bool serve = false;
  std::int64_t prompt = 0;
  std::int64_t output = 0;
  bool strict = false;  // memory that does not fit is an InputError instead of a warning
  // "auto": default_dtype for the GPU (FP8 for an FP8 checkpoint where the GPU has it, else
  // BF16); another name sets step.dtype; empty keeps step.dtype as given.
  std::string dtype;
  void validate() const;
};
struct EstimateResult {
  ModelSpec model;
  SystemSpec system;
  StepConfig step;
  StepEstimate estimate;  // the step (serve: the prefill)
  std::optional<ServeEstimate> serve;
  // The fullest GPU's memory (serve: at the largest KV cache, the last decode step, or the
  // prefill if it needs more), the largest batch and context that fit, and the warning ("" when
  // it fits).
  MemoryUse memory;
  MemoryLimits limits;
  StepConfig memory_step;  // the step the memory figures are for
  std::string memory_warning;
};
EstimateResult estimate(const EstimateRequest& r);

// Estimates over every combination of lists, in one process (`estimate --models/--systems/
// --phases/--dtypes/--batches/--seqs`): model-major, then system, phase, dtype, batch, seq. An
// empty list takes the base request's value. Each point is what estimate() returns for it.
struct EstimateSweepRequest {
  EstimateRequest base;  // parallelism, layout, impl, memory fraction; dtype "auto" or a name
  std::vector<std::string> models, systems, phases, dtypes;
  std::vector<std::int64_t> batches, seqs;
  util::ProgressFn progress;  // (points done, points)
  void validate() const;
};
struct EstimateSweepResult {
  std::vector<EstimateResult> points;
};
EstimateSweepResult estimate_sweep(const EstimateSweepRequest& r);

}  // namespace llmgps::api
