#include "llmgps/cost/gemm.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
const GpuSpec& a100() {
  static GpuSpec g = specs::load_gpu("a100-sxm4-80g");
  return g;
}
const GpuSpec& h100() {
  static GpuSpec g = specs::load_gpu("h100-sxm5");
  return g;
}
}  // namespace

TEST(Gemm, LargeSquareIsTensorBoundNearCalibratedEfficiency) {
  GemmCost c = gemm_cost(a100(), {8192, 8192, 8192, 1, DType::fp16});
  EXPECT_EQ(c.bound, "tensor");
  EXPECT_DOUBLE_EQ(c.flops, 2.0 * 8192.0 * 8192 * 8192);
  const double frac = c.achieved_flops_per_s() / a100().peak_flops(DType::fp16);
  EXPECT_GT(frac, 0.85);
  EXPECT_LE(frac, a100().gemm_tensor_efficiency);
}

TEST(Gemm, SkinnyGemmStreamsWeightsFromHbm) {
  GemmCost c = gemm_cost(a100(), {16, 12288, 12288, 1, DType::fp16});
  EXPECT_EQ(c.bound, "hbm");
  const double weight_s = 12288.0 * 12288 * 2 / (a100().hbm_bw_bytes_per_s * a100().hbm_efficiency);
  EXPECT_GT(c.time_s, weight_s);
  EXPECT_LT(c.time_s, weight_s * 1.1 + a100().launch_overhead_s);
}

TEST(Gemm, TinyGemmIsLaunchBound) {
  GemmCost c = gemm_cost(h100(), {16, 16, 16, 1, DType::bf16});
  EXPECT_EQ(c.bound, "launch");
}

TEST(Gemm, WaveQuantisationShowsAsAStep) {
  // One more tile row past a full wave costs a whole extra (partial) wave.
  GemmCost full = gemm_cost(h100(), {128 * 132, 256, 8192, 1, DType::bf16});
  GemmCost over = gemm_cost(h100(), {128 * 132 + 128, 256, 8192, 1, DType::bf16});
  const double work_ratio = double(128 * 133) / (128 * 132);
  EXPECT_GT(over.time_s / full.time_s, work_ratio);
}

TEST(Gemm, PropertyTimeGrowsWithWork) {
  for (DType d : {DType::fp16, DType::bf16, DType::fp8, DType::tf32, DType::fp32}) {
    double prev = 0;
    for (std::int64_t m = 1; m <= 65536; m *= 4) {
      GemmCost c = gemm_cost(h100(), {m, 4096, 4096, 1, d});
      EXPECT_GE(c.time_s, prev * 0.999) << "m=" << m;
      prev = c.time_s;
    }
  }
}

TEST(Gemm, PropertyNeverAbovePeak) {
  for (std::int64_t m : {1, 64, 1000, 4096, 16384})
    for (std::int64_t n : {64, 1024, 12288})
      for (std::int64_t k : {64, 4096, 28672})
        for (DType d : {DType::bf16, DType::fp8}) {
          GemmCost c = gemm_cost(h100(), {m, n, k, 1, d});
          EXPECT_LE(c.achieved_flops_per_s(), h100().peak_flops(d));
          EXPECT_GT(c.time_s, 0);
        }
}

TEST(Gemm, PropertySustainedClockNeverBeatsThePeakClockBound) {
  // The power-limited clock can only slow a kernel: never faster than the same kernel at the
  // boost clock (the peak-clock bound), and the clock it reports is never above boost.
  for (const char* name : {"h100-sxm5", "h200-sxm", "h800-sxm5", "a100-sxm4-80g"}) {
    GpuSpec g = specs::load_gpu(name);
    GpuSpec boost = g;
    boost.full_load_clock_hz_16bit = boost.full_load_clock_hz_fp8 = 0;
    for (std::int64_t m : {1, 64, 1000, 4096, 16384})
      for (std::int64_t n : {64, 1024, 12288})
        for (std::int64_t k : {64, 4096, 28672})
          for (DType d : {DType::bf16, DType::fp8}) {
            if (d == DType::fp8 && g.tensor_flops_per_clk_fp8 == 0) continue;
            GemmShape s{m, n, k, 1, d};
            GemmCost c = gemm_cost(g, s);
            EXPECT_GE(c.time_s, gemm_cost(boost, s).time_s * (1 - 1e-12)) << name << " " << m;
            EXPECT_LE(c.clock_hz, g.clock_hz * (1 + 1e-12)) << name;
          }
  }
}

TEST(Gemm, PropertyFp8NeverSlowerThanBf16) {
  for (std::int64_t m : {1, 128, 2048, 8192})
    for (std::int64_t nk : {1024, 4096, 16384})
      EXPECT_LE(gemm_cost(h100(), {m, nk, nk, 1, DType::fp8}).time_s,
                gemm_cost(h100(), {m, nk, nk, 1, DType::bf16}).time_s * 1.0000001);
}

TEST(Gemm, PropertyMoreSmsOrBandwidthNeverSlower) {
  GpuSpec more_sm = h100();
  more_sm.sm_count += 12;
  GpuSpec more_bw = h100();
  more_bw.hbm_bw_bytes_per_s *= 1.5;
  for (std::int64_t m : {1, 256, 4096, 32768})
    for (std::int64_t nk : {2048, 8192}) {
      GemmShape s{m, nk, nk, 1, DType::bf16};
      EXPECT_LE(gemm_cost(more_sm, s).time_s, gemm_cost(h100(), s).time_s * 1.0000001) << m;
      EXPECT_LE(gemm_cost(more_bw, s).time_s, gemm_cost(h100(), s).time_s * 1.0000001) << m;
    }
}

TEST(Gemm, BadInputNamesTheOption) {
  try {
    gemm_cost(h100(), {0, 1, 1, 1, DType::bf16});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "gemm.m");
  }
  EXPECT_THROW(gemm_cost(h100(), {1, -1, 1, 1, DType::bf16}), InputError);
  EXPECT_THROW(gemm_cost(a100(), {64, 64, 64, 1, DType::fp8}), InputError);  // no fp8 on A100
}
