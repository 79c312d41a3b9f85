#include "llmgps/workload/step.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "llmgps/schedule/estimate.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/workload/memory.hpp"

using namespace llmgps;

namespace {
const Op* find(const StepPlan& p, const std::string& name) {
  for (const auto& op : p.ops)
    if (op.name == name) return &op;
  return nullptr;
}
}  // namespace

TEST(Step, MixtralPrefillLayout) {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  StepPlan p = build_step(m, s, {1, 512, Phase::prefill, DType::fp16, "", 0, 0});
  EXPECT_EQ(p.tp, 4);
  EXPECT_EQ(p.ep, 4);
  EXPECT_EQ(p.tokens, 512);
  const Op* qkv = find(p, "qkv_proj");
  ASSERT_NE(qkv, nullptr);
  EXPECT_EQ(qkv->gemm.n, (32 / 4 + 2 * 8 / 4) * 128);
  const Op* up = find(p, "expert_gate_up");
  ASSERT_NE(up, nullptr);
  EXPECT_EQ(up->kind, OpKind::grouped_gemm);
  EXPECT_NEAR(up->groups, 2.0, 1e-9);  // 8 experts over 4 GPUs, all active at 512 tokens
  EXPECT_EQ(up->rows_per_group, 512 * 2 / 8);
  EXPECT_EQ(find(p, "ffn_gate_up"), nullptr);  // every Mixtral layer is MoE
}

TEST(Step, DecodeExpertsFollowTheExpertsABatchActivates) {
  // Mixtral-8x7B on 4x A100: at batch 1 one token touches 2 of 8 experts; the busiest GPU holds
  // both with probability 1/7, so it reads about 8/7 experts' weights, not its 2.
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  StepPlan one = build_step(m, s, {1, 512, Phase::decode, DType::fp16, "", 0, 0});
  const Op* up = find(one, "expert_gate_up");
  ASSERT_NE(up, nullptr);
  EXPECT_NEAR(up->groups, 8.0 / 7.0, 0.01);
  EXPECT_EQ(up->rows_per_group, 1);
  StepPlan many = build_step(m, s, {64, 512, Phase::decode, DType::fp16, "", 0, 0});
  EXPECT_NEAR(find(many, "expert_gate_up")->groups, 2.0, 1e-6);
  auto expert_s = [&](const StepPlan& p) {
    double t = 0;
    for (const char* n : {"expert_gate_up", "expert_act", "expert_down"})
      t += cost_of(*find(p, n), s).time_s;
    return t;
  };
  EXPECT_LE(expert_s(one), 0.7 * expert_s(many));
}

