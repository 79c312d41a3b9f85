#include "llmgps/cost/gemm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "llmgps/common/fixed.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

struct Tile {
  int m, n;
};
// CTA tiles of tensor-core GEMM libraries. Ampere (mma.sync) kernels use power-of-two tiles;
// Hopper's wgmma takes any N that is a multiple of 8 up to 256, and library/DeepGEMM kernels ship
// N in steps of 16-32 (CUTLASS 3 sm90 tile shapes, DeepGEMM's block-N list), M of 64, 128 or 256
// (one or two consumer warpgroups of 64 rows each, BLOCK_M 256 only with N <= 128, else the fp32
// accumulators exceed the registers).
constexpr std::array<Tile, 8> kAmpereTiles{
    {{256, 128}, {128, 256}, {128, 128}, {128, 64}, {64, 128}, {64, 64}, {64, 32}, {32, 64}}};
std::vector<Tile> hopper_tiles() {
  std::vector<Tile> t;
  for (int n = 16; n <= 256; n += 16) {
    t.push_back({64, n});
    t.push_back({128, n});
    if (n <= 128) t.push_back({256, n});
  }
  return t;
}
constexpr std::size_t kMaxTiles = 64;
const std::vector<Tile>& tiles_for(const GpuSpec& gpu) {
  static const std::vector<Tile> ampere(kAmpereTiles.begin(), kAmpereTiles.end());
  static const std::vector<Tile> hopper = hopper_tiles();
  return gpu.sm_version >= 90 ? hopper : ampere;
}

constexpr int kTileK = 64;  // K elements per pipeline stage (16-bit; fp8 stages hold 128)
constexpr int kStages = 3;  // pipeline stages held in shared memory (at least)
constexpr double kRegsPerAccumulator = 1.5;  // accumulators plus addressing/fragments
constexpr double kPromotionK = 128;          // K between FP32 promotions of FP8 partial sums

double output_bytes(DType d) {
  // fp8 GEMMs write bf16 (the usual cuBLASLt and DeepGEMM configuration); others their input
  // format.
  return d == DType::fp8 ? 2.0 : dtype_bytes(d);
}

int ctas_per_sm(const GpuSpec& gpu, const Tile& t, double elem_bytes, bool persistent) {
  if (persistent) return 1;  // one CTA per SM walks the tiles
  double regs = kRegsPerAccumulator * t.m * t.n;
  double smem = kStages * double(t.m + t.n) * kTileK * elem_bytes;
  int by_regs = int(gpu.registers_per_sm / regs);
  int by_smem = int(gpu.smem_per_sm_bytes / smem);
  return std::max(1, std::min({by_regs, by_smem, gpu.max_ctas_per_sm}));
}

// Rows of the problem: (rows, how many groups or batch entries have that many).
using RowGroups = std::vector<std::pair<std::int64_t, std::int64_t>>;

struct Problem {
  RowGroups rows;
  std::int64_t n = 0, k = 0;
  DType dtype = DType::fp16;
  double flops = 0;
  double a_rows = 0;  // sum of rows over groups
  double groups_with_rows = 0;
};

// Cycles of one tile's main loop over `k_len` of K on one SM (the tile alone on its SM).
double mainloop_cycles(const GpuSpec& gpu, const Tile& t, double k_len, DType d) {
  const double per_clk =
      gpu.peak_flops(d) / (gpu.sm_count * gpu.clock_hz) * gpu.gemm_tensor_efficiency;
  const double mma = 2.0 * t.m * t.n * k_len / per_clk;
  // Operands of every K step pass through shared memory once per CTA (wgmma/ldmatrix).
  const double smem = double(t.m + t.n) * k_len * dtype_bytes(d) / gpu.smem_bytes_per_clk;
  double cycles = std::max(mma, smem);
  if (d == DType::fp8) {
    const double promote = double(t.m) * t.n * (k_len / kPromotionK) / gpu.fp32_fma_per_clk;
    cycles += (1.0 - gpu.gemm_fp8_promotion_hidden) * promote;
  }
  return cycles;
}

// Epilogue of one tile: the accumulators converted, staged through shared memory and stored.
double epilogue_cycles(const GpuSpec& gpu, const Tile& t, DType d) {
  return 2.0 * t.m * t.n * output_bytes(d) / gpu.smem_bytes_per_clk;
}

