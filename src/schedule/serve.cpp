#include "llmgps/schedule/serve.hpp"

#include <fmt/format.h>

#include <optional>

#include "llmgps/specs/error.hpp"

namespace llmgps {

ServeEstimate estimate_serve(const ModelSpec& m, const SystemSpec& sys, const ServeConfig& cfg) {
  if (cfg.prompt <= 0)
    throw InputError("serve.prompt", fmt::format("must be positive (got {})", cfg.prompt));
  if (cfg.output <= 0)
    throw InputError("serve.output", fmt::format("must be positive (got {})", cfg.output));
  if (cfg.output > kMaxServeOutput)
    throw InputError("serve.output", fmt::format("{} output tokens is more than the {} one call "
                                                 "evaluates (one decode step each)",
                                                 cfg.output, kMaxServeOutput));
  ServeEstimate s;
  s.prompt = cfg.prompt, s.output = cfg.output, s.batch = cfg.step.batch;
  // CUDA graphs: the launch gap swapped once here, not in each of up to 131072 steps.
  std::optional<SystemSpec> graphed;
  if (cfg.step.cuda_graphs) graphed = with_cuda_graphs(sys);
  const SystemSpec& on = graphed ? *graphed : sys;
  StepConfig step = cfg.step;
  step.cuda_graphs = false;
  step.phase = Phase::prefill;
  step.seq = cfg.prompt;
  s.prefill = estimate_step(m, on, step);
  s.ttft_s = s.prefill.total_s;
  s.ttft_band_s = s.prefill.band_s;
  // Decode step i (1-based) feeds output token i, whose cache holds the prompt and the i - 1
  // tokens before it, and yields token i + 1.
  s.decode_steps = cfg.output - 1;
  step.phase = Phase::decode;
  step.seq = cfg.prompt;
  double sum = 0, band = 0;
  for (std::int64_t i = 1; i <= s.decode_steps; ++i) {
    step.seq = cfg.prompt + i - 1;
    StepEstimate d = estimate_step(m, on, step);
    sum += d.total_s;
    band += d.band_s;
    if (i == 1) s.first_decode = d;
    if (i == s.decode_steps) s.last_decode = std::move(d);
  }
  s.last_step = step;
  s.last_step.cuda_graphs = cfg.step.cuda_graphs;
  if (s.decode_steps > 0) {
    s.tpot_mean_s = sum / double(s.decode_steps);
    s.tpot_mean_band_s = band / double(s.decode_steps);
  }
  s.e2e_s = s.ttft_s + sum;
  return s;
}

}  // namespace llmgps
