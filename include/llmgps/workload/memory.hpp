#pragma once
// What an inference engine keeps in one GPU's memory while it runs a step, against the GPU's
// capacity: the GPU's share of the weights under the step's layout, the KV cache of the sequences
// it serves, the step's transient activations, and any extra expert replicas an MoE plan adds.
// Figures are for the fullest GPU (the one holding the most experts).
//
// The budget is the GPU's memory times the engine's memory fraction (StepConfig), the share an
// engine gives to weights, KV cache and activations; the rest holds the CUDA context, library
// workspaces, communication buffers and fragmentation, which this model does not itemise.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/workload/step.hpp"

namespace llmgps {

struct MemoryUse {
  double weights_bytes = 0;      // layers' projections (attention and dense FFN by TP, experts by
                                 // EP), router, norms, embedding and LM head (vocab by TP)
  double replica_bytes = 0;      // extra expert replicas beyond the GPU's own, all MoE layers
  double copy_buffer_bytes = 0;  // staging for one MoE layer's replica weights while a new
                                 // plan's copies land (SGLang's and vLLM's EPLB rebalancing
                                 // move weights layer by layer through such a buffer)
  double kv_cache_bytes = 0;     // keys and values of the GPU's sequences over their whole context
  double activation_bytes = 0;   // peak transient: the residual stream plus the largest op's
                                 // inputs and outputs
  double capacity_bytes = 0;     // the GPU's memory (GpuSpec::memory_bytes)
  double budget_bytes = 0;       // capacity x memory fraction
  double total_bytes() const {
    return weights_bytes + replica_bytes + copy_buffer_bytes + kv_cache_bytes + activation_bytes;
  }
  bool fits() const { return total_bytes() <= budget_bytes; }
};

// The engine's memory fraction must be in (0, 1]: InputError "step.memory_fraction" otherwise.
void check_memory_fraction(double fraction);

// The fullest GPU's memory for `plan` (build_step's plan of cfg), with `extra_expert_slots` more
// expert slots per GPU than its own experts (one slot holds an expert in every MoE layer).
MemoryUse step_memory(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg,
                      const StepPlan& plan, int extra_expert_slots = 0);

// The largest batch and the largest context for which every step of `steps` (one or more steps of
// one workload: serving's prefill and its last decode step) fits the budget; 0 when not even one
// fits. The steps share the batch; their contexts move together (max_seq is the first step's, the
// others keep their distance to it). Searched up to 2^40.
struct MemoryLimits {
  std::int64_t max_batch = 0;
  std::int64_t max_seq = 0;
};
MemoryLimits memory_limits(const ModelSpec& m, const SystemSpec& sys,
                           const std::vector<StepConfig>& steps, int extra_expert_slots = 0);

// One line saying what does not fit and by how much ("" when it fits), for warnings.
// `cfg` is the step `use` is for; `context` names what max_seq limits ("seq", "prompt").
std::string memory_warning(const MemoryUse& use, const MemoryLimits& limits, const StepConfig& cfg,
                           const char* context = "seq");

}  // namespace llmgps
