#include "llmgps/moe/planner.hpp"

#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "llmgps/specs/error.hpp"

using namespace llmgps::moe;

namespace {
const LoadMatrix kReadmeWeight = {{90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86},
                                  {20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27}};
}

// DeepSeek EPLB README: 2 layers, 12 experts, 16 replicas, 4 groups, 2 nodes, 8 GPUs.
TEST(Planner, EplbReproducesDeepSeekReadmeExample) {
  const ReplicaPlan p = eplb_plan(kReadmeWeight, EplbConfig{16, 4, 2, 8});
  const std::vector<std::vector<int>> expected = {{5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1},
                                                  {7, 10, 6, 8, 6, 11, 8, 9, 2, 4, 5, 1, 5, 0, 3, 1}};
  EXPECT_EQ(p.phy2log, expected);
  EXPECT_EQ(check_plan(p, 12), "");
  // logcnt and log2phy agree with phy2log (each replica listed once, in rank order).
  for (int l = 0; l < 2; ++l)
    for (int e = 0; e < 12; ++e) {
      int n = 0;
      for (int s = 0; s < 16; ++s) n += p.phy2log[std::size_t(l)][std::size_t(s)] == e;
      EXPECT_EQ(p.logcnt[std::size_t(l)][std::size_t(e)], n);
    }
  EXPECT_EQ(p.log2phy(0, 5, 0), 0);
  EXPECT_EQ(p.log2phy(0, 5, 1), 2);
  EXPECT_EQ(p.log2phy_nested()[1][3], (std::vector<int>{14, -1}));
}

TEST(Planner, EplbGlobalPolicyWhenGroupsDoNotDivideNodes) {
  const ReplicaPlan p = eplb_plan(kReadmeWeight, EplbConfig{16, 3, 2, 8});
  EXPECT_EQ(check_plan(p, 12), "");
  // Replicas packed onto all 8 GPUs: at least as balanced as the hierarchical plan here.
  EXPECT_GE(balancedness(p, kReadmeWeight) + 1e-9, balancedness(eplb_plan(kReadmeWeight, EplbConfig{16, 4, 2, 8}), kReadmeWeight));
}

TEST(Planner, PropertyInvariantsOnRandomLoads) {
  std::mt19937 rng(7);
  for (int trial = 0; trial < 50; ++trial) {
    const int gpus = 1 << (rng() % 4);            // 1..8
    const int experts = gpus * (1 + int(rng() % 4));
    const int slots = experts / gpus + int(rng() % 3);
    LoadMatrix w(3, std::vector<double>(std::size_t(experts)));
    for (auto& row : w)
      for (double& x : row) x = double(rng() % 1000);
    const ReplicaPlan e = eplb_plan(w, EplbConfig{gpus * slots, 1, 1, gpus});
    EXPECT_EQ(check_plan(e, experts), "") << trial;
    const ReplicaPlan g = greedy_plan(w, GreedyConfig{gpus, slots, 0, 1.0, {}});
    EXPECT_EQ(check_plan(g, experts), "") << trial;
    // Tokens are conserved: the GPU loads add up to the expert loads.
    for (const ReplicaPlan* p : {&e, &g}) {
      const auto gl = gpu_loads(*p, w);
      for (std::size_t l = 0; l < w.size(); ++l)
        EXPECT_NEAR(std::accumulate(gl[l].begin(), gl[l].end(), 0.0), std::accumulate(w[l].begin(), w[l].end(), 0.0), 1e-6);
    }
    // Duplication never makes the balance worse than no duplication.
    const ReplicaPlan none = contiguous_plan(3, experts, gpus);
    EXPECT_GE(balancedness(g, w) + 1e-12, balancedness(none, w)) << trial;
  }
}

