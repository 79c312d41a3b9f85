#include "llmgps/dropout/reference_attention.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

using namespace llmgps::dropout;

namespace {
bool bit_identical(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Plain softmax attention in double, no blocks, no dropout.
std::vector<double> naive(const AttentionProblem& a) {
  const std::int64_t D = a.head_dim;
  std::vector<double> out(std::size_t(a.batch * a.heads * a.seq_q * D), 0.0);
  for (std::int64_t bh = 0; bh < a.batch * a.heads; ++bh)
    for (std::int64_t i = 0; i < a.seq_q; ++i) {
      std::vector<double> s(std::size_t(a.seq_k), -INFINITY);
      double mx = -INFINITY;
      for (std::int64_t j = 0; j < a.seq_k; ++j) {
        if (a.causal && j > i + (a.seq_k - a.seq_q)) continue;
        double dot = 0;
        for (std::int64_t d = 0; d < D; ++d)
          dot += double(a.q[std::size_t((bh * a.seq_q + i) * D + d)]) *
                 a.k[std::size_t((bh * a.seq_k + j) * D + d)];
        s[std::size_t(j)] = dot / std::sqrt(double(D));
        mx = std::max(mx, s[std::size_t(j)]);
      }
      double l = 0;
      for (double& x : s) l += (x = std::exp(x - mx));
      for (std::int64_t j = 0; j < a.seq_k; ++j)
        for (std::int64_t d = 0; d < D; ++d)
          out[std::size_t((bh * a.seq_q + i) * D + d)] +=
              s[std::size_t(j)] / l * a.v[std::size_t((bh * a.seq_k + j) * D + d)];
    }
  return out;
}
}  // namespace

TEST(ReferenceAttention, FusedSequentialOverlappedAreBitIdentical) {
  for (bool causal : {false, true})
    for (int bits : {8, 32}) {
      const AttentionProblem a = random_problem(2, 3, 70, 90, 32, causal, 5);
      const DropoutRng rng{0xC0FFEEull, 12, 0.1, bits, bits == 8 ? 7 : 10};
      const auto fused = run_forward(Strategy::fused, a, rng);
      const auto seq = run_forward(Strategy::sequential, a, rng);
      std::vector<float> gemm;
      const auto over = run_forward(Strategy::overlapped, a, rng, &gemm);
      EXPECT_TRUE(bit_identical(fused.out, seq.out)) << causal << bits;
      EXPECT_TRUE(bit_identical(fused.out, over.out)) << causal << bits;
      EXPECT_TRUE(bit_identical(fused.lse, over.lse));
      EXPECT_FALSE(gemm.empty());
    }
}

TEST(ReferenceAttention, BackwardFromRngOrMaskIsBitIdentical) {
  const AttentionProblem a = random_problem(1, 2, 40, 40, 16, true, 9);
  const DropoutRng rng{7, 3, 0.2, 8, 7};
  const auto mask = generate_mask(a.mask_shape(), rng, 1);
  const auto fwd = attention_forward(a, rng, &mask);
  const AttentionProblem d =
      random_problem(1, 2, 40, 40, 16, false, 10);  // dO from the same generator
  const auto g1 = attention_backward(a, fwd, d.q, rng, nullptr);
  const auto g2 = attention_backward(a, fwd, d.q, rng, &mask);
  EXPECT_TRUE(bit_identical(g1.dq, g2.dq));
  EXPECT_TRUE(bit_identical(g1.dk, g2.dk));
  EXPECT_TRUE(bit_identical(g1.dv, g2.dv));
}

TEST(ReferenceAttention, NoDropoutMatchesPlainSoftmaxAttention) {
  for (bool causal : {false, true}) {
    const AttentionProblem a = random_problem(1, 2, 33, 47, 16, causal, 3);
    const auto r = attention_forward(a, DropoutRng{1, 0, 0.0, 8, 7}, nullptr, 16);
    const auto want = naive(a);
    for (std::size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(r.out[i], want[i], 2e-5) << i;
  }
}

TEST(ReferenceAttention, DropoutChangesTheOutputAndOffsetsGiveNewMasks) {
  const AttentionProblem a = random_problem(1, 1, 32, 32, 16, false, 4);
  const auto r0 = attention_forward(a, DropoutRng{1, 0, 0.3, 8, 7}, nullptr);
  const auto r1 = attention_forward(a, DropoutRng{1, 1, 0.3, 8, 7}, nullptr);
  const auto none = attention_forward(a, DropoutRng{1, 0, 0.0, 8, 7}, nullptr);
  EXPECT_FALSE(bit_identical(r0.out, none.out));
  EXPECT_FALSE(bit_identical(r0.out, r1.out));
}

TEST(ReferenceAttention, BackwardMatchesFiniteDifferences) {
  AttentionProblem a = random_problem(1, 1, 6, 7, 4, true, 21);
  const DropoutRng rng{5, 0, 0.25, 32, 10};
  const auto mask = generate_mask(a.mask_shape(), rng, 1);
  const AttentionProblem d = random_problem(1, 1, 6, 7, 4, false, 22);
  const auto& dout = d.q;
  auto loss = [&](const AttentionProblem& p) {
    const auto f = attention_forward(p, rng, &mask);
    double s = 0;
    for (std::size_t i = 0; i < f.out.size(); ++i) s += double(f.out[i]) * dout[i];
    return s;
  };
  const auto g = attention_backward(a, attention_forward(a, rng, &mask), dout, rng, &mask);
  const float h = 1e-2f;
  for (std::size_t i = 0; i < a.q.size(); i += 3) {
    AttentionProblem p = a, m = a;
    p.q[i] += h, m.q[i] -= h;
    EXPECT_NEAR(g.dq[i], (loss(p) - loss(m)) / (2 * h), 2e-3) << "dq " << i;
  }
  for (std::size_t i = 0; i < a.k.size(); i += 3) {
    AttentionProblem p = a, m = a;
    p.k[i] += h, m.k[i] -= h;
    EXPECT_NEAR(g.dk[i], (loss(p) - loss(m)) / (2 * h), 2e-3) << "dk " << i;
    AttentionProblem pv = a, mv = a;
    pv.v[i] += h, mv.v[i] -= h;
    EXPECT_NEAR(g.dv[i], (loss(pv) - loss(mv)) / (2 * h), 2e-3) << "dv " << i;
  }
}
