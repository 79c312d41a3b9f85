#pragma once
// Renders cost-model answers and step estimates as JSON, a terminal table, or CSV.
#include <nlohmann/json.hpp>
#include <string>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/schedule/estimate.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"
#include "llmgps/workload/memory.hpp"

namespace llmgps::report {

nlohmann::ordered_json op_cost_json(const OpCost& c);
nlohmann::ordered_json gemm_json(const GemmShape& s, const GemmCost& c, const GpuSpec& gpu);
nlohmann::ordered_json attention_json(const AttentionShape& s, const AttentionCost& c,
                                      const GpuSpec& gpu);
// A key/value table for a single answer (cost commands).
std::string kv_table(const nlohmann::ordered_json& j);

nlohmann::ordered_json model_json(const ModelSpec& m);

// A step's time by binding resource, every resource of binding_resources() present (0 where no
// op binds there).
nlohmann::ordered_json time_by_bound_json(const StepEstimate& e);
nlohmann::ordered_json estimate_json(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                                     const StepConfig& cfg);
std::string estimate_table(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                           const StepConfig& cfg);
// The columns every estimate CSV (per op, serve) carries after the step's shape, and their cells:
// dtype, tp, dp, ep, layout, cuda_graphs.
const std::vector<std::string>& step_setup_columns();
std::vector<std::string> step_setup_cells(const StepPlan& plan, const ModelSpec& m,
                                          const StepConfig& cfg);
// One row per op with the step's configuration as columns (model, system, ..., layout).
std::string estimate_csv(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                         const StepConfig& cfg);

// A step's memory (workload/memory.hpp) as JSON, its limits under `max_seq_key`, and as the two
// lines tables end with: what one GPU holds against its budget, and the largest batch at
// `seq_label` `seq` and the largest `seq_label` at `batch`.
nlohmann::ordered_json memory_json(const MemoryUse& u, const MemoryLimits& l,
                                   const StepConfig& step, const std::string& warning,
                                   const char* max_seq_key = "max_seq");
// `also`: a condition both limits hold under (serving: " and output N").
std::string memory_lines(const MemoryUse& u, const MemoryLimits& l, const StepConfig& step,
                         const char* seq_label, std::int64_t seq, std::int64_t batch,
                         const std::string& also = "");

}  // namespace llmgps::report
