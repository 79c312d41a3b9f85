#pragma once
// One MoE model step under expert parallelism, GPU by GPU, in one of the layouts engines run
// (workload/step.hpp MoeLayout): attention, the gate, the token exchange before the experts (none
// in vllm-tp, DeepEP in dp-a2a, an all-to-all in the paper's), each GPU's expert FFN over the
// tokens its replicas really receive, the exchange after them (vllm-tp's all-reduce, DeepEP's or
// the paper's all-to-all), and the exposed part of any expert-weight copy (copies overlap
// attention).
// Every time comes from the core cost models on the system; nothing here is a fitted constant.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "llmgps/moe/planner.hpp"
#include "llmgps/specs/model_error.hpp"
#include "llmgps/workload/memory.hpp"
#include "llmgps/workload/step.hpp"

namespace llmgps::moe {

// How a GPU's expert time follows its tokens.
//  - roofline (default): each replica with tokens runs its own FFN GEMMs through the core cost
//    model, so a replica reads its expert's weights whatever its token count;
//  - linear: the paper's assumption ("the straggler's expert time scales with skew"): a GPU's
//    time is its tokens times the per-token time of an expert under balanced routing, so extra
//    replicas cost nothing but the tokens they take. A what-if for reproducing the paper.
enum class ExpertTime { roofline, linear };
ExpertTime parse_expert_time(const std::string& s, const std::string& where);
const char* expert_time_name(ExpertTime t);

// Per MoE layer, seconds (one occurrence).
struct LayerBreakdown {
  double predictor_s = 0;
  double attention_s = 0;  // norm, QKV, attention, O-proj, all-reduce, residuals (+ shared experts)
  double gate_s = 0;
  double dispatch_s = 0;
  double experts_s = 0;  // the straggler GPU's expert FFN
  double combine_s = 0;
  double copy_s = 0;  // exposed weight-copy time (beyond what attention hides)
  // The paper's layout: tokens a prediction sent ahead still cross the links, during attention;
  // what attention (after any weight copies) does not hide.
  double early_dispatch_s = 0;
  double total() const {
    return predictor_s + attention_s + gate_s + dispatch_s + experts_s + combine_s + copy_s +
           early_dispatch_s;
  }
  void add(const LayerBreakdown& o, double w = 1.0);
};

struct EpSetup {
  StepConfig step;  // batch, seq, phase, dtype
  MoeLayout layout = MoeLayout::vllm_tp;
  ExpertTime expert_time = ExpertTime::roofline;
  int slots_per_gpu = 0;      // 0: as many as GPU memory allows (capped at max_slots_per_gpu)
  int max_slots_per_gpu = 0;  // 0: experts per GPU + experts per GPU (at most doubling)
  // The memory budget is step.memory_fraction of each GPU's memory (workload/memory.hpp).
};

// The model of one step on one system; caches the per-op costs it reuses.
class EpModel {
 public:
  EpModel(const ModelSpec& m, const SystemSpec& sys, const EpSetup& setup);

  const ModelSpec& model() const { return m_; }
  const StepConfig& step() const { return setup_.step; }
  const SystemSpec& system() const { return sys_; }
  int gpus() const { return G_; }
  int experts() const { return m_.num_experts; }
  int moe_layers() const { return moe_layers_; }
  std::int64_t tokens() const { return tokens_; }  // tokens in the step (whole system)
  double selections() const { return double(tokens_) * m_.top_k; }
  int slots_per_gpu() const { return slots_; }
  // The fullest GPU's memory with its slots filled (extra replicas included), and the step it is
  // for (the layout's parallelism).
  const MemoryUse& memory() const { return memory_; }
  const StepConfig& memory_step() const { return memory_step_; }
  int extra_slots() const { return extra_slots_; }
  double expert_weight_bytes() const { return expert_bytes_; }
  double token_bytes() const { return token_bytes_; }  // one token's hidden state on the wire
  double attention_s() const { return attention_s_; }  // per MoE layer
  double gate_s() const { return gate_s_; }
  double other_s() const { return other_s_; }  // dense layers, head: once per step
  std::int64_t predictor_tokens() const;       // tokens one GPU predicts for

