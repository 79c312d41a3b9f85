#include "llmgps/dropout/block.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "llmgps/cost/attention.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"
#include "llmgps/workload/layer.hpp"
#include "test_util.hpp"

using namespace llmgps;
using namespace llmgps::dropout;

namespace {
BlockResult run(const std::string& model, std::int64_t batch, std::int64_t seq, Scope scope,
                int bits = 32, int rounds = 10) {
  BlockConfig c;
  c.batch = batch;
  c.seq = seq;
  c.scope = scope;
  c.rng.bits = bits;
  c.rng.rounds = rounds;
  return block_dropout(specs::load_model(model), specs::load_gpu("h100-sxm5"), c);
}
}  // namespace

TEST(Block, StrategiesAreOrderedAndTheRngIsWhatTheyDifferBy) {
  for (Scope s : {Scope::fwd, Scope::train}) {
    const BlockResult r = run("llama3-8b", 1, 4096, s);
    ASSERT_EQ(r.strategies.size(), 4u);
    const double none = r.strategies[0].time_s, fused = r.strategies[1].time_s,
                 seq = r.strategies[2].time_s, over = r.strategies[3].time_s;
    EXPECT_GT(fused, none);
    EXPECT_GT(seq, none);
    EXPECT_GE(over, none);  // overlap cannot beat no dropout
    EXPECT_LT(over, seq);   // and hides at least part of the RNG kernel
    EXPECT_NEAR(r.speedup_vs_sequential, seq / over, 1e-12);
    EXPECT_NEAR(
        seq - none,
        r.rng_alone.time_s + (r.attention_fwd_mask.time_s - r.attention_fwd_none.time_s) +
            (s == Scope::train ? r.attention_bwd_mask.time_s - r.attention_bwd_none.time_s : 0.0),
        1e-9);
    EXPECT_NE(r.main_host().way, Way::sequential);
    EXPECT_FALSE(r.host_gemm.empty());
  }
}

TEST(Block, MoreRngWorkNeverHelpsAndTrainingContainsTheForward) {
  const BlockResult cheap = run("llama3-8b", 1, 8192, Scope::train, 8, 7);
  const BlockResult dear = run("llama3-8b", 1, 8192, Scope::train, 32, 10);
  EXPECT_LT(cheap.strategies[2].time_s, dear.strategies[2].time_s);
  EXPECT_LT(cheap.strategies[1].time_s, dear.strategies[1].time_s);
  const BlockResult fwd = run("llama3-8b", 1, 8192, Scope::fwd);
  for (int i = 0; i < 4; ++i)
    EXPECT_LT(fwd.strategies[std::size_t(i)].time_s, dear.strategies[std::size_t(i)].time_s);
}

TEST(Block, ChromeTracePutsTheRngOnItsOwnStream) {
  const BlockResult r = run("llama2-7b", 1, 2048, Scope::fwd);
  const nlohmann::json t = nlohmann::json::parse(block_chrome_trace(r.strategies[3]));
  // The RNG kernel runs on a stream (tid) of its own, beside the GEMM it hides behind, and
  // overlaps it in time; every complete event has a non-negative start and duration.
  std::set<int> rng_tids, other_tids;
  double rng_start = -1, rng_end = -1;
  std::vector<std::pair<double, double>> others;
  for (const auto& e : t.at("traceEvents")) {
    if (e.value("ph", "") != "X") continue;
    EXPECT_GE(e.at("ts").get<double>(), 0);
    EXPECT_GE(e.at("dur").get<double>(), 0);
    const bool rng = e.at("name").get<std::string>().find("rng_mask") != std::string::npos;
    (rng ? rng_tids : other_tids).insert(e.at("tid").get<int>());
    if (rng) {
      rng_start = e.at("ts").get<double>();
      rng_end = rng_start + e.at("dur").get<double>();
    } else {
      others.emplace_back(e.at("ts").get<double>(),
                          e.at("ts").get<double>() + e.at("dur").get<double>());
    }
  }
  ASSERT_EQ(rng_tids.size(), 1u);
  EXPECT_EQ(other_tids.count(*rng_tids.begin()), 0u);
  bool overlaps = false;
  for (const auto& [a, b] : others) overlaps = overlaps || (a < rng_end && rng_start < b);
  EXPECT_TRUE(overlaps);
}

TEST(Block, BadInputIsAnInputError) {
  EXPECT_THROW(run("mixtral-8x7b", 1, 1024, Scope::fwd), InputError);
  EXPECT_THROW(run("llama3-8b", 0, 1024, Scope::fwd), InputError);
  EXPECT_THROW(run("llama3-8b", 1, 1024, Scope::fwd, 16), InputError);
  EXPECT_THROW(parse_scope("both", "--scope"), InputError);
  BlockConfig c;
  c.dtype = DType::fp8;
  EXPECT_THROW(block_dropout(specs::load_model("llama3-8b"), specs::load_gpu("a100-sxm4-80g"), c),
               InputError);
}

