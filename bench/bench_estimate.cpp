// How fast the cost models answer: full-model step estimates per second on one core, and the
// single-op models behind them. Target (issue 10): >= 50,000 Mixtral-8x7B prefill estimates/s.
// No peer runs here: LLMCompass (the closest published simulator) is Python and needs minutes
// for one GPT-3 estimate, and its code is not vendored, so there is no in-process ratio to print.
#include <benchmark/benchmark.h>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/schedule/estimate.hpp"

using namespace llmgps;

static void BM_EstimateMixtralPrefill(benchmark::State& state) {
  const ModelSpec m = specs::load_model("mixtral-8x7b");
  const SystemSpec s = specs::load_system("4x-a100-nvlink3");
  const StepConfig cfg{1, 512, Phase::prefill, DType::fp16, "", 0, 0};
  for (auto _ : state) benchmark::DoNotOptimize(estimate_step(m, s, cfg).total_s);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel("estimates/s = items_per_second");
}
BENCHMARK(BM_EstimateMixtralPrefill);

static void BM_EstimateDeepSeekV3Decode(benchmark::State& state) {
  const ModelSpec m = specs::load_model("deepseek-v3");
  const SystemSpec s = specs::load_system("32x-h100-nvlink4-ndr400");
  const StepConfig cfg{256, 4096, Phase::decode, DType::fp8, "", 0, 0};
  for (auto _ : state) benchmark::DoNotOptimize(estimate_step(m, s, cfg).total_s);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EstimateDeepSeekV3Decode);

static void BM_GemmCost(benchmark::State& state) {
  const GpuSpec g = specs::load_gpu("h100-sxm5");
  std::int64_t m = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(gemm_cost(g, {m, 4096, 4096, 1, DType::bf16}).time_s);
    m = m % 8192 + 7;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GemmCost);

static void BM_AttentionCostCausal(benchmark::State& state) {
  const GpuSpec g = specs::load_gpu("h100-sxm5");
  AttentionShape s;
  s.batch = 2;
  s.heads = 32;
  s.seq_q = 8192;
  s.causal = true;
  s.impl = "fa3";
  for (auto _ : state) benchmark::DoNotOptimize(attention_cost(g, s).time_s);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AttentionCostCausal);
