#include "llmgps/workload/expert_activation.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

TEST(ExpertActivation, OneTokenTopTwoOfEightOnFourGpus) {
  const ExpertActivation a = expected_activation(8, 4, 2, 1);
  EXPECT_NEAR(a.active_per_gpu, 0.5, 1e-12);  // 2 experts x P(chosen) = 2/8 each
  EXPECT_NEAR(a.tokens_per_active, 1.0, 1e-12);
  EXPECT_NEAR(a.busiest_active, 8.0 / 7.0, 0.01);  // exact: 1 + P(both on one GPU) = 1 + 4/28
}

TEST(ExpertActivation, LargeBatchesActivateEveryExpert) {
  const ExpertActivation a = expected_activation(256, 32, 8, 4096);
  EXPECT_NEAR(a.busiest_active, 8.0, 1e-6);
  EXPECT_NEAR(a.tokens_per_active, 4096.0 * 8 / 256, 1e-6);
}

// Uneven placement (3 experts on 2 GPUs: one holds 2, one holds 1), top-1: one token activates
// one expert; with two, the busiest GPU has 2 active exactly when both of GPU 0's experts are
// chosen (2 of the 9 equally likely pairs).
TEST(ExpertActivation, UnevenPlacementExactSmallCases) {
  EXPECT_NEAR(expected_activation(3, 2, 1, 1).busiest_active, 1.0, 1e-12);
  EXPECT_NEAR(expected_activation(3, 2, 1, 2).busiest_active, 11.0 / 9.0, 1e-12);
  // Qwen1.5-MoE's 60 experts on 8 GPUs: between the 7- and the 8-expert GPUs' counts.
  const ExpertActivation q = expected_activation(60, 8, 4, 4096);
  EXPECT_NEAR(q.busiest_active, 8.0, 1e-6);
}

TEST(ExpertActivation, PropertyMonotoneInTokensAndBounded) {
  for (int e : {8, 60, 64, 256})
    for (int g : {1, 2, 3, 4, 8}) {
      double prev = 0;
      for (double t : {1.0, 2.0, 4.0, 16.0, 64.0, 1024.0}) {
        const ExpertActivation a = expected_activation(e, g, 2, t);
        EXPECT_GE(a.busiest_active, prev - 1e-9) << e << " " << g << " " << t;
        EXPECT_GE(a.busiest_active, a.active_per_gpu - 1e-9);
        EXPECT_LE(a.busiest_active, double((e + g - 1) / g) + 1e-9);
        prev = a.busiest_active;
      }
    }
}

TEST(ExpertActivation, BadInput) {
  EXPECT_THROW(expected_activation(8, 9, 2, 1), InputError);  // more GPUs than experts
  EXPECT_THROW(expected_activation(8, 4, 9, 1), InputError);
  EXPECT_THROW(expected_activation(8, 4, 2, 0), InputError);
}
