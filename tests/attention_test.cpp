#include "llmgps/cost/attention.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
const GpuSpec& h100() {
  static GpuSpec g = specs::load_gpu("h100-sxm5");
  return g;
}
AttentionShape fa_bench(std::int64_t seq, const char* impl, bool causal = false,
                        AttnPass pass = AttnPass::fwd) {
  // The FlashAttention papers' benchmark: batch x seq = 16k tokens, 16 heads of 128 (2048 hidden).
  AttentionShape s;
  s.batch = 16384 / seq;
  s.heads = 16;
  s.seq_q = seq;
  s.head_dim = 128;
  s.causal = causal;
  s.impl = impl;
  s.pass = pass;
  return s;
}
}  // namespace

TEST(Attention, FlopsConvention) {
  AttentionShape s = fa_bench(1024, "fa2");
  EXPECT_DOUBLE_EQ(attention_flops(s), 4.0 * 16 * 16 * 1024 * 1024 * 128);
  s.pass = AttnPass::bwd;
  EXPECT_DOUBLE_EQ(attention_flops(s), 2.5 * 4.0 * 16 * 16 * 1024 * 1024 * 128);
  s.pass = AttnPass::fwd;
  s.causal = true;
  EXPECT_NEAR(attention_flops(s) / (4.0 * 16 * 16 * 1024 * 1024 * 128), 0.5, 0.001);
}

TEST(Attention, Fa3BeatsFa2OnHopperAndRampsWithSequence) {
  double prev3 = 0;
  for (std::int64_t seq : {512, 1024, 2048, 4096, 8192, 16384}) {
    AttentionCost c2 = attention_cost(h100(), fa_bench(seq, "fa2"));
    AttentionCost c3 = attention_cost(h100(), fa_bench(seq, "fa3"));
    EXPECT_LT(c3.time_s, c2.time_s) << seq;
    EXPECT_GE(c3.achieved_flops_per_s(), prev3 * 0.99)
        << seq;  // short sequences pay per-CTA overhead
    prev3 = c3.achieved_flops_per_s();
    EXPECT_LE(c3.achieved_flops_per_s(), h100().peak_flops(DType::bf16));
  }
}

TEST(Attention, BackwardCostsMoreThanForward) {
  for (const char* impl : {"fa2", "fa3"}) {
    AttentionCost f = attention_cost(h100(), fa_bench(4096, impl));
    AttentionCost b = attention_cost(h100(), fa_bench(4096, impl, false, AttnPass::bwd));
    EXPECT_GT(b.time_s, 2.0 * f.time_s) << impl;
  }
}

TEST(Attention, CausalRoughlyHalvesLongSequences) {
  AttentionCost full = attention_cost(h100(), fa_bench(8192, "fa3"));
  AttentionCost causal = attention_cost(h100(), fa_bench(8192, "fa3", true));
  EXPECT_GT(causal.time_s / full.time_s, 0.45);
  EXPECT_LT(causal.time_s / full.time_s, 0.65);
}

TEST(Attention, Fp8FasterButSoftmaxBindsMore) {
  AttentionShape s = fa_bench(8192, "fa3");
  AttentionCost bf = attention_cost(h100(), s);
  s.dtype = DType::fp8;
  AttentionCost f8 = attention_cost(h100(), s);
  EXPECT_LT(f8.time_s, bf.time_s);
  EXPECT_GT(f8.time_s, 0.5 * bf.time_s);  // the exp2 work does not shrink with the format
  EXPECT_LT(f8.tensor_cycles_per_iter, bf.tensor_cycles_per_iter);
}

TEST(Attention, SerialSoftmaxPhasesSumTheirPipesInTheForwardOnly) {
  // FA3's forward softmax runs row max (ALU), exp2 (MUFU) and row sum (FP32) one after another:
  // per score 1/64 + 1/16 + 1/128 cycles on H100, over FA3's 128 x 176 head-dim-128 tile.
  const AttentionShape s = fa_bench(8192, "fa3");
  const AttentionCost c = attention_cost(h100(), s);
  EXPECT_TRUE(h100().attention_profile("fa3").softmax_phases_serial);
  EXPECT_DOUBLE_EQ(c.softmax_cycles_per_iter, 128.0 * 176 * (1.0 / 64 + 1.0 / 16 + 1.0 / 128));
  EXPECT_EQ(c.softmax_pipe, "softmax-phases");
  // Overlapped across warps instead (FA2's way), the same work binds on MUFU alone: never slower.
  GpuSpec overlapped = h100();
  overlapped.attention.at("fa3").softmax_phases_serial = false;
  const AttentionCost o = attention_cost(overlapped, s);
  EXPECT_DOUBLE_EQ(o.softmax_cycles_per_iter, 128.0 * 176 / 16);
  EXPECT_LT(o.time_s, c.time_s);
  // Work beside the softmax (dropout's RNG) fills the other pipes: ALU-heavy extra work binds on
  // the ALU, which also carries the serial softmax's row max.
  AttentionShape rng = s;
  rng.extra.alu_ops = 10;
  EXPECT_DOUBLE_EQ(attention_cost(h100(), rng).softmax_cycles_per_iter, 128.0 * 176 * 11 / 64);
  EXPECT_EQ(attention_cost(h100(), rng).softmax_pipe, "alu");
  // The backward reads the stored log-sum-exp: no max or sum phase, so no difference.
  const AttentionShape b = fa_bench(8192, "fa3", false, AttnPass::bwd);
  EXPECT_DOUBLE_EQ(attention_cost(overlapped, b).time_s, attention_cost(h100(), b).time_s);
}

