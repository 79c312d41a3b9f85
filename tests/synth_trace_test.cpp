#include "llmgps/moe/synth_trace.hpp"

#include <gtest/gtest.h>

#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

using namespace llmgps::moe;

TEST(SynthTrace, HitsTheTargetSkewPerLayer) {
  SynthConfig c;
  c.layers = 4;
  c.skew = {1.1, 1.4, 2.0, 3.0};
  c.sequences = 8;
  c.tokens_per_sequence = 2000;
  c.token_correlation = 0;
  c.layer_correlation = 0;
  const auto st = trace_stats(synthesize_trace(c), 0);
  for (int l = 0; l < 4; ++l)
    EXPECT_NEAR(st.per_layer[std::size_t(l)].skew, c.skew[std::size_t(l)], 0.05) << l;
}

TEST(SynthTrace, SelectionSharesAreExactForTopTwo) {
  const auto s = topk_selection_shares({0.5, 0.3, 0.2}, 2);
  double sum = 0;
  for (double x : s) sum += x;
  EXPECT_NEAR(sum, 1.0, 1e-12);
  // P(0 selected) = 0.5 + 0.3*0.5/0.7 + 0.2*0.5/0.8 = 0.83929; share = that / 2.
  EXPECT_NEAR(s[0], (0.5 + 0.3 * 0.5 / 0.7 + 0.2 * 0.5 / 0.8) / 2, 1e-12);
}

TEST(SynthTrace, CorrelationsShowAndOutputIsDeterministic) {
  SynthConfig c;
  c.layers = 3;
  c.sequences = 2;
  c.tokens_per_sequence = 3000;
  c.layer_correlation = 0.8;
  const auto a = synthesize_trace(c), b = synthesize_trace(c);
  EXPECT_EQ(a.routes, b.routes);
  // With layer correlation the previous layer's first expert concentrates the next layer's first
  // choice: the share of layer-1 first picks that go to the most frequent follower of each
  // layer-0 first pick.
  auto concentration = [](const RoutingTrace& t) {
    const std::size_t L = std::size_t(t.layers), K = std::size_t(t.top_k);
    std::vector<std::vector<double>> m(std::size_t(t.experts),
                                       std::vector<double>(std::size_t(t.experts), 0.0));
    for (std::size_t tok = 0; tok < t.tokens.size(); ++tok)
      m[std::size_t(t.routes[(tok * L + 0) * K])][std::size_t(t.routes[(tok * L + 1) * K])] += 1;
    double peak = 0, total = 0;
    for (const auto& row : m) {
      double mx = 0, sum = 0;
      for (double x : row) mx = std::max(mx, x), sum += x;
      peak += mx, total += sum;
    }
    return peak / total;
  };
  SynthConfig un = c;
  un.layer_correlation = 0;
  EXPECT_GT(concentration(a), concentration(synthesize_trace(un)) + 0.2);
  // Copied tokens (token correlation) keep the chain: without the inherited uniform a copied
  // layer left the next layer's correlated pick on a constant and inflated its skew.
  SynthConfig many = c;
  many.layers = 4, many.tokens_per_sequence = 5000, many.skew = {1.5};
  many.layer_correlation = 0.5, many.token_correlation = 0.2;
  const TraceStats st = trace_stats(synthesize_trace(many), 0);
  for (const auto& layer : st.per_layer) EXPECT_NEAR(layer.skew, 1.5, 0.08) << layer.layer;
  c.seed = 2;
  EXPECT_NE(synthesize_trace(c).routes, a.routes);
}

TEST(SynthTrace, BadConfigNamesTheField) {
  SynthConfig c;
  c.skew = {5.0};  // > experts / top_k = 4
  EXPECT_THROW(synthesize_trace(c), llmgps::InputError);
  c.skew = {1.2};
  c.top_k = 9;
  EXPECT_THROW(synthesize_trace(c), llmgps::InputError);
}
