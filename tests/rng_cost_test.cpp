#include "llmgps/dropout/rng_cost.hpp"

#include <gtest/gtest.h>

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

TEST(RngCost, EightBitsShareACallAmongMoreElements) {
  const DropoutRng r32{0, 0, 0.1, 32, 10}, r8{0, 0, 0.1, 8, 10};
  EXPECT_NEAR(rng_element_demand(r32).imad_ops, 2.0 * 20 / 4, 1e-12);
  EXPECT_NEAR(rng_element_demand(r8).imad_ops, 2.0 * 20 / 16, 1e-12);
  EXPECT_GT(rng_element_demand(r32).alu_ops, rng_element_demand(r8).alu_ops);
  EXPECT_GT(fused_rng_work(r32).issue, fused_rng_work(r8).issue);
  // More rounds never cost less.
  EXPECT_GT(rng_element_demand(DropoutRng{0, 0, 0.1, 8, 10}).alu_ops,
            rng_element_demand(DropoutRng{0, 0, 0.1, 8, 7}).alu_ops);
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