TEST(Block, AttentionWaitsForTheMaskItReads) {
  // An RNG kernel that outlasts its host GEMM delays attention on the DAG; a shorter one hides.
  dropout::BlockStrategy s;
  s.name = "overlapped";
  s.ops = {{"rng_mask", "fwd", 5.0, "alu", "", 1},
           {"qkv_proj", "fwd", 2.0, "tensor", "", 0},
           {"attention", "fwd", 1.0, "tensor", "", 0},
           {"o_proj", "fwd", 1.0, "tensor", "", 0}};
  auto tl = dropout::block_timeline(s);
  EXPECT_DOUBLE_EQ(tl.run(), 7.0);  // attention starts at 5, not 2
  s.ops[0].time_s = 1.5;
  tl = dropout::block_timeline(s);
  EXPECT_DOUBLE_EQ(tl.run(), 4.0);  // hidden behind qkv_proj
  EXPECT_EQ(tl.critical_path().size(), 3u);
}

TEST(Block, FusedRunsTheAttentionKernelsOwnRng) {
  const ModelSpec m = specs::load_model("llama3-8b");
  dropout::BlockConfig c;
  c.batch = 1, c.seq = 2048, c.dtype = DType::bf16;
  // FlashAttention-2 (A100): its own Philox-7 with 8-bit numbers, whatever the mask kernel runs.
  const auto a100 = dropout::block_dropout(m, specs::load_gpu("a100-sxm4-80g"), c);
  EXPECT_EQ(a100.fused_rng.bits, 8);
  EXPECT_EQ(a100.fused_rng.rounds, 7);
  EXPECT_TRUE(a100.what_ifs.empty());
  // FlashAttention-3 (H100) has no dropout: fusing the mask kernel's RNG is a named what-if.
  const auto h100 = dropout::block_dropout(m, specs::load_gpu("h100-sxm5"), c);
  EXPECT_EQ(h100.fused_rng.bits, c.rng.bits);
  EXPECT_EQ(h100.fused_rng.rounds, c.rng.rounds);
  EXPECT_EQ(h100.what_ifs, std::vector<std::string>{"fused-fa3"});
}

TEST(Block, Fp8BlockWithFa2RunsItsAttentionInBf16) {
  // FlashAttention-2 has no FP8 kernel: an FP8 block on Hopper with fa2 keeps its FP8 GEMMs and
  // runs attention in BF16 (as estimate does); with fa3 the forward attention is FP8.
  const ModelSpec m = specs::load_model("llama3-8b");
  dropout::BlockConfig c;
  c.batch = 1, c.seq = 2048, c.dtype = DType::fp8;
  const auto fa3 = dropout::block_dropout(m, specs::load_gpu("h100-sxm5"), c);
  c.attn_impl = "fa2";
  const auto fa2 = dropout::block_dropout(m, specs::load_gpu("h100-sxm5"), c);
  LayerShape s;  // the same block's attention, built in BF16
  s.batch = c.batch, s.seq = c.seq, s.dtype = DType::bf16, s.attn_impl = "fa2";
  const AttentionShape bf16 =
      attention_op(s, m.num_heads, m.num_kv_heads, m.head_dim, m.v_head_dim).attn;
  EXPECT_DOUBLE_EQ(fa2.attention_fwd_none.time_s,
                   attention_cost(specs::load_gpu("h100-sxm5"), bf16).time_s);
  EXPECT_GT(fa2.attention_fwd_none.time_s, fa3.attention_fwd_none.time_s);
}

TEST(Block, HostsAfterAttentionMakeTheNextLayersMask) {
  const ModelSpec m = specs::load_model("llama3-8b");
  dropout::BlockConfig c;
  c.batch = 1, c.seq = 8192;
  const auto r = dropout::block_dropout(m, specs::load_gpu("h100-sxm5"), c);
  ASSERT_FALSE(r.hosts.empty());
  for (const auto& h : r.hosts) EXPECT_EQ(h.layer_offset, h.gemm == "qkv_proj" ? 0 : -1) << h.gemm;
  // The trace says whose mask each RNG kernel makes.
  const std::string trace = dropout::block_chrome_trace(r.strategies[3]);
  EXPECT_NE(
      trace.find(r.hosts[0].layer_offset == 0 ? "(mask for layer L)" : "(mask for layer L+1)"),
      std::string::npos);
}

