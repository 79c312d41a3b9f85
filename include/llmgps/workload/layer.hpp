#pragma once
// The transformer layer's ops, built once for everything that lists them: `estimate`'s step (and
// through it the MoE step) and the dropout block. A standard layer (multi-head or grouped-query
// attention, gated FFN) on one tensor-parallel rank:
//   attn_norm, qkv_proj, rope, attention, o_proj | ffn_norm, <p>gate_up, <p>act, <p>down
// The caller adds what differs: collectives between ranks, residual adds, MoE and MLA variants,
// the backward pass.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/specs/model.hpp"
#include "llmgps/workload/step.hpp"

namespace llmgps {

struct LayerShape {
  std::int64_t batch = 1;  // sequences on this rank
  std::int64_t seq = 1;    // prefill/training: sequence length; decode: cached context length
  bool decode = false;     // one new token per sequence against the cache
  int tp = 1;              // tensor-parallel ranks sharing the heads and the FFN
  DType dtype = DType::fp16;
  std::string attn_impl;  // fa2 or fa3 (default_attention_impl for the GPU)
  // The attention library has an FP8 forward (FA3's profile says so): else an FP8 step runs its
  // attention in BF16. set_attention_impl sets it with attn_impl.
  bool attn_fp8_forward = false;
  int count = 1;  // occurrences per step (layers)
  std::int64_t tokens() const { return decode ? batch : batch * seq; }
};

// Activations, norms and decode attention run in 16-bit even when GEMMs run in FP8.
DType activation_dtype(DType d);

// Sets the layer's attention implementation (`impl`, empty: default_attention_impl for the GPU)
// and whether it has an FP8 forward, from the GPU's profile of it (throws InputError naming
// attention.impl for one the GPU lacks).
void set_attention_impl(LayerShape& s, const GpuSpec& gpu, const std::string& impl);

// attn_norm, qkv_proj, rope, attention, o_proj (stage "attention"). Throws InputError
// ("step.tp") when the heads do not split over the ranks.
void add_attention_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s);

// The attention op alone (prefill: causal Flash-Attention; decode: the cache read), with the
// layer's head split; `head_dim`, `v_head_dim` and `kv_heads` for the attention kind the model has.
Op attention_op(const LayerShape& s, std::int64_t heads, std::int64_t kv_heads,
                std::int64_t head_dim, std::int64_t v_head_dim);

// <prefix>gate_up, <prefix>act, <prefix>down of a gated FFN of width `ffn` split over the ranks,
// `count` times. Throws InputError ("step.tp") when the width does not split.
void add_gated_ffn_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s,
                       const std::string& prefix, const std::string& stage, int count,
                       std::int64_t ffn);

}  // namespace llmgps
