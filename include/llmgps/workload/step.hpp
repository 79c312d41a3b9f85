#pragma once
// The operations of one inference step (prefill or decode) of a whole model on a system: which
// kernels and collectives run on each GPU, with their shapes, and how many layers repeat each.
// Layout: attention and dense FFN tensor-parallel over `tp` GPUs (data-parallel copies beyond
// that), MoE experts expert-parallel over `ep` GPUs. Routing is balanced here; skewed routing is
// the MoE application's job.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps {

enum class Phase { prefill, decode };
Phase parse_phase(const std::string& text, const std::string& where);
const char* phase_name(Phase p);

// How an MoE step lays attention and experts over the GPUs (docs/moe.md says which engine runs
// which):
//  - vllm_tp (default): attention tensor-parallel over all GPUs, so after it every GPU holds
//    every token; each GPU runs the tokens routed to its own experts and one all-reduce sums the
//    partial outputs (vLLM with TP and expert parallelism, dp_size 1). No dispatch.
//  - dp_a2a: attention data-parallel (each GPU its own sequences), tokens dispatched to their
//    experts' GPUs and combined back by DeepEP all-to-alls, node-limited where the model routes
//    by groups (SGLang, and vLLM with DP attention).
//  - dp_agrs: attention data-parallel as in dp_a2a, tokens exchanged the way vLLM's default EP
//    backend does (--all2all-backend allgather_reducescatter): an all-gather of every GPU's
//    hidden states and top-k ids and weights, each GPU running its experts on every token, and a
//    reduce-scatter of the outputs back to their GPUs.
//  - paper: MoE-GPS's accounting, a what-if: attention tensor-parallel within a node, then a
//    dispatch all-to-all from each GPU's 1/G of the tokens and a combine all-to-all.
// Dense models ignore it (attention and FFN tensor-parallel within a node).
enum class MoeLayout { vllm_tp, dp_a2a, paper, dp_agrs };
MoeLayout parse_moe_layout(const std::string& text, const std::string& where);
const char* moe_layout_name(MoeLayout l);

struct StepConfig {
  std::int64_t batch = 1;
  std::int64_t seq = 512;  // prefill: prompt length; decode: context length already cached
  Phase phase = Phase::prefill;
  DType dtype = DType::fp16;
  std::string attn_impl;  // empty: fa3 where the GPU supports it, else fa2
  int tp = 0;             // 0: the layout's (MoE), else GPUs per node (capped by the system)
  int ep = 0;             // 0: all GPUs of the system
  MoeLayout moe_layout = MoeLayout::vllm_tp;
  // Share of GPU memory the engine gives to weights, KV cache and activations (vLLM's default
  // gpu_memory_utilization, 0.9); workload/memory.hpp.
  double memory_fraction = 0.9;
  // The engine replays the step from CUDA graphs (vLLM's and SGLang's decode; with_cuda_graphs):
  // each kernel pays the GPU's graph launch gap instead of an eager launch.
  bool cuda_graphs = false;
};

enum class OpKind {
  gemm,
  grouped_gemm,
  attention,
  decode_attention,
  elementwise,
  allreduce,
  alltoall,
  ep_alltoall  // DeepEP dispatch or combine (cost/collective.hpp)
};

struct Op {
  std::string name;
  std::string stage;  // attention, ffn, moe, head
  OpKind kind = OpKind::gemm;
  int count = 1;  // how many times per step (layers)
  GemmShape gemm;
  // grouped_gemm: the experts of the busiest GPU. `groups` may be fractional (an expected count of
  // active experts); the cost interpolates between the neighbouring whole counts.
  double groups = 0;
  std::int64_t rows_per_group = 0;
  AttentionShape attn;
  ElementwiseShape elem;
  double comm_bytes = 0;  // allreduce (the collective): bytes per GPU (nccl-tests' size)
  int comm_gpus = 0;      // the collective's group size
  CollectiveKind comm_kind = CollectiveKind::allreduce;  // OpKind::allreduce: which collective
  std::vector<std::vector<double>> volume;               // alltoall
  EpAllToAll ep;                                         // ep_alltoall
};

struct StepPlan {
  int tp = 1, dp = 1, ep = 1;
  MoeLayout layout = MoeLayout::vllm_tp;
  EpAllToAll ep_exchange;   // dp-a2a: the DeepEP dispatch under balanced routing
  std::int64_t tokens = 0;  // tokens processed in this step (whole system)
  std::int64_t tokens_per_replica = 0;
  // dp-agrs: the tokens its all-gather collects from the EP GPUs (vLLM's all_gatherv takes each
  // rank's own count, and a rank without a sequence runs one dummy token; from CUDA graphs every
  // rank is padded to the busiest one's count), and the bytes per gathered token (hidden state,
  // FP8 with a per-128 fp32 scale where the experts run FP8, quantised before the dispatch as
  // vLLM's naive DP/EP prepare does, plus top-k fp32 weights and int32 ids).
  double gathered_tokens = 0, gathered_token_bytes = 0;
  std::vector<Op> ops;
};

// Op builders (one occurrence unless count says otherwise), shared by everything that lists ops.
Op gemm_op(std::string name, std::string stage, int count, std::int64_t m, std::int64_t n,
           std::int64_t k, DType dt, std::int64_t batch = 1);
Op elem_op(std::string name, std::string stage, int count, ElementwiseKind kind, std::int64_t rows,
           std::int64_t cols, DType dt);
Op allreduce_op(std::string name, std::string stage, int count, double bytes, int gpus,
                CollectiveKind kind = CollectiveKind::allreduce);

// A GPU's routed experts as the step runs them: one grouped GEMM per expert matrix over `groups`
// active experts (fractional: an expected count; the cost interpolates) of `tokens_per_group`
// tokens each (rounded up), with the gated activation between; `count` occurrences.
std::vector<Op> expert_ffn_ops(const ModelSpec& m, int count, double groups,
                               double tokens_per_group, DType dt);

// The DeepEP dispatch (or combine) of a dp-a2a MoE layer under balanced routing: each GPU's
// share of the step's tokens, FP8 payload when the experts run FP8 (combine BF16), normal kernels
// for prefill and low-latency ones for decode (SGLang's auto mode), node-limited to the model's
// topk_group nodes where it routes by groups.
EpAllToAll deepep_exchange(const ModelSpec& m, const SystemSpec& sys, const StepConfig& cfg,
                           bool combine);

// Throws InputError for impossible layouts (heads not divisible by tp, experts not divisible by ep,
// ...).
StepPlan build_step(const ModelSpec& model, const SystemSpec& sys, const StepConfig& cfg);

}  // namespace llmgps
