#pragma once
// The SM resource model: a kernel is a grid of CTAs with per-CTA resources (threads, registers,
// shared memory) and per-CTA demand on each SM resource (tensor FLOPs, FP32 FMA-pipe ops, integer
// multiplies, ALU ops, MUFU ops, warp-instruction issue slots) plus GPU-wide HBM bytes. Alone, a
// kernel's time is the largest demand / capacity over the resources of its busiest SM. Two
// kernels side by side either share SMs (when a CTA of each fits at once: the demands add up
// resource by resource, which is how RNG hides behind a tensor-bound GEMM) or must split the SMs
// (which hides nothing when both scale with SM count). Every answer names the binding resource and
// each resource's utilisation.
#include <string>
#include <vector>

#include "llmgps/specs/hw.hpp"

namespace llmgps {

// Integer multiplies run on the FMA-heavy half of the FP32 pipe on Hopper (and Ampere), so the
// FP32 and IMAD demands also share one joint "fma" capacity (fp32 + imad <= fp32_fma_per_clk).
struct SmDemand {
  double tensor_flops = 0;
  double fp32_ops = 0;  // lane operations
  double imad_ops = 0;  // 32-bit integer multiply lane operations (a 32x32->64 multiply counts 2)
  double alu_ops = 0;   // logic, add, shift, compare, select lane operations
  double mufu_ops = 0;
  double issue = 0;  // warp instructions
  SmDemand& operator+=(const SmDemand& o);
  SmDemand scaled(double k) const;
};

struct KernelSpec {
  std::string name;
  double ctas = 1;
  int threads_per_cta = 128;
  int registers_per_thread = 32;
  int smem_per_cta_bytes = 0;
  SmDemand per_cta;      // demand of one CTA
  double hbm_bytes = 0;  // whole kernel
  DType tensor_dtype = DType::fp16;
  double tensor_efficiency = 1;  // fraction of tensor peak its MMAs sustain
  double fixed_time_s = -1;      // >= 0: the kernel's time alone is known (a modelled GEMM); its
                                 // demand is then spread over that time
};

struct ResourceUse {
  std::string resource;    // tensor, fp32, imad, fma, alu, mufu, issue, hbm
  double time_s = 0;       // time the kernel's demand needs on this resource
  double utilisation = 0;  // time_s / the kernel's time
};

struct KernelTime {
  double time_s = 0;
  std::string bound;  // the binding resource, as OpCost::bound names it
  int ctas_per_sm = 0;
  double waves = 0;
  std::vector<ResourceUse> resources;
};

// Registers a thread is allocated: per warp in units of 256, i.e. 8 per thread (the CUDA occupancy
// calculator's register allocation unit and granularity on sm_80 and sm_90).
int allocated_registers(int registers_per_thread);
// CTAs of one kernel that fit on an SM by threads, registers, shared memory and CTA slots.
int ctas_per_sm(const GpuSpec& gpu, int threads, int registers_per_thread, int smem_bytes);
KernelTime kernel_alone(const GpuSpec& gpu, const KernelSpec& k);

struct PairTime {
  bool co_resident = false;                  // a CTA of each fits on an SM at once
  int a_ctas_per_sm = 0, b_ctas_per_sm = 0;  // resident together on one SM (co-resident)
  double time_s = 0;                         // both finished
  double a_alone_s = 0, b_alone_s = 0;
  std::string bound;  // the binding resource, as OpCost::bound names it
  std::string detail;
  std::vector<ResourceUse> resources;  // of the combined demand
};
// A modelled GEMM as a kernel: its CTAs with the GPU library's per-CTA resources (gemm_kernel in
// the hardware file; the whole SM when unknown), its tensor work, and its modelled time.
struct GemmCost;
KernelSpec gemm_kernel_spec(const GpuSpec& gpu, const std::string& name, const GemmCost& cost,
                            DType dtype);

// Kernel a (e.g. a GEMM, resident at its own occupancy) and kernel b launched beside it.
PairTime kernels_together(const GpuSpec& gpu, const KernelSpec& a, const KernelSpec& b);

}  // namespace llmgps