  // Expert FFN (gate/up, activation, down) of one replica receiving `tokens` tokens.
  double expert_ffn_s(double tokens) const;
  // A GPU's expert time: one grouped GEMM per expert matrix over the replicas it holds that
  // receive tokens, with the activation between (roofline); or its tokens at the balanced
  // per-token cost (linear).
  double gpu_expert_s(const std::vector<double>& slot_tokens) const;
  ExpertTime expert_time() const { return setup_.expert_time; }
  // A GPU's expected expert time when its slots expect `slot_tokens` selections (fractional: a
  // closed form's shares, a prediction): in decode, where a step's few tokens leave most experts
  // idle, each slot is active with probability 1 - (1 - tokens/T)^T for the step's T tokens and
  // the GPU runs its expected active slots (scaled by the uniform model's busiest-GPU factor, so
  // balanced routing is exactly estimate's decode expert model), each with the tokens it expects
  // when active. A replica then only pays when several tokens share its expert. In prefill (and
  // with the linear what-if) it is gpu_expert_s.
  double expected_gpu_expert_s(const std::vector<double>& slot_tokens) const;
  // Per-token expert time under balanced routing (selections / experts tokens per expert).
  double balanced_per_token_s() const { return per_token_s_; }
  MoeLayout layout() const { return setup_.layout; }
  // The token exchanges of one MoE layer for routed traffic `selections` (bytes GPU i's tokens
  // send to GPU j, one hidden state per selection): the dispatch before the experts and the
  // combine after them, as the layout runs them. vllm-tp: no dispatch, the all-reduce combine
  // whatever the routing; dp-a2a: DeepEP with the busiest port's skew; paper: all-to-alls of the
  // matrices (its dispatch may be given fewer bytes: what a prediction let go early).
  double dispatch_s(const std::vector<std::vector<double>>& selections) const;
  double combine_s(const std::vector<std::vector<double>>& selections) const;
  // Whether a correct Token-to-Expert prediction removes dispatch traffic: only in the paper's
  // accounting (in vllm-tp there is no dispatch; in dp-a2a tokens exist only after attention).
  bool prediction_skips_dispatch() const { return setup_.layout == MoeLayout::paper; }
  // The exposed time of sending the predicted tokens `early` (bytes, src x dst) ahead, beside
  // this layer's attention, whose link time weight copies of `copy_raw_s` already use; 0 outside
  // the paper's layout (nothing is sent early there).
  double early_dispatch_exposed_s(const std::vector<std::vector<double>>& early,
                                  double copy_raw_s) const;
  // The model's uncertainty on a step whose mean MoE layer is `per_layer`: every part charged
  // the measured error of its kernel class on this GPU (specs/model_error.hpp), the dense layers
  // and head as estimate charges them. Errors of one class add (they are systematic).
  double band_s(const LayerBreakdown& per_layer) const;
  // The part of every band from what all strategies share (attention, gate, dense layers, head):
  // its error moves every strategy alike, so it cannot reorder them.
  double common_band_s() const {
    return (attention_band_s_ + gate_band_s_) * moe_layers_ + other_band_s_;
  }
  const ModelError& model_error() const { return error_; }
  // How the layout exchanges tokens, for reports ("none", "all-reduce over 8 GPUs", ...).
  std::string dispatch_kind() const;
  std::string combine_kind() const;
  // All-to-all time for a volume matrix (bytes).
  double alltoall_s(const std::vector<std::vector<double>>& volume) const;
  // The part of a layer's attention block that leaves the links free (its compute; its
  // all-reduces use the links copies and early sends would): what such transfers can hide behind.
  double link_free_attention_s() const { return std::max(0.0, attention_s_ - attention_comm_s_); }
  // Exposed time of copying replicas into GPUs: bytes_in[g] arrives at GPU g (copies to
  // different GPUs run in parallel); the part hidden behind this layer's attention compute is
  // free.
  double copy_exposed_s(const std::vector<double>& bytes_in) const;
  double copy_s(const std::vector<double>& bytes_in) const;
  double ops_s(const std::vector<Op>& ops) const;

  // Replica plan for per-expert loads of each layer with the configured slots.
  ReplicaPlan plan(const LoadMatrix& loads, Planner algo) const;

 private:
  double grouped_ffn_s(const std::vector<double>& slot_tokens) const;  // the roofline kernel
  // dp-a2a: the DeepEP dispatch (or combine) of routed traffic `selections`.
  double deepep_s(const std::vector<std::vector<double>>& selections, bool combine) const;

  ModelSpec m_;
  SystemSpec sys_;
  EpSetup setup_;
  int G_ = 1;
  int moe_layers_ = 0;
  int slots_ = 0;
  int extra_slots_ = 0;
  MemoryUse memory_;
  StepConfig memory_step_;
  std::int64_t tokens_ = 0;
  double expert_bytes_ = 0, token_bytes_ = 0;
  double attention_s_ = 0, gate_s_ = 0, other_s_ = 0;
  double per_token_s_ = 0;  // balanced_per_token_s, fixed by the step: computed once
  // Routing-independent exchanges, from the step: vllm-tp's combine all-reduce; dp-agrs's
  // dispatch all-gather and combine reduce-scatter.
  double allreduce_combine_s_ = 0, agrs_dispatch_s_ = 0, agrs_combine_s_ = 0;
  double attention_comm_s_ = 0;      // the all-reduces inside attention_s_, per MoE layer
  double busiest_factor_ = 1;        // decode: expected_activation's busiest / per-GPU active
  std::int64_t tokens_per_gpu_ = 0;  // data-parallel layouts: one GPU's own tokens
  EpAllToAll deepep_;                // dp-a2a: the balanced DeepEP dispatch
  ModelError error_;
  double attention_band_s_ = 0, gate_band_s_ = 0, other_band_s_ = 0;
  mutable std::map<std::vector<std::int64_t>, double> ffn_cache_;  // sorted rows -> seconds
};

}  // namespace llmgps::moe
