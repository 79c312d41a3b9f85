#pragma once
// `moe stats|synth|predict|plan|advise|map` as library calls: the MoE-GPS application. Errors
// name request fields ("ep.link_gbps", "advice.routing"); each request's validate() checks what
// needs no file.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "llmgps/moe/advisor.hpp"
#include "llmgps/moe/planner.hpp"
#include "llmgps/moe/predictor.hpp"
#include "llmgps/moe/synth_trace.hpp"
#include "llmgps/moe/trace.hpp"
#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/util/progress.hpp"

namespace llmgps::api {

struct StatsRequest {
  std::string trace;              // JSON Lines routing trace
  std::size_t batch_tokens = 64;  // tokens per batch for the per-batch skew (0: whole trace)
  int experts = 0;                // 0: from a meta record or the largest id + 1
  bool transitions = false;       // layer-to-layer transition matrices (in memory only)
  bool stream = false;            // read in chunks (traces larger than RAM)
  bool keep_warmup = false;       // keep a leading warm-up run (moe/trace.hpp)
  void validate() const;
};
struct StatsResult {
  moe::TraceStats stats;
  std::optional<std::vector<std::vector<std::vector<double>>>> transitions;
};
StatsResult moe_stats(const StatsRequest& r);

struct SynthRequest {
  moe::SynthConfig config;
  void validate() const {}
};
struct SynthResult {
  moe::RoutingTrace trace;
  // When a layer's measured skew misses its target by more than 10%: which, by how much and why
  // ("" otherwise).
  std::string warning;
};
SynthResult moe_synth(const SynthRequest& r);

struct PredictRequest {
  std::string train, test;  // traces: train every predictor on one, score on the other
  std::string groups;       // or grouped shares CSV: each group predicted from the others
  std::size_t batch_tokens = 64;
  bool keep_warmup = false;  // keep leading warm-up runs (moe/trace.hpp)
  void validate() const;
};
struct PredictResult {
  std::vector<moe::PredictorResult> results;
  std::string train, test;  // the groups file for both in groups mode
  std::size_t batch_tokens = 0;
  std::size_t train_warmup_records = 0, test_warmup_records = 0;  // excluded from each trace
};
PredictResult moe_predict(const PredictRequest& r);

struct PlanRequest {
  std::string trace, loads;  // exactly one of these: a routing trace, a JSON {"loads": [...]}
  std::optional<moe::LoadMatrix> load_matrix;  // file, or the matrix itself ([layer][expert])
  int gpus = 0, slots_per_gpu = 0;
  int nodes = 1, groups = 1;  // EPLB hierarchical
  std::string algo = "eplb";  // eplb or greedy
  int max_copies = 0;         // greedy: replicas per expert at most (0: no limit)
  bool keep_warmup = false;   // trace: keep leading warm-up runs
  std::string model;          // optional: the loads must have its MoE layers and experts
  void validate() const;
};
struct PlanResult {
  moe::ReplicaPlan plan;
  moe::LoadMatrix loads;
  std::string algo;
  std::size_t warmup_records = 0;  // trace: leading warm-up records excluded
  std::vector<int> layer_ids;      // the model layer of each plan row (a partial trace's); empty: l
  // EPLB's policy, as DeepSeek's rebalance_experts chooses it: "hierarchical" (groups to nodes,
  // replicas within each node) when the groups divide over the nodes, else "global" (groups and
  // nodes unused); empty for greedy.
  std::string eplb_policy;
  // With a model whose plan rows are its MoE layers only: the model's layers and which of them
  // are MoE (SGLang's plan has a row for every layer, the dense ones included).
  int model_layers = 0;
  std::vector<int> moe_layer_ids;
};
PlanResult moe_plan(const PlanRequest& r);

// The expert-parallel setup shared by advise and map.
struct EpRequest {
  std::string model, system;
  std::optional<double> link_gbps;  // override the intra-node link bandwidth, GB/s per direction
  std::int64_t batch = 1, seq = 512;
  // dtype "auto": fp8 for an FP8 checkpoint where the GPU has it, else bf16 (default_dtype).
  std::string phase = "prefill", dtype = "auto", layout = "vllm-tp", algo = "greedy-time";
  // auto: the built-in set measured on this model, else the closed form's own predictors.
  std::string error_model = "typical", predictors = "auto";
  std::string points;  // JSON file of measured Token-to-Expert predictors
  std::string expert_time = "roofline", error_cap = "on";
  int slots_per_gpu = 0, replan_every = 1;
  std::string replan_policy = "when-it-pays";
  std::size_t batch_tokens = 64;
  double memory_fraction = 0.9;  // share of GPU memory for weights, replicas, KV, activations
  bool strict = false;           // advise: memory that does not fit is an InputError
  bool cuda_graphs = false;      // the engine replays the step from CUDA graphs (StepConfig)
  util::ProgressFn progress;     // advise with a trace: (simulated batches, all of them)
  void validate() const;
};

struct AdviseRequest : EpRequest {
  std::optional<double> skew;  // exactly one routing input: skew, shares CSV or trace
  std::string shares, trace;
  std::string train;  // trace mode: train the predictors here (default: --trace's first half)
  bool keep_warmup = false;  // trace mode: keep leading warm-up runs
  void validate() const;
};
struct AdviseResult {
  moe::Advice advice;
  moe::AdviceContext context;
  // Trace mode: the closed form on the test trace's shares and the measured predictors.
  std::optional<moe::Advice> closed_form;
  moe::AdviceContext closed_form_context;
};
AdviseResult moe_advise(const AdviseRequest& r);

// Advice over every combination of phases, batches and sequence lengths, in one process
// (`moe advise --phases/--batches/--seqs`): phase-major, then batch, then seq; empty lists take
// the base request's value. Each point is what moe_advise gives for it.
struct AdviseSweepRequest {
  AdviseRequest base;
  std::vector<std::string> phases;
  std::vector<std::int64_t> batches, seqs;
  void validate() const;
};
struct AdviseSweepResult {
  std::vector<AdviseResult> points;  // each point's context names its phase, batch and seq
};
AdviseSweepResult moe_advise_sweep(const AdviseSweepRequest& r);

struct MapRequest : EpRequest {
  std::vector<double> skews, links;  // links: GB/s (empty: link_gbps)
  std::vector<double> batches;       // empty: batch
  void validate() const;
};
struct MapResult {
  std::vector<moe::MapCell> cells;  // batch-major, then link, then skew
  moe::AdviceContext context;
};
MapResult moe_map(const MapRequest& r);

}  // namespace llmgps::api
