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
  // With layer correlation the previous layer's expert concentrates the next layer's choice.
  auto concentration = [](const RoutingTrace& t) {
    const auto m = layer_transitions(t);
    double peak = 0, total = 0;
    for (const auto& row : m[0]) {
      double mx = 0, s = 0;
      for (double x : row) mx = std::max(mx, x), s += x;
      peak += mx, total += s;
    }
    return peak / total;
  };
  SynthConfig un = c;
  un.layer_correlation = 0;
  EXPECT_GT(concentration(a), concentration(synthesize_trace(un)) + 0.05);
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
