#pragma once
// What a routing trace says about load imbalance: per-layer expert shares, skew as MoE-GPS
// defines it (tokens of the most popular expert / mean tokens per expert; 1 = balanced), entropy,
// the skew a serving batch of a given size sees, and layer-to-layer transition matrices.
#include <cstddef>
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
  int layer = 0;
  std::vector<double> shares;   // fraction of selections per expert (sums to 1)
  double skew = 1;              // over the whole trace
  double entropy_bits = 0;
  double batch_skew_mean = 1;   // mean over batches of batch_tokens tokens
  double batch_skew_max = 1;
};

struct TraceStats {
  int layers = 0, experts = 0, top_k = 0;
  std::size_t tokens = 0, records = 0, sequences = 0;
  std::size_t batch_tokens = 0, batches = 0;
  double skew_mean = 1;          // mean over layers of the whole-trace skew (the paper's figure)
  double batch_skew_mean = 1;    // mean over layers and batches
  double entropy_mean_bits = 0;
  std::vector<LayerStats> per_layer;
};

TraceStats trace_stats(const RoutingTrace& tr, std::size_t batch_tokens);

// transitions[l][i][j]: how often a token that chose expert i in layer l chose expert j in layer
// l + 1 (all top-k pairs counted), l = 0 .. layers - 2.
std::vector<std::vector<std::vector<double>>> layer_transitions(const RoutingTrace& tr);

}  // namespace llmgps::moe
