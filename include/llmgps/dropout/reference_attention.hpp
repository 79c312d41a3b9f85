#pragma once
// A CPU reference of Flash-Attention with attention dropout, forward and backward, written the way
// the kernels work (key blocks, online softmax, dropout applied to the probabilities before they
// multiply V). The dropout decision either comes from the RNG inline (the fused strategy) or
// from a precomputed bit-packed mask (the sequential and overlapped strategies); since both read
// the same element definition (mask.hpp), the outputs are bit-identical, which the tests assert.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/dropout/mask.hpp"

namespace llmgps::dropout {

// q: [batch][heads][seq_q][head_dim], k and v: [batch][heads][seq_k][head_dim], float32.
struct AttentionProblem {
  std::int64_t batch = 1, heads = 1, seq_q = 1, seq_k = 1, head_dim = 64;
  bool causal = false;  // query i sees keys j <= i + (seq_k - seq_q)
  std::vector<float> q, k, v;
  MaskShape mask_shape() const { return MaskShape{batch, heads, seq_q, seq_k}; }
};

// Random inputs in [-1, 1) from a seed (deterministic on every platform).
AttentionProblem random_problem(std::int64_t batch, std::int64_t heads, std::int64_t seq_q,
                                std::int64_t seq_k, std::int64_t head_dim, bool causal,
                                std::uint64_t seed);

struct ForwardResult {
  std::vector<float> out;  // [batch][heads][seq_q][head_dim]
  std::vector<float> lse;  // log-sum-exp per row (what the backward pass keeps)
};

// mask == nullptr: decide each element with the RNG inline (fused); else read the mask.
ForwardResult attention_forward(const AttentionProblem& a, const DropoutRng& rng,
                                const std::vector<std::uint32_t>* mask, int block_n = 64);

struct BackwardResult {
  std::vector<float> dq, dk, dv;
};
// Gradients for dO, recomputing P from the saved log-sum-exp, dropout from the RNG or the mask.
BackwardResult attention_backward(const AttentionProblem& a, const ForwardResult& fwd,
                                  const std::vector<float>& dout, const DropoutRng& rng,
                                  const std::vector<std::uint32_t>* mask);

// The three ways of producing the mask for one forward pass:
//  fused: inline in attention; sequential: generate the mask, then attention reads it;
//  overlapped: a second thread generates the mask while this one runs the preceding GEMM
//  (gemm_a [m x k] times gemm_b [k x n], returned in gemm_out), then attention reads it.
enum class Strategy { fused, sequential, overlapped };
const char* strategy_name(Strategy s);
ForwardResult run_forward(Strategy s, const AttentionProblem& a, const DropoutRng& rng,
                          std::vector<float>* gemm_out = nullptr);

}  // namespace llmgps::dropout
