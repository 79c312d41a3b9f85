#pragma once
// One Llama-style transformer block on one GPU (forward, or forward + backward for a training
// step) under four attention-dropout strategies:
//   none        no dropout;
//   fused       RNG inside the attention kernels (forward, and regenerated in backward);
//   sequential  a standalone RNG kernel writes the packed mask, attention reads it;
//   overlapped  the same RNG kernel runs beside a GEMM that precedes attention (the model picks
//               the host GEMM and the way they meet, see Way), attention reads the mask.
// Every kernel is costed by the core models; the RNG and the overlap by the SM resource model.
#include <string>
#include <vector>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/cost/sm_model.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/dropout/rng_cost.hpp"
#include "llmgps/schedule/timeline.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::dropout {

enum class Scope { fwd, train };
Scope parse_scope(const std::string& s, const std::string& where);
const char* scope_name(Scope s);

// The paper's assumptions where the realistic default differs, as named what-ifs (`--what-if
// NAME`, repeatable; "paper" applies them all). Each is listed in BlockResult::what_ifs.
//   gemm-room  the host GEMM leaves room for RNG CTAs while running at its fastest kernel's
//              speed: the co-resident way places CTAs by the footprint of the kernel that leaves
//              room but times the GEMM as the library's fastest kernel (one kernel's speed,
//              another's footprint, which the paper's overlap needs on Hopper).
// (fused-fa3, fusing the mask kernel's RNG into FA3, which has none, is applied automatically
// whenever attention is fa3: there is no real fused kernel to model.)
const std::vector<std::string>& what_if_names();
// Validates and expands the names ("paper" into all); InputError naming `where` otherwise.
std::vector<std::string> expand_what_ifs(const std::vector<std::string>& names,
                                         const std::string& where);

struct BlockConfig {
  std::int64_t batch = 1, seq = 4096;
  DType dtype = DType::fp8;
  Scope scope = Scope::train;
  DropoutRng rng;                     // p, bits, rounds (seed/offset do not change the cost)
  std::string attn_impl;              // empty: fa3 where supported, else fa2
  std::vector<std::string> what_ifs;  // expanded names (see what_if_names)
  bool has(const std::string& what_if) const;
};

struct BlockOp {
  std::string name;
  std::string pass;  // fwd or bwd
  double time_s = 0;
  std::string bound;
  std::string detail;
  int stream = 0;  // 1: the RNG kernel's own stream (overlapped)
  double flops = 0, hbm_bytes = 0;
};

struct BlockStrategy {
  std::string name;
  double time_s = 0;
  std::vector<BlockOp> ops;
};

// How the RNG kernel meets its host GEMM. Every way is computed for every candidate host and the
// fastest feasible one is used:
//   co-resident  CTAs of both on the same SMs, only where both footprints fit: the GEMM runs with
//                the kernel family and tile that leave room for an RNG CTA, at that kernel's own
//                speed, and the demands add up resource by resource;
//   tail         the RNG fills the SMs the GEMM leaves idle (beyond its grid, or finished early in
//                its last partial wave) and runs on after it;
//   partition    the GEMM on S - p SMs (cuBLASLt's SM-count target), the RNG on the other p;
//   sequential   one after the other (the overlapped strategy is then the sequential one).
enum class Way { sequential, co_resident, tail, partition };
const char* way_name(Way w);

struct RngFootprint {
  int threads = 0, registers_per_thread = 0, smem_bytes = 0;
  int ctas_per_sm = 0;  // CTAs of the RNG kernel on one SM in the chosen way
};

// Where the overlapped strategy puts the RNG: a share of the mask beside one GEMM.
struct HostShare {
  std::string gemm;
  double fraction = 1;
  // Whose mask it makes: 0, this layer's (the host runs before attention: qkv_proj); -1, the
  // host is the previous layer's (o_proj, gate_up, down run after attention, so in the steady
  // state they make the next layer's mask: cross-layer pipelining).
  int layer_offset = 0;
  Way way = Way::sequential;
  double time_s = 0;        // the host GEMM and its share of the mask both done
  double gemm_alone_s = 0;  // the host GEMM alone, as the library runs it
  double rng_alone_s = 0;   // the share's RNG kernel alone on every SM
  double rng_time_s = 0;    // the RNG kernel's span in this way
  GemmKernel gemm_kernel;   // the GEMM kernel of this way (co-resident: the one leaving room)
  RngFootprint rng;
  int rng_sms = 0;  // partition: SMs given to the RNG kernel
  std::string bound;
  std::string detail;                  // how this way runs, and what each other way would take
  std::vector<ResourceUse> resources;  // co-resident: of the combined demand
};

struct BlockResult {
  std::vector<BlockStrategy> strategies;  // none, fused, sequential, overlapped
  double speedup_vs_sequential = 0;       // of overlapped
  double speedup_vs_fused = 0;
  std::string host_gemm;  // the host GEMM, or hosts joined by '+' when the mask is split
  std::vector<HostShare> hosts;
  const HostShare& main_host() const;  // the host with the largest share of the mask
  KernelTime rng_alone;
  RngKernelProfile rng_profile;  // the compiled kernel's registers and instructions per element
  double rng_elements = 0;
  AttentionCost attention_fwd_none, attention_fwd_fused, attention_fwd_mask;
  AttentionCost attention_bwd_none, attention_bwd_fused, attention_bwd_mask;
  std::string summary;  // one line of prose: what binds fused attention, what the host leaves free
  // The RNG the fused strategy runs inside attention: FlashAttention-2's own (Philox-7, 8-bit
  // numbers) with fa2; with fa3, which implements no dropout, the separate kernel's RNG fused in
  // as a what-if ("fused-fa3" in what_ifs).
  DropoutRng fused_rng;
  std::vector<std::string> what_ifs;
};

// The fused strategy's RNG for an attention implementation (see BlockResult::fused_rng).
DropoutRng fused_rng_for(const std::string& attn_impl, const DropoutRng& separate);

BlockResult block_dropout(const ModelSpec& m, const GpuSpec& gpu, const BlockConfig& cfg);
// The RNG kernel for `elements` mask elements meeting one GEMM, every way computed and the best
// returned: what the overlapped strategy does for each host (the GPU tools set it beside what they
// measure). Uses cfg.rng, cfg.dtype is ignored (the shape's format counts).
HostShare rng_beside_gemm(const GpuSpec& gpu, const std::string& name, const GemmShape& shape,
                          double elements, const BlockConfig& cfg);
// One strategy's block as a schedule DAG on one GPU: the compute stream in order; an RNG kernel
// on its own stream starts with its host GEMM, and attention waits for the RNG kernels launched
// before it (the mask it reads). A strategy's time is this DAG's makespan.
Timeline block_timeline(const BlockStrategy& s);
// Chrome trace of one strategy's block (streams: compute, rng).
std::string block_chrome_trace(const BlockStrategy& s);

}  // namespace llmgps::dropout
