#pragma once
// What attention-dropout RNG costs on a GPU's pipes, derived from the algorithm rather than
// measured: Philox4x32-R instruction counts per call (rounds, multiplies, XORs, key bumps), the
// elements each call serves (128 / bits), and the per-element work of turning random bits into a
// keep decision, packing it, or reading it back. These feed the SM resource model.
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

// Per score in attention with the RNG fused in: the Philox share of the call, byte extraction
// (8 bits), the keep compare, and the select that zeroes or scales P.
PerScoreWork fused_rng_work(const DropoutRng& rng);
// Per score reading a precomputed mask: bit extract, test, select; 1/8 byte from HBM.
PerScoreWork mask_read_work();
// Per element in the standalone mask kernel: Philox share, extraction, compare, pack; the
// packed mask is written at 1/8 byte per element.
SmDemand rng_element_demand(const DropoutRng& rng);

// The standalone RNG kernel (the one in cuda/): `threads` x 32 registers per CTA (256 by default;
// smaller CTAs fit beside register-hungry GEMMs), no shared memory, 128 elements per thread
// (8 Philox calls at 8 bits, 32 at 32 bits).
KernelSpec rng_kernel(const GpuSpec& gpu, double elements, const DropoutRng& rng,
                      int threads = 256);

}  // namespace llmgps::dropout
