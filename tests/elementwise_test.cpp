#include "llmgps/cost/elementwise.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

TEST(Elementwise, LargeCopyRunsAtAchievableBandwidth) {
  GpuSpec g = specs::load_gpu("h100-sxm5");
  OpCost c = elementwise_cost(g, {ElementwiseKind::copy, 65536, 8192, DType::bf16});
  EXPECT_EQ(c.bound, "hbm");
  EXPECT_DOUBLE_EQ(c.hbm_bytes, 65536.0 * 8192 * 2 * 2);
  EXPECT_NEAR(c.time_s,
              g.launch_overhead_s + c.hbm_bytes / (g.hbm_bw_bytes_per_s * g.hbm_efficiency), 1e-12);
}

TEST(Elementwise, TinyKernelIsLaunchBound) {
  GpuSpec g = specs::load_gpu("a100-sxm4-80g");
  OpCost c = elementwise_cost(g, {ElementwiseKind::rmsnorm, 1, 4096, DType::fp16});
  EXPECT_EQ(c.bound, "launch");
  EXPECT_DOUBLE_EQ(c.time_s, g.launch_overhead_s + g.elementwise_min_time_s);
}

TEST(Elementwise, PropertyMonotoneAndFasterMemoryHelps) {
  GpuSpec h100 = specs::load_gpu("h100-sxm5");
  GpuSpec h200 = specs::load_gpu("h200-sxm");
  for (auto kind :
       {ElementwiseKind::softmax, ElementwiseKind::layernorm, ElementwiseKind::gated_activation}) {
    double prev = 0;
    for (std::int64_t rows = 1; rows <= (1 << 20); rows *= 8) {
      ElementwiseShape s{kind, rows, 4096, DType::bf16};
      double t = elementwise_cost(h100, s).time_s;
      EXPECT_GE(t, prev);
      EXPECT_LE(elementwise_cost(h200, s).time_s, t);
      prev = t;
    }
  }
}

TEST(Elementwise, LongNormRowsTakeASecondPass) {
  GpuSpec g = specs::load_gpu("a100-sxm4-80g");
  OpCost fits = elementwise_cost(g, {ElementwiseKind::layernorm, 8192, 8192, DType::fp16});
  OpCost spills = elementwise_cost(g, {ElementwiseKind::layernorm, 4096, 16384, DType::fp16});
  EXPECT_GT(spills.hbm_bytes, fits.hbm_bytes);  // same elements, one more read
}

TEST(Elementwise, KindNamesRoundTripAndBadInput) {
  for (auto k : {ElementwiseKind::copy, ElementwiseKind::softmax, ElementwiseKind::topk})
    EXPECT_EQ(parse_elementwise_kind(elementwise_name(k), "--kind"), k);
  EXPECT_THROW(parse_elementwise_kind("conv", "--kind"), InputError);
  GpuSpec g = specs::load_gpu("a100-sxm4-80g");
  EXPECT_THROW(elementwise_cost(g, {ElementwiseKind::copy, 0, 4, DType::fp16}), InputError);
}
