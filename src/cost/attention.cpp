#include "llmgps/cost/attention.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "llmgps/common/fixed.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

void validate(const AttentionShape& s) {
  auto positive = [](std::int64_t v, const char* opt) {
    if (v <= 0) throw InputError(opt, "must be positive (got " + std::to_string(v) + ")");
  };
  positive(s.batch, "attention.batch");
  positive(s.heads, "attention.heads");
  positive(s.seq_q, "attention.seq_q");
  positive(s.head_dim, "attention.head_dim");
  if (s.seq_k < 0) throw InputError("attention.seq_k", "must not be negative");
  if (s.kv_heads < 0 || (s.kv_heads > 0 && s.heads % s.kv_heads != 0))
    throw InputError("attention.kv_heads",
                     "must divide the heads (" + std::to_string(s.heads) + ")");
}

std::int64_t seq_k_of(const AttentionShape& s) {
  return s.seq_k > 0 ? s.seq_k : s.seq_q;
}
std::int64_t dv_of(const AttentionShape& s) {
  return s.v_head_dim > 0 ? s.v_head_dim : s.head_dim;
}

// Fraction of the Sq x Sk score matrix a causal mask keeps (bottom-right aligned, as FA2 does).
double causal_fraction(double sq, double sk) {
  if (sk >= sq) return (sk * sq - sq * (sq - 1) / 2.0) / (sq * sk);  // each row i keeps sk-sq+i+1
  return (sk + 1) / 2.0 / sk;  // more queries than keys: approximate, rows above keep nothing
}

double tensor_per_clk(const GpuSpec& g, DType d) {
  return g.peak_flops(d) / (g.sm_count * g.clock_hz);
}

}  // namespace

double attention_flops(const AttentionShape& s) {
  const double sk = double(seq_k_of(s)), sq = double(s.seq_q);
  double f = 2.0 * s.batch * s.heads * sq * sk * double(s.head_dim + dv_of(s));
  if (s.causal) f *= causal_fraction(sq, sk);
  return s.pass == AttnPass::bwd ? 2.5 * f : f;
}

namespace {

struct AttnTiles {
  std::int64_t m, n;
};

// FlashAttention-3's forward tile per head dimension, element size and masking on Hopper
// (Dao-AILab/flash-attention hopper/tile_size.h, tile_size_fwd_sm90 @0251105a, dense KV, no
// softcap or local window). FP8 takes wider key blocks; at short sequences the ragged last key
// block and the fewer, larger CTAs are what make FP8 no faster than BF16. Other kernels use the
// profile's block_m x block_n.
AttnTiles fa3_forward_tiles(std::int64_t d, std::int64_t dv, bool causal, bool fp8) {
  if (!fp8) {
    if (d <= 64) {
      if (dv == 256) return {128, 96};
      return {192, causal ? 128 : 192};
    }
    if (d <= 96) return {192, 144};
    if (d <= 128) return {128, causal ? 128 : 176};
    if (d <= 192) return {128, dv <= 128 ? 128 : 112};
    return {128, 80};
  }
  if (d <= 64) return {192, 160};
  if (d <= 96) return {192, 128};
  if (d <= 128) return {128, 224};
  if (d <= 192) return {128, 160};
  return {128, 128};
}

}  // namespace

std::string default_attention_impl(const GpuSpec& gpu) {
  const auto it = gpu.attention.find("fa3");
  return it != gpu.attention.end() && gpu.sm_version >= it->second.min_sm_version ? "fa3" : "fa2";
}

