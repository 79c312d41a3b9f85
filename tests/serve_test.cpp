#include "llmgps/schedule/serve.hpp"

#include <gtest/gtest.h>

#include "llmgps/specs/error.hpp"

using namespace llmgps;

namespace {
ServeConfig serve(std::int64_t prompt, std::int64_t output, std::int64_t batch = 1) {
  ServeConfig c;
  c.step.batch = batch;
  c.prompt = prompt;
  c.output = output;
  return c;
}
}  // namespace

// TTFT is the prompt's prefill; each further token one decode step over the context so far.
TEST(Serve, FiguresAreTheSteps) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const ServeEstimate e = estimate_serve(m, s, serve(100, 4, 2));
  StepConfig c;
  c.batch = 2;
  c.seq = 100;
  EXPECT_DOUBLE_EQ(e.ttft_s, estimate_step(m, s, c).total_s);
  c.phase = Phase::decode;
  double sum = 0;
  for (std::int64_t ctx : {100, 101, 102}) {
    c.seq = ctx;
    sum += estimate_step(m, s, c).total_s;
  }
  EXPECT_EQ(e.decode_steps, 3);
  EXPECT_DOUBLE_EQ(e.tpot_mean_s, sum / 3);
  EXPECT_DOUBLE_EQ(e.e2e_s, e.ttft_s + sum);
  EXPECT_EQ(e.last_step.seq, 102);
  EXPECT_DOUBLE_EQ(e.output_tokens_per_s(), 2.0 * 4 / e.e2e_s);
  // One output token: the prefill alone.
  const ServeEstimate one = estimate_serve(m, s, serve(100, 1));
  EXPECT_EQ(one.decode_steps, 0);
  EXPECT_EQ(one.tpot_mean_s, 0);
  EXPECT_DOUBLE_EQ(one.e2e_s, one.ttft_s);
}

// Issue 15's case against a hand calculation from the same specs: Llama3-8B in fp16 on one H100,
// prompt 2048, output 256. Prefill is compute-bound: at least 2 x params x tokens at the dense
// peak (33 ms); decode is weight-read bound: at least the weights over the HBM bandwidth
// (4.8 ms). Each figure lies within 1.6x of its floor (efficiencies, attention, launches), and
// their ratio within 25% of the floors' ratio.
TEST(Serve, LlamaOnOneH100AgreesWithAHandCalculation) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  const ServeEstimate e = estimate_serve(m, s, serve(2048, 256));
  const double flop_floor = 2 * m.params() * 2048 / s.gpu.peak_flops(DType::fp16);
  const double read_floor = 2 * m.params() / s.gpu.hbm_bw_bytes_per_s;
  EXPECT_NEAR(flop_floor, 33.2e-3, 0.5e-3);
  EXPECT_NEAR(read_floor, 4.80e-3, 0.05e-3);
  EXPECT_GE(e.ttft_s, flop_floor);
  EXPECT_LE(e.ttft_s, 1.6 * flop_floor);
  EXPECT_GE(e.tpot_mean_s, read_floor);
  EXPECT_LE(e.tpot_mean_s, 1.6 * read_floor);
  const double ratio = e.ttft_s / e.tpot_mean_s, floor_ratio = flop_floor / read_floor;
  EXPECT_NEAR(ratio / floor_ratio, 1.0, 0.25);
  // The KV cache grows: the last step is no faster than the first.
  EXPECT_GE(e.last_decode.total_s, e.first_decode.total_s);
  EXPECT_EQ(e.decode_steps, 255);
}

TEST(Serve, BadLengthsAreInputErrors) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec s = specs::load_system("h100-sxm5");
  EXPECT_THROW(estimate_serve(m, s, serve(0, 4)), InputError);
  EXPECT_THROW(estimate_serve(m, s, serve(16, 0)), InputError);
  EXPECT_THROW(estimate_serve(m, s, serve(16, kMaxServeOutput + 1)), InputError);
  try {
    estimate_serve(m, s, serve(16, -3));
  } catch (const InputError& e) {
    EXPECT_EQ(e.where(), "serve.output");
  }
}

// --cuda-graphs reaches every step of a serve: the prefill and each decode step are what
// estimate_step gives for them with graphs, and the configuration says so.
TEST(Serve, CudaGraphsReachThePrefillAndEveryDecodeStep) {
  const ModelSpec m = specs::load_model("llama3-8b");
  const SystemSpec sys = specs::load_system("h100-sxm5");
  ServeConfig cfg;
  cfg.prompt = 512, cfg.output = 4;
  cfg.step.dtype = DType::bf16;
  cfg.step.cuda_graphs = true;
  const ServeEstimate s = estimate_serve(m, sys, cfg);
  StepConfig step = cfg.step;
  step.phase = Phase::prefill, step.seq = 512;
  EXPECT_EQ(s.ttft_s, estimate_step(m, sys, step).total_s);
  step.phase = Phase::decode, step.seq = 512 + 2;
  EXPECT_EQ(s.last_decode.total_s, estimate_step(m, sys, step).total_s);
  EXPECT_TRUE(s.last_step.cuda_graphs);
  cfg.step.cuda_graphs = false;
  EXPECT_LT(s.ttft_s, estimate_serve(m, sys, cfg).ttft_s);
}
