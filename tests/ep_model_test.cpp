#include "llmgps/moe/ep_model.hpp"

#include <gtest/gtest.h>

#include "llmgps/cost/collective.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

using namespace llmgps;
using namespace llmgps::moe;

namespace {
EpModel mixtral(std::int64_t batch = 1, const std::string& system = "4x-a100-nvlink3") {
  EpSetup s;
  s.step.batch = batch;
  s.step.seq = 512;
  return EpModel(specs::load_model("mixtral-8x7b"), specs::load_system(system), s);
}
}  // namespace

TEST(EpModel, PartsComeFromTheCoreCostModels) {
  const EpModel em = mixtral();
  EXPECT_EQ(em.gpus(), 4);
  EXPECT_EQ(em.moe_layers(), 32);
  EXPECT_EQ(em.tokens(), 512);
  EXPECT_DOUBLE_EQ(em.selections(), 1024);
  EXPECT_DOUBLE_EQ(em.expert_weight_bytes(), 3.0 * 4096 * 14336 * 2);
  EXPECT_GT(em.attention_s(), 0);
  EXPECT_GT(em.gate_s(), 0);
  // 80 GB A100s hold Mixtral with room for more replicas; capped at twice the GPU's own experts.
  EXPECT_EQ(em.slots_per_gpu(), 4);
}

TEST(EpModel, ExpertTimeGrowsWithTokensAndReplicasCostWeightReads) {
  const EpModel em = mixtral();
  EXPECT_EQ(em.expert_ffn_s(0), 0);
  double prev = 0;
  for (double t : {1.0, 64.0, 128.0, 512.0, 2048.0}) {
    EXPECT_GE(em.expert_ffn_s(t), prev);
    prev = em.expert_ffn_s(t);
  }
  // Splitting 256 tokens over two replicas reads the weights twice: never cheaper than one
  // replica when memory-bound.
  EXPECT_GE(em.gpu_expert_s({128, 128}), em.expert_ffn_s(256) * 0.99);
}

// The paper's assumption as a what-if: a GPU's expert time is its tokens at the per-token cost of
// a balanced expert, so it is exactly linear and a replica's weight read is free.
TEST(EpModel, LinearExpertTimeIsProportionalToTokensAndIgnoresReplicas) {
  EpSetup s;
  s.step.seq = 512;
  s.expert_time = ExpertTime::linear;
  const EpModel lin(specs::load_model("mixtral-8x7b"), specs::load_system("4x-a100-nvlink3"), s);
  const EpModel roof = mixtral();
  // Balanced routing: 1024 selections over 8 experts, 128 tokens each; a GPU's two experts cost
  // what the roofline's grouped kernel does.
  EXPECT_DOUBLE_EQ(lin.balanced_per_token_s() * 256, roof.gpu_expert_s({128, 128}));
  EXPECT_DOUBLE_EQ(lin.gpu_expert_s({128, 128}), roof.gpu_expert_s({128, 128}));
  EXPECT_DOUBLE_EQ(lin.gpu_expert_s({300}), lin.gpu_expert_s({100, 100, 100}));
  EXPECT_DOUBLE_EQ(lin.gpu_expert_s({200, 0}), 2 * lin.gpu_expert_s({100}));
  EXPECT_EQ(lin.gpu_expert_s({0, 0}), 0);
  // The roofline charges the extra weight read the linear model does not.
  EXPECT_GT(roof.gpu_expert_s({100, 100, 100}), lin.gpu_expert_s({100, 100, 100}));
  EXPECT_THROW(parse_expert_time("quadratic", "--expert-time"), InputError);
  EXPECT_EQ(std::string(expert_time_name(parse_expert_time("linear", "x"))), "linear");
}

