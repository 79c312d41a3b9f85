#pragma once
// One Llama-style transformer block on one GPU (forward, or forward + backward for a training
// step) under four attention-dropout strategies:
//   none        no dropout;
//   fused       RNG inside the attention kernels (forward, and regenerated in backward);
//   sequential  a standalone RNG kernel writes the packed mask, attention reads it;
//   overlapped  the same RNG kernel runs beside a GEMM that precedes attention (the model picks
//               the host GEMM that hides it best), attention reads the mask.
// Every kernel is costed by the core models; the RNG and the overlap by the SM resource model.
#include <string>
#include <vector>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/sm_model.hpp"
#include "llmgps/dropout/mask.hpp"
#include "llmgps/schedule/timeline.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::dropout {

enum class Scope { fwd, train };
Scope parse_scope(const std::string& s, const std::string& where);
const char* scope_name(Scope s);

struct BlockConfig {
  std::int64_t batch = 1, seq = 4096;
  DType dtype = DType::fp8;
  Scope scope = Scope::train;
  DropoutRng rng;         // p, bits, rounds (seed/offset do not change the cost)
  std::string attn_impl;  // empty: fa3 where supported, else fa2
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

// Where the overlapped strategy puts the RNG: a share of the mask beside one GEMM.
struct HostShare {
  std::string gemm;
  double fraction = 1;
  PairTime pair;
  double rng_alone_s = 0;  // that share's RNG kernel alone
  // Whose mask it makes: 0, this layer's (the host runs before attention: qkv_proj); -1, the
  // host is the previous layer's (o_proj, gate_up, down run after attention, so in the steady
  // state they make the next layer's mask: cross-layer pipelining).
  int layer_offset = 0;
};

struct BlockResult {
  std::vector<BlockStrategy> strategies;  // none, fused, sequential, overlapped
  double speedup_vs_sequential = 0;       // of overlapped
  double speedup_vs_fused = 0;
  std::string host_gemm;  // the host GEMM, or hosts joined by '+' when the mask is split
  std::vector<HostShare> hosts;
  PairTime host_pair;  // the (largest) host with its RNG share beside it
  KernelTime rng_alone;
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
// One strategy's block as a schedule DAG on one GPU: the compute stream in order; an RNG kernel
// on its own stream starts with its host GEMM, and attention waits for the RNG kernels launched
// before it (the mask it reads). A strategy's time is this DAG's makespan.
Timeline block_timeline(const BlockStrategy& s);
// Chrome trace of one strategy's block (streams: compute, rng).
std::string block_chrome_trace(const BlockStrategy& s);

}  // namespace llmgps::dropout