namespace {

// One inner iteration of the kernel: a tile.m x tile.n block of scores through the tensor cores
// and the softmax pipes.
struct Iteration {
  double tensor_cycles = 0, softmax_cycles = 0, seconds = 0;
  std::string softmax_pipe;  // which pipe limits the softmax part
};

Iteration iteration(const GpuSpec& gpu, const AttentionProfile& p, const AttentionShape& s,
                    const AttnTiles& tile) {
  const bool bwd = s.pass == AttnPass::bwd;
  const double d = double(s.head_dim), dv = double(dv_of(s));
  const double elems = double(tile.m) * tile.n;
  const double iter_flops = bwd ? 2.0 * elems * (3 * d + 2 * dv) : 2.0 * elems * (d + dv);
  // A profile may give the FP8 forward its own share of its (doubled) peak (none of the presets
  // does: FA3's FP8 rows are predicted with the 16-bit forward's, docs/calibration.md).
  const double eff = bwd ? p.tensor_efficiency_bwd
                     : (s.dtype == DType::fp8 && p.tensor_efficiency_fwd_fp8 > 0)
                         ? p.tensor_efficiency_fwd_fp8
                         : p.tensor_efficiency_fwd;
  Iteration it;
  it.tensor_cycles = iter_flops / (tensor_per_clk(gpu, s.dtype) * eff);
  // Softmax: one exp2 per score (the backward recomputes P), FP32 bookkeeping, and the issue
  // slots all of it takes (MUFU and FP32 instructions are issued one warp instruction each).
  // Per-score extra work (dropout) joins the same pipes: integer multiplies share the FMA-heavy
  // half of the FP32 pipe, logic and compares take the ALU, every instruction an issue slot.
  const PerScoreWork& x = s.extra;
  // Where the phases are serial (below) the row max is counted where it runs, on the ALU, and
  // not among the FP32 operations.
  const bool serial = p.softmax_phases_serial && !bwd;
  const double softmax_alu_ops = serial ? 1.0 : 0.0;
  const double fp32_ops =
      p.softmax_fp32_ops_per_element * (bwd ? 1.5 : 1.0) - softmax_alu_ops + x.fp32_ops;
  const double mufu_cyc = elems / gpu.mufu_per_clk;
  const double fp32_cyc = elems * fp32_ops / gpu.fp32_fma_per_clk;
  const double fma_cyc = elems * (fp32_ops + x.imad_ops) / gpu.fp32_fma_per_clk;
  const double imad_cyc = elems * x.imad_ops / gpu.int32_per_clk;
  const double alu_cyc = elems * (softmax_alu_ops + x.alu_ops) / gpu.alu_per_clk;
  const double issue_cyc =
      elems * ((1.0 + p.softmax_fp32_ops_per_element * (bwd ? 1.5 : 1.0)) / 32.0 + x.issue) /
      gpu.issue_per_clk;
  // A forward softmax whose phases run one after another (profile.softmax_phases_serial) takes
  // at least the sum of them: the row max (one compare per score, ALU), exp2 (MUFU) and the row
  // sum (one add, FP32 pipe); the backward reads the stored log-sum-exp and has no max or sum.
  // Work independent of the softmax (dropout's RNG) fills the other pipes meanwhile, within the
  // pipe limits above.
  const double phases_cyc =
      serial ? elems * (1.0 / gpu.alu_per_clk + 1.0 / gpu.mufu_per_clk + 1.0 / gpu.fp32_fma_per_clk)
             : 0.0;
  const double softmax =
      std::max({mufu_cyc, fp32_cyc, fma_cyc, imad_cyc, alu_cyc, issue_cyc, phases_cyc});
  it.softmax_cycles = softmax;
  it.softmax_pipe = softmax == phases_cyc  ? "softmax-phases"
                    : softmax == mufu_cyc  ? "mufu"
                    : softmax == issue_cyc ? "issue"
                    : softmax == fp32_cyc  ? "fp32"
                    : softmax == fma_cyc   ? "fma"
                    : softmax == imad_cyc  ? "imad"
                                           : "alu";
  const double iter_cyc = std::max(it.tensor_cycles, softmax) +
                          (1.0 - p.softmax_overlap) * std::min(it.tensor_cycles, softmax);
  it.seconds = iter_cyc / gpu.clock_hz;
  return it;
}

// Work per CTA (one tile.m slice of queries for one head): iterations over key blocks, summed
// over the row blocks and the longest; causal rows see fewer key blocks.
struct CtaWork {
  std::int64_t row_blocks = 0;
  double iters_total = 0, iters_max = 0;
};

CtaWork cta_work(const AttentionShape& s, const AttnTiles& tile) {
  const std::int64_t sk = seq_k_of(s);
  CtaWork w;
  w.row_blocks = (s.seq_q + tile.m - 1) / tile.m;
  const std::int64_t full_blocks = (sk + tile.n - 1) / tile.n;
  if (!s.causal) {
    w.iters_total = double(w.row_blocks) * full_blocks;
    w.iters_max = double(full_blocks);
    return w;
  }
  for (std::int64_t i = 0; i < w.row_blocks; ++i) {
    std::int64_t last_row = std::min(s.seq_q, (i + 1) * tile.m);
    std::int64_t keys = std::clamp<std::int64_t>(sk - s.seq_q + last_row, 0, sk);
    double n = double((keys + tile.n - 1) / tile.n);
    w.iters_total += n;
    w.iters_max = std::max(w.iters_max, n);
  }
  return w;
}

}  // namespace

