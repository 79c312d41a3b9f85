#include "llmgps/workload/step.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "llmgps/specs/error.hpp"
#include "llmgps/workload/expert_activation.hpp"

namespace llmgps {

Phase parse_phase(const std::string& text, const std::string& where) {
  if (text == "prefill") return Phase::prefill;
  if (text == "decode") return Phase::decode;
  throw InputError(where, "must be 'prefill' or 'decode', got '" + text + "'");
}

const char* phase_name(Phase p) {
  return p == Phase::prefill ? "prefill" : "decode";
}

Op gemm_op(std::string name, std::string stage, int count, std::int64_t m, std::int64_t n,
           std::int64_t k, DType dt, std::int64_t batch) {
  Op op;
  op.name = std::move(name);
  op.stage = std::move(stage);
  op.kind = OpKind::gemm;
  op.count = count;
  op.gemm = GemmShape{m, n, k, batch, dt};
  return op;
}

Op elem_op(std::string name, std::string stage, int count, ElementwiseKind kind, std::int64_t rows,
           std::int64_t cols, DType dt) {
  Op op;
  op.name = std::move(name);
  op.stage = std::move(stage);
  op.kind = OpKind::elementwise;
  op.count = count;
  op.elem = ElementwiseShape{kind, rows, cols, dt};
  return op;
}

Op allreduce_op(std::string name, std::string stage, int count, double bytes, int gpus) {
  Op op;
  op.name = std::move(name);
  op.stage = std::move(stage);
  op.kind = OpKind::allreduce;
  op.count = count;
  op.comm_bytes = bytes;
  op.comm_gpus = gpus;
  return op;
}

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// Activations and norms run in 16-bit even when GEMMs run in fp8.
DType activation_dtype(DType d) {
  return d == DType::fp8 ? DType::bf16 : d;
}

}  // namespace

