#include "llmgps/workload/memory.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
StepConfig step(std::int64_t batch, std::int64_t seq, Phase phase, DType dt = DType::fp16) {
  StepConfig c;
  c.batch = batch, c.seq = seq, c.phase = phase, c.dtype = dt;
  return c;
}
MemoryUse memory_of(const ModelSpec& m, const SystemSpec& s, const StepConfig& c, int extra = 0) {
  return step_memory(m, s, c, build_step(m, s, c), extra);
}
}  // namespace

// One GPU holds every weight: the linear layers at the dtype's bytes, embeddings, LM head and
// norms in the activation type.
TEST(Memory, OneGpuHoldsTheWholeModel) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const MemoryUse u = memory_of(m, s, step(1, 512, Phase::prefill));
  const double linear = m.layers * (m.attention_params() + m.dense_ffn_params());
  const double other = 2 * m.embedding_params() + m.layers * m.norm_params() + m.hidden_size;
  EXPECT_DOUBLE_EQ(u.weights_bytes, 2 * (linear + other));
  EXPECT_NEAR(u.weights_bytes, 16.06e9, 0.05e9);
  EXPECT_DOUBLE_EQ(u.capacity_bytes, 81559.0 * 1048576);  // nvidia-smi's total
  EXPECT_DOUBLE_EQ(u.budget_bytes, 0.9 * u.capacity_bytes);
  EXPECT_EQ(u.replica_bytes, 0);
  EXPECT_TRUE(u.fits());
}

// Decode caches the context and the new token: batch x (seq + 1) x layers x K and V heads.
TEST(Memory, KvCacheOfDecodeIsTheWholeContext) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const MemoryUse u = memory_of(m, s, step(3, 1000, Phase::decode));
  EXPECT_DOUBLE_EQ(u.kv_cache_bytes, 3.0 * 1001 * 32 * 8 * (128 + 128) * 2);
  // Prefill writes the prompt's.
  EXPECT_DOUBLE_EQ(memory_of(m, s, step(3, 1000, Phase::prefill)).kv_cache_bytes,
                   3.0 * 1000 * 32 * 8 * (128 + 128) * 2);
  // Activations: the residual stream and the largest op's operands (gate_up: tokens x (h + 2 ffn)).
  const MemoryUse pre = memory_of(m, s, step(1, 2048, Phase::prefill));
  EXPECT_DOUBLE_EQ(pre.activation_bytes, 2048.0 * (4096 + (4096 + 2 * 14336)) * 2);
}

// Tensor parallelism shards the projections and KV heads; KV heads below the TP degree are
// replicated (each GPU keeps one).
TEST(Memory, TensorParallelismShardsWeightsAndKvHeads) {
  ModelSpec m = specs::load_model("llama3-70b");
  const SystemSpec s = specs::load_system("8x-h100-nvlink4");
  const MemoryUse u = memory_of(m, s, step(1, 4096, Phase::decode));
  EXPECT_NEAR(u.weights_bytes, 141e9 / 8, 1.0e9);
  EXPECT_DOUBLE_EQ(u.kv_cache_bytes, 4097.0 * 80 * 1 * 256 * 2);  // 8 KV heads / TP 8
  m.num_kv_heads = 4;  // fewer KV heads than GPUs: still one per GPU
  EXPECT_DOUBLE_EQ(memory_of(m, s, step(1, 4096, Phase::decode)).kv_cache_bytes,
                   4097.0 * 80 * 1 * 256 * 2);
}