// The contract's feasibility property, over every GPU, dense model and format preset: whenever
// the RNG is co-resident, the GEMM's CTAs plus the RNG's fit the SM's registers, threads and
// shared memory, and the GEMM tile holds at most 255 accumulators per consumer thread; and the
// overlapped block is never slower than the sequential one.
TEST(Block, PropertyCoResidencyOnlyWhereBothFootprintsFit) {
  int co_resident = 0, checked = 0;
  for (const auto& hw : specs::list_hw()) {
    if (hw.kind != "gpu") continue;
    const GpuSpec g = specs::load_gpu(hw.name);
    for (const std::string& name : specs::preset_names("models")) {
      const ModelSpec m = specs::load_model(name);
      if (m.is_moe() || m.is_mla()) continue;
      for (DType d : {DType::fp8, DType::bf16, DType::fp16}) {
        if (!g.supports(d)) continue;
        BlockConfig c;
        c.batch = 1;
        c.seq = 2048;
        c.dtype = d;
        c.scope = Scope::fwd;
        const BlockResult r = block_dropout(m, g, c);
        ++checked;
        SCOPED_TRACE(hw.name + " " + name + " " + std::string(dtype_name(d)));
        EXPECT_LE(r.strategies[3].time_s, r.strategies[2].time_s * (1 + 1e-12));
        for (const HostShare& h : r.hosts) {
          if (h.way != Way::co_resident) continue;
          ++co_resident;
          const GemmKernel& k = h.gemm_kernel;
          EXPECT_LE(
              k.ctas_per_sm * k.threads_per_cta * k.registers_per_thread +
                  h.rng.ctas_per_sm * h.rng.threads * ((h.rng.registers_per_thread + 7) / 8 * 8),
              g.registers_per_sm);
          EXPECT_LE(k.ctas_per_sm * k.threads_per_cta + h.rng.ctas_per_sm * h.rng.threads,
                    g.max_threads_per_sm);
          EXPECT_LE(k.ctas_per_sm * k.smem_bytes + h.rng.ctas_per_sm * h.rng.smem_bytes,
                    g.smem_per_sm_bytes);
          EXPECT_LE(k.tile_m * k.tile_n / (k.threads_per_cta - k.producer_threads), 255);
          EXPECT_GE(h.rng.ctas_per_sm, 1);
        }
      }
    }
  }
  EXPECT_GT(checked, 10);
  EXPECT_GT(co_resident, 0);
}

// The RNG instruction counts the block uses are the compiled kernel's (data/kernels/rng_mask.json).
TEST(Block, RngInstructionCountsAreTheCompiledKernels) {
  const auto doc =
      nlohmann::json::parse(test::slurp(test::source_dir() + "/data/kernels/rng_mask.json"));
  const BlockResult r = run("llama3-8b", 1, 4096, Scope::fwd, 32, 10);
  bool found = false;
  for (const auto& v : doc.at("variants")) {
    if (v.at("arch") != "sm_90" || v.at("bits") != 32 || v.at("rounds") != 10) continue;
    found = true;
    EXPECT_DOUBLE_EQ(r.rng_profile.imad, v.at("ptx_per_element_by_class").at("imad").get<double>());
    EXPECT_DOUBLE_EQ(r.rng_profile.alu, v.at("ptx_per_element_by_class").at("alu").get<double>());
    EXPECT_DOUBLE_EQ(r.rng_profile.total, v.at("ptx_instructions_per_element").get<double>());
    EXPECT_EQ(r.main_host().rng.registers_per_thread, v.at("registers_per_thread").get<int>());
  }
  EXPECT_TRUE(found);
}

// The paper's assumptions are named what-ifs: gemm-room lets the co-resident way time the GEMM as
// the fastest kernel, which can only help; unknown names are input errors.
TEST(Block, WhatIfsAreNamedAndMoveTheSpeedupOneWay) {
  BlockConfig c;
  c.batch = 1;
  c.seq = 8192;
  c.scope = Scope::fwd;
  const ModelSpec m = specs::load_model("llama3-8b");
  const GpuSpec g = specs::load_gpu("h100-sxm5");
  const BlockResult real = block_dropout(m, g, c);
  c.what_ifs = expand_what_ifs({"paper"}, "block.what_if");
  EXPECT_EQ(c.what_ifs, what_if_names());
  const BlockResult paper = block_dropout(m, g, c);
  EXPECT_GE(paper.speedup_vs_sequential, real.speedup_vs_sequential);
  EXPECT_NE(std::find(paper.what_ifs.begin(), paper.what_ifs.end(), "gemm-room"),
            paper.what_ifs.end());
  EXPECT_THROW(expand_what_ifs({"free-lunch"}, "block.what_if"), InputError);
}
