#pragma once
// Flash-Attention cost on one GPU (forward or backward), from the implementation profile in the
// hardware spec: per CTA, an inner loop over key blocks whose iteration time is the tensor-core
// work overlapped (profile.softmax_overlap) with the softmax work on the MUFU and FP32 pipes,
// plus a per-CTA prologue/epilogue; CTAs are spread over the SMs in waves (causal: by total work).
// Also decode attention (one query per sequence against a KV cache), which streams the cache.
#include <cstdint>
#include <string>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

enum class AttnPass { fwd, bwd };

// Work added to every score the kernel computes (e.g. attention dropout: RNG fused into the
// kernel, or reading a precomputed mask), in lane operations per score on each pipe; it competes
// with the softmax for the non-tensor pipes and issue slots.
struct PerScoreWork {
  double fp32_ops = 0;
  double imad_ops = 0;  // 32-bit integer multiply lane ops (FMA-heavy pipe)
  double alu_ops = 0;
  double issue = 0;      // warp instructions per score (lane ops / 32, wide multiplies once)
  double hbm_bytes = 0;  // bytes read or written per score
  bool any() const {
    return fp32_ops > 0 || imad_ops > 0 || alu_ops > 0 || issue > 0 || hbm_bytes > 0;
  }
};

struct AttentionShape {
  std::int64_t batch = 1;
  std::int64_t heads = 1;     // query heads on this GPU
  std::int64_t kv_heads = 0;  // 0: same as heads
  std::int64_t seq_q = 1;
  std::int64_t seq_k = 0;  // 0: same as seq_q
  std::int64_t head_dim = 128;
  std::int64_t v_head_dim = 0;  // 0: same as head_dim
  bool causal = false;
  DType dtype = DType::bf16;
  AttnPass pass = AttnPass::fwd;
  std::string impl = "fa2";
  PerScoreWork extra;  // none by default
};

struct AttentionCost : OpCost {
  double tensor_cycles_per_iter = 0;
  double softmax_cycles_per_iter = 0;
  std::string softmax_pipe;  // which limits the softmax part: mufu, fp32, fma, imad, alu, issue or
                             // softmax-phases
  double scores = 0;         // score elements computed (visible tiles), for per-score work
  double ctas = 0;
};

// FLOPs by the FlashAttention papers' convention: 4*B*H*Sq*Sk*d forward (half if causal), 2.5x
// backward.
double attention_flops(const AttentionShape& s);
// The implementation a model step runs by default: FlashAttention-3 where the GPU's profile has
// it and the GPU is new enough for it (Hopper), else FlashAttention-2. The one rule for estimate,
// the MoE step and the dropout block.
std::string default_attention_impl(const GpuSpec& gpu);
// Prefill/training attention (Flash-Attention kernel). Throws InputError on bad sizes or an
// implementation the GPU cannot run.
AttentionCost attention_cost(const GpuSpec& gpu, const AttentionShape& shape);
// Decode attention: seq_q new tokens per sequence against seq_k cached keys; bound by the cache
// read.
AttentionCost decode_attention_cost(const GpuSpec& gpu, const AttentionShape& shape);

}  // namespace llmgps
