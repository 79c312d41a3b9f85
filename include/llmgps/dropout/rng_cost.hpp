#pragma once
// What attention-dropout RNG costs on a GPU's pipes. The standalone kernel's registers and its
// instruction mix per element come from our compiled kernel (data/kernels/rng_mask.json, written
// by scripts/rng-kernel-profile from nvcc's PTX and ptxas -v); the fused strategy charges the
// same per-element work inside attention. PhiloxOps is the algorithm's own count, kept as the
// reference the compiled counts are checked against (the compiler hoists loop-invariant work).
#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/sm_model.hpp"
#include "llmgps/dropout/mask.hpp"

namespace llmgps::dropout {

// Per Philox4x32-R call, as compiled (cuRAND/Random123 style; ../shared/docs/papers.md counts 20
// multiplies, ~40 XORs and 18 adds for R = 10):
//   2R 32x32->64 multiplies (IMAD.WIDE: one instruction, two multiplier passes),
//   4R two-input XORs, 2(R-1) key-schedule adds, 4 ops to form the counter from the element index.
struct PhiloxOps {
  double wide_multiplies = 0;
  double xors = 0;
  double adds = 0;
  double counter_setup = 0;
  int elements_per_call = 0;
};
PhiloxOps philox_ops(int rounds, int bits);

// The compiled mask kernel for `gpu` (sm_90 profile on Hopper, sm_80 below): registers per
// thread and, per element, its PTX instructions by pipe. Rounds other than the profiled 7 and 10
// follow the line through them (unrolled rounds add the same instructions each); registers are
// the nearer profiled variant's.
struct RngKernelProfile {
  int registers_per_thread = 0;
  double imad = 0, alu = 0, total = 0;  // per element; total includes memory, moves, branches
};
RngKernelProfile rng_kernel_profile(const GpuSpec& gpu, const DropoutRng& rng);

// Per score in attention with the RNG fused in: the compiled kernel's per-element work (Philox
// share, extraction, keep compare; its bit packing stands in for the fused kernel's bookkeeping)
// plus the select that zeroes or scales P.
PerScoreWork fused_rng_work(const GpuSpec& gpu, const DropoutRng& rng);
// Per score reading a precomputed mask: bit extract, test, select; 1/8 byte from HBM.
PerScoreWork mask_read_work();
// Per element in the standalone mask kernel, as compiled: Philox share, extraction, compare,
// pack and store; the packed mask is written at 1/8 byte per element.
SmDemand rng_element_demand(const GpuSpec& gpu, const DropoutRng& rng);

// The standalone RNG kernel (the one in cuda/): `threads` per CTA (256 by default; smaller CTAs
// fit beside register-hungry GEMMs) at the compiled kernel's registers, no shared memory, 128
// elements per thread (8 Philox calls at 8 bits, 32 at 32 bits).
KernelSpec rng_kernel(const GpuSpec& gpu, double elements, const DropoutRng& rng,
                      int threads = 256);

}  // namespace llmgps::dropout
