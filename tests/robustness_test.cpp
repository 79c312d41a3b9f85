// Numeric robustness: randomised valid specs (GPU sizes, links, models, batch, sequence) never
// give a NaN or infinite answer, and the invariants of the applications hold.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "llmgps/dropout/block.hpp"
#include "llmgps/moe/advisor.hpp"
#include "llmgps/schedule/estimate.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

using namespace llmgps;

namespace {
double draw(std::mt19937& rng, double lo, double hi) {
  return lo + (hi - lo) * double(rng() % 1000001) / 1e6;
}

GpuSpec random_gpu(std::mt19937& rng) {
  const char* names[] = {"a100-sxm4-80g", "h100-sxm5", "h200-sxm"};
  GpuSpec g = specs::load_gpu(names[rng() % 3]);
  g.sm_count = int(draw(rng, 16, 200));
  g.clock_hz *= draw(rng, 0.5, 1.5);
  g.hbm_bw_bytes_per_s *= draw(rng, 0.3, 3);
  g.hbm_bytes *= draw(rng, 1, 4);
  g.l2_bw_bytes_per_s *= draw(rng, 0.5, 2);
  g.alu_per_clk *= draw(rng, 0.5, 2);
  g.int32_per_clk *= draw(rng, 0.5, 2);
  g.issue_per_clk = std::max(1.0, std::round(g.issue_per_clk * draw(rng, 0.5, 2)));
  return g;
}

bool finite_positive(double x) {
  return std::isfinite(x) && x > 0;
}
}  // namespace

TEST(Robustness, RandomGpusAndModelsGiveFiniteEstimates) {
  std::mt19937 rng(2024);
  const char* models[] = {"llama2-7b", "llama3-8b", "mixtral-8x7b", "qwen1.5-moe-a2.7b",
                          "olmoe-1b-7b"};
  int estimated = 0;
  for (int trial = 0; trial < 60; ++trial) {
    SystemSpec sys = specs::load_system("4x-a100-nvlink3");
    sys.gpu = random_gpu(rng);
    sys.intra.bw_bytes_per_s *= draw(rng, 0.05, 4);
    const ModelSpec m = specs::load_model(models[rng() % 5]);
    StepConfig cfg;
    cfg.batch = 1 + rng() % 64;
    cfg.seq = 16 + rng() % 8192;
    cfg.phase = rng() % 2 ? Phase::prefill : Phase::decode;
    // Expert parallelism over as many of the 4 GPUs as divide the experts (Qwen's 60: 4 does).
    cfg.ep = 0;
    StepEstimate e;
    try {
      e = estimate_step(m, sys, cfg);
    } catch (const InputError&) {
      continue;  // an impossible layout is reported, not estimated
    }
    ASSERT_TRUE(finite_positive(e.total_s)) << trial << " " << m.name;
    for (const auto& op : e.ops) ASSERT_TRUE(std::isfinite(op.time_s) && op.time_s >= 0) << op.name;
    ++estimated;
  }
  EXPECT_GE(estimated, 50);  // the draws are valid layouts: few, if any, are refused
}

TEST(Robustness, RandomMoeSettingsKeepTheAdvisorInvariants) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 40; ++trial) {
    SystemSpec sys = specs::load_system(rng() % 2 ? "4x-a100-nvlink3" : "8x-h100-nvlink4");
    sys.intra.bw_bytes_per_s = draw(rng, 8, 900) * 1e9;
    moe::EpSetup setup;
    setup.step.batch = 1 + rng() % 32;
    setup.step.seq = 64 + rng() % 4096;
    const moe::EpModel em(specs::load_model("mixtral-8x7b"), sys, setup);
    const double skew = draw(rng, 1.0, 3.9);
    const auto strategies = moe::builtin_strategies(em, "predictors-mixtral-traces");
    const auto r =
        moe::closed_form(em, strategies, {moe::shares_for_skew(8, 2, skew)}, moe::AdviceConfig{});
    for (const auto& x : r) {
      ASSERT_TRUE(finite_positive(x.latency_s)) << trial;
      ASSERT_GT(x.balancedness, 0);
      ASSERT_LE(x.balancedness, 1 + 1e-12);
      ASSERT_NEAR(x.latency_s, x.layer.total() * em.moe_layers() + em.other_s(),
                  1e-9 * x.latency_s);
    }
    const auto a = moe::advise(r);
    ASSERT_TRUE(std::isfinite(a.improvement_vs_best_token));
  }
}

TEST(Robustness, RandomDropoutBlocksKeepTheStrategyOrder) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    GpuSpec g = random_gpu(rng);
    dropout::BlockConfig c;
    c.batch = 1 + rng() % 4;
    c.seq = 128 << (rng() % 6);
    c.dtype = g.supports(DType::fp8) && rng() % 2 ? DType::fp8 : DType::bf16;
    c.scope = rng() % 2 ? dropout::Scope::fwd : dropout::Scope::train;
    c.rng.bits = rng() % 2 ? 8 : 32;
    c.rng.rounds = 1 + int(rng() % 12);
    c.rng.p = draw(rng, 0, 0.9);
    const auto r =
        dropout::block_dropout(specs::load_model(rng() % 2 ? "llama3-8b" : "llama2-7b"), g, c);
    const double none = r.strategies[0].time_s, seq = r.strategies[2].time_s,
                 over = r.strategies[3].time_s;
    for (const auto& s : r.strategies) ASSERT_TRUE(finite_positive(s.time_s)) << trial;
    ASSERT_GE(over + 1e-12, none) << trial;
    ASSERT_LE(over, seq + 1e-12) << trial;
    ASSERT_TRUE(std::isfinite(r.speedup_vs_sequential) && std::isfinite(r.speedup_vs_fused));
  }
}
