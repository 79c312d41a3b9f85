#include "llmgps/workload/layer.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "llmgps/specs/error.hpp"

namespace llmgps {

DType activation_dtype(DType d) {
  return d == DType::fp8 ? DType::bf16 : d;
}

void set_attention_impl(LayerShape& s, const GpuSpec& gpu, const std::string& impl) {
  s.attn_impl = impl.empty() ? default_attention_impl(gpu) : impl;
  s.attn_fp8_forward = gpu.attention_profile(s.attn_impl).fp8_forward;
}

Op attention_op(const LayerShape& s, std::int64_t heads, std::int64_t kv_heads,
                std::int64_t head_dim, std::int64_t v_head_dim) {
  AttentionShape a;
  a.batch = s.batch;
  a.heads = heads;
  a.kv_heads = kv_heads;
  a.head_dim = head_dim;
  a.v_head_dim = v_head_dim;
  a.dtype = s.dtype == DType::fp32                         ? DType::tf32
            : s.dtype == DType::fp8 && !s.attn_fp8_forward ? activation_dtype(s.dtype)
                                                           : s.dtype;
  a.impl = s.attn_impl;
  Op att;
  att.name = "attention";
  att.stage = "attention";
  att.count = s.count;
  if (s.decode) {
    att.kind = OpKind::decode_attention;
    a.seq_q = 1;
    a.seq_k = s.seq;
    a.dtype = activation_dtype(s.dtype);
  } else {
    att.kind = OpKind::attention;
    a.seq_q = a.seq_k = s.seq;
    a.causal = true;
  }
  att.attn = a;
  return att;
}

void add_attention_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s) {
  if (m.num_heads % s.tp != 0)
    throw InputError(
        "step.tp",
        fmt::format("model '{}' has {} attention heads, not divisible by tensor parallelism {}",
                    m.name, m.num_heads, s.tp));
  const std::int64_t T = s.tokens(), h = m.hidden_size, heads = m.num_heads / s.tp;
  const std::int64_t kvh = std::max<std::int64_t>(1, m.num_kv_heads / s.tp);
  const DType dt = s.dtype, act = activation_dtype(dt);
  const int L = s.count;
  ops.push_back(elem_op("attn_norm", "attention", L, ElementwiseKind::rmsnorm, T, h, act));
  ops.push_back(gemm_op("qkv_proj", "attention", L, T, (heads + 2 * kvh) * m.head_dim, h, dt));
  ops.push_back(
      elem_op("rope", "attention", L, ElementwiseKind::rope, T, (heads + kvh) * m.head_dim, act));
  ops.push_back(attention_op(s, heads, kvh, m.head_dim, m.v_head_dim));
  ops.push_back(gemm_op("o_proj", "attention", L, T, h, heads * m.v_head_dim, dt));
}

void add_gated_ffn_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s,
                       const std::string& prefix, const std::string& stage, int count,
                       std::int64_t ffn) {
  if (count == 0 || ffn == 0) return;
  if (ffn % s.tp != 0)
    throw InputError("step.tp", fmt::format("FFN size {} of model '{}' is not divisible by {}", ffn,
                                            m.name, s.tp));
  const std::int64_t T = s.tokens(), h = m.hidden_size;
  const DType dt = s.dtype, act = activation_dtype(dt);
  ops.push_back(gemm_op(prefix + "gate_up", stage, count, T, 2 * ffn / s.tp, h, dt));
  ops.push_back(
      elem_op(prefix + "act", stage, count, ElementwiseKind::gated_activation, T, ffn / s.tp, act));
  ops.push_back(gemm_op(prefix + "down", stage, count, T, h, ffn / s.tp, dt));
}

}  // namespace llmgps
