#pragma once
// Which experts a batch really touches. With top-k routing of T tokens over E experts placed
// E/G per GPU, an expert with no token reads no weights, so at small batches (decode) a GPU's
// expert time follows the experts its tokens activate, not the experts it holds.
//
// Closed form, uniform routing: a token avoids a given set of u experts with probability
// q(u) = C(E-u, k) / C(E, k), so the number of active experts on one GPU has the exact
// distribution P(A = j) = C(e, j) sum_i (-1)^(j-i) C(j, i) q(e-i)^T (inclusion-exclusion over
// the GPU's e experts). The busiest GPU's count is taken over G GPUs as if they were
// independent, except that at least one GPU is always active (T >= 1); for Mixtral-8x7B on 4
// GPUs at T = 1 this gives 1.135 against the exact 8/7.
namespace llmgps {

struct ExpertActivation {
  double active_per_gpu = 0;     // expected active experts on one GPU
  double busiest_active = 0;     // expected active experts on the busiest GPU
  double tokens_per_active = 0;  // expected tokens of an expert, given it is active
};

// Experts are placed contiguously: when the GPUs do not divide them, E mod G GPUs hold one more
// (the busiest GPU is taken over both kinds). active_per_gpu is that of a GPU holding the most.
// Throws InputError unless experts > 0, 0 < gpus <= experts, 0 < top_k <= experts, tokens >= 1.
ExpertActivation expected_activation(int experts, int gpus, int top_k, double tokens);

}  // namespace llmgps
