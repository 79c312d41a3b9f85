#include "llmgps/workload/step.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "llmgps/specs/error.hpp"
#include "llmgps/workload/expert_activation.hpp"
#include "llmgps/workload/layer.hpp"

namespace llmgps {

Phase parse_phase(const std::string& text, const std::string& where) {
  if (text == "prefill") return Phase::prefill;
  if (text == "decode") return Phase::decode;
  throw InputError(where, "must be 'prefill' or 'decode', got '" + text + "'");
}

const char* phase_name(Phase p) {
  return p == Phase::prefill ? "prefill" : "decode";
}

MoeLayout parse_moe_layout(const std::string& text, const std::string& where) {
  if (text == "vllm-tp") return MoeLayout::vllm_tp;
  if (text == "dp-a2a") return MoeLayout::dp_a2a;
  if (text == "dp-agrs") return MoeLayout::dp_agrs;
  if (text == "paper") return MoeLayout::paper;
  if (text == "tp" || text == "dp")
    throw InputError(where, fmt::format("'{}' was renamed: 'tp' was the paper's accounting (now "
                                        "'paper'), vLLM's TP layout is 'vllm-tp', DP attention "
                                        "with DeepEP is 'dp-a2a'",
                                        text));
  throw InputError(
      where, "must be 'vllm-tp' (the default), 'dp-a2a', 'dp-agrs' or 'paper', got '" + text + "'");
}

const char* moe_layout_name(MoeLayout l) {
  switch (l) {
    case MoeLayout::vllm_tp:
      return "vllm-tp";
    case MoeLayout::dp_a2a:
      return "dp-a2a";
    case MoeLayout::dp_agrs:
      return "dp-agrs";
    case MoeLayout::paper:
      return "paper";
  }
  return "?";
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

Op allreduce_op(std::string name, std::string stage, int count, double bytes, int gpus,
                CollectiveKind kind) {
  Op op;
  op.name = std::move(name);
  op.stage = std::move(stage);
  op.kind = OpKind::allreduce;
  op.comm_kind = kind;
  op.count = count;
  op.comm_bytes = bytes;
  op.comm_gpus = gpus;
  return op;
}

namespace {

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// Tensor, data and expert parallelism of the step on `gpus` GPUs.
void choose_layout(StepPlan& plan, const ModelSpec& m, const SystemSpec& sys,
                   const StepConfig& cfg) {
  const int gpus = sys.total_gpus();
  const MoeLayout layout = cfg.moe_layout;
  const char* name = moe_layout_name(layout);
  // An MoE model's layout fixes the attention parallelism: vllm-tp over every GPU (every GPU
  // then holds every token), dp-a2a and dp-agrs none; the paper's and a dense model's within a
  // node.
  int tp = std::min(gpus, sys.gpus_per_node);
  if (m.is_moe() && layout == MoeLayout::vllm_tp) tp = gpus;
  if (m.is_moe() && (layout == MoeLayout::dp_a2a || layout == MoeLayout::dp_agrs)) tp = 1;
  if (cfg.tp > 0 && m.is_moe() && layout != MoeLayout::paper && cfg.tp != tp) {
    // The other layouts, as alternatives.
    const std::string vllm_tp = fmt::format("vllm-tp runs it over all {} GPUs", gpus);
    const std::string dp =
        "vLLM with dp > 1 runs --layout dp-agrs (its default all-gather backend) or dp-a2a "
        "(DeepEP) with tp 1";
    throw InputError("step.tp",
                     fmt::format("layout {} runs attention with tensor parallelism {} on this "
                                 "system (got {}; {}; --layout paper takes any tp)",
                                 name, tp, cfg.tp, layout == MoeLayout::vllm_tp ? dp : vllm_tp));
  }
  plan.tp = cfg.tp > 0 ? cfg.tp : tp;
  if (plan.tp > gpus || gpus % plan.tp != 0)
    throw InputError("step.tp",
                     fmt::format("{} does not divide the system's {} GPUs", plan.tp, gpus));
  if (m.num_heads % plan.tp != 0) {
    // The degrees that would work: they divide both the heads and the GPUs.
    std::vector<int> valid;
    for (int t = 1; t <= gpus; ++t)
      if (gpus % t == 0 && m.num_heads % t == 0) valid.push_back(t);
    const bool fixed = m.is_moe() && layout == MoeLayout::vllm_tp;
    throw InputError(
        "step.tp",
        fmt::format("model '{}' has {} attention heads, not divisible by tensor parallelism {}; {}",
                    m.name, m.num_heads, plan.tp,
                    fixed ? "layout vllm-tp runs attention over every GPU: try --layout dp-agrs "
                            "or dp-a2a, or --layout paper with --tp " +
                                std::to_string(valid.back())
                          : fmt::format("try --tp {} (degrees that divide both the heads and the "
                                        "{} GPUs: {})",
                                        valid.back(), gpus, fmt::join(valid, ", "))));
  }
  plan.dp = gpus / plan.tp;
  plan.ep = cfg.ep > 0 ? cfg.ep : gpus;
  plan.layout = layout;
  if (!m.is_moe()) return;
  if (plan.ep > gpus)
    throw InputError("step.ep", fmt::format("{} exceeds the system's {} GPUs", plan.ep, gpus));
  if (layout != MoeLayout::paper && plan.ep != gpus)
    throw InputError("step.ep", fmt::format("layout {} runs the experts over all {} GPUs (got "
                                            "{}; --layout paper takes any ep)",
                                            name, gpus, plan.ep));
  // Experts need not divide the EP GPUs: placed contiguously, E mod ep GPUs hold one more, and
  // the busiest GPU (expected_activation) sets the pace.
  if (plan.ep > m.num_experts)
    throw InputError("step.ep",
                     fmt::format("{} expert-parallel GPUs exceed model '{}''s {} experts", plan.ep,
                                 m.name, m.num_experts));
  // DeepEP's buffers hold num_experts / num_ranks experts per rank: it needs them to divide.
  if (layout == MoeLayout::dp_a2a && m.num_experts % plan.ep != 0)
    throw InputError("step.layout",
                     fmt::format("dp-a2a dispatches with DeepEP, which needs the {} experts of "
                                 "model '{}' divisible by the {} GPUs",
                                 m.num_experts, m.name, plan.ep));
}

// Multi-head latent attention (DeepSeek): low-rank query and key/value projections; decode runs
// with the up-projections absorbed, every head attending over the shared latent cache.
void add_mla_attention_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s) {
  const std::int64_t T = s.tokens(), h = m.hidden_size, heads = m.num_heads / s.tp;
  const std::int64_t nope = m.head_dim - m.qk_rope_head_dim;
  const DType dt = s.dtype, act = activation_dtype(dt);
  const int L = s.count;
  ops.push_back(elem_op("attn_norm", "attention", L, ElementwiseKind::rmsnorm, T, h, act));
  if (m.q_lora_rank > 0) {
    ops.push_back(gemm_op("q_down", "attention", L, T, m.q_lora_rank, h, dt));
    ops.push_back(gemm_op("q_up", "attention", L, T, heads * m.head_dim, m.q_lora_rank, dt));
  } else {
    ops.push_back(gemm_op("q_proj", "attention", L, T, heads * m.head_dim, h, dt));
  }
  ops.push_back(gemm_op("kv_down", "attention", L, T, m.kv_lora_rank + m.qk_rope_head_dim, h, dt));
  if (!s.decode)
    ops.push_back(
        gemm_op("kv_up", "attention", L, T, heads * (nope + m.v_head_dim), m.kv_lora_rank, dt));
  else
    ops.push_back(gemm_op("q_absorb", "attention", L, T, m.kv_lora_rank, nope, dt, heads));
  ops.push_back(elem_op("rope", "attention", L, ElementwiseKind::rope, T,
                        (heads + 1) * m.qk_rope_head_dim, act));
  if (!s.decode) {
    ops.push_back(attention_op(s, heads, heads, m.head_dim, m.v_head_dim));
  } else {
    ops.push_back(attention_op(s, heads, 1, m.kv_lora_rank + m.qk_rope_head_dim, m.kv_lora_rank));
    ops.push_back(gemm_op("v_absorb", "attention", L, T, m.v_head_dim, m.kv_lora_rank, dt, heads));
  }
  ops.push_back(gemm_op("o_proj", "attention", L, T, h, heads * m.v_head_dim, dt));
}

}  // namespace

EpAllToAll deepep_exchange(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg,
                           bool combine) {
  const int gpus = sys.total_gpus();
  // The busiest GPU's tokens: its whole sequences (data-parallel attention splits by sequence),
  // as its attention and gate see them.
  const std::int64_t seqs = ceil_div(cfg.batch, gpus);
  EpAllToAll a;
  a.tokens_per_gpu = std::max<std::int64_t>(1, cfg.phase == Phase::prefill ? seqs * cfg.seq : seqs);
  a.hidden = m.hidden_size;
  a.top_k = m.top_k;
  a.experts = m.num_experts;
  a.gpus = gpus;
  a.combine = combine;
  // DeepEP dispatches FP8 with per-128 scales when the experts run FP8, and combines in BF16.
  a.payload = !combine && cfg.dtype == DType::fp8 ? DType::fp8 : DType::bf16;
  // SGLang's DeepEP "auto" mode: normal kernels for prefill, low-latency ones for decode.
  a.mode = cfg.phase == Phase::prefill ? EpAllToAllMode::deepep_normal
                                       : EpAllToAllMode::deepep_low_latency;
  // Group-limited routing reaches at most topk_group groups, and so nodes; without groups a
  // token may reach every node.
  const int nodes = std::max(1, (gpus + sys.gpus_per_node - 1) / sys.gpus_per_node);
  a.max_nodes_per_token = m.topk_groups > 0 ? std::min(nodes, m.topk_groups) : nodes;
  return a;
}

namespace {}  // namespace

std::vector<Op> expert_ffn_ops(const ModelSpec& m, int count, double groups,
                               double tokens_per_group, DType dt) {
  const std::int64_t rows =
      std::max<std::int64_t>(1, std::int64_t(std::ceil(tokens_per_group - 1e-9)));
  auto grouped = [&](const char* name, std::int64_t n, std::int64_t k) {
    Op g = gemm_op(name, "moe", count, rows, n, k, dt);
    g.kind = OpKind::grouped_gemm;
    g.groups = groups;
    g.rows_per_group = rows;
    return g;
  };
  return {grouped("expert_gate_up", 2 * std::int64_t(m.moe_ffn_dim), m.hidden_size),
          elem_op("expert_act", "moe", count, ElementwiseKind::gated_activation,
                  std::max<std::int64_t>(1, std::int64_t(std::ceil(double(rows) * groups))),
                  m.moe_ffn_dim, activation_dtype(dt)),
          grouped("expert_down", m.hidden_size, m.moe_ffn_dim)};
}

namespace {

// The MoE layer's token exchange before (dispatch) or after (combine) the experts, as the
// layout runs it under balanced routing:
//  - paper: an all-to-all in which every EP GPU sends its 1/ep of the tokens' selections;
//  - vllm-tp: no dispatch (an elementwise op with no work marks "none"); the combine is an
//    all-reduce of every token's hidden state over the TP group;
//  - dp-a2a: DeepEP dispatch and combine;
//  - dp-agrs: an all-gather and a reduce-scatter over the EP GPUs.
Op moe_exchange_op(const char* name, const ModelSpec& m, const LayerShape& s, const StepPlan& plan,
                   bool combine) {
  const int ep = plan.ep;
  const std::int64_t h = m.hidden_size, k = m.top_k;
  const DType act = activation_dtype(s.dtype);
  Op op;
  op.name = name;
  op.stage = "moe";
  op.count = s.count;
  switch (plan.layout) {
    case MoeLayout::paper: {
      const double tokens_per_gpu = double(plan.tokens) / ep;
      const double bytes_per_gpu = tokens_per_gpu * double(k) * h * dtype_bytes(act);
      op.kind = OpKind::alltoall;
      op.volume.assign(ep, std::vector<double>(ep, bytes_per_gpu / ep));
      return op;
    }
    case MoeLayout::vllm_tp:
      if (!combine) {
        op.kind = OpKind::elementwise;  // not emitted
        return op;
      }
      return allreduce_op(name, "moe", s.count, double(s.tokens()) * h * dtype_bytes(act), s.tp);
    case MoeLayout::dp_a2a:
      op.kind = OpKind::ep_alltoall;
      op.ep = plan.ep_exchange;
      op.ep.combine = combine;
      op.ep.payload = combine ? DType::bf16 : plan.ep_exchange.payload;
      return op;
    case MoeLayout::dp_agrs:
      // vLLM's AgRsAll2AllManager: dispatch all-gathers every GPU's hidden states with its top-k
      // weights and ids; combine reduce-scatters the outputs in the activation type. nccl-tests'
      // size: the whole gathered buffer (StepPlan::gathered_tokens).
      if (combine)
        return allreduce_op(name, "moe", s.count, plan.gathered_tokens * h * dtype_bytes(act), ep,
                            CollectiveKind::reducescatter);
      return allreduce_op(name, "moe", s.count, plan.gathered_tokens * plan.gathered_token_bytes,
                          ep, CollectiveKind::allgather);
  }
  return op;
}

// The MoE layers: router, top-k, dispatch, the busiest GPU's grouped expert GEMMs, combine, and
// the shared experts (tensor-parallel like a dense FFN).
void add_moe_ops(std::vector<Op>& ops, const ModelSpec& m, const LayerShape& s,
                 const StepPlan& plan, double act_bytes) {
  const int moe_layers = s.count, ep = plan.ep;
  const std::int64_t T = s.tokens(), h = m.hidden_size, E = m.num_experts, k = m.top_k;
  const DType dt = s.dtype, act = activation_dtype(dt);
  ops.push_back(gemm_op("router", "moe", moe_layers, T, E, h, act));
  ops.push_back(elem_op("topk", "moe", moe_layers, ElementwiseKind::topk, T, E, act));
  const Op disp = moe_exchange_op("dispatch", m, s, plan, false);
  if (disp.kind != OpKind::elementwise) ops.push_back(disp);
  // Each GPU runs one grouped GEMM per expert matrix over the experts its tokens activate
  // (the busiest GPU sets the pace); an expert with no token reads no weights.
  const ExpertActivation activation = expected_activation(int(E), ep, int(k), double(plan.tokens));
  for (Op& op :
       expert_ffn_ops(m, moe_layers, activation.busiest_active, activation.tokens_per_active, dt))
    ops.push_back(std::move(op));
  ops.push_back(moe_exchange_op("combine", m, s, plan, true));
  add_gated_ffn_ops(ops, m, s, "shared_", "moe", m.shared_ffn_dim > 0 ? moe_layers : 0,
                    m.shared_ffn_dim);
  // vllm-tp sums the shared experts' partial outputs in the combine's all-reduce.
  if (s.tp > 1 && m.shared_ffn_dim > 0 && plan.layout != MoeLayout::vllm_tp)
    ops.push_back(allreduce_op("shared_allreduce", "moe", moe_layers, act_bytes, s.tp));
}

}  // namespace

StepPlan build_step(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg) {
  if (cfg.batch <= 0)
    throw InputError("step.batch", "must be positive (got " + std::to_string(cfg.batch) + ")");
  if (cfg.seq <= 0)
    throw InputError("step.seq", "must be positive (got " + std::to_string(cfg.seq) + ")");
  // Token counts (batch x seq) and byte counts derived from them stay exact in 64-bit integers
  // and doubles.
  constexpr std::int64_t kMaxTokens = std::int64_t(1) << 50;
  if (cfg.batch > kMaxTokens || cfg.seq > kMaxTokens || cfg.batch > kMaxTokens / cfg.seq)
    throw InputError("step.batch", fmt::format("batch {} x seq {} is beyond the 2^50 tokens a step "
                                               "can hold",
                                               cfg.batch, cfg.seq));
  StepPlan plan;
  choose_layout(plan, m, sys, cfg);
  if (m.is_moe() && plan.layout == MoeLayout::dp_a2a)
    plan.ep_exchange = deepep_exchange(m, sys, cfg, false);
  const DType dt = cfg.dtype, act = activation_dtype(dt);
  if (!sys.gpu.supports(dt))
    throw InputError("step.dtype", "GPU '" + sys.gpu.name + "' has no " +
                                       std::string(dtype_name(dt)) + " support");
  const bool prefill = cfg.phase == Phase::prefill;
  LayerShape s;
  s.batch = ceil_div(cfg.batch, plan.dp);  // sequences per TP replica
  s.seq = cfg.seq;
  s.decode = !prefill;
  s.tp = plan.tp;
  s.dtype = dt;
  set_attention_impl(s, sys.gpu, cfg.attn_impl);
  s.count = m.layers;
  plan.tokens = prefill ? cfg.batch * cfg.seq : cfg.batch;
  plan.tokens_per_replica = s.tokens();
  if (m.is_moe() && plan.layout == MoeLayout::dp_agrs) {
    const std::int64_t idle = std::max<std::int64_t>(0, plan.ep - cfg.batch);
    plan.gathered_tokens =
        cfg.cuda_graphs ? double(s.tokens()) * plan.ep : double(plan.tokens) + double(idle);
    plan.gathered_token_bytes = token_payload_bytes(m.hidden_size, dt) + double(m.top_k) * 8.0;
  }
  const std::int64_t T = s.tokens(), h = m.hidden_size;
  const int L = m.layers, tp = plan.tp;
  const int moe_layers = m.moe_layer_count(), dense_layers = L - moe_layers;
  auto& ops = plan.ops;
  ops.reserve(24);  // a dense or MoE layer's ops and the head, without regrowing

  if (m.is_mla())
    add_mla_attention_ops(ops, m, s);
  else
    add_attention_ops(ops, m, s);
  const double act_bytes = double(T) * h * dtype_bytes(act);
  if (tp > 1) ops.push_back(allreduce_op("attn_allreduce", "attention", L, act_bytes, tp));
  ops.push_back(elem_op("residual_add", "attention", 2 * L, ElementwiseKind::add, T, h, act));
  ops.push_back(elem_op("ffn_norm", "ffn", L, ElementwiseKind::rmsnorm, T, h, act));
  add_gated_ffn_ops(ops, m, s, "ffn_", "ffn", dense_layers, m.ffn_dim);
  if (tp > 1 && dense_layers > 0)
    ops.push_back(allreduce_op("ffn_allreduce", "ffn", dense_layers, act_bytes, tp));
  if (moe_layers > 0) {
    LayerShape moe = s;
    moe.count = moe_layers;
    add_moe_ops(ops, m, moe, plan, act_bytes);
  }

  // --- head: final norm and logits for the last token of each sequence ---
  ops.push_back(elem_op("final_norm", "head", 1, ElementwiseKind::rmsnorm, s.batch, h, act));
  if (m.vocab_size % tp != 0)
    throw InputError("step.tp", fmt::format("vocabulary {} of model '{}' is not divisible by {}",
                                            m.vocab_size, m.name, tp));
  ops.push_back(gemm_op("lm_head", "head", 1, s.batch, m.vocab_size / tp, h, dt));
  return plan;
}

}  // namespace llmgps
