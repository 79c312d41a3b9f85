#include "llmgps/dropout/rng_cost.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

using namespace llmgps;
using namespace llmgps::dropout;

TEST(RngCost, PhiloxCountsFollowTheAlgorithm) {
  const PhiloxOps o = philox_ops(10, 32);
  EXPECT_EQ(o.wide_multiplies, 20);  // 2 per round
  EXPECT_EQ(o.xors, 40);             // 4 two-input XORs per round
  EXPECT_EQ(o.adds, 18);             // key bumps between rounds
  EXPECT_EQ(o.elements_per_call, 4);
  EXPECT_EQ(philox_ops(7, 8).elements_per_call, 16);
}

// The counts the model uses are the compiled kernel's (data/kernels/rng_mask.json), per arch.
TEST(RngCost, CountsInUseAreTheCompiledKernels) {
  const auto doc =
      nlohmann::json::parse(test::slurp(test::source_dir() + "/data/kernels/rng_mask.json"));
  const GpuSpec h100 = specs::load_gpu("h100-sxm5"), a100 = specs::load_gpu("a100-sxm4-80g");
  for (const auto& v : doc["variants"]) {
    const GpuSpec& g = v["arch"] == "sm_90" ? h100 : a100;
    const DropoutRng r{0, 0, 0.1, v["bits"].get<int>(), v["rounds"].get<int>()};
    const SmDemand d = rng_element_demand(g, r);
    EXPECT_DOUBLE_EQ(d.imad_ops, v["ptx_per_element_by_class"]["imad"].get<double>());
    EXPECT_DOUBLE_EQ(d.alu_ops, v["ptx_per_element_by_class"]["alu"].get<double>());
    EXPECT_DOUBLE_EQ(d.issue, v["ptx_instructions_per_element"].get<double>() / 32.0);
    EXPECT_EQ(rng_kernel(g, 1e6, r).registers_per_thread, v["registers_per_thread"].get<int>());
    // Never more multiplies than the algorithm has (2R wide multiplies per call, each a high and
    // a low half); the compiler hoists the loop-invariant ones.
    const PhiloxOps o = philox_ops(r.rounds, r.bits);
    EXPECT_LE(d.imad_ops, 2.0 * o.wide_multiplies / o.elements_per_call + 0.5);
  }
}

TEST(RngCost, OtherRoundCountsFollowTheProfiledLine) {
  const GpuSpec g = specs::load_gpu("h100-sxm5");
  const auto at = [&](int rounds) {
    return rng_element_demand(g, DropoutRng{0, 0, 0.1, 32, rounds}).alu_ops;
  };
  EXPECT_NEAR(at(8) - at(7), (at(10) - at(7)) / 3.0, 1e-9);
  EXPECT_GT(at(12), at(10));  // more rounds never cost less
  const DropoutRng r32{0, 0, 0.1, 32, 10}, r8{0, 0, 0.1, 8, 10};
  EXPECT_GT(rng_element_demand(g, r32).alu_ops, rng_element_demand(g, r8).alu_ops);
  EXPECT_GT(fused_rng_work(g, r32).issue, fused_rng_work(g, r8).issue);
  EXPECT_DOUBLE_EQ(mask_read_work().hbm_bytes, 0.125);
}

TEST(RngCost, StandaloneKernelWritesOneBitPerElement) {
  const GpuSpec g = specs::load_gpu("h100-sxm5");
  const KernelSpec k = rng_kernel(g, 1 << 30, DropoutRng{});
  EXPECT_DOUBLE_EQ(k.hbm_bytes, double(1 << 30) / 8);
  EXPECT_EQ(k.ctas, double(1 << 30) / (256.0 * 128));
  const KernelTime t = kernel_alone(g, k);
  EXPECT_TRUE(t.bound == "alu" || t.bound == "issue" || t.bound == "imad" || t.bound == "fma")
      << t.bound;
}