// What every tile and decomposition of one problem shares.
struct Context {
  double b = 0, ob = 0, n = 0, k = 0;  // operand and output bytes, N, K
  double hbm_rate = 0, l2_rate = 0, sms = 0;
  bool persistent = false;
  double hbm = 0;   // operand traffic (the same for every tile and decomposition)
  double full = 0;  // the clock under full tensor load
};

// One tile the search may try: its output tiles, its K loop's cycles per K element, and a floor
// under the time of every decomposition of it.
struct Candidate {
  std::size_t index;
  double tiles_mn, per_k_cycles, floor_s;
};

// The winning decomposition, kept light while searching (GemmCost carries strings).
struct Pick {
  double time_s = INFINITY, mem = 0, waves = 0, compute_s = 0, body = 0, hbm_s = 0;
  int split = 1, ctas = 1;
  std::size_t index = 0;
};

// The floor: the tile's K loop over all of K spread evenly over the SMs plus one fill and
// epilogue, its operand reads through L2 and HBM (splits only add). Sorted cheapest first; ties in
// list order, as an exhaustive search in list order would pick.
std::size_t tile_candidates(const GpuSpec& gpu, const Problem& p, const Context& cx,
                            std::array<Candidate, kMaxTiles>& order) {
  const std::vector<Tile>& all = tiles_for(gpu);
  std::size_t count = 0;
  for (std::size_t i = 0; i < all.size(); ++i) {
    const Tile& t = all[i];
    double tiles_mn = 0;
    for (const auto& [rows, groups] : p.rows)
      tiles_mn += std::ceil(double(rows) / t.m) * std::ceil(cx.n / t.n) * double(groups);
    if (tiles_mn <= 0) continue;
    const double per_k = mainloop_cycles(gpu, t, 1.0, p.dtype);  // the main loop is linear in K
    const double compute = (tiles_mn * per_k * cx.k / cx.sms + gpu.gemm_tile_overhead_cycles +
                            epilogue_cycles(gpu, t, p.dtype)) /
                           cx.full;
    const double l2 =
        tiles_mn * double(t.m + t.n) * cx.k * cx.b / gpu.gemm_operand_sharing / cx.l2_rate;
    order[count++] = {i, tiles_mn, per_k,
                      gpu.launch_overhead_s + std::max({compute, cx.hbm / cx.hbm_rate, l2})};
  }
  std::sort(order.begin(), order.begin() + std::ptrdiff_t(count),
            [](const Candidate& x, const Candidate& y) {
              return x.floor_s != y.floor_s ? x.floor_s < y.floor_s : x.index < y.index;
            });
  return count;
}

