#pragma once
// GEMM cost on one GPU, tile- and wave-level: C[m,n] = A[m,k] * B[k,n], `batch` independent copies.
// For each candidate CTA tile (and split-K factor) the model counts waves of tiles over the SMs,
// times each wave by tensor throughput, bounds the whole by HBM and L2 traffic, adds launch
// overhead, and keeps the fastest candidate, as a library heuristic would.
#include <cstdint>
#include <vector>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t batch = 1;
  DType dtype = DType::fp16;
};

// Grouped GEMM: the MoE layer's kernel. One launch computes C_g[m_g, n] = A_g[m_g, k] B_g[k, n] for
// every group g (expert), tiles of all groups sharing the SMs. Contiguous layout: the groups' rows
// are concatenated, each group padded to the kernel's M block (DeepGEMM's prefill layout). Masked
// layout: every group has a fixed capacity of rows of which only the first m_g are valid, and
// blocks past m_g are skipped (DeepGEMM's decode layout, for CUDA graphs). A group with no rows
// reads no weights.
enum class GroupedLayout { contiguous, masked };
const char* grouped_layout_name(GroupedLayout l);

struct GroupedGemmShape {
  std::vector<std::int64_t> rows;  // m_g per group (0 allowed)
  std::int64_t n = 0, k = 0;
  DType dtype = DType::fp8;
  GroupedLayout layout = GroupedLayout::contiguous;
  // `groups` groups of `m` rows each.
  static GroupedGemmShape uniform(std::int64_t groups, std::int64_t m, std::int64_t n,
                                  std::int64_t k, DType d,
                                  GroupedLayout layout = GroupedLayout::contiguous);
};

struct GemmCost : OpCost {
  int tile_m = 0, tile_n = 0;
  int split_k = 1;  // 0: stream-K
  int ctas_per_sm = 1;
  double waves = 0;
  double clock_hz = 0;  // the clock the kernel sustains (below boost when power-limited)
};

// Throws InputError if a dimension is not positive or the GPU lacks the format.
GemmCost gemm_cost(const GpuSpec& gpu, const GemmShape& shape);
// Throws InputError if n or k is not positive, a row count is negative, or no group has rows.
GemmCost grouped_gemm_cost(const GpuSpec& gpu, const GroupedGemmShape& shape);

}  // namespace llmgps
