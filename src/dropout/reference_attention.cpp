#include "llmgps/dropout/reference_attention.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "llmgps/common/splitmix64.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::dropout {

namespace {

std::size_t sz(std::int64_t n) {
  return static_cast<std::size_t>(n);
}

void check(const AttentionProblem& a) {
  if (a.batch <= 0 || a.heads <= 0 || a.seq_q <= 0 || a.seq_k <= 0 || a.head_dim <= 0)
    throw InputError("attention", "batch, heads, sequence lengths and head_dim must be positive");
  const std::size_t qn = sz(a.batch * a.heads * a.seq_q * a.head_dim),
                    kn = sz(a.batch * a.heads * a.seq_k * a.head_dim);
  if (a.q.size() != qn || a.k.size() != kn || a.v.size() != kn)
    throw InputError("attention", "q, k, v sizes do not match the shape");
}

// Whether element (row, col) of head bh is kept; n is its linear mask index.
struct Dropper {
  const DropoutRng& rng;
  const std::vector<std::uint32_t>* mask;
  std::int64_t threshold;
  bool keep(std::int64_t n) const {
    if (rng.p == 0) return true;
    return mask ? mask_bit(*mask, n) : element_keep(std::uint64_t(n), rng, threshold);
  }
};

bool visible(const AttentionProblem& a, std::int64_t i, std::int64_t j) {
  return !a.causal || j <= i + (a.seq_k - a.seq_q);
}

}  // namespace

AttentionProblem random_problem(std::int64_t batch, std::int64_t heads, std::int64_t seq_q,
                                std::int64_t seq_k, std::int64_t head_dim, bool causal,
                                std::uint64_t seed) {
  AttentionProblem a{batch, heads, seq_q, seq_k, head_dim, causal, {}, {}, {}};
  SplitMix64 gen{seed};
  auto next = [&] {
    return float(double(gen.next() >> 40) * 0x1.0p-23 - 1.0);
  };  // 24 bits, [-1, 1)
  a.q.resize(sz(batch * heads * seq_q * head_dim));
  a.k.resize(sz(batch * heads * seq_k * head_dim));
  a.v.resize(a.k.size());
  for (float& x : a.q) x = next();
  for (float& x : a.k) x = next();
  for (float& x : a.v) x = next();
  return a;
}

ForwardResult attention_forward(const AttentionProblem& a, const DropoutRng& rng,
                                const std::vector<std::uint32_t>* mask, int block_n) {
  check(a);
  const Dropper drop{rng, mask, keep_threshold(rng)};
  if (mask && std::int64_t(mask->size()) != a.mask_shape().words())
    throw InputError("mask", "size does not match the attention shape");
  if (block_n <= 0) throw InputError("block_n", "must be positive");
  const std::int64_t D = a.head_dim;
  const float scale = 1.0f / std::sqrt(float(D));
  const float inv_keep = 1.0f / float(1.0 - rng.p);
  ForwardResult r;
  r.out.assign(sz(a.batch * a.heads * a.seq_q * D), 0.0f);
  r.lse.assign(sz(a.batch * a.heads * a.seq_q), 0.0f);
  std::vector<float> s(sz(block_n)), acc(sz(D));
  for (std::int64_t bh = 0; bh < a.batch * a.heads; ++bh)
    for (std::int64_t i = 0; i < a.seq_q; ++i) {
      const float* q = &a.q[sz((bh * a.seq_q + i) * D)];
      float m = -std::numeric_limits<float>::infinity(), l = 0.0f;
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (std::int64_t j0 = 0; j0 < a.seq_k; j0 += block_n) {
        const std::int64_t j1 = std::min(a.seq_k, j0 + block_n);
        float block_max = -std::numeric_limits<float>::infinity();
        for (std::int64_t j = j0; j < j1; ++j) {
          float dot = 0.0f;
          const float* k = &a.k[sz((bh * a.seq_k + j) * D)];
          for (std::int64_t d = 0; d < D; ++d) dot += q[d] * k[d];
          s[sz(j - j0)] = visible(a, i, j) ? dot * scale : -std::numeric_limits<float>::infinity();
          block_max = std::max(block_max, s[sz(j - j0)]);
        }
        const float m_new = std::max(m, block_max);
        if (m_new == -std::numeric_limits<float>::infinity()) continue;  // nothing visible yet
        const float corr = std::exp(m - m_new);
        l *= corr;
        for (float& x : acc) x *= corr;
        for (std::int64_t j = j0; j < j1; ++j) {
          const float p = std::exp(s[sz(j - j0)] - m_new);
          l += p;  // the softmax denominator sees every probability; dropout acts on P @ V only
          const std::int64_t n = (bh * a.seq_q + i) * a.seq_k + j;
          if (!drop.keep(n)) continue;
          const float pd = p * inv_keep;
          const float* v = &a.v[sz((bh * a.seq_k + j) * D)];
          for (std::int64_t d = 0; d < D; ++d) acc[sz(d)] += pd * v[d];
        }
        m = m_new;
      }
      float* o = &r.out[sz((bh * a.seq_q + i) * D)];
      for (std::int64_t d = 0; d < D; ++d) o[d] = l > 0 ? acc[sz(d)] / l : 0.0f;
      r.lse[sz(bh * a.seq_q + i)] =
          l > 0 ? m + std::log(l) : -std::numeric_limits<float>::infinity();
    }
  return r;
}