// The best split of one tile: split-K 1..16 or stream-K, whichever the kernel family allows.
Pick best_split(const GpuSpec& gpu, const Problem& p, const Context& cx, const Tile& t,
                const Candidate& cand) {
  const double b = cx.b, n = cx.n, k = cx.k, sms = cx.sms, full = cx.full;
  const bool persistent = cx.persistent;
  const double hbm = cx.hbm, hbm_rate = cx.hbm_rate, l2_rate = cx.l2_rate;
  const double tiles_mn = cand.tiles_mn;
  const int c = ctas_per_sm(gpu, t, b, persistent);
  const double slots = sms * c;
  const double epi = epilogue_cycles(gpu, t, p.dtype);
  const double fill = gpu.gemm_tile_overhead_cycles;
  Pick here;
  for (int split : {1, 2, 3, 4, 6, 8, 12, 16, 0}) {
    const bool stream_k = split == 0;
    if (stream_k && !(persistent && gpu.gemm_stream_k)) continue;
    // Split-K only pays when the tiles cannot fill the GPU and each split keeps a deep K loop.
    if (split > 1 && (tiles_mn * split > 2 * slots || k / split < 2 * kTileK)) continue;
    const int parts = stream_k ? 1 : split;
    const double k_split = std::ceil(k / parts / kTileK) * kTileK;
    const double tiles = tiles_mn * parts;
    const double tile_cyc = cand.per_k_cycles * k_split;
    double cycles = 0;
    double fixup_bytes =
        parts > 1 ? 2.0 * p.a_rows * n * 4.0 * parts : 0.0;  // fp32 partials written and reduced
    if (stream_k) {
      // Stream-K: the K iterations of all tiles are dealt out evenly; each SM finishes its
      // share, and tiles cut between SMs are fixed up through fp32 partials.
      const double iters = std::ceil(k / kTileK);
      const double per_iter = tile_cyc / std::max(1.0, std::ceil(k_split / kTileK));
      const double my_iters = std::ceil(tiles * iters / sms);
      const double my_tiles = std::ceil(tiles / sms) + 1;
      cycles =
          my_iters * per_iter + my_tiles * epi + (my_tiles - 1) * std::max(0.0, fill - epi) + fill;
      fixup_bytes = 2.0 * std::min(tiles, sms) * t.m * t.n * 4.0;
    } else if (persistent) {
      // One CTA per SM walks ceil(tiles / SMs) tiles; the producer prefetches the next tile
      // while the consumers store this one, so a tile's fill hides behind the previous
      // tile's epilogue as far as that lasts.
      const double mine = std::ceil(tiles / sms);
      cycles = mine * (tile_cyc + epi) + (mine - 1) * std::max(0.0, fill - epi) + fill;
    } else {
      // Full waves run c tiles per SM sharing its tensor pipes; the last partial wave spreads
      // its tiles over the SMs, and the busiest SM sets the pace.
      const double full_waves = std::floor(tiles / slots);
      const double rest = tiles - full_waves * slots;
      cycles = full_waves * (c * tile_cyc + fill + epi);
      if (rest > 0) cycles += std::ceil(rest / sms) * tile_cyc + fill + epi;
    }
    const double mem = hbm + fixup_bytes;
    const double hbm_s = mem / hbm_rate;
    const double l2 = tiles * double(t.m + t.n) * k_split * b / gpu.gemm_operand_sharing;
    const double l2_s = l2 / l2_rate;
    // The clock the kernel sustains (see GpuSpec::sustained_clock_hz): at the power limit, power
    // ~ tensor duty x f^3, so a kernel that would keep the tensor pipes busy at the full-load
    // clock runs there, and one bound by memory clocks up until its duty fills the memory time.
    // Its time is therefore max(cycles / full-load clock, memory time), never below the
    // boost-clock bound, and more bandwidth never makes it slower.
    const double compute_s = cycles / full;
    const double body = std::max({compute_s, hbm_s, l2_s});
    // Split-K partials are reduced inside the same kernel (cuBLAS/CUTLASS serial split-K and
    // stream-K use a workspace and semaphores), so they cost traffic, not another launch.
    const double time = gpu.launch_overhead_s + body;
    if (time < here.time_s) {
      here.time_s = time;
      here.mem = mem;
      here.waves = tiles / slots;
      here.compute_s = compute_s;
      here.body = body;
      here.hbm_s = hbm_s;
      here.split = stream_k ? 0 : split;
      here.ctas = c;
    }
  }
  return here;
}

GemmCost tiled_cost(const GpuSpec& gpu, const Problem& p) {
  Context cx;
  cx.b = dtype_bytes(p.dtype);
  cx.ob = output_bytes(p.dtype);
  cx.n = double(p.n);
  cx.k = double(p.k);
  cx.hbm_rate = gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency;
  cx.l2_rate = gpu.l2_bw_bytes_per_s * gpu.l2_efficiency;
  cx.persistent = gpu.gemm_persistent;
  cx.sms = double(gpu.sm_count);
  cx.hbm = (p.a_rows * cx.k + p.groups_with_rows * cx.k * cx.n) * cx.b + p.a_rows * cx.n * cx.ob;
  cx.full = gpu.sustained_clock_hz(p.dtype, 1.0);
  const std::vector<Tile>& all = tiles_for(gpu);

  std::array<Candidate, kMaxTiles> order;
  const std::size_t count = tile_candidates(gpu, p, cx, order);
  Pick best;
  best.index = all.size();
  for (std::size_t ci = 0; ci < count; ++ci) {
    const Candidate& cand = order[ci];
    if (cand.floor_s > best.time_s) break;  // no later tile can win
    Pick here = best_split(gpu, p, cx, all[cand.index], cand);
    if (here.time_s < best.time_s || (here.time_s == best.time_s && cand.index < best.index)) {
      best = here;
      best.index = cand.index;
    }
  }
  GemmCost out;
  out.time_s = best.time_s;
  out.flops = p.flops;
  out.hbm_bytes = best.mem;
  out.tile_m = all[best.index].m;
  out.tile_n = all[best.index].n;
  out.split_k = best.split;
  out.ctas_per_sm = best.ctas;
  out.waves = best.waves;
  out.clock_hz = std::min(gpu.clock_hz, cx.full * std::sqrt(best.body / best.compute_s));
  if (best.body < gpu.launch_overhead_s)
    out.bound = "launch";
  else if (best.body == best.compute_s)
    out.bound = p.dtype == DType::fp32 ? "fp32" : "tensor";
  else if (best.body == best.hbm_s)
    out.bound = "hbm";
  else
    out.bound = "l2";
  // One buffer for the detail (every estimate formats one per GEMM).
  std::string& d = out.detail;
  d.reserve(64);
  d += "tile ";
  d += std::to_string(out.tile_m);
  d += 'x';
  d += std::to_string(out.tile_n);
  d += out.split_k == 0 ? ", stream-k" : ", split-k ";
  if (out.split_k != 0) d += std::to_string(out.split_k);
  d += ", ";
  d += fixed(out.waves, 2);
  d += " waves, ";
  d += fixed(out.clock_hz / 1e9, 2);
  d += " GHz";
  return out;
}