AttentionCost attention_cost(const GpuSpec& gpu, const AttentionShape& s) {
  validate(s);
  if (!gpu.supports(s.dtype) || s.dtype == DType::fp32)
    throw InputError("attention.dtype", "GPU '" + gpu.name + "' has no tensor-core " +
                                            std::string(dtype_name(s.dtype)) + " attention");
  const AttentionProfile& p = gpu.attention_profile(s.impl);
  const double d = double(s.head_dim), dv = double(dv_of(s));
  const std::int64_t sk = seq_k_of(s);
  const bool bwd = s.pass == AttnPass::bwd;
  if (s.dtype == DType::fp8 && (bwd || !p.fp8_forward))
    throw InputError("attention.dtype",
                     fmt::format("{} has no FP8 {} kernel on '{}' (FlashAttention-3 ships an FP8 "
                                 "forward only): give bf16",
                                 s.impl, bwd ? "backward" : "forward", gpu.name));

  AttnTiles tile{p.block_m, p.block_n};
  if (s.impl == "fa3" && !bwd && gpu.sm_version >= 90)
    tile = fa3_forward_tiles(s.head_dim, dv_of(s), s.causal, s.dtype == DType::fp8);
  const Iteration it = iteration(gpu, p, s, tile);
  const CtaWork w = cta_work(s, tile);
  const double bh = double(s.batch) * s.heads;
  const double ctas = bh * double(w.row_blocks);
  // A CTA's start and finish (loads before the first iteration, the output's store) cost a number
  // of the kernel's own iterations without extra per-score work: dropout's RNG runs in the loop,
  // not in the prologue or epilogue.
  const double overhead_iters = s.dtype == DType::fp8 && !bwd && p.cta_overhead_iters_fp8 >= 0
                                    ? p.cta_overhead_iters_fp8
                                    : p.cta_overhead_iters;
  double plain_iter_s = it.seconds;
  if (s.extra.any()) {
    AttentionShape plain = s;
    plain.extra = {};
    plain_iter_s = iteration(gpu, p, plain, tile).seconds;
  }
  const double overhead_s = overhead_iters * plain_iter_s;
  const double cta_max_s = w.iters_max * it.seconds + overhead_s;
  double compute_s;
  if (!s.causal) {
    compute_s = std::ceil(ctas / gpu.sm_count) * cta_max_s;
  } else {
    // Unequal CTAs are handed out dynamically: the SMs finish together except for a tail of
    // about half an average CTA (the uniform case above pays a whole partial wave instead).
    const double total_s = bh * w.iters_total * it.seconds + ctas * overhead_s;
    compute_s = std::max(total_s / gpu.sm_count + 0.5 * total_s / ctas, cta_max_s);
  }

  const double b = dtype_bytes(s.dtype);
  const double kv_heads = double(s.kv_heads > 0 ? s.kv_heads : s.heads);
  double hbm = double(s.batch) *
               (s.heads * double(s.seq_q) * (d + dv) + kv_heads * double(sk) * (d + dv)) * b;
  if (bwd) hbm *= 2.5;  // reads Q, K, V, O, dO and writes dQ, dK, dV
  const double scores = bh * w.iters_total * double(tile.m) * tile.n;
  hbm += scores * s.extra.hbm_bytes;
  const double hbm_s = hbm / (gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency);

  AttentionCost c;
  c.flops = attention_flops(s);
  c.hbm_bytes = hbm;
  c.tensor_cycles_per_iter = it.tensor_cycles;
  c.softmax_cycles_per_iter = it.softmax_cycles;
  c.softmax_pipe = it.softmax_pipe;
  c.ctas = ctas;
  c.scores = scores;
  const double body = std::max(compute_s, hbm_s);
  c.time_s = gpu.launch_overhead_s + body;
  if (bwd) {
    // The backward runs two more kernels (FlashAttention's flash_bwd_preprocess and
    // flash_bwd_postprocess, FA2 and FA3 alike): the first reads O and dO for the row sums
    // D = rowsum(dO * O), writes D and clears the FP32 dQ accumulator; the second converts that
    // accumulator to dQ. Both stream from HBM.
    const double rows = bh * double(s.seq_q);
    const double aux = rows * (2.0 * b * dv + 4.0 + 4.0 * d + 4.0 * d + b * d);
    c.hbm_bytes += aux;
    c.time_s += 2.0 * gpu.launch_overhead_s + aux / (gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency);
  }
  if (body == hbm_s)
    c.bound = "hbm";
  else
    c.bound = it.tensor_cycles >= it.softmax_cycles ? "tensor" : it.softmax_pipe;
  c.detail = fmt::format("{} {} {}, {} CTAs, iteration {} tensor / {} softmax cycles", s.impl,
                         bwd ? "bwd" : "fwd", dtype_name(s.dtype), fixed(ctas, 0),
                         fixed(it.tensor_cycles, 0), fixed(it.softmax_cycles, 0));
  return c;
}

AttentionCost decode_attention_cost(const GpuSpec& gpu, const AttentionShape& s) {
  validate(s);
  const double d = double(s.head_dim), dv = double(dv_of(s));
  const double sk = double(seq_k_of(s));
  const double b = dtype_bytes(s.dtype);
  const double kv_heads = double(s.kv_heads > 0 ? s.kv_heads : s.heads);
  const double cache = double(s.batch) * kv_heads * sk * (d + dv) * b;
  const double qo = double(s.batch) * s.heads * double(s.seq_q) * (d + dv) * b;
  AttentionCost c;
  c.flops = 2.0 * s.batch * s.heads * double(s.seq_q) * sk * (d + dv);
  c.hbm_bytes = cache + qo;
  const double hbm_s = c.hbm_bytes / (gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency);
  // Decode attention runs on CUDA cores or small MMAs; it is far from tensor-bound, but count the
  // FLOPs at fp32 FMA rate so huge head counts are not free.
  const double fma_s = c.flops / gpu.peak_flops(DType::fp32);
  const double body = std::max({hbm_s, fma_s, gpu.elementwise_min_time_s});
  c.time_s = gpu.launch_overhead_s + body;
  c.bound = body == hbm_s ? "hbm" : (body == fma_s ? "fp32" : "launch");
  c.detail = "decode: KV cache " + fixed(cache / 1e6, 1) + " MB";
  return c;
}

}  // namespace llmgps