// Experts are spread over the EP GPUs; extra slots add whole experts in every MoE layer, plus a
// one-layer copy buffer.
TEST(Memory, ExpertsByExpertParallelismAndReplicas) {
  const ModelSpec m = specs::load_model("mixtral-8x7b");
  const SystemSpec four = specs::load_system("4x-a100-nvlink3");
  const StepConfig c = step(1, 512, Phase::prefill);
  const MemoryUse u = memory_of(m, four, c);
  EXPECT_NEAR(u.weights_bytes, 46.7e9 * 2 / 4, 0.3e9);
  EXPECT_TRUE(u.fits());
  const MemoryUse two = memory_of(m, four, c, 2);
  EXPECT_DOUBLE_EQ(two.replica_bytes, 2.0 * 32 * m.expert_params() * 2);
  EXPECT_DOUBLE_EQ(two.copy_buffer_bytes, 2.0 * m.expert_params() * 2);
  EXPECT_DOUBLE_EQ(two.total_bytes(), u.total_bytes() + two.replica_bytes + two.copy_buffer_bytes);
  // On one A100 the 93 GB of fp16 weights do not fit the 80 GB.
  const MemoryUse one = memory_of(m, specs::load_system("a100-sxm4-80g"), c);
  EXPECT_FALSE(one.fits());
  EXPECT_NEAR(one.weights_bytes, 93.4e9, 0.3e9);
}

TEST(Memory, NeverLessForMoreBatchOrContext) {
  const ModelSpec m = specs::load_model("qwen1.5-moe-a2.7b");
  const SystemSpec s = specs::load_system("4x-a100-nvlink3");
  for (Phase ph : {Phase::prefill, Phase::decode}) {
    double last = 0;
    for (std::int64_t b : {1, 2, 7, 64, 500}) {
      const double t = memory_of(m, s, step(b, 1024, ph)).total_bytes();
      EXPECT_GE(t, last);
      last = t;
    }
    last = 0;
    for (std::int64_t q : {1, 100, 4096, 65536}) {
      const double t = memory_of(m, s, step(4, q, ph)).total_bytes();
      EXPECT_GE(t, last);
      last = t;
    }
  }
}

// The limits sit exactly on the boundary: the largest batch fits, one more does not.
TEST(Memory, LimitsAreTheLargestThatFit) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const StepConfig c = step(4, 8192, Phase::decode);
  const MemoryLimits l = memory_limits(m, s, {c});
  ASSERT_GT(l.max_batch, 4);
  EXPECT_TRUE(memory_of(m, s, step(l.max_batch, 8192, Phase::decode)).fits());
  EXPECT_FALSE(memory_of(m, s, step(l.max_batch + 1, 8192, Phase::decode)).fits());
  EXPECT_TRUE(memory_of(m, s, step(4, l.max_seq, Phase::decode)).fits());
  EXPECT_FALSE(memory_of(m, s, step(4, l.max_seq + 1, Phase::decode)).fits());
  // A smaller memory fraction never allows more.
  StepConfig tight = c;
  tight.memory_fraction = 0.5;
  EXPECT_LT(memory_limits(m, s, {tight}).max_batch, l.max_batch);
  // Two steps (serving's prefill and last decode): both must fit.
  const StepConfig pre = step(4, 8192, Phase::prefill);
  const MemoryLimits both = memory_limits(m, s, {pre, c});
  EXPECT_LE(both.max_batch, l.max_batch);
  EXPECT_LE(both.max_batch, memory_limits(m, s, {pre}).max_batch);
  // Nothing fits when the weights alone exceed the budget.
  const MemoryLimits none =
      memory_limits(specs::load_model("llama3-70b"), s, {step(1, 1, Phase::decode)});
  EXPECT_EQ(none.max_batch, 0);
  EXPECT_EQ(none.max_seq, 0);
}

TEST(Memory, WarningNamesTheBudgetAndTheLimits) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const StepConfig c = step(512, 32768, Phase::decode);
  const MemoryUse u = memory_of(m, s, c);
  ASSERT_FALSE(u.fits());
  const std::string w = memory_warning(u, memory_limits(m, s, {c}), c);
  EXPECT_NE(w.find("KV cache"), std::string::npos) << w;
  EXPECT_NE(w.find("at most batch"), std::string::npos) << w;
  EXPECT_EQ(memory_warning(memory_of(m, s, step(1, 512, Phase::decode)), {}, c), "");
}

TEST(Memory, BadFractionIsAnInputError) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  for (double f : {0.0, -0.1, 1.5}) {
    StepConfig c = step(1, 16, Phase::decode);
    c.memory_fraction = f;
    EXPECT_THROW(memory_of(m, s, c), InputError) << f;
  }
}
