#include "llmgps/dropout/rng_cost.hpp"

#include <algorithm>
#include <cmath>

namespace llmgps::dropout {

PhiloxOps philox_ops(int rounds, int bits) {
  PhiloxOps o;
  o.wide_multiplies = 2.0 * rounds;
  o.xors = 4.0 * rounds;
  o.adds = 2.0 * (rounds - 1);
  o.counter_setup = 4;
  o.elements_per_call = 128 / bits;
  return o;
}

namespace {
// Per element: the Philox call's lane operations and warp instructions, shared by its elements.
struct PerElement {
  double imad = 0, alu = 0, fp32 = 0, issue = 0;
};
PerElement philox_share(const DropoutRng& rng) {
  const PhiloxOps o = philox_ops(rng.rounds, rng.bits);
  const double n = o.elements_per_call;
  PerElement e;
  e.imad = 2.0 * o.wide_multiplies / n;  // each wide multiply takes the multiplier twice
  e.alu = (o.xors + o.adds + o.counter_setup) / n;
  e.issue = (o.wide_multiplies + o.xors + o.adds + o.counter_setup) / n / 32.0;
  return e;
}
}  // namespace

PerScoreWork fused_rng_work(const DropoutRng& rng) {
  keep_threshold(rng);
  const PerElement e = philox_share(rng);
  PerScoreWork w;
  const double extract = rng.bits == 8 ? 1.0 : 0.0;
  w.imad_ops = e.imad;
  w.alu_ops = e.alu + extract + 1.0;  // extract, compare
  w.fp32_ops = 1.0;                   // select: P * scale or 0
  w.issue = e.issue + (extract + 2.0) / 32.0;
  return w;
}

PerScoreWork mask_read_work() {
  PerScoreWork w;
  w.alu_ops = 2.0;   // shift/and out the bit, test it
  w.fp32_ops = 1.0;  // select
  w.issue = 3.0 / 32.0;
  w.hbm_bytes = 1.0 / 8.0;
  return w;
}

SmDemand rng_element_demand(const DropoutRng& rng) {
  keep_threshold(rng);
  const PerElement e = philox_share(rng);
  const double extract = rng.bits == 8 ? 1.0 : 0.0;
  SmDemand d;
  d.imad_ops = e.imad;
  d.alu_ops = e.alu + extract + 2.0;  // extract, compare, shift-or into the packed word
  d.issue = e.issue + (extract + 2.0) / 32.0 + 1.0 / 32.0 / 32.0;  // + one store per 32 elements
  return d;
}

KernelSpec rng_kernel(const GpuSpec& gpu, double elements, const DropoutRng& rng, int threads) {
  (void)gpu;
  KernelSpec k;
  k.name = "rng_mask";
  k.threads_per_cta = threads;
  k.registers_per_thread = 32;
  k.smem_per_cta_bytes = 0;
  const double per_cta = double(threads) * 128.0;
  k.ctas = std::max(1.0, std::ceil(elements / per_cta));
  k.per_cta = rng_element_demand(rng).scaled(per_cta);
  k.hbm_bytes = elements / 8.0;
  return k;
}

}  // namespace llmgps::dropout