StepPlan build_step(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg) {
  if (cfg.batch <= 0)
    throw InputError("step.batch", "must be positive (got " + std::to_string(cfg.batch) + ")");
  if (cfg.seq <= 0)
    throw InputError("step.seq", "must be positive (got " + std::to_string(cfg.seq) + ")");
  const int gpus = sys.total_gpus();
  StepPlan plan;
  plan.tp = cfg.tp > 0 ? cfg.tp : std::min(gpus, sys.gpus_per_node);
  if (plan.tp > gpus || gpus % plan.tp != 0)
    throw InputError("step.tp",
                     fmt::format("{} does not divide the system's {} GPUs", plan.tp, gpus));
  if (m.num_heads % plan.tp != 0)
    throw InputError(
        "step.tp",
        fmt::format("model '{}' has {} attention heads, not divisible by tensor parallelism {}",
                    m.name, m.num_heads, plan.tp));
  plan.dp = gpus / plan.tp;
  plan.ep = cfg.ep > 0 ? cfg.ep : gpus;
  if (m.is_moe()) {
    if (plan.ep > gpus)
      throw InputError("step.ep", fmt::format("{} exceeds the system's {} GPUs", plan.ep, gpus));
    if (m.num_experts % plan.ep != 0)
      throw InputError(
          "step.ep",
          fmt::format("model '{}' has {} experts, not divisible by {} expert-parallel GPUs", m.name,
                      m.num_experts, plan.ep));
  }
  const DType dt = cfg.dtype;
  const DType act = activation_dtype(dt);
  if (!sys.gpu.supports(dt))
    throw InputError("step.dtype", "GPU '" + sys.gpu.name + "' has no " +
                                       std::string(dtype_name(dt)) + " support");
  const bool prefill = cfg.phase == Phase::prefill;
  const std::int64_t batch_rep = ceil_div(cfg.batch, plan.dp);       // sequences per TP replica
  const std::int64_t T = prefill ? batch_rep * cfg.seq : batch_rep;  // tokens per replica
  plan.tokens = prefill ? cfg.batch * cfg.seq : cfg.batch;
  plan.tokens_per_replica = T;
  const int tp = plan.tp;
  const std::int64_t h = m.hidden_size;
  const std::int64_t heads = m.num_heads / tp;
  const std::int64_t kvh = std::max<std::int64_t>(1, m.num_kv_heads / tp);
  const int L = m.layers;
  const int moe_layers = m.moe_layer_count();
  const int dense_layers = L - moe_layers;
  std::string impl = cfg.attn_impl;
  if (impl.empty()) {
    auto it = sys.gpu.attention.find("fa3");
    impl = (it != sys.gpu.attention.end() && sys.gpu.sm_version >= it->second.min_sm_version)
               ? "fa3"
               : "fa2";
  }
  auto& ops = plan.ops;
  ops.reserve(24);  // a dense or MoE layer's ops and the head, without regrowing

  // --- attention block ---
  ops.push_back(elem_op("attn_norm", "attention", L, ElementwiseKind::rmsnorm, T, h, act));
  AttentionShape a;
  a.batch = batch_rep;
  a.heads = heads;
  a.dtype = dt == DType::fp32 ? DType::tf32 : dt;
  a.impl = impl;
  if (m.is_mla()) {
    const std::int64_t nope = m.head_dim - m.qk_rope_head_dim;
    if (m.q_lora_rank > 0) {
      ops.push_back(gemm_op("q_down", "attention", L, T, m.q_lora_rank, h, dt));
      ops.push_back(gemm_op("q_up", "attention", L, T, heads * m.head_dim, m.q_lora_rank, dt));
    } else {
      ops.push_back(gemm_op("q_proj", "attention", L, T, heads * m.head_dim, h, dt));
    }
    ops.push_back(
        gemm_op("kv_down", "attention", L, T, m.kv_lora_rank + m.qk_rope_head_dim, h, dt));
    if (prefill) {
      ops.push_back(
          gemm_op("kv_up", "attention", L, T, heads * (nope + m.v_head_dim), m.kv_lora_rank, dt));
      a.head_dim = m.head_dim;
      a.v_head_dim = m.v_head_dim;
      a.kv_heads = heads;
    } else {
      // Decode with the up-projections absorbed (DeepSeek's MLA inference form): every head
      // attends over the shared latent cache of kv_lora_rank + rope dims per token.
      ops.push_back(gemm_op("q_absorb", "attention", L, T, m.kv_lora_rank, nope, dt, heads));
      a.head_dim = m.kv_lora_rank + m.qk_rope_head_dim;
      a.v_head_dim = m.kv_lora_rank;
      a.kv_heads = 1;
    }
    ops.push_back(elem_op("rope", "attention", L, ElementwiseKind::rope, T,
                          (heads + 1) * m.qk_rope_head_dim, act));
  } else {
    ops.push_back(gemm_op("qkv_proj", "attention", L, T, (heads + 2 * kvh) * m.head_dim, h, dt));
    ops.push_back(
        elem_op("rope", "attention", L, ElementwiseKind::rope, T, (heads + kvh) * m.head_dim, act));
    a.head_dim = m.head_dim;
    a.v_head_dim = m.v_head_dim;
    a.kv_heads = kvh;
  }
  Op att;
  att.name = "attention";
  att.stage = "attention";
  att.count = L;
  if (prefill) {
    att.kind = OpKind::attention;
    a.seq_q = cfg.seq;
    a.seq_k = cfg.seq;
    a.causal = true;
  } else {
    att.kind = OpKind::decode_attention;
    a.seq_q = 1;
    a.seq_k = cfg.seq;
    a.dtype = act;
  }
  att.attn = a;
  ops.push_back(att);
  if (m.is_mla() && !prefill)
    ops.push_back(gemm_op("v_absorb", "attention", L, T, m.v_head_dim, m.kv_lora_rank, dt, heads));
  ops.push_back(gemm_op("o_proj", "attention", L, T, h, heads * m.v_head_dim, dt));
  const double act_bytes = double(T) * h * dtype_bytes(act);
  if (tp > 1) ops.push_back(allreduce_op("attn_allreduce", "attention", L, act_bytes, tp));
  ops.push_back(elem_op("residual_add", "attention", 2 * L, ElementwiseKind::add, T, h, act));
  ops.push_back(elem_op("ffn_norm", "ffn", L, ElementwiseKind::rmsnorm, T, h, act));

  auto add_tp_ffn = [&](const std::string& prefix, const std::string& stage, int count,
                        std::int64_t ffn) {
    if (count == 0 || ffn == 0) return;
    if (ffn % tp != 0)
      throw InputError("step.tp", fmt::format("FFN size {} of model '{}' is not divisible by {}",
                                              ffn, m.name, tp));
    ops.push_back(gemm_op(prefix + "gate_up", stage, count, T, 2 * ffn / tp, h, dt));
    ops.push_back(
        elem_op(prefix + "act", stage, count, ElementwiseKind::gated_activation, T, ffn / tp, act));
    ops.push_back(gemm_op(prefix + "down", stage, count, T, h, ffn / tp, dt));
  };
  add_tp_ffn("ffn_", "ffn", dense_layers, m.ffn_dim);
  if (tp > 1 && dense_layers > 0)
    ops.push_back(allreduce_op("ffn_allreduce", "ffn", dense_layers, act_bytes, tp));

  if (moe_layers > 0) {
    const int ep = plan.ep;
    const std::int64_t E = m.num_experts, k = m.top_k;
    ops.push_back(gemm_op("router", "moe", moe_layers, T, E, h, act));
    ops.push_back(elem_op("topk", "moe", moe_layers, ElementwiseKind::topk, T, E, act));
    // Tokens of the whole system, spread over the EP GPUs; after the TP all-reduce every TP rank
    // holds the replica's tokens, so each GPU dispatches its 1/tp share. Balanced routing: every
    // expert receives tokens * top_k / experts of them.
    const double tokens_per_gpu = double(plan.tokens) / ep;
    const double bytes_per_gpu = tokens_per_gpu * double(k) * h * dtype_bytes(act);
    Op disp;
    disp.name = "dispatch";
    disp.stage = "moe";
    disp.kind = OpKind::alltoall;
    disp.count = moe_layers;
    disp.volume.assign(ep, std::vector<double>(ep, bytes_per_gpu / ep));
    ops.push_back(disp);
    // Each GPU runs one grouped GEMM per expert matrix over the experts its tokens activate
    // (the busiest GPU sets the pace); an expert with no token reads no weights.
    const ExpertActivation activation =
        expected_activation(int(E), ep, int(k), double(plan.tokens));
    const std::int64_t rows =
        std::max<std::int64_t>(1, std::int64_t(std::ceil(activation.tokens_per_active - 1e-9)));
    auto grouped = [&](std::string name, std::int64_t n, std::int64_t kk) {
      Op g = gemm_op(std::move(name), "moe", moe_layers, rows, n, kk, dt);
      g.kind = OpKind::grouped_gemm;
      g.groups = activation.busiest_active;
      g.rows_per_group = rows;
      return g;
    };
    ops.push_back(grouped("expert_gate_up", 2 * m.moe_ffn_dim, h));
    ops.push_back(elem_op(
        "expert_act", "moe", moe_layers, ElementwiseKind::gated_activation,
        std::max<std::int64_t>(1, std::int64_t(std::ceil(rows * activation.busiest_active))),
        m.moe_ffn_dim, act));
    ops.push_back(grouped("expert_down", h, m.moe_ffn_dim));
    Op comb = disp;
    comb.name = "combine";
    ops.push_back(comb);
    add_tp_ffn("shared_", "moe", m.shared_ffn_dim > 0 ? moe_layers : 0, m.shared_ffn_dim);
    if (tp > 1 && m.shared_ffn_dim > 0)
      ops.push_back(allreduce_op("shared_allreduce", "moe", moe_layers, act_bytes, tp));
  }

  // --- head: final norm and logits for the last token of each sequence ---
  ops.push_back(elem_op("final_norm", "head", 1, ElementwiseKind::rmsnorm, batch_rep, h, act));
  if (m.vocab_size % tp != 0)
    throw InputError("step.tp", fmt::format("vocabulary {} of model '{}' is not divisible by {}",
                                            m.vocab_size, m.name, tp));
  ops.push_back(gemm_op("lm_head", "head", 1, batch_rep, m.vocab_size / tp, h, dt));
  return plan;
}

}  // namespace llmgps