BackwardResult attention_backward(const AttentionProblem& a, const ForwardResult& fwd,
                                  const std::vector<float>& dout, const DropoutRng& rng,
                                  const std::vector<std::uint32_t>* mask) {
  check(a);
  const Dropper drop{rng, mask, keep_threshold(rng)};
  const std::int64_t D = a.head_dim;
  if (dout.size() != fwd.out.size())
    throw InputError("dout", "size does not match the forward output");
  const float scale = 1.0f / std::sqrt(float(D));
  const float inv_keep = 1.0f / float(1.0 - rng.p);
  BackwardResult g;
  g.dq.assign(a.q.size(), 0.0f);
  g.dk.assign(a.k.size(), 0.0f);
  g.dv.assign(a.v.size(), 0.0f);
  for (std::int64_t bh = 0; bh < a.batch * a.heads; ++bh)
    for (std::int64_t i = 0; i < a.seq_q; ++i) {
      const std::size_t row = sz(bh * a.seq_q + i);
      const float* q = &a.q[row * sz(D)];
      const float* o = &fwd.out[row * sz(D)];
      const float* dO = &dout[row * sz(D)];
      float delta = 0.0f;  // rowsum(dO * O)
      for (std::int64_t d = 0; d < D; ++d) delta += dO[d] * o[d];
      const float lse = fwd.lse[row];
      for (std::int64_t j = 0; j < a.seq_k; ++j) {
        if (!visible(a, i, j)) continue;
        const float* k = &a.k[sz((bh * a.seq_k + j) * D)];
        const float* v = &a.v[sz((bh * a.seq_k + j) * D)];
        float dot = 0.0f;
        for (std::int64_t d = 0; d < D; ++d) dot += q[d] * k[d];
        const float p = std::exp(dot * scale - lse);
        const std::int64_t n = (bh * a.seq_q + i) * a.seq_k + j;
        const float z = drop.keep(n) ? inv_keep : 0.0f;  // dropout factor of this element
        float dpd = 0.0f;                                // dO . v
        for (std::int64_t d = 0; d < D; ++d) dpd += dO[d] * v[d];
        float* dv = &g.dv[sz((bh * a.seq_k + j) * D)];
        for (std::int64_t d = 0; d < D; ++d) dv[d] += p * z * dO[d];
        const float ds = p * (z * dpd - delta);
        float* dk = &g.dk[sz((bh * a.seq_k + j) * D)];
        float* dq = &g.dq[row * sz(D)];
        for (std::int64_t d = 0; d < D; ++d) {
          dq[d] += ds * scale * k[d];
          dk[d] += ds * scale * q[d];
        }
      }
    }
  return g;
}

const char* strategy_name(Strategy s) {
  return s == Strategy::fused ? "fused" : s == Strategy::sequential ? "sequential" : "overlapped";
}

ForwardResult run_forward(Strategy s, const AttentionProblem& a, const DropoutRng& rng,
                          std::vector<float>* gemm_out) {
  if (s == Strategy::fused) return attention_forward(a, rng, nullptr);
  if (s == Strategy::sequential) {
    const auto mask = generate_mask(a.mask_shape(), rng, 1);
    return attention_forward(a, rng, &mask);
  }
  // Overlapped: the mask is made on another thread while this one runs the preceding GEMM (here
  // the output projection of the previous step's attention: out [rows x D] times a D x D matrix).
  std::vector<std::uint32_t> mask;
  std::thread rng_thread([&] { mask = generate_mask(a.mask_shape(), rng, 1); });
  const std::int64_t rows = a.batch * a.heads * a.seq_q, D = a.head_dim;
  std::vector<float> c(sz(rows * D), 0.0f);
  for (std::int64_t r = 0; r < rows; ++r)
    for (std::int64_t kk = 0; kk < D; ++kk) {
      const float x = a.q[sz(r * D + kk)];
      for (std::int64_t col = 0; col < D; ++col)
        c[sz(r * D + col)] += x * a.k[sz((kk % a.seq_k) * D + col) % a.k.size()];
    }
  rng_thread.join();
  if (gemm_out) *gemm_out = std::move(c);
  return attention_forward(a, rng, &mask);
}

}  // namespace llmgps::dropout
