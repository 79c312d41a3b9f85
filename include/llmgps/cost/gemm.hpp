#pragma once
// GEMM cost on one GPU, tile- and wave-level: C[m,n] = A[m,k] * B[k,n], `batch` independent copies.
// For each candidate CTA tile (and split-K factor) the model counts waves of tiles over the SMs,
// times each wave by tensor throughput, bounds the whole by HBM and L2 traffic, adds launch
// overhead, and keeps the fastest candidate, as a library heuristic would.
#include <cstdint>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t batch = 1;
  DType dtype = DType::fp16;
};

struct GemmCost : OpCost {
  int tile_m = 0, tile_n = 0, split_k = 1, ctas_per_sm = 1;
  double waves = 0;
};

// Throws InputError if a dimension is not positive or the GPU lacks the format.
GemmCost gemm_cost(const GpuSpec& gpu, const GemmShape& shape);

}  // namespace llmgps
