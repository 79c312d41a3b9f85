#include "llmgps/dropout/block.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "llmgps/specs/error.hpp"

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
    EXPECT_TRUE(r.host_pair.co_resident);
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