TEST(Step, PropertyMoeTokensAreConservedInEveryLayout) {
  // Token-expert assignments processed by all GPUs equal tokens x top-k (balanced routing), and
  // every layout's exchange moves every token: the paper's all-to-all each selection, vllm-tp's
  // all-reduce every token's hidden state (no dispatch), dp-a2a's DeepEP every GPU's share,
  // dp-agrs's all-gather and reduce-scatter every token once.
  for (MoeLayout layout :
       {MoeLayout::vllm_tp, MoeLayout::dp_a2a, MoeLayout::paper, MoeLayout::dp_agrs})
    for (const char* name : {"mixtral-8x7b", "qwen1.5-moe-a2.7b", "olmoe-1b-7b", "deepseek-v3"}) {
      SCOPED_TRACE(std::string(name) + " " + moe_layout_name(layout));
      ModelSpec m = specs::load_model(name);
      SystemSpec s = specs::load_system(
          std::string(name) == "deepseek-v3" ? "32x-h100-nvlink4-ndr400" : "4x-a100-nvlink3");
      StepConfig cfg{2, 1024, Phase::prefill, DType::bf16, "", 0, 0};
      cfg.moe_layout = layout;
      StepPlan p = build_step(m, s, cfg);
      const Op* up = find(p, "expert_gate_up");
      ASSERT_NE(up, nullptr);
      const double assignments = double(up->rows_per_group) * up->groups * p.ep;
      EXPECT_GE(assignments, double(p.tokens) * m.top_k);
      EXPECT_LT(assignments, double(p.tokens) * m.top_k + m.num_experts);  // rounding only
      const Op* disp = find(p, "dispatch");
      const Op* comb = find(p, "combine");
      ASSERT_NE(comb, nullptr);
      switch (layout) {
        case MoeLayout::paper: {
          ASSERT_NE(disp, nullptr);
          double sent = 0;
          for (const auto& row : disp->volume) sent += std::accumulate(row.begin(), row.end(), 0.0);
          EXPECT_NEAR(sent, double(p.tokens) * m.top_k * m.hidden_size * 2, 1.0);
          break;
        }
        case MoeLayout::vllm_tp:
          EXPECT_EQ(disp, nullptr);
          EXPECT_EQ(comb->kind, OpKind::allreduce);
          EXPECT_EQ(comb->comm_gpus, s.total_gpus());
          EXPECT_DOUBLE_EQ(comb->comm_bytes, double(p.tokens) * m.hidden_size * 2);
          EXPECT_EQ(find(p, "shared_allreduce"), nullptr);  // summed in the combine
          break;
        case MoeLayout::dp_a2a:
          ASSERT_NE(disp, nullptr);
          EXPECT_EQ(disp->kind, OpKind::ep_alltoall);
          EXPECT_EQ(p.tp, 1);
          EXPECT_GE(disp->ep.tokens_per_gpu * s.total_gpus(), p.tokens);
          // The busiest GPU's whole sequences, as its attention sees them (2 x 1024 over 4 or
          // 32 GPUs: one sequence).
          EXPECT_EQ(disp->ep.tokens_per_gpu, 1024);
          EXPECT_TRUE(comb->ep.combine);
          break;
        case MoeLayout::dp_agrs: {
          // vLLM's allgather_reducescatter: every token's hidden state (bf16) with its top-k
          // weights and ids (4 + 4 bytes each), gathered by every GPU; the outputs
          // reduce-scattered. The 2 x 1024 tokens once each, and one dummy token from each GPU
          // without a sequence (2 of 4, or 30 of 32).
          ASSERT_NE(disp, nullptr);
          EXPECT_EQ(p.tp, 1);
          EXPECT_EQ(disp->kind, OpKind::allreduce);
          EXPECT_EQ(disp->comm_kind, CollectiveKind::allgather);
          EXPECT_EQ(comb->comm_kind, CollectiveKind::reducescatter);
          EXPECT_EQ(disp->comm_gpus, s.total_gpus());
          const double gathered = 2048.0 + (s.total_gpus() - 2);
          EXPECT_DOUBLE_EQ(disp->comm_bytes, gathered * (m.hidden_size * 2.0 + m.top_k * 8.0));
          EXPECT_DOUBLE_EQ(comb->comm_bytes, gathered * m.hidden_size * 2.0);
          break;
        }
      }
    }
}

TEST(Step, DecodeUsesKvCacheAttention) {
  ModelSpec m = specs::load_model("llama3-8b");
  SystemSpec s = specs::load_system("h100-sxm5");
  StepPlan p = build_step(m, s, {16, 2048, Phase::decode, DType::bf16, "", 0, 0});
  const Op* att = find(p, "attention");
  ASSERT_NE(att, nullptr);
  EXPECT_EQ(att->kind, OpKind::decode_attention);
  EXPECT_EQ(att->attn.seq_k, 2048);
  EXPECT_EQ(find(p, "qkv_proj")->gemm.m, 16);
  EXPECT_EQ(find(p, "attn_allreduce"), nullptr);  // one GPU: no TP collectives
}

TEST(Step, Fp8PrefillRunsAttentionInFp8OnlyWithAnFp8Kernel) {
  // FA3 has an FP8 forward; with FA2 (no FP8 kernel) the FP8 step's attention runs in BF16 while
  // its GEMMs stay FP8.
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  StepConfig c{1, 4096, Phase::prefill, DType::fp8, "fa3", 0, 0};
  EXPECT_EQ(find(build_step(m, s, c), "attention")->attn.dtype, DType::fp8);
  c.attn_impl = "fa2";
  const StepPlan fa2 = build_step(m, s, c);
  EXPECT_EQ(find(fa2, "attention")->attn.dtype, DType::bf16);
  EXPECT_EQ(find(fa2, "qkv_proj")->gemm.dtype, DType::fp8);
  EXPECT_GT(estimate_step(m, s, c).total_s, 0);
}

TEST(Step, MlaAbsorbsProjectionsInDecode) {
  ModelSpec m = specs::load_model("deepseek-v3");
  SystemSpec s = specs::load_system("8x-h200-nvlink4");
  StepPlan p = build_step(m, s, {8, 4096, Phase::decode, DType::fp8, "", 0, 0});
  const Op* att = find(p, "attention");
  EXPECT_EQ(att->attn.kv_heads, 1);
  EXPECT_EQ(att->attn.head_dim, 512 + 64);
  EXPECT_NE(find(p, "q_absorb"), nullptr);
  EXPECT_NE(find(p, "ffn_gate_up"), nullptr);  // first three layers are dense
  EXPECT_EQ(find(p, "ffn_gate_up")->count, 3);
}

