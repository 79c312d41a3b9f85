#pragma once
// What a routing trace says about load imbalance: per-layer expert shares, skew as MoE-GPS
// defines it (tokens of the most popular expert / mean tokens per expert; 1 = balanced), entropy,
// the skew a serving batch of a given size sees, and layer-to-layer transition matrices.
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "llmgps/moe/trace.hpp"

namespace llmgps::moe {

// max / mean of the counts (1 for an all-zero vector: nothing to be imbalanced).
double skew_of(const std::vector<double>& counts);
// Shannon entropy in bits of the normalised counts.
double entropy_bits(const std::vector<double>& counts);
// counts / sum (uniform for an all-zero vector).
std::vector<double> shares_of(const std::vector<double>& counts);

struct LayerStats {
  int layer = 0;               // the model layer (trace layer l, or layers_logged[l])
  std::vector<double> shares;  // fraction of selections per expert (sums to 1)
  double skew = 1;             // over the whole trace
  double entropy_bits = 0;
  // Per-batch skew: each layer's records in token order cut into batches of batch_tokens records
  // (the last one partial); the streaming reader computes the same.
  double batch_skew_mean = 1;  // mean over the layer's batches
  double batch_skew_max = 1;
};

struct TraceStats {
  int layers = 0, experts = 0, top_k = 0;
  std::size_t tokens = 0, records = 0, sequences = 0;
  std::size_t warmup_records = 0;  // leading warm-up records excluded (trace.hpp)
  std::vector<int> layers_logged;  // the model layers a partial trace logs (empty: all)
  std::size_t batch_tokens = 0, batches = 0;
  double skew_mean = 1;        // mean over layers of the whole-trace skew (the paper's figure)
  double batch_skew_mean = 1;  // mean over layers and batches
  double entropy_mean_bits = 0;
  std::vector<LayerStats> per_layer;
};

TraceStats trace_stats(const RoutingTrace& tr, std::size_t batch_tokens);

// The experts a batch really activates, measured on a trace: the trace cut into consecutive
// batches of batch_tokens tokens, experts placed experts/gpus per GPU in id order, every (batch,
// layer) with records counted once. The exact counterpart of expected_activation's closed form
// (llmgps/workload/expert_activation.hpp), which assumes uniform routing. Throws InputError
// unless gpus divides the trace's experts and batch_tokens >= 1.
struct TraceActivation {
  double active_per_gpu = 0;     // mean active experts on one GPU
  double busiest_active = 0;     // mean over (batch, layer) of the busiest GPU's active experts
  double tokens_per_active = 0;  // mean tokens an active expert receives
  std::size_t samples = 0;       // (batch, layer) pairs counted
};
TraceActivation trace_activation(const RoutingTrace& tr, int gpus, std::size_t batch_tokens);

// Statistics of a routing trace too large to hold: records are read in chunks and only counts
// are kept (memory grows with layers x experts and the number of distinct sequence names, not with
// the trace). Differences from trace_stats: tokens = the largest record count of any layer (every
// token has one record per layer, a few may be missing), and a batch is `batch_tokens` consecutive
// records of a layer in file order (the same batches when records follow token order).
class TraceStatsStream {
 public:
  TraceStatsStream(std::string file, std::size_t batch_tokens, const TraceLoadOptions& opt = {});
  ~TraceStatsStream();
  TraceStatsStream(const TraceStatsStream&) = delete;
  TraceStatsStream& operator=(const TraceStatsStream&) = delete;
  void feed(const char* data, std::size_t size);  // any split of the text, lines may straddle calls
  TraceStats finish();                            // InputError like parse_trace on bad input
  std::size_t bytes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};
TraceStats stream_trace_stats(const std::string& path, std::size_t batch_tokens,
                              const TraceLoadOptions& opt = {});

// transitions[l][i][j]: how often a token that chose expert i in layer l chose expert j in layer
// l + 1 (all top-k pairs counted), l = 0 .. layers - 2.
std::vector<std::vector<std::vector<double>>> layer_transitions(const RoutingTrace& tr);

}  // namespace llmgps::moe
