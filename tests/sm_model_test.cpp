#include "llmgps/cost/sm_model.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
const GpuSpec& h100() {
  static const GpuSpec g = specs::load_gpu("h100-sxm5");
  return g;
}
KernelSpec alu_kernel(double ctas, double alu_ops_per_cta) {
  KernelSpec k;
  k.name = "alu";
  k.ctas = ctas;
  k.threads_per_cta = 256;
  k.registers_per_thread = 32;
  k.per_cta.alu_ops = alu_ops_per_cta;
  k.per_cta.issue = alu_ops_per_cta / 32;
  return k;
}
}  // namespace

TEST(SmModel, OccupancyFromTheTightestLimit) {
  const GpuSpec& g = h100();
  EXPECT_EQ(ctas_per_sm(g, 256, 32, 0), 8);           // threads: 2048 / 256
  EXPECT_EQ(ctas_per_sm(g, 256, 128, 0), 2);          // registers: 65536 / (256 * 128)
  EXPECT_EQ(ctas_per_sm(g, 128, 32, 100 * 1024), 2);  // shared memory
  EXPECT_EQ(ctas_per_sm(g, 32, 16, 0), 32);           // CTA slots
}

TEST(SmModel, AloneTimeIsTheBusiestResourceExactly) {
  const GpuSpec& g = h100();
  // One CTA per SM, 64e6 ALU lane ops each: 64e6 / (64 lanes * clock) seconds, ALU-bound.
  const KernelTime t = kernel_alone(g, alu_kernel(g.sm_count, 64e6));
  EXPECT_EQ(t.bound, "alu");
  EXPECT_NEAR(t.time_s, 1e6 / g.clock_hz + g.launch_overhead_s, 1e-12);
  // Twice the CTAs of the SM count: the busiest SM does two CTAs' work.
  EXPECT_NEAR(kernel_alone(g, alu_kernel(2.0 * g.sm_count, 64e6)).time_s,
              2e6 / g.clock_hz + g.launch_overhead_s, 1e-12);
}

TEST(SmModel, CoResidentKernelsOnDisjointPipesOverlap) {
  const GpuSpec& g = h100();
  KernelSpec gemm;
  gemm.name = "gemm";
  gemm.ctas = g.sm_count;
  gemm.threads_per_cta = 256;
  gemm.registers_per_thread = 136;
  gemm.smem_per_cta_bytes = 200 * 1024;
  gemm.tensor_dtype = DType::fp8;
  gemm.fixed_time_s = 1e-3;
  const KernelSpec rng = alu_kernel(g.sm_count, 64e6);  // ~0.55 ms alone
  const PairTime p = kernels_together(g, gemm, rng);
  EXPECT_TRUE(p.co_resident);
  EXPECT_NEAR(p.time_s, 1e-3 + g.launch_overhead_s, 1e-9);  // hidden behind the tensor-bound GEMM
  // Same pipe: the demands add up.
  const PairTime q =
      kernels_together(g, alu_kernel(g.sm_count, 64e6), alu_kernel(g.sm_count, 64e6));
  EXPECT_NEAR(q.time_s, 2e6 / g.clock_hz + g.launch_overhead_s, 1e-9);
}

TEST(SmModel, KernelsThatCannotShareAnSmGainNothing) {
  const GpuSpec& g = h100();
  KernelSpec big;
  big.name = "big";
  big.ctas = g.sm_count;
  big.threads_per_cta = 384;
  big.registers_per_thread = 168;  // 64,512 registers: nothing else fits
  big.fixed_time_s = 1e-3;
  const KernelSpec rng = alu_kernel(g.sm_count, 64e6);
  const PairTime p = kernels_together(g, big, rng);
  EXPECT_FALSE(p.co_resident);
  EXPECT_NEAR(p.time_s, p.a_alone_s + p.b_alone_s, 1e-12);
}

TEST(SmModel, ImpossibleCtaIsAnInputError) {
  KernelSpec k = alu_kernel(1, 1);
  k.registers_per_thread = 1024;
  EXPECT_THROW(kernel_alone(h100(), k), InputError);
}
