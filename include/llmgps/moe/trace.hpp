#pragma once
// Routing traces: which experts each token chose in each MoE layer, as recorded by a serving
// system. Read from JSON Lines, one record per (token, layer), in the shapes found in the wild:
//   {"layer", "token_idx"|"token_pos", "experts"|"topk_ids", ("gating_probs"|"topk_weights")?,
//    ("problem_id"|"req_id")?}
// plus optional {"type":"meta", "num_experts": E, "top_k": K, "layers_logged": [ids], ...} records
// (E and K taken from them; with layers_logged the file logs only those model layers, and the
// trace's layers are those, in increasing order: layer_ids maps them back).
// A record belongs to a forward pass: an explicit "step" or "pass" field names it; without one, a
// record whose (sequence, layer) already has that position or a later one in the current pass
// starts the next pass (vLLM's expert logger restarts token_idx at every forward pass and writes
// req_id "r1" throughout). Tokens are identified by (pass, sequence, position); a token may miss
// some layers (recorders drop records), which are then marked absent rather than invented.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llmgps::moe {

struct TraceToken {
  std::int32_t seq = 0;   // index of the sequence (problem_id / req_id, in order of appearance)
  std::int64_t pos = 0;   // position of the token in its sequence
  std::int32_t pass = 0;  // forward pass (in order of appearance)
};

struct RoutingTrace {
  std::string source;  // file name (for messages)
  int layers = 0;
  int experts = 0;
  int top_k = 0;
  std::vector<std::string> seq_names;  // problem_id / req_id as written
  std::vector<TraceToken> tokens;      // in order of first appearance
  int passes = 1;                      // forward passes
  std::size_t warmup_records = 0;      // leading warm-up records excluded (0: none or kept)
  // The model layer of each trace layer when the file logs only some (meta "layers_logged");
  // empty: trace layer l is model layer l and every layer is logged.
  std::vector<int> layer_ids;
  int layer_id(int l) const { return layer_ids.empty() ? l : layer_ids[std::size_t(l)]; }
  bool partial() const { return !layer_ids.empty(); }
  // routes[(t * layers + l) * top_k + j]: j-th expert of token t in layer l; -1 = no record.
  std::vector<std::int16_t> routes;

  std::size_t num_tokens() const { return tokens.size(); }
  const std::int16_t* route(std::size_t t, int layer) const {
    return routes.data() + (t * std::size_t(layers) + std::size_t(layer)) * std::size_t(top_k);
  }
  bool has(std::size_t t, int layer) const { return route(t, layer)[0] >= 0; }
  std::size_t records() const;  // (token, layer) pairs present
};

struct TraceLoadOptions {
  int num_experts = 0;       // 0: from a meta record, else the largest id seen + 1
  bool keep_warmup = false;  // keep a leading warm-up run (see kWarmupMinRecords)
};

// Warm-up: engines profile with dummy inputs before serving (and again when they capture CUDA
// graphs), and loggers record those passes: the vLLM logger file holds two runs of 8,192
// identical records, [43, 5, 7, 58] with equal weights. A run of at least this many consecutive
// records with the same layer and the same experts is warm-up and is excluded unless kept (by
// chance such a run is negligible: even top-2 of 8 repeats with probability 1/28 per record).
// Runs are consecutive in the file, as loggers that log one layer write them; a multi-layer
// logger interleaving layers would need the run per layer (not handled).
constexpr std::size_t kWarmupMinRecords = 32;

// Parse JSON Lines text. Throws InputError("FILE:LINE", reason) on a malformed line, a missing or
// mistyped field, an expert id out of range, inconsistent top-k, or a layer with no records.
RoutingTrace parse_trace(std::string_view text, const std::string& file,
                         const TraceLoadOptions& opt = {});
// Read and parse a file (InputError naming the file when it cannot be read).
RoutingTrace load_trace(const std::string& path, const TraceLoadOptions& opt = {});

// A contiguous range of tokens [begin, end) of a trace.
struct TokenRange {
  std::size_t begin = 0, end = 0;
};
// Consecutive batches of `batch_tokens` tokens (the last one may be shorter; 0 = one batch).
std::vector<TokenRange> batches_of(const RoutingTrace& tr, std::size_t batch_tokens);

// JSON Lines in the Mixtral record shape (req_id, token_idx, layer, experts), preceded by a
// {"type":"meta"} record with num_experts; parse_trace reads it back unchanged.
std::string trace_to_jsonl(const RoutingTrace& tr);

// The tokens of a range as a trace of their own (same layers, experts, top-k; warmup_records is
// the source file's).
RoutingTrace slice(const RoutingTrace& tr, TokenRange r, const std::string& source);

// counts[l][e]: selections of expert e in layer l over the token range.
std::vector<std::vector<double>> expert_counts(const RoutingTrace& tr, TokenRange r);
std::vector<std::vector<double>> expert_counts(const RoutingTrace& tr);

}  // namespace llmgps::moe
