#pragma once
// Serving requests end to end: a batch of prompts of `prompt` tokens each, answered with `output`
// tokens each. The prefill step produces the first token (time to first token); each further
// token takes one decode step over the growing KV cache (time per output token). Every step is an
// estimate_step of the same system and layout; nothing is interpolated.
#include <cstdint>

#include "llmgps/schedule/estimate.hpp"

namespace llmgps {

struct ServeConfig {
  StepConfig step;  // batch, dtype, layout, parallelism (phase and seq are set per step)
  std::int64_t prompt = 0;
  std::int64_t output = 0;
};

struct ServeEstimate {
  std::int64_t prompt = 0, output = 0, batch = 0;
  StepEstimate prefill;           // the prompt's prefill: time to first token
  StepEstimate first_decode;      // the first decode step (context prompt); empty when output == 1
  StepEstimate last_decode;       // the last decode step (context prompt + output - 2)
  std::int64_t decode_steps = 0;  // output - 1
  double ttft_s = 0, ttft_band_s = 0;
  double tpot_mean_s = 0, tpot_mean_band_s = 0;  // mean over the decode steps (0 when none)
  double e2e_s = 0;                              // ttft + every decode step
  double output_tokens_per_s() const {
    return e2e_s > 0 ? double(batch) * double(output) / e2e_s : 0.0;
  }
  // The decode steps' configuration at the largest KV cache (the last step), for memory.
  StepConfig last_step;
};

// The most output tokens one call evaluates (each is a step estimate).
constexpr std::int64_t kMaxServeOutput = 1 << 17;

// Throws InputError (serve.prompt, serve.output) for non-positive or oversized lengths.
ServeEstimate estimate_serve(const ModelSpec& m, const SystemSpec& sys, const ServeConfig& cfg);

}  // namespace llmgps
