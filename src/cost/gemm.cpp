#include "llmgps/cost/gemm.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <utility>
#include <vector>

#include "llmgps/common/fixed.hpp"
#include "llmgps/cost/sm_model.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

constexpr int kTileK = 64;           // K elements per split/stream-K unit of work
constexpr double kPromotionK = 128;  // K between FP32 promotions of FP8 partial sums

double output_bytes(DType d) {
  // fp8 GEMMs write bf16 (the usual cuBLASLt and DeepGEMM configuration); others their input
  // format.
  return d == DType::fp8 ? 2.0 : dtype_bytes(d);
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
double mainloop_cycles(const GpuSpec& gpu, const GemmKernel& t, double k_len, DType d) {
  const double per_clk =
      gpu.peak_flops(d) / (gpu.sm_count * gpu.clock_hz) * gpu.gemm_tensor_efficiency;
  const double mma = 2.0 * t.tile_m * t.tile_n * k_len / per_clk;
  // Operands of every K step pass through shared memory once per CTA (wgmma/ldmatrix).
  const double smem = double(t.tile_m + t.tile_n) * k_len * dtype_bytes(d) / gpu.smem_bytes_per_clk;
  double cycles = std::max(mma, smem);
  if (d == DType::fp8) {
    const double promote =
        double(t.tile_m) * t.tile_n * (k_len / kPromotionK) / gpu.fp32_fma_per_clk;
    cycles += (1.0 - gpu.gemm_fp8_promotion_hidden) * promote;
  }
  return cycles;
}

// Epilogue of one tile: the accumulators converted, staged through shared memory and stored.
double epilogue_cycles(const GpuSpec& gpu, const GemmKernel& t, DType d) {
  return 2.0 * t.tile_m * t.tile_n * output_bytes(d) / gpu.smem_bytes_per_clk;
}

// What every tile and decomposition of one problem shares.
struct Context {
  double b = 0, ob = 0, n = 0, k = 0;  // operand and output bytes, N, K
  double hbm_rate = 0, l2_rate = 0, sms = 0;
  double hbm = 0;   // operand traffic (the same for every tile and decomposition)
  double full = 0;  // the clock under full tensor load
};

// One tile the search may try: its output tiles, its K loop's cycles per K element, and a floor
// under the time of every decomposition of it.
struct Candidate {
  std::size_t index;
  const GemmKernelFamily* family;
  GemmKernel kernel;
  double tiles_mn, per_k_cycles, floor_s;
};

// The winning decomposition, kept light while searching (GemmCost carries strings).
struct Pick {
  double time_s = INFINITY, mem = 0, waves = 0, compute_s = 0, body = 0, hbm_s = 0;
  double free_sm = 0;  // SM-cycles with no CTA resident, over SMs x cycles
  int split = 1;
  std::size_t index = 0;
};

// gemm_kernel_for without the family name (the tile search builds dozens per call).
bool footprint(const GpuSpec& gpu, const GemmKernelFamily& f, int tile_m, int tile_n, DType d,
               GemmKernel& out) {
  const int area = tile_m * tile_n;
  int threads = f.threads_per_cta;
  if (threads == 0)
    threads = 32 * std::clamp(area / std::max(1, f.warp_tile_elements), f.min_warps, f.max_warps);
  const int acc_threads = f.accumulator_threads > 0 ? f.accumulator_threads : threads;
  if (threads > gpu.max_threads_per_sm || area % acc_threads != 0) return false;
  const int copies = d == DType::fp8 ? f.fp8_accumulator_copies : 1;
  const int acc = area / acc_threads * copies;
  const int budget = f.consumer_registers > 0 ? f.consumer_registers : 255;
  const int need =
      int(std::ceil(f.registers_per_accumulator * acc)) + f.register_overhead_per_thread;
  if (need > budget) return false;
  int regs = 0;
  if (f.consumer_registers > 0) {
    const int total = f.producer_threads * f.producer_registers +
                      (threads - f.producer_threads) * f.consumer_registers;
    regs = (total + threads - 1) / threads;
  } else {
    regs = std::min(255, need);
  }
  regs = (regs + 7) / 8 * 8;  // allocated per warp in units of 256 (8 per thread)
  const int k_elems = std::max(1, int(f.stage_k_bytes / dtype_bytes(d)));
  const int stage = int((tile_m + tile_n) * k_elems * dtype_bytes(d)) + f.stage_barrier_bytes;
  const int stages =
      f.stages > 0 ? f.stages : (f.smem_capacity_bytes - f.stage_carveout_bytes) / stage;
  if (stages < f.min_stages) return false;
  const int smem = stages * stage + f.smem_extra_bytes;
  if (smem > f.smem_capacity_bytes) return false;
  const int ctas = f.persistent ? 1 : ctas_per_sm(gpu, threads, regs, smem);
  if (ctas < 1) return false;
  out.tile_m = tile_m;
  out.tile_n = tile_n;
  out.threads_per_cta = threads;
  out.producer_threads = f.producer_threads;
  out.accumulator_threads = acc_threads;
  out.accumulators_per_thread = acc;
  out.registers_per_thread = regs;
  out.producer_registers = f.consumer_registers > 0 ? f.producer_registers : 0;
  out.consumer_registers = f.consumer_registers;
  out.stages = stages;
  out.smem_bytes = smem;
  out.ctas_per_sm = ctas;
  return true;
}

// Whether `count` CTAs of kernel k per SM leave the reserve free.
bool leaves_room(const GpuSpec& gpu, const GemmKernel& k, const SmReserve& r) {
  if (r.threads == 0 && r.registers == 0 && r.smem_bytes == 0 && r.ctas == 0) return true;
  const int n = k.ctas_per_sm;
  return n * k.threads_per_cta + r.threads <= gpu.max_threads_per_sm &&
         n * k.threads_per_cta * k.registers_per_thread + r.registers <= gpu.registers_per_sm &&
         n * k.smem_bytes + r.smem_bytes <= gpu.smem_per_sm_bytes &&
         n + r.ctas <= gpu.max_ctas_per_sm;
}

// Every tile of every family (or of the requested one) the GPU can build, with a floor under
// the time of each: its K loop over all of K spread evenly over the SMs plus one fill and
// epilogue, its operand reads through L2 and HBM (splits only add). Sorted cheapest first; ties
// in list order, as an exhaustive search in list order would pick.
// Fills `order` (reused between calls: every estimate costs dozens of GEMMs) with pointers into
// `all`, cheapest floor first.
void tile_candidates(const GpuSpec& gpu, const Problem& p, const Context& cx, const GemmShape& want,
                     std::vector<Candidate>& all, std::vector<const Candidate*>& order) {
  all.clear();
  order.clear();
  std::size_t index = 0;
  for (const GemmKernelFamily& f : gpu.gemm_kernels) {
    if (!want.family.empty() && f.name != want.family) {
      index += f.tile_m.size() * f.tile_n.size();
      continue;
    }
    for (int tm : f.tile_m)
      for (int tn : f.tile_n) {
        const std::size_t i = index++;
        GemmKernel k;
        if (!footprint(gpu, f, tm, tn, p.dtype, k) || !leaves_room(gpu, k, want.reserve)) continue;
        double tiles_mn = 0;
        for (const auto& [rows, groups] : p.rows)
          tiles_mn += std::ceil(double(rows) / tm) * std::ceil(cx.n / tn) * double(groups);
        if (tiles_mn <= 0) continue;
        const double per_k = mainloop_cycles(gpu, k, 1.0, p.dtype);  // linear in K
        const double compute = (tiles_mn * per_k * cx.k / cx.sms + gpu.gemm_tile_overhead_cycles +
                                epilogue_cycles(gpu, k, p.dtype)) /
                               cx.full;
        const double l2 =
            tiles_mn * double(tm + tn) * cx.k * cx.b / gpu.gemm_operand_sharing / cx.l2_rate;
        all.push_back({i, &f, k, tiles_mn, per_k,
                       gpu.launch_overhead_s + std::max({compute, cx.hbm / cx.hbm_rate, l2})});
      }
  }
  for (const Candidate& c : all) order.push_back(&c);
  std::sort(order.begin(), order.end(), [](const Candidate* x, const Candidate* y) {
    return x->floor_s != y->floor_s ? x->floor_s < y->floor_s : x->index < y->index;
  });
}

// The best split of one tile: split-K 1..16 or stream-K, whichever the kernel family allows.
Pick best_split(const GpuSpec& gpu, const Problem& p, const Context& cx, const Candidate& cand) {
  const double b = cx.b, n = cx.n, k = cx.k, sms = cx.sms, full = cx.full;
  const GemmKernelFamily& f = *cand.family;
  const GemmKernel& t = cand.kernel;
  const double hbm = cx.hbm, hbm_rate = cx.hbm_rate, l2_rate = cx.l2_rate;
  const double tiles_mn = cand.tiles_mn;
  const int c = t.ctas_per_sm;
  const double slots = sms * c;
  const double epi = epilogue_cycles(gpu, t, p.dtype);
  const double fill = gpu.gemm_tile_overhead_cycles;
  Pick here;
  for (int split : {1, 2, 3, 4, 6, 8, 12, 16, 0}) {
    const bool stream_k = split == 0;
    if (stream_k && !(f.persistent && f.stream_k)) continue;
    // Split-K only pays when the tiles cannot fill the GPU and each split keeps a deep K loop.
    if (split > 1 && (tiles_mn * split > 2 * slots || k / split < 2 * kTileK)) continue;
    const int parts = stream_k ? 1 : split;
    const double k_split = std::ceil(k / parts / kTileK) * kTileK;
    const double tiles = tiles_mn * parts;
    const double tile_cyc = cand.per_k_cycles * k_split;
    double cycles = 0;
    double busy = tiles * tile_cyc;  // SM-cycles some CTA of the GEMM is resident and working
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
      fixup_bytes = 2.0 * std::min(tiles, sms) * t.tile_m * t.tile_n * 4.0;
      busy = sms * cycles;  // every SM works to the end
    } else if (f.persistent) {
      // One CTA per SM walks ceil(tiles / SMs) tiles; the producer prefetches the next tile
      // while the consumers store this one, so a tile's fill hides behind the previous
      // tile's epilogue as far as that lasts. Ping-pong kernels run the next tile's main loop
      // (the other consumer warpgroup) during a tile's epilogue: only the last epilogue, and
      // any epilogue longer than a main loop, shows.
      const double mine = std::ceil(tiles / sms);
      const double per_tile = f.epilogue_overlap ? std::max(tile_cyc, epi) : tile_cyc + epi;
      const double last = f.epilogue_overlap ? epi : 0.0;
      cycles = mine * per_tile + last + (mine - 1) * std::max(0.0, fill - epi) + fill;
      busy = tiles * (cycles / mine);  // an SM with fewer tiles leaves when they are done
    } else {
      // Full waves run c tiles per SM sharing its tensor pipes; the last partial wave spreads
      // its tiles over the SMs, and the busiest SM sets the pace.
      const double full_waves = std::floor(tiles / slots);
      const double rest = tiles - full_waves * slots;
      cycles = full_waves * (c * tile_cyc + fill + epi);
      busy = sms * cycles;
      if (rest > 0) {
        const double last = std::ceil(rest / sms) * tile_cyc + fill + epi;
        cycles += last;
        busy += std::min(rest, sms) * last;
      }
    }
    const double mem = hbm + fixup_bytes;
    const double hbm_s = mem / hbm_rate;
    const double l2 = tiles * double(t.tile_m + t.tile_n) * k_split * b / gpu.gemm_operand_sharing;
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
      here.free_sm = cycles > 0 ? std::max(0.0, 1.0 - busy / (sms * cycles)) : 0.0;
    }
  }
  return here;
}