void check_format(const GpuSpec& gpu, DType d) {
  if (!gpu.supports(d))
    throw InputError("gemm.dtype",
                     "GPU '" + gpu.name + "' has no " + std::string(dtype_name(d)) + " support");
}

}  // namespace

const char* grouped_layout_name(GroupedLayout l) {
  return l == GroupedLayout::masked ? "masked" : "contiguous";
}

GroupedGemmShape GroupedGemmShape::uniform(std::int64_t groups, std::int64_t m, std::int64_t n,
                                           std::int64_t k, DType d, GroupedLayout layout) {
  GroupedGemmShape s;
  if (groups > 0 && groups <= (1 << 24)) s.rows.assign(std::size_t(groups), m);
  s.n = n;
  s.k = k;
  s.dtype = d;
  s.layout = layout;
  return s;
}

GemmCost gemm_cost(const GpuSpec& gpu, const GemmShape& s) {
  if (s.m <= 0) throw InputError("gemm.m", "must be positive (got " + std::to_string(s.m) + ")");
  if (s.n <= 0) throw InputError("gemm.n", "must be positive (got " + std::to_string(s.n) + ")");
  if (s.k <= 0) throw InputError("gemm.k", "must be positive (got " + std::to_string(s.k) + ")");
  if (s.batch <= 0)
    throw InputError("gemm.batch", "must be positive (got " + std::to_string(s.batch) + ")");
  check_format(gpu, s.dtype);
  Problem p;
  p.rows = {{s.m, s.batch}};
  p.n = s.n;
  p.k = s.k;
  p.dtype = s.dtype;
  p.flops = 2.0 * double(s.m) * double(s.n) * double(s.k) * double(s.batch);
  p.a_rows = double(s.m) * double(s.batch);
  p.groups_with_rows = double(s.batch);
  return tiled_cost(gpu, p);
}

GemmCost grouped_gemm_cost(const GpuSpec& gpu, const GroupedGemmShape& s) {
  if (s.n <= 0)
    throw InputError("grouped_gemm.n", "must be positive (got " + std::to_string(s.n) + ")");
  if (s.k <= 0)
    throw InputError("grouped_gemm.k", "must be positive (got " + std::to_string(s.k) + ")");
  if (s.rows.empty()) throw InputError("grouped_gemm.groups", "must be positive");
  check_format(gpu, s.dtype);
  Problem p;
  p.n = s.n;
  p.k = s.k;
  p.dtype = s.dtype;
  std::vector<std::int64_t> rows = s.rows;
  std::sort(rows.begin(), rows.end());
  for (std::size_t i = 0; i < rows.size();) {
    if (rows[i] < 0) throw InputError("grouped_gemm.rows", "a group cannot have negative rows");
    std::size_t j = i;
    while (j < rows.size() && rows[j] == rows[i]) ++j;
    if (rows[i] > 0) p.rows.push_back({rows[i], std::int64_t(j - i)});
    p.a_rows += double(rows[i]) * double(j - i);
    if (rows[i] > 0) p.groups_with_rows += double(j - i);
    i = j;
  }
  if (p.rows.empty()) throw InputError("grouped_gemm.rows", "no group has rows");
  // Both layouts compute only the valid rows' blocks (contiguous pads each group to the M block,
  // which the tile count already does; masked skips the blocks past each group's count).
  p.flops = 2.0 * p.a_rows * double(s.n) * double(s.k);
  GemmCost c = tiled_cost(gpu, p);
  c.detail = fmt::format("{} groups ({} with rows), {}, {}", s.rows.size(), p.groups_with_rows,
                         grouped_layout_name(s.layout), c.detail);
  return c;
}

}  // namespace llmgps
