#include "llmgps/workload/memory.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "llmgps/specs/error.hpp"
#include "llmgps/workload/layer.hpp"

namespace llmgps {

namespace {

// The inputs and outputs one op holds at once (weights and the KV cache are counted apart;
// collectives work in place on the previous op's output).
double op_operand_elements(const Op& op) {
  switch (op.kind) {
    case OpKind::gemm:
      return double(op.gemm.m) * double(op.gemm.batch) * double(op.gemm.k + op.gemm.n);
    case OpKind::grouped_gemm:
      return std::ceil(op.groups) * double(op.rows_per_group) * double(op.gemm.k + op.gemm.n);
    case OpKind::attention:
    case OpKind::decode_attention: {
      // Queries in, outputs out; keys and values are read from the cache.
      const AttentionShape& a = op.attn;
      const double v = double(a.v_head_dim > 0 ? a.v_head_dim : a.head_dim);
      return double(a.batch) * double(a.seq_q) * double(a.heads) * (double(a.head_dim) + v);
    }
    case OpKind::elementwise:
      return 2.0 * double(op.elem.rows) * double(op.elem.cols);
    case OpKind::allreduce:
    case OpKind::alltoall:
    case OpKind::ep_alltoall:
      return 0;
  }
  return 0;
}

}  // namespace

void check_memory_fraction(double fraction) {
  if (!(fraction > 0 && fraction <= 1))
    throw InputError("step.memory_fraction", fmt::format("must be in (0, 1] (got {})", fraction));
}

MemoryUse step_memory(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg,
                      const StepPlan& plan, int extra_expert_slots) {
  check_memory_fraction(cfg.memory_fraction);
  if (extra_expert_slots < 0) throw InputError("memory.extra_expert_slots", "must be >= 0");
  const double w_bytes = dtype_bytes(cfg.dtype);
  const double act_bytes = dtype_bytes(activation_dtype(cfg.dtype));
  const int tp = std::max(1, plan.tp), moe_layers = m.moe_layer_count();
  const double h = m.hidden_size;
  // KV heads below the TP degree are replicated (each GPU keeps one), as vLLM's QKV projection
  // does; MLA's latent cache and its projections' shared parts are sharded with the rest.
  const double kv_heads_per_gpu = m.num_kv_heads >= tp ? double(m.num_kv_heads) / tp : 1.0;
  double attention;
  if (m.is_mla()) {
    attention = m.attention_params() / tp;
  } else {
    const double qo = 2.0 * h * m.num_heads * m.head_dim / tp;
    attention = qo + 2.0 * h * kv_heads_per_gpu * m.head_dim;
  }
  double linear = m.layers * attention + (m.layers - moe_layers) * m.dense_ffn_params() / tp;
  if (m.is_moe()) {
    const int ep = std::max(1, plan.ep);
    const double own_experts = std::ceil(double(m.num_experts) / ep);  // the fullest GPU's
    linear += moe_layers *
              (m.router_params() + m.shared_ffn_params() / tp + own_experts * m.expert_params());
  }
  // Quantised linear layers keep embeddings, LM head and norms in the activation type.
  const double other = 2.0 * m.embedding_params() / tp + (m.layers * m.norm_params() + h);

  MemoryUse u;
  u.weights_bytes = linear * w_bytes + other * act_bytes;
  u.replica_bytes = double(extra_expert_slots) * moe_layers * m.expert_params() * w_bytes;
  u.copy_buffer_bytes = double(extra_expert_slots) * m.expert_params() * w_bytes;
  const double seqs = std::ceil(double(cfg.batch) / std::max(1, plan.dp));
  const double context = double(cfg.seq) + (cfg.phase == Phase::decode ? 1.0 : 0.0);
  const double kv_per_token_layer =
      m.is_mla()
          ? double(m.kv_lora_rank + m.qk_rope_head_dim)
          : kv_heads_per_gpu * double(m.head_dim + (m.v_head_dim > 0 ? m.v_head_dim : m.head_dim));
  u.kv_cache_bytes = seqs * context * m.layers * kv_per_token_layer * act_bytes;
  double largest = 0;
  for (const Op& op : plan.ops) largest = std::max(largest, op_operand_elements(op));
  u.activation_bytes = (double(plan.tokens_per_replica) * h + largest) * act_bytes;
  // dp-agrs holds the gathered tokens and the experts' outputs for all of them at once (vLLM does
  // not chunk that path).
  if (m.is_moe() && plan.layout == MoeLayout::dp_agrs)
    u.activation_bytes +=
        plan.gathered_tokens * (plan.gathered_token_bytes + double(h) * act_bytes);
  u.capacity_bytes = sys.gpu.memory_bytes;
  u.budget_bytes = sys.gpu.memory_bytes * cfg.memory_fraction;
  return u;
}

namespace {

// The largest value in [1, 2^40] for which fits(value) holds, fits being monotone (true, then
// false); 0 when fits(1) fails. Starts from `guess` and gallops to a bracket, then bisects: a
// good guess costs a handful of evaluations, a bad one at most about twice a plain search.
template <typename Fits>
std::int64_t largest_fitting(const Fits& fits, std::int64_t guess) {
  constexpr std::int64_t kMax = std::int64_t(1) << 40;
  if (!fits(1)) return 0;
  const std::int64_t g = std::clamp<std::int64_t>(guess, 1, kMax);
  std::int64_t lo = 1, hi = kMax + 1;  // fits(lo); hi: known not to fit (or beyond the range)
  if (fits(g)) {
    lo = g;
    std::int64_t step = 1;
    while (lo + step <= kMax && fits(lo + step)) lo += step, step *= 2;
    hi = std::min(lo + step, kMax + 1);
  } else {
    hi = g;
    std::int64_t step = 1;
    while (hi - step >= 1 && !fits(hi - step)) hi -= step, step *= 2;
    lo = std::max<std::int64_t>(1, hi - step);
  }
  while (hi - lo > 1) {
    const std::int64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo;
}

}  // namespace

MemoryLimits memory_limits(const ModelSpec& m, const SystemSpec& sys,
                           const std::vector<StepConfig>& steps, int extra_expert_slots) {
  if (steps.empty()) return {};
  // The least headroom (budget - need) over the steps, -inf where a step cannot exist.
  auto slack = [&](std::int64_t batch, std::int64_t seq) {
    double least = std::numeric_limits<double>::infinity();
    for (const StepConfig& step : steps) {
      StepConfig c = step;
      c.batch = batch;
      c.seq = seq + (step.seq - steps.front().seq);
      if (c.seq <= 0) return -std::numeric_limits<double>::infinity();
      const MemoryUse u = step_memory(m, sys, c, build_step(m, sys, c), extra_expert_slots);
      least = std::min(least, u.budget_bytes - u.total_bytes());
    }
    return least;
  };
  // Memory grows about linearly in batch and in context: two probes give a first guess.
  auto guess = [](double at1, double at65) {
    const double per_unit = (at1 - at65) / 64.0;
    if (!(per_unit > 0) || !(at1 >= 0)) return std::int64_t(1);
    return std::int64_t(std::min(1.0 + at1 / per_unit, double(std::int64_t(1) << 40)));
  };
  MemoryLimits l;
  const StepConfig& first = steps.front();
  auto batch_fits = [&](std::int64_t b) { return slack(b, first.seq) >= 0; };
  auto seq_fits = [&](std::int64_t q) { return slack(first.batch, q) >= 0; };
  l.max_batch = largest_fitting(batch_fits, guess(slack(1, first.seq), slack(65, first.seq)));
  l.max_seq = largest_fitting(seq_fits, guess(slack(first.batch, 1), slack(first.batch, 65)));
  return l;
}

std::string memory_warning(const MemoryUse& u, const MemoryLimits& l, const StepConfig& cfg,
                           const char* context) {
  if (u.fits()) return "";
  std::string fix;
  if (l.max_batch > 0 && l.max_seq > 0)
    fix = fmt::format("; at this {} at most batch {} fits, at batch {} at most {} {}", context,
                      l.max_batch, cfg.batch, context, l.max_seq);
  else if (l.max_batch > 0)
    fix = fmt::format("; at this {} at most batch {} fits, and at batch {} not even {} 1", context,
                      l.max_batch, cfg.batch, context);
  else if (l.max_seq > 0)
    fix = fmt::format("; at batch {} at most {} {} fits", cfg.batch, context, l.max_seq);
  else
    fix = "; not even batch 1 fits: use more GPUs or a smaller dtype";
  return fmt::format(
      "needs {:.1f} GB per GPU (weights {:.1f}, KV cache {:.1f}, activations {:.1f}{}) but the "
      "budget is {:.1f} GB ({:.0f}% of {:.1f} GB){}",
      u.total_bytes() / 1e9, u.weights_bytes / 1e9, u.kv_cache_bytes / 1e9,
      u.activation_bytes / 1e9,
      u.replica_bytes > 0 ? fmt::format(", expert replicas {:.1f} and their copy buffer {:.1f}",
                                        u.replica_bytes / 1e9, u.copy_buffer_bytes / 1e9)
                          : "",
      u.budget_bytes / 1e9, 100 * cfg.memory_fraction, u.capacity_bytes / 1e9, fix);
}

}  // namespace llmgps