TEST(EpModel, AllToAllAndCopiesFollowBandwidth) {
  const EpModel em = mixtral();
  std::vector<std::vector<double>> v(4, std::vector<double>(4, 1e6));
  EXPECT_GT(em.alltoall_s(v), 0);
  EXPECT_EQ(em.alltoall_s(std::vector<std::vector<double>>(4, std::vector<double>(4, 0.0))), 0);
  EXPECT_GT(em.copy_s({em.expert_weight_bytes(), 0, 0, 0}),
            em.copy_s({em.expert_weight_bytes() / 2, 0, 0, 0}));
  EXPECT_LE(em.copy_exposed_s({1e3, 0, 0, 0}), em.copy_s({1e3, 0, 0, 0}));
  const EpModel pcie = mixtral(1, "4x-a100-pcie4");
  EXPECT_GT(pcie.alltoall_s(v), em.alltoall_s(v));
}

TEST(EpModel, BadLayoutsAreInputErrors) {
  EpSetup s;
  EXPECT_THROW(EpModel(specs::load_model("llama2-7b"), specs::load_system("4x-a100-nvlink3"), s),
               InputError);
  EXPECT_THROW(
      EpModel(specs::load_model("mixtral-8x7b"), specs::load_system("32x-h100-nvlink4-ndr400"), s)
          .slots_per_gpu(),
      InputError);  // 8 experts over 32 GPUs: every GPU needs an expert
  s.slots_per_gpu = 1;
  EXPECT_THROW(EpModel(specs::load_model("mixtral-8x7b"), specs::load_system("4x-a100-nvlink3"), s),
               InputError);
  EXPECT_THROW(parse_moe_layout("pp", "--layout"), InputError);
  try {
    parse_moe_layout("tp", "--layout");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(e.reason().find("renamed"), std::string::npos) << e.reason();
  }
  // DeepEP needs the experts to divide the GPUs (Qwen1.5-MoE: 60 on 8).
  s.slots_per_gpu = 0;
  s.layout = MoeLayout::dp_a2a;
  EXPECT_THROW(
      EpModel(specs::load_model("qwen1.5-moe-a2.7b"), specs::load_system("8x-h100-nvlink4"), s),
      InputError);
}

// vLLM's default EP backend: every GPU gathers every token and reduce-scatters the outputs, so
// both exchanges are the step's collectives whatever the routing, and the predictor sees a
// GPU's own tokens (attention is data-parallel).
TEST(EpModel, AllgatherReducescatterExchangesIgnoreRouting) {
  EpSetup s;
  s.step.batch = 8;
  s.step.seq = 512;
  s.layout = MoeLayout::dp_agrs;
  const ModelSpec m = specs::load_model("mixtral-8x7b");
  const SystemSpec sys = specs::load_system("4x-a100-nvlink3");
  const EpModel em(m, sys, s);
  const double gathered = 8.0 * 512 * (4096 * 2 + 2 * 8);  // bf16 hidden, top-2 ids and weights
  const double ag = allgather_cost(sys, gathered, 4).time_s;
  const double rs = reducescatter_cost(sys, 8.0 * 512 * 4096 * 2, 4).time_s;
  const std::vector<std::vector<double>> even(4, std::vector<double>(4, 256.0));
  std::vector<std::vector<double>> hot_rows(4, std::vector<double>(4, 0.0));
  for (auto& row : hot_rows) row[0] = 1024.0;  // every selection to GPU 0
  const std::vector<std::vector<double>>& hot = hot_rows;
  for (const auto* sel : {&even, &hot}) {
    EXPECT_NEAR(em.dispatch_s(*sel), ag, 1e-12);
    EXPECT_NEAR(em.combine_s(*sel), rs, 1e-12);
  }
  EXPECT_EQ(em.predictor_tokens(), 2 * 512);  // 8 sequences over 4 GPUs
  EXPECT_FALSE(em.prediction_skips_dispatch());
  EXPECT_NE(em.dispatch_kind().find("all-gather"), std::string::npos);
  EXPECT_NE(em.combine_kind().find("reduce-scatter"), std::string::npos);
}
