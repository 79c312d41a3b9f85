#include "llmgps/cost/gemm.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

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

namespace {
const GemmKernelFamily& family(const GpuSpec& g, const std::string& name) {
  for (const auto& f : g.gemm_kernels)
    if (f.name == name) return f;
  throw std::runtime_error("no family " + name);
}
}  // namespace

// The H100 family records reproduce the CUTLASS kernels scripts/gemm-kernel-profile built
// (data/kernels/gemm_cutlass.json): threads, stages, shared memory and setmaxnreg budgets exactly
// or within a few bytes, registers within one allocation unit; and a kernel ptxas had to spill is
// one the model refuses to build.
TEST(GemmKernels, RecordsReproduceTheProfiledCutlassKernels) {
  const auto doc =
      nlohmann::json::parse(test::slurp(test::source_dir() + "/data/kernels/gemm_cutlass.json"));
  ASSERT_GE(doc.at("kernels").size(), 17u);
  for (const auto& k : doc.at("kernels")) {
    const std::string name = k.at("family");
    const DType d = k.at("dtype") == "fp8"    ? DType::fp8
                    : k.at("dtype") == "fp16" ? DType::fp16
                                              : DType::bf16;
    const bool ampere = k.at("arch") == "sm_80";
    const GpuSpec& gpu = ampere ? a100() : h100();
    SCOPED_TRACE(name + " " + std::string(k.at("dtype")) + " " +
                 std::to_string(int(k.at("tile_m"))) + "x" + std::to_string(int(k.at("tile_n"))));
    GemmKernel out;
    const bool built =
        gemm_kernel_for(gpu, family(gpu, name), k.at("tile_m"), k.at("tile_n"), d, out);
    if (int(k.at("ptxas_spill_store_bytes")) > 0) {
      EXPECT_FALSE(built) << "ptxas spilled this kernel; the model must not build it";
      continue;
    }
    ASSERT_TRUE(built);
    EXPECT_EQ(out.threads_per_cta, int(k.at("threads_per_cta")));
    EXPECT_EQ(out.stages, int(k.at("stages")));
    EXPECT_NEAR(out.smem_bytes, int(k.at("smem_bytes")), 64);
    EXPECT_EQ(out.producer_registers, int(k.at("producer_registers")));
    EXPECT_EQ(out.consumer_registers, int(k.at("consumer_registers")));
    // Hopper: within one allocation unit above ptxas; Ampere: the fitted line's residuals.
    const int ptxas = k.at("ptxas_registers_per_thread");
    EXPECT_GE(out.registers_per_thread, ptxas - (ampere ? 8 : 0));
    EXPECT_LE(out.registers_per_thread, ptxas + (ampere ? 24 : 8));
  }
}

// Every tile every family of every GPU preset builds fits one SM and holds at most 255
// accumulators per thread (the setmaxnreg budget where there is one).
TEST(GemmKernels, PropertyEveryBuildableTileFitsAnSm) {
  for (const char* gpu : {"a100-sxm4-80g", "h100-sxm5", "h200-sxm", "h800-sxm5"}) {
    const GpuSpec g = specs::load_gpu(gpu);
    int built = 0;
    for (const auto& f : g.gemm_kernels)
      for (DType d : {DType::fp16, DType::bf16, DType::fp8}) {
        if (!g.supports(d)) continue;
        for (int tm : f.tile_m)
          for (int tn : f.tile_n) {
            GemmKernel k;
            if (!gemm_kernel_for(g, f, tm, tn, d, k)) continue;
            ++built;
            SCOPED_TRACE(std::string(gpu) + " " + f.name + " " + std::to_string(tm) + "x" +
                         std::to_string(tn));
            EXPECT_LE(k.accumulators_per_thread, 255);
            EXPECT_LE(tm * tn / (k.threads_per_cta - k.producer_threads), 255);
            EXPECT_LE(k.ctas_per_sm * k.threads_per_cta * k.registers_per_thread,
                      g.registers_per_sm);
            EXPECT_LE(k.ctas_per_sm * k.smem_bytes, g.smem_per_sm_bytes);
            EXPECT_LE(k.ctas_per_sm * k.threads_per_cta, g.max_threads_per_sm);
            if (k.consumer_registers > 0) {
              EXPECT_LE(k.accumulators_per_thread + f.register_overhead_per_thread,
                        k.consumer_registers);
            }
          }
      }
    EXPECT_GT(built, 0) << gpu;
  }
}

// The time and the footprint come from one kernel: a GEMM restricted to a family reports that
// family's footprint, and leaving room for another CTA never makes it faster.
TEST(GemmKernels, ACostCarriesItsKernelAndRoomCostsTime) {
  GemmShape s{8192, 14336, 4096, 1, DType::fp8};
  const GemmCost any = gemm_cost(h100(), s);
  for (const auto& f : h100().gemm_kernels) {
    GemmShape only = s;
    only.family = f.name;
    const GemmCost c = gemm_cost(h100(), only);
    EXPECT_EQ(c.kernel.family, f.name);
    EXPECT_GE(c.time_s, any.time_s);
    GemmKernel same;
    ASSERT_TRUE(gemm_kernel_for(h100(), f, c.tile_m, c.tile_n, DType::fp8, same));
    EXPECT_EQ(same.registers_per_thread, c.kernel.registers_per_thread);
    EXPECT_EQ(same.smem_bytes, c.kernel.smem_bytes);
    only.reserve = {128, 128 * 32, 0, 1};
    try {
      const GemmCost roomy = gemm_cost(h100(), only);
      EXPECT_GE(roomy.time_s, c.time_s);
      EXPECT_LE(roomy.kernel.threads_per_cta * roomy.kernel.registers_per_thread + 128 * 32,
                h100().registers_per_sm);
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(f.name), std::string::npos);
    }
  }
  GemmShape bad = s;
  bad.family = "no-such-kernel";
  EXPECT_THROW(gemm_cost(h100(), bad), InputError);
}
