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
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps {

enum class Phase { prefill, decode };
Phase parse_phase(const std::string& text, const std::string& where);
const char* phase_name(Phase p);

struct StepConfig {
  std::int64_t batch = 1;
  std::int64_t seq = 512;  // prefill: prompt length; decode: context length already cached
  Phase phase = Phase::prefill;
  DType dtype = DType::fp16;
  std::string attn_impl;  // empty: fa3 where the GPU supports it, else fa2
  int tp = 0;             // 0: GPUs per node (capped by the system size)
  int ep = 0;             // 0: all GPUs of the system
};

enum class OpKind {
  gemm,
  grouped_gemm,
  attention,
  decode_attention,
  elementwise,
  allreduce,
  alltoall
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
  double comm_bytes = 0;                    // allreduce: bytes per GPU
  int comm_gpus = 0;                        // allreduce group size
  std::vector<std::vector<double>> volume;  // alltoall
};

struct StepPlan {
  int tp = 1, dp = 1, ep = 1;
  std::int64_t tokens = 0;  // tokens processed in this step (whole system)
  std::int64_t tokens_per_replica = 0;
  std::vector<Op> ops;
};

// Op builders (one occurrence unless count says otherwise), shared by everything that lists ops.
Op gemm_op(std::string name, std::string stage, int count, std::int64_t m, std::int64_t n,
           std::int64_t k, DType dt, std::int64_t batch = 1);
Op elem_op(std::string name, std::string stage, int count, ElementwiseKind kind, std::int64_t rows,
           std::int64_t cols, DType dt);
Op allreduce_op(std::string name, std::string stage, int count, double bytes, int gpus);

// Throws InputError for impossible layouts (heads not divisible by tp, experts not divisible by ep,
// ...).
StepPlan build_step(const ModelSpec& model, const SystemSpec& sys, const StepConfig& cfg);

}  // namespace llmgps
