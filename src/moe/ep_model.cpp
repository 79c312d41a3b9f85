#include "llmgps/moe/ep_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/moe/planner.hpp"
#include "llmgps/schedule/estimate.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/workload/expert_activation.hpp"
#include "llmgps/workload/layer.hpp"

namespace llmgps::moe {

ExpertTime parse_expert_time(const std::string& s, const std::string& where) {
  if (s == "roofline") return ExpertTime::roofline;
  if (s == "linear") return ExpertTime::linear;
  throw InputError(where,
                   "must be 'roofline' (each replica's FFN through the cost model, the default) or "
                   "'linear' (time "
                   "proportional to tokens, the paper's assumption), got '" +
                       s + "'");
}

const char* expert_time_name(ExpertTime t) {
  return t == ExpertTime::roofline ? "roofline" : "linear";
}

void LayerBreakdown::add(const LayerBreakdown& o, double w) {
  predictor_s += w * o.predictor_s;
  attention_s += w * o.attention_s;
  gate_s += w * o.gate_s;
  dispatch_s += w * o.dispatch_s;
  experts_s += w * o.experts_s;
  combine_s += w * o.combine_s;
  copy_s += w * o.copy_s;
  early_dispatch_s += w * o.early_dispatch_s;
}

namespace {
bool is_routed_expert_op(const std::string& n) {
  return n == "dispatch" || n == "combine" || n == "expert_gate_up" || n == "expert_act" ||
         n == "expert_down";
}
}  // namespace

EpModel::EpModel(const ModelSpec& m, const SystemSpec& sys, const EpSetup& setup)
    : m_(m), sys_(setup.step.cuda_graphs ? with_cuda_graphs(sys) : sys), setup_(setup) {
  if (!m.is_moe())
    throw InputError("ep.model", fmt::format("'{}' is not a mixture-of-experts model", m.name));
  G_ = sys.total_gpus();
  if (G_ > m.num_experts)
    throw InputError("ep.system",
                     fmt::format("model '{}' has {} experts, fewer than the system's {} GPUs",
                                 m.name, m.num_experts, G_));
  StepConfig cfg = setup.step;
  cfg.ep = G_;
  cfg.moe_layout = setup.layout;
  cfg.tp = 0;  // the layout's
  // The step from the system as given: estimate_step swaps in the graph launch gap itself when
  // the step runs from CUDA graphs (sys_ carries it for this model's own kernel costs), and the
  // plan needs to know (dp-agrs pads every rank to the busiest under graphs).
  const StepEstimate est = estimate_step(m, sys, cfg);
  deepep_ = est.plan.ep_exchange;
  tokens_ = est.plan.tokens;
  tokens_per_gpu_ = est.plan.tokens_per_replica;
  moe_layers_ = m.moe_layer_count();
  const int L = m.layers;
  double per_layer = 0, shared = 0, dense_and_head = 0;
  error_ = est.model_error;
  double per_layer_band = 0, shared_band = 0, dense_and_head_band = 0;
  for (std::size_t i = 0; i < est.ops.size(); ++i) {
    const OpEstimate& op = est.ops[i];
    const double err = error_.of(error_class_of(est.plan.ops[i]));
    if (op.name == "combine" && setup.layout == MoeLayout::vllm_tp)
      allreduce_combine_s_ = op.each.time_s;
    if (op.name == "dispatch" && setup.layout == MoeLayout::dp_agrs)
      agrs_dispatch_s_ = op.each.time_s;
    if (op.name == "combine" && setup.layout == MoeLayout::dp_agrs)
      agrs_combine_s_ = op.each.time_s;
    if (is_routed_expert_op(op.name)) continue;
    if (op.name == "router" || op.name == "topk") {
      gate_s_ += op.each.time_s;
      gate_band_s_ += op.each.time_s * err;
    } else if (op.name.rfind("shared_", 0) == 0) {
      shared += op.each.time_s;
      shared_band += op.each.time_s * err;
      if (est.plan.ops[i].kind == OpKind::allreduce) attention_comm_s_ += op.each.time_s;
    } else if (op.count % L == 0 && op.stage != "head") {
      per_layer += op.time_s / L;
      per_layer_band += op.time_s / L * err;
      if (est.plan.ops[i].kind == OpKind::allreduce) attention_comm_s_ += op.time_s / L;
    } else {
      dense_and_head += op.time_s;
      dense_and_head_band += op.time_s * err;
    }
  }
  attention_s_ = per_layer + shared;
  other_s_ = dense_and_head + double(L - moe_layers_) * per_layer;
  attention_band_s_ = per_layer_band + shared_band;
  other_band_s_ = dense_and_head_band + double(L - moe_layers_) * per_layer_band;
  const DType act = activation_dtype(cfg.dtype);
  expert_bytes_ = m.expert_params() * dtype_bytes(cfg.dtype);
  token_bytes_ = double(m.hidden_size) * dtype_bytes(act);

  // Experts a GPU owns before replicas: the fullest GPU's count when the GPUs do not divide them.
  const int home = HomePlacement{m.num_experts, G_}.most();
  if (setup.slots_per_gpu > 0) {
    if (setup.slots_per_gpu < home)
      throw InputError("ep.slots_per_gpu",
                       fmt::format("{} slots cannot hold the {} experts each GPU owns",
                                   setup.slots_per_gpu, home));
    slots_ = setup.slots_per_gpu;
  } else {
    // What the memory budget holds beyond this GPU's weights, the KV cache of its sequences and
    // the step's activations, spent on extra expert replicas (one slot = one expert in every MoE
    // layer, and room in the copy buffer). None when even that does not fit (the advice then
    // warns).
    const MemoryUse base = step_memory(m, sys, cfg, est.plan);
    const double free_b = base.budget_bytes - base.total_bytes();
    const int extra =
        free_b > 0
            ? int(std::min(double(m.num_experts),
                           std::floor(free_b / (expert_bytes_ * (std::max(1, moe_layers_) + 1)))))
            : 0;
    const int cap = setup.max_slots_per_gpu > 0 ? setup.max_slots_per_gpu : 2 * home;
    slots_ = std::max(home, std::min(cap, home + extra));
  }
  extra_slots_ = slots_ - home;
  memory_step_ = cfg;
  memory_step_.cuda_graphs = setup.step.cuda_graphs;  // the step as asked for
  memory_ = step_memory(m, sys, cfg, est.plan, extra_slots_);
  if (cfg.phase == Phase::decode) {
    const ExpertActivation a =
        expected_activation(m.num_experts, G_, m.top_k, double(std::max<std::int64_t>(1, tokens_)));
    if (a.active_per_gpu > 0) busiest_factor_ = a.busiest_active / a.active_per_gpu;
  }
  const double per_expert = selections() / double(m.num_experts);
  // The linear what-if's per-token cost: a GPU's grouped expert kernel under balanced routing
  // (its own experts, each with the mean load) divided by its tokens, so linear and roofline agree
  // on a balanced GPU.
  if (per_expert > 0) {
    const double whole = std::ceil(per_expert - 1e-9);
    per_token_s_ =
        grouped_ffn_s(std::vector<double>(std::size_t(home), per_expert)) / (whole * home);
  }
}

double EpModel::expected_gpu_expert_s(const std::vector<double>& slot_tokens) const {
  if (setup_.step.phase != Phase::decode || setup_.expert_time == ExpertTime::linear)
    return gpu_expert_s(slot_tokens);
  const double T = double(tokens_);
  double active = 0, tokens = 0, slots = 0;
  for (double t : slot_tokens) {
    if (!(t > 0)) continue;
    active += 1.0 - std::pow(std::max(0.0, 1.0 - t / T), T);
    tokens += t;
    slots += 1;
  }
  if (active <= 0) return 0.0;
  // The op estimate's expert kernels (workload/step.hpp), on these counts.
  const double groups = std::clamp(active * busiest_factor_, 1.0, slots);
  double s = 0;
  for (const Op& op : expert_ffn_ops(m_, 1, groups, tokens / active, setup_.step.dtype))
    s += cost_of(op, sys_).time_s;
  return s;
}

std::int64_t EpModel::predictor_tokens() const {
  // Tensor-parallel attention: every GPU of a TP group holds the group's tokens before attention
  // (vllm-tp: one group of every GPU; the paper's: one per node).
  switch (setup_.layout) {
    case MoeLayout::vllm_tp:
      return tokens_;
    case MoeLayout::paper: {
      const int tp = std::min(G_, sys_.gpus_per_node);
      return (tokens_ + (G_ / tp) - 1) / (G_ / tp);
    }
    case MoeLayout::dp_a2a:
      break;
    case MoeLayout::dp_agrs:
      return tokens_per_gpu_;  // a GPU's own sequences
  }
  return deepep_.tokens_per_gpu;  // dp-a2a: the busiest GPU's own sequences
}

double EpModel::expert_ffn_s(double tokens) const {
  return grouped_ffn_s({tokens});
}

double EpModel::gpu_expert_s(const std::vector<double>& slot_tokens) const {
  if (setup_.expert_time == ExpertTime::linear) {
    double s = 0;
    for (double t : slot_tokens) s += std::max(0.0, t);
    return s * balanced_per_token_s();
  }
  return grouped_ffn_s(slot_tokens);
}

double EpModel::grouped_ffn_s(const std::vector<double>& slot_tokens) const {
  // Whole tokens per replica; a share that rounds to none (a replica planned but never reached)
  // reads no weights. The GPU runs one grouped GEMM per expert matrix over its replicas with
  // tokens (the kernel vLLM, SGLang and DeepGEMM launch), as estimate does.
  std::vector<std::int64_t> rows;
  rows.reserve(slot_tokens.size());
  for (double t : slot_tokens) {
    const auto whole = std::int64_t(std::ceil(t - 1e-9));
    if (t > 0 && whole > 0) rows.push_back(whole);
  }
  if (rows.empty()) return 0.0;
  std::sort(rows.begin(), rows.end());
  auto it = ffn_cache_.find(rows);
  if (it != ffn_cache_.end()) return it->second;
  const DType dt = setup_.step.dtype;
  const DType act = activation_dtype(dt);
  std::int64_t total = 0;
  for (auto r : rows) total += r;
  GroupedGemmShape up{rows, 2 * std::int64_t(m_.moe_ffn_dim), m_.hidden_size, dt,
                      GroupedLayout::contiguous};
  GroupedGemmShape down{rows, m_.hidden_size, m_.moe_ffn_dim, dt, GroupedLayout::contiguous};
  const double s = grouped_gemm_cost(sys_.gpu, up).time_s +
                   cost_of(elem_op("expert_act", "moe", 1, ElementwiseKind::gated_activation, total,
                                   m_.moe_ffn_dim, act),
                           sys_)
                       .time_s +
                   grouped_gemm_cost(sys_.gpu, down).time_s;
  ffn_cache_.emplace(std::move(rows), s);
  return s;
}

double EpModel::alltoall_s(const std::vector<std::vector<double>>& volume) const {
  double any = 0;
  for (std::size_t i = 0; i < volume.size(); ++i)
    for (std::size_t j = 0; j < volume[i].size(); ++j)
      if (i != j) any += volume[i][j];
  return any > 0 ? alltoall_cost(sys_, volume).time_s : 0.0;
}

namespace {
// The busiest GPU's received selections over the mean GPU's (the diagonal counts: a GPU's own
// tokens are load on its port budget in DeepEP's accounting too).
bool any_traffic(const std::vector<std::vector<double>>& v) {
  for (const auto& row : v)
    for (double x : row)
      if (x > 0) return true;
  return false;
}

double receive_skew(const std::vector<std::vector<double>>& v) {
  const std::size_t g = v.size();
  std::vector<double> in(g, 0.0);
  double total = 0;
  for (std::size_t i = 0; i < g; ++i)
    for (std::size_t j = 0; j < g; ++j) in[j] += v[i][j], total += v[i][j];
  if (total <= 0) return 1.0;
  return std::max(1.0, *std::max_element(in.begin(), in.end()) / (total / double(g)));
}
}  // namespace

double EpModel::deepep_s(const std::vector<std::vector<double>>& selections, bool combine) const {
  if (!any_traffic(selections)) return 0.0;
  EpAllToAll a = deepep_;
  if (combine) a.combine = true, a.payload = DType::bf16;  // DeepEP combines in BF16
  // The busiest GPU receives the most at dispatch and sends it back at combine.
  a.port_skew = receive_skew(selections);
  return ep_alltoall_cost(sys_, a).time_s;
}

double EpModel::dispatch_s(const std::vector<std::vector<double>>& selections) const {
  switch (setup_.layout) {
    case MoeLayout::vllm_tp:
      return 0.0;
    case MoeLayout::paper:
      return alltoall_s(selections);
    case MoeLayout::dp_a2a:
      return deepep_s(selections, false);
    case MoeLayout::dp_agrs:
      return agrs_dispatch_s_;  // every GPU gathers every token, wherever it goes
  }
  return 0.0;
}

double EpModel::combine_s(const std::vector<std::vector<double>>& selections) const {
  switch (setup_.layout) {
    case MoeLayout::vllm_tp:
      return allreduce_combine_s_;
    case MoeLayout::paper: {
      std::vector<std::vector<double>> back(selections.size(),
                                            std::vector<double>(selections.size(), 0.0));
      for (std::size_t i = 0; i < selections.size(); ++i)
        for (std::size_t j = 0; j < selections.size(); ++j) back[j][i] = selections[i][j];
      return alltoall_s(back);
    }
    case MoeLayout::dp_a2a:
      return deepep_s(selections, true);
    case MoeLayout::dp_agrs:
      return agrs_combine_s_;
  }
  return 0.0;
}

double EpModel::band_s(const LayerBreakdown& b) const {
  const ErrorClass exchange = setup_.layout == MoeLayout::paper ? ErrorClass::alltoall
                              : setup_.layout == MoeLayout::dp_agrs
                                  ? ErrorClass::allgather_reducescatter
                              : is_low_latency(deepep_.mode) ? ErrorClass::deepep_low_latency
                                                             : ErrorClass::deepep_normal;
  const ErrorClass combine = setup_.layout == MoeLayout::vllm_tp ? ErrorClass::allreduce : exchange;
  const double per_layer =
      attention_band_s_ * (b.attention_s > 0 ? b.attention_s / attention_s_ : 0) +
      gate_band_s_ * (gate_s_ > 0 ? b.gate_s / gate_s_ : 0) +
      error_.of(ErrorClass::grouped_gemm) * b.experts_s +
      error_.of(exchange) * (b.dispatch_s + b.early_dispatch_s) + error_.of(combine) * b.combine_s +
      error_.of(ErrorClass::gemm) * b.predictor_s + error_.of(ErrorClass::copy) * b.copy_s;
  return per_layer * moe_layers_ + other_band_s_;
}

double EpModel::early_dispatch_exposed_s(const std::vector<std::vector<double>>& early,
                                         double copy_raw_s) const {
  if (!prediction_skips_dispatch()) return 0.0;
  const double hidden = std::max(0.0, link_free_attention_s() - copy_raw_s);
  return std::max(0.0, alltoall_s(early) - hidden);
}

std::string EpModel::dispatch_kind() const {
  switch (setup_.layout) {
    case MoeLayout::vllm_tp:
      return "none (after tensor-parallel attention every GPU holds every token)";
    case MoeLayout::paper:
      return fmt::format("all-to-all over {} GPUs", G_);
    case MoeLayout::dp_a2a:
      return fmt::format("DeepEP {} dispatch over {} GPUs ({} payload)",
                         ep_alltoall_mode_name(deepep_.mode), G_, dtype_name(deepep_.payload));
    case MoeLayout::dp_agrs:
      return fmt::format("all-gather over {} GPUs (hidden states, top-k ids and weights)", G_);
  }
  return "?";
}

std::string EpModel::combine_kind() const {
  switch (setup_.layout) {
    case MoeLayout::vllm_tp:
      return fmt::format("all-reduce over {} GPUs", G_);
    case MoeLayout::paper:
      return fmt::format("all-to-all over {} GPUs", G_);
    case MoeLayout::dp_a2a:
      return fmt::format("DeepEP {} combine over {} GPUs (bf16)",
                         ep_alltoall_mode_name(deepep_.mode), G_);
    case MoeLayout::dp_agrs:
      return fmt::format("reduce-scatter over {} GPUs", G_);
  }
  return "?";
}

double EpModel::copy_s(const std::vector<double>& bytes_in) const {
  if (sys_.total_gpus() < 2) return 0;  // one GPU holds every expert: nothing comes from a peer
  double worst = 0;
  for (double b : bytes_in)
    if (b > 0) worst = std::max(worst, p2p_cost(sys_, b, sys_.nodes > 1, true).time_s);
  return worst;
}

double EpModel::copy_exposed_s(const std::vector<double>& bytes_in) const {
  return std::max(0.0, copy_s(bytes_in) - link_free_attention_s());
}

double EpModel::ops_s(const std::vector<Op>& ops) const {
  double s = 0;
  for (const Op& op : ops) s += cost_of(op, sys_).time_s * op.count;
  return s;
}

ReplicaPlan EpModel::plan(const LoadMatrix& loads, Planner algo) const {
  switch (algo) {
    case Planner::greedy:
      return greedy_plan(loads, GreedyConfig{G_, slots_, 0, 1.0, {}});
    case Planner::greedy_time:
      return greedy_plan(loads,
                         GreedyConfig{G_, slots_, 0, 1.0, [this](const std::vector<double>& t) {
                                        return expected_gpu_expert_s(t);
                                      }});
    case Planner::eplb:
      return eplb_plan(loads, EplbConfig{G_ * slots_, 1, sys_.nodes, G_});
  }
  throw std::logic_error("unknown planner");
}

}  // namespace llmgps::moe
