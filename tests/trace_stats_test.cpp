#include "llmgps/moe/trace_stats.hpp"

#include <gtest/gtest.h>

#include <cmath>

using namespace llmgps::moe;

TEST(TraceStats, SkewEntropySharesExact) {
  EXPECT_DOUBLE_EQ(skew_of({1, 1, 1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(skew_of({4, 0, 0, 0}), 4.0);
  EXPECT_DOUBLE_EQ(skew_of({3, 1, 1, 1}), 2.0);
  EXPECT_DOUBLE_EQ(skew_of({0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(entropy_bits({1, 1, 1, 1}), 2.0);
  EXPECT_DOUBLE_EQ(entropy_bits({5, 0}), 0.0);
  EXPECT_EQ(shares_of({1, 3}), (std::vector<double>{0.25, 0.75}));
}

TEST(TraceStats, MatchesThePublishedSkewOfTheMixtralTraces) {
  // ../shared/data/README.md: gsm8k 1.5175, humaneval 1.4712 (max/mean per layer, mean over layers).
  const auto g = trace_stats(load_trace(std::string(LLMGPS_SHARED_DIR) + "/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl"), 64);
  const auto h = trace_stats(load_trace(std::string(LLMGPS_SHARED_DIR) + "/data/traces/mixtral-8x7b-humaneval-2problems.jsonl"), 64);
  EXPECT_NEAR(g.skew_mean, 1.5175, 5e-5);
  EXPECT_NEAR(h.skew_mean, 1.4712, 5e-5);
  EXPECT_GT(g.batch_skew_mean, g.skew_mean);  // smaller batches are more skewed
  for (const auto& l : g.per_layer) {
    double s = 0;
    for (double x : l.shares) s += x;
    EXPECT_NEAR(s, 1.0, 1e-12);
    EXPECT_GE(l.batch_skew_max, l.batch_skew_mean);
  }
}

TEST(TraceStats, TransitionsCountEveryPairOfConsecutiveLayers) {
  const auto tr = parse_trace(
      "{\"layer\":0,\"experts\":[0,1],\"token_idx\":0}\n{\"layer\":1,\"experts\":[2,3],\"token_idx\":0}\n"
      "{\"layer\":0,\"experts\":[0,2],\"token_idx\":1}\n",
      "t");
  const auto m = layer_transitions(tr);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0][0][2], 1);
  EXPECT_EQ(m[0][1][3], 1);
  double total = 0;
  for (const auto& row : m[0])
    for (double x : row) total += x;
  EXPECT_EQ(total, 4);  // token 1 has no layer-1 record
}
