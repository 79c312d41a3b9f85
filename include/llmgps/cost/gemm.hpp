#pragma once
// GEMM cost on one GPU, tile- and wave-level: C[m,n] = A[m,k] * B[k,n], `batch` independent copies.
// For each candidate CTA tile (and split-K factor) the model counts waves of tiles over the SMs,
// times each wave by tensor throughput, bounds the whole by HBM and L2 traffic, adds launch
// overhead, and keeps the fastest candidate, as a library heuristic would.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

// Resources per SM another kernel's CTAs hold while the GEMM runs (a co-resident RNG kernel):
// the GEMM may use only tiles whose CTAs leave this much room.
struct SmReserve {
  int threads = 0, registers = 0, smem_bytes = 0, ctas = 0;
};

struct GemmShape {
  std::int64_t m = 0, n = 0, k = 0;
  std::int64_t batch = 1;
  DType dtype = DType::fp16;
  std::string family = {};  // empty: every kernel family of the GPU (a library heuristic's pick)
  SmReserve reserve = {};   // room to leave on each SM (none by default)
};

// The kernel a GEMM was timed with: its family and tile, and that tile's CTA footprint.
struct GemmKernel {
  std::string family;
  int tile_m = 0, tile_n = 0;
  int threads_per_cta = 0;
  int producer_threads = 0;         // TMA producer warpgroup (0: none)
  int accumulator_threads = 0;      // threads sharing one tile's accumulators
  int accumulators_per_thread = 0;  // FP32 accumulator registers per such thread
  int registers_per_thread = 0;     // allocated at launch (setmaxnreg budgets averaged)
  int producer_registers = 0, consumer_registers = 0;  // the setmaxnreg split (0: none)
  int stages = 0;
  int smem_bytes = 0;
  int ctas_per_sm = 0;  // resident CTAs per SM (persistent kernels: 1)
};
// The footprint of a family's tile in a format; false when the family cannot build it (its
// accumulators do not fit the registers, or fewer stages than it needs fit in shared memory).
bool gemm_kernel_for(const GpuSpec& gpu, const GemmKernelFamily& family, int tile_m, int tile_n,
                     DType dtype, GemmKernel& out);

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
  GemmKernel kernel;
  // Fraction of the SMs' time during the kernel with no CTA of it resident (SMs beyond the grid,
  // and SMs whose CTAs finished before the busiest one): room for another kernel's CTAs.
  double free_sm_fraction = 0;
};

// Throws InputError if a dimension is not positive, the GPU lacks the format, or no kernel of the
// requested family fits beside the reserve.
GemmCost gemm_cost(const GpuSpec& gpu, const GemmShape& shape);
// Throws InputError if n or k is not positive, a row count is negative, or no group has rows.
GemmCost grouped_gemm_cost(const GpuSpec& gpu, const GroupedGemmShape& shape);

}  // namespace llmgps
