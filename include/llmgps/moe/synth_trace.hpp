#pragma once
// Synthetic routing traces for sweeps beyond the recorded ones: a target skew per layer and the
// two correlations real routers show (a token tends to repeat its neighbour's experts; a token's
// expert in one layer predicts its expert in the next).
#include <cstdint>
#include <vector>

#include "llmgps/moe/trace.hpp"
#include "llmgps/util/progress.hpp"

namespace llmgps::moe {

struct SynthConfig {
  int layers = 32;
  int experts = 8;
  int top_k = 2;
  int sequences = 4;
  int tokens_per_sequence = 512;
  std::vector<double> skew = {1.4};  // per layer (one value: every layer); in [1, experts / top_k]
  double token_correlation = 0.2;    // P(token copies the previous token's experts in a layer)
  double layer_correlation = 0.5;    // P(first expert follows the token's previous-layer expert)
  std::uint64_t model_seed =
      1;  // the router: which experts are popular, how layers map (shared by traces of one model)
  std::uint64_t seed = 1;     // the tokens drawn
  util::ProgressFn progress;  // (sequences written, sequences)
};

// Validates the config (InputError naming the field) and draws the trace. Expert popularity per
// layer is Zipf-shaped, its exponent solved so that the expected selection skew (max / mean over
// top-k selections without replacement) equals the target; experts are permuted per layer.
// Layer correlation drives the first pick with the previous layer's uniform variate rotated by a
// fixed per-layer shift (uniform again, so each layer keeps exactly its own shares, while each
// previous expert maps onto one or two specific experts);
// token correlation copies the previous token's experts (also marginal-preserving in
// expectation). Deterministic for a seed, on every platform.
RoutingTrace synthesize_trace(const SynthConfig& cfg);

// Per-expert selection shares of a Zipf(exponent) popularity under top-k sampling without
// replacement (exact, by enumerating the k-step draw for k <= 2, else Monte Carlo with a fixed
// seed); exposed for tests.
std::vector<double> topk_selection_shares(const std::vector<double>& popularity, int top_k);

}  // namespace llmgps::moe