TEST(Step, ImpossibleLayoutsNameTheOption) {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  // Experts need not divide the EP GPUs (8 on 3: two GPUs hold 3, one holds 2; the paper's
  // layout takes any ep, the engines' run the experts over every GPU) ...
  StepConfig three{1, 512, Phase::prefill, DType::fp16, "", 0, 3};
  EXPECT_THROW(build_step(m, s, three), InputError);
  three.moe_layout = MoeLayout::paper;
  const StepPlan uneven = build_step(m, s, three);
  EXPECT_LE(find(uneven, "expert_gate_up")->groups, 3.0 + 1e-9);
  EXPECT_GT(find(uneven, "expert_gate_up")->groups, 2.0);
  // ... but every EP GPU needs an expert.
  try {
    build_step(m, specs::load_system("32x-h100-nvlink4-ndr400"),
               {1, 512, Phase::prefill, DType::fp16, "", 0, 0});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "step.ep");  // the request field; `estimate` reports it as --ep
    EXPECT_NE(e.reason().find("exceed"), std::string::npos);
  }
  EXPECT_THROW(build_step(m, s, {1, 512, Phase::prefill, DType::fp16, "", 3, 0}), InputError);
  // vllm-tp runs attention over every GPU: another tp is refused, pointing at dp-a2a.
  try {
    build_step(m, s, {1, 512, Phase::prefill, DType::fp16, "", 2, 0});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "step.tp");
    EXPECT_NE(e.reason().find("dp-a2a"), std::string::npos) << e.reason();
  }
  EXPECT_THROW(build_step(m, s, {0, 512, Phase::prefill, DType::fp16, "", 0, 0}), InputError);
  EXPECT_THROW(build_step(m, s, {1, -5, Phase::prefill, DType::fp16, "", 0, 0}), InputError);
  EXPECT_THROW(build_step(m, s, {1, 512, Phase::prefill, DType::fp8, "", 0, 0}), InputError);
  EXPECT_THROW(parse_phase("train", "--phase"), InputError);
}

// dp-agrs's all-gather as vLLM runs it: FP8 hidden states with per-128 fp32 scales where the
// experts run FP8 (quantised before the dispatch), each rank's own count (CUDA graphs pad every
// rank to the busiest), and the gathered input and the experts' outputs held at once.
TEST(Step, AllgatherDispatchFollowsVllmsDpEpPrepare) {
  const ModelSpec m = specs::load_model("deepseek-v3");
  const SystemSpec s = specs::load_system("32x-h100-nvlink4-ndr400");
  StepConfig cfg{40, 1, Phase::decode, DType::fp8, "", 0, 0};
  cfg.moe_layout = MoeLayout::dp_agrs;
  const StepPlan eager = build_step(m, s, cfg);
  const double per_token = 7168 + 56 * 4 + 8 * 8;  // fp8 hidden, its scales, top-8 ids/weights
  EXPECT_DOUBLE_EQ(eager.gathered_token_bytes, per_token);
  EXPECT_DOUBLE_EQ(eager.gathered_tokens, 40);  // 40 sequences over 32 GPUs, none idle
  EXPECT_DOUBLE_EQ(find(eager, "dispatch")->comm_bytes, 40 * per_token);
  EXPECT_DOUBLE_EQ(find(eager, "combine")->comm_bytes, 40 * 7168 * 2.0);  // bf16 outputs
  cfg.cuda_graphs = true;
  const StepPlan graphed = build_step(m, s, cfg);
  EXPECT_DOUBLE_EQ(graphed.gathered_tokens, 2 * 32);  // every rank padded to 2 sequences
  // Memory: the gathered input and the outputs for every gathered token, beyond dp-a2a's.
  cfg.cuda_graphs = false;
  const MemoryUse agrs = step_memory(m, s, cfg, eager);
  cfg.moe_layout = MoeLayout::dp_a2a;
  const MemoryUse a2a = step_memory(m, s, cfg, build_step(m, s, cfg));
  EXPECT_NEAR(agrs.activation_bytes - a2a.activation_bytes, 40 * (per_token + 7168 * 2.0),
              1e-6 * agrs.activation_bytes);
  // tp is the layout's, and the hint names both DP layouts.
  cfg.moe_layout = MoeLayout::dp_agrs;
  cfg.tp = 8;
  try {
    build_step(m, s, cfg);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.reason().find("dp-agrs"), std::string::npos) << e.reason();
  }
}