GemmCost tiled_cost(const GpuSpec& gpu, const Problem& p, const GemmShape& want) {
  Context cx;
  cx.b = dtype_bytes(p.dtype);
  cx.ob = output_bytes(p.dtype);
  cx.n = double(p.n);
  cx.k = double(p.k);
  cx.hbm_rate = gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency;
  cx.l2_rate = gpu.l2_bw_bytes_per_s * gpu.l2_efficiency;
  cx.sms = double(gpu.sm_count);
  cx.hbm = (p.a_rows * cx.k + p.groups_with_rows * cx.k * cx.n) * cx.b + p.a_rows * cx.n * cx.ob;
  cx.full = gpu.sustained_clock_hz(p.dtype, 1.0);

  thread_local std::vector<Candidate> all;
  thread_local std::vector<const Candidate*> order;
  tile_candidates(gpu, p, cx, want, all, order);
  if (order.empty())
    throw InputError("gemm.kernel",
                     want.family.empty()
                         ? "no GEMM kernel of GPU '" + gpu.name + "' fits the request"
                         : "kernel family '" + want.family + "' of GPU '" + gpu.name +
                               "' has no tile that fits the request");
  Pick best;
  const Candidate* chosen = nullptr;
  for (const Candidate* next : order) {
    const Candidate& cand = *next;
    if (cand.floor_s > best.time_s) break;  // no later tile can win
    Pick here = best_split(gpu, p, cx, cand);
    if (!chosen || here.time_s < best.time_s ||
        (here.time_s == best.time_s && cand.index < best.index)) {
      best = here;
      best.index = cand.index;
      chosen = &cand;
    }
  }
  GemmCost out;
  out.time_s = best.time_s;
  out.flops = p.flops;
  out.hbm_bytes = best.mem;
  out.kernel = chosen->kernel;
  out.kernel.family = chosen->family->name;
  out.tile_m = out.kernel.tile_m;
  out.tile_n = out.kernel.tile_n;
  out.split_k = best.split;
  out.ctas_per_sm = out.kernel.ctas_per_sm;
  out.free_sm_fraction = best.free_sm;
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
  d += out.kernel.family;
  d += ", tile ";
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

bool gemm_kernel_for(const GpuSpec& gpu, const GemmKernelFamily& f, int tile_m, int tile_n, DType d,
                     GemmKernel& out) {
  if (!footprint(gpu, f, tile_m, tile_n, d, out)) return false;
  out.family = f.name;
  return true;
}

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
  return tiled_cost(gpu, p, s);
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
  GemmCost c = tiled_cost(gpu, p, GemmShape{});
  c.detail = fmt::format("{} groups ({} with rows), {}, {}", s.rows.size(), p.groups_with_rows,
                         grouped_layout_name(s.layout), c.detail);
  return c;
}

}  // namespace llmgps