// A CTA's start and finish cost the kernel's own iterations without extra per-score work (the
// RNG runs in the loop only); FP8's count is its own.
TEST(Attention, CtaOverheadCountsPlainIterationsAndFp8HasItsOwn) {
  AttentionShape s = fa_bench(8192, "fa3");
  s.dtype = DType::fp8;
  GpuSpec g = h100();
  AttentionProfile& p = g.attention.at("fa3");
  ASSERT_GT(p.cta_overhead_iters_fp8, p.cta_overhead_iters);
  const AttentionCost plain = attention_cost(g, s);
  const double iter_s = (std::max(plain.tensor_cycles_per_iter, plain.softmax_cycles_per_iter) +
                         (1 - p.softmax_overlap) * std::min(plain.tensor_cycles_per_iter,
                                                            plain.softmax_cycles_per_iter)) /
                        g.clock_hz;
  const double waves = std::ceil(plain.ctas / g.sm_count);
  AttentionShape rng = s;
  rng.extra.alu_ops = 10, rng.extra.issue = 0.5;
  const double before = attention_cost(g, rng).time_s;
  p.cta_overhead_iters_fp8 += 2;
  EXPECT_NEAR(attention_cost(g, rng).time_s - before, waves * 2 * iter_s, 1e-12);
  // Causal CTAs pay it too, once each.
  AttentionShape causal = rng;
  causal.causal = true;
  const double causal_before = attention_cost(g, causal).time_s;
  p.cta_overhead_iters_fp8 += 2;
  EXPECT_GT(attention_cost(g, causal).time_s, causal_before);
  // The 16-bit forward and backward do not read FP8's count.
  AttentionShape bf = fa_bench(8192, "fa3");
  EXPECT_EQ(attention_cost(g, bf).time_s, attention_cost(h100(), bf).time_s);
  AttentionShape back = bf;
  back.pass = AttnPass::bwd;
  EXPECT_EQ(attention_cost(g, back).time_s, attention_cost(h100(), back).time_s);
}

TEST(Attention, Fp8OnlyWhereTheLibraryShipsAnFp8Kernel) {
  // FlashAttention-3 ships an FP8 forward and no FP8 backward; FlashAttention-2 no FP8 at all.
  AttentionShape s = fa_bench(4096, "fa3");
  s.dtype = DType::fp8;
  EXPECT_GT(attention_cost(h100(), s).time_s, 0);
  AttentionShape back = s;
  back.pass = AttnPass::bwd;
  AttentionShape fa2 = s;
  fa2.impl = "fa2";
  for (const AttentionShape& none : {back, fa2}) {
    try {
      attention_cost(h100(), none);
      FAIL() << none.impl;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("attention.dtype: " + none.impl + " has no FP8"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(Attention, PropertyMoreSmsNeverSlower) {
  GpuSpec more = h100();
  more.sm_count = 144;
  for (std::int64_t seq : {512, 4096, 16384})
    for (bool causal : {false, true})
      EXPECT_LE(attention_cost(more, fa_bench(seq, "fa3", causal)).time_s,
                attention_cost(h100(), fa_bench(seq, "fa3", causal)).time_s * 1.0000001);
}

TEST(Attention, DecodeStreamsTheKvCache) {
  AttentionShape s;
  s.batch = 8;
  s.heads = 32;
  s.kv_heads = 8;
  s.seq_q = 1;
  s.seq_k = 4096;
  s.head_dim = 128;
  AttentionCost c = decode_attention_cost(h100(), s);
  EXPECT_EQ(c.bound, "hbm");
  const double cache = 8.0 * 8 * 4096 * 256 * 2;
  EXPECT_GE(c.hbm_bytes, cache);
  s.seq_k = 8192;
  EXPECT_GT(decode_attention_cost(h100(), s).time_s, c.time_s);
}

TEST(Attention, BadInput) {
  AttentionShape s = fa_bench(1024, "fa2");
  s.heads = 0;
  EXPECT_THROW(attention_cost(h100(), s), InputError);
  s = fa_bench(1024, "fa4");
  EXPECT_THROW(attention_cost(h100(), s), InputError);
  s = fa_bench(1024, "fa3");
  EXPECT_THROW(attention_cost(specs::load_gpu("a100-sxm4-80g"), s), InputError);
  s = fa_bench(1024, "fa2");
  s.kv_heads = 3;
  EXPECT_THROW(attention_cost(h100(), s), InputError);
}