TEST(Planner, GreedyHalvesTheGapUntilBalanced) {
  // 4 experts on 2 GPUs, expert 0 hot; 3 slots per GPU: one copy of expert 0 to GPU 1 balances.
  const LoadMatrix w = {{300, 100, 100, 100}};
  const ReplicaPlan p = greedy_plan(w, GreedyConfig{2, 3, 0, 1.0, {}});
  const auto gl = gpu_loads(p, w);
  EXPECT_NEAR(gl[0][0], 300, 1.0);
  EXPECT_NEAR(gl[0][1], 300, 1.0);
  EXPECT_EQ(p.logcnt[0][0], 2);
  EXPECT_DOUBLE_EQ(balancedness(p, w), 1.0);
}

TEST(Planner, GreedyRespectsCopyLimitAndSlots) {
  const LoadMatrix w = {{1000, 10, 10, 10, 10, 10, 10, 10}};
  const ReplicaPlan p = greedy_plan(w, GreedyConfig{4, 3, 2, 1.0, {}});
  EXPECT_LE(p.logcnt[0][0], 2);
  EXPECT_EQ(check_plan(p, 8), "");
  const ReplicaPlan full = greedy_plan(w, GreedyConfig{4, 2, 0, 1.0, {}});  // no free slot: no copy
  EXPECT_EQ(full.logcnt[0][0], 1);
}

TEST(Planner, BadShapesNameTheParameter) {
  auto where = [](auto f) {
    try {
      f();
    } catch (const llmgps::InputError& e) {
      return e.where();
    }
    return std::string("no error");
  };
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{10, 4, 2, 8}); }), "--slots-per-gpu");
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 5, 2, 8}); }), "--groups");
  EXPECT_EQ(where([] { eplb_plan(kReadmeWeight, EplbConfig{16, 4, 3, 8}); }), "--gpus");
  EXPECT_EQ(where([] { greedy_plan(kReadmeWeight, GreedyConfig{5, 3, 0, 1, {}}); }), "--gpus");
  EXPECT_EQ(where([] { eplb_plan({{1, 2}, {1}}, EplbConfig{2, 1, 1, 1}); }), "loads");
  EXPECT_EQ(where([] { eplb_plan({{1, -2}}, EplbConfig{2, 1, 1, 1}); }), "loads");
}

TEST(Planner, GreedyOnTimeCopiesOnlyWhenTheBusiestGpuGetsFaster) {
  const LoadMatrix w = {{300, 100, 100, 100}};
  // Compute-bound experts (time proportional to tokens): balances like the token planner.
  GreedyConfig compute{2, 3, 0, 1.0, [](const std::vector<double>& slots) {
                         double t = 0;
                         for (double x : slots) t += x;
                         return t;
                       }};
  const ReplicaPlan a = greedy_plan(w, compute);
  EXPECT_EQ(a.logcnt[0][0], 2);
  EXPECT_NEAR(gpu_loads(a, w)[0][0], 300, 1.0);
  // Weight-read-bound experts (every replica with tokens costs 1000, tokens cost 1 each): a copy
  // would add a whole weight read to the idle GPU, so the planner keeps the placement.
  GreedyConfig memory{2, 3, 0, 1.0, [](const std::vector<double>& slots) {
                        double t = 0;
                        for (double x : slots) t += x > 0 ? 1000 + x : 0;
                        return t;
                      }};
  const ReplicaPlan b = greedy_plan(w, memory);
  EXPECT_EQ(b.logcnt[0][0], 1);
  EXPECT_EQ(check_plan(b, 4), "");
}

// Found by fuzz_loads (a load of 2.2e69 became +inf in float32 and a full GPU was chosen): loads
// beyond what float32 sums can hold are refused; the largest accepted ones still plan validly.
TEST(Planner, RegressionHugeLoadsAreRefusedOrPlanValidly) {
  const LoadMatrix huge = {{5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33, 5e33}};
  for (int gpus : {2, 4}) {
    const ReplicaPlan p = eplb_plan(huge, EplbConfig{16, 1, 1, gpus, 1});
    EXPECT_EQ(check_plan(p, 12), "") << gpus;
  }
  const LoadMatrix fuzz = {{90, 132, 40, 2.2222444444444444e69, 39, 4, 172, 86, 16, 27}};
  EXPECT_THROW(eplb_plan(fuzz, EplbConfig{12, 1, 1, 2, 1}), llmgps::InputError);
}
