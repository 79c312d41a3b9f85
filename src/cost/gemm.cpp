#include "llmgps/cost/gemm.hpp"

#include <algorithm>
#include <array>
#include <cmath>

#include <fmt/format.h>

#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

struct Tile {
  int m, n;
};
// CTA tiles cuBLAS/CUTLASS kernels use for tensor-core GEMMs, largest first.
constexpr std::array<Tile, 7> kTiles{{{256, 128}, {128, 256}, {128, 128}, {128, 64}, {64, 128}, {64, 64}, {64, 32}}};
constexpr int kTileK = 64;    // K elements per pipeline stage
constexpr int kStages = 3;    // pipeline stages held in shared memory
constexpr double kRegsPerAccumulator = 1.5;  // accumulators plus addressing/fragments

double output_bytes(DType d) {
  // fp8 GEMMs write bf16 (the usual cuBLASLt configuration); others write their input format.
  return d == DType::fp8 ? 2.0 : dtype_bytes(d);
}

int ctas_per_sm(const GpuSpec& gpu, const Tile& t, double elem_bytes) {
  double regs = kRegsPerAccumulator * t.m * t.n;
  double smem = kStages * double(t.m + t.n) * kTileK * elem_bytes;
  int by_regs = int(gpu.registers_per_sm / regs);
  int by_smem = int(gpu.smem_per_sm_bytes / smem);
  return std::max(1, std::min({by_regs, by_smem, gpu.max_ctas_per_sm}));
}

}  // namespace

GemmCost gemm_cost(const GpuSpec& gpu, const GemmShape& s) {
  if (s.m <= 0) throw InputError("--m", "must be positive (got " + std::to_string(s.m) + ")");
  if (s.n <= 0) throw InputError("--n", "must be positive (got " + std::to_string(s.n) + ")");
  if (s.k <= 0) throw InputError("--k", "must be positive (got " + std::to_string(s.k) + ")");
  if (s.batch <= 0) throw InputError("--batch", "must be positive (got " + std::to_string(s.batch) + ")");
  if (!gpu.supports(s.dtype))
    throw InputError("--dtype", "GPU '" + gpu.name + "' has no " + std::string(dtype_name(s.dtype)) + " support");

  const double b = dtype_bytes(s.dtype);
  const double ob = output_bytes(s.dtype);
  const double m = double(s.m), n = double(s.n), k = double(s.k), batch = double(s.batch);
  const double flops = 2.0 * m * n * k * batch;
  // Per-SM tensor rate the main loop sustains.
  const double sm_rate = gpu.peak_flops(s.dtype) / gpu.sm_count * gpu.gemm_tensor_efficiency;
  const double tile_overhead_s = gpu.gemm_tile_overhead_cycles / gpu.clock_hz;
  const double hbm_rate = gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency;
  const double l2_rate = gpu.l2_bw_bytes_per_s * gpu.l2_efficiency;

  GemmCost best;
  best.time_s = INFINITY;
  for (const Tile& t : kTiles) {
    const double tiles_mn = std::ceil(m / t.m) * std::ceil(n / t.n) * batch;
    const int c = ctas_per_sm(gpu, t, b);
    const double slots = double(gpu.sm_count) * c;
    for (int split : {1, 2, 3, 4, 6, 8, 12, 16}) {
      // Split-K only pays when the tiles cannot fill the GPU and each split keeps a deep K loop.
      if (split > 1 && (tiles_mn * split > 2 * slots || k / split < 2 * kTileK)) continue;
      const double k_split = std::ceil(k / split / kTileK) * kTileK;
      const double tiles = tiles_mn * split;
      const double tile_s = 2.0 * t.m * t.n * k_split / sm_rate;  // one tile alone on an SM
      // Full waves run c tiles per SM sharing its tensor pipes; the last partial wave spreads
      // its tiles over the SMs, and the busiest SM sets the pace.
      const double full_waves = std::floor(tiles / slots);
      const double rest = tiles - full_waves * slots;
      double compute_s = full_waves * (c * tile_s + tile_overhead_s);
      if (rest > 0) compute_s += std::ceil(rest / gpu.sm_count) * tile_s + tile_overhead_s;

      double hbm = (m * k + k * n) * b * batch + m * n * ob * batch;
      if (split > 1) hbm += 2.0 * m * n * 4.0 * split * batch;  // fp32 partials written and reduced
      const double hbm_s = hbm / hbm_rate;
      const double l2 = tiles * double(t.m + t.n) * k_split * b / gpu.gemm_operand_sharing;
      const double l2_s = l2 / l2_rate;
      double body = std::max({compute_s, hbm_s, l2_s});
      // Split-K partials are reduced inside the same kernel (cuBLAS/CUTLASS serial split-K and
      // stream-K use a workspace and semaphores), so they cost traffic, not another launch.
      double time = gpu.launch_overhead_s + body;
      if (time < best.time_s) {
        best.time_s = time;
        best.flops = flops;
        best.hbm_bytes = hbm;
        best.tile_m = t.m;
        best.tile_n = t.n;
        best.split_k = split;
        best.ctas_per_sm = c;
        best.waves = tiles / slots;
        if (body < gpu.launch_overhead_s) best.bound = "launch";
        else if (body == compute_s) best.bound = s.dtype == DType::fp32 ? "fp32" : "tensor";
        else if (body == hbm_s) best.bound = "hbm";
        else best.bound = "l2";
      }
    }
  }
  best.detail = fmt::format("tile {}x{}, split-k {}, {:.2f} waves", best.tile_m, best.tile_n, best.split_k, best.waves);
  return best;
}

}  // namespace llmgps
