#include "llmgps/moe/trace_stats.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace llmgps::moe {

double skew_of(const std::vector<double>& counts) {
  if (counts.empty()) return 1.0;
  const double sum = std::accumulate(counts.begin(), counts.end(), 0.0);
  if (sum <= 0) return 1.0;
  return *std::max_element(counts.begin(), counts.end()) / (sum / double(counts.size()));
}

double entropy_bits(const std::vector<double>& counts) {
  const double sum = std::accumulate(counts.begin(), counts.end(), 0.0);
  if (sum <= 0) return 0.0;
  double h = 0;
  for (double c : counts)
    if (c > 0) h -= (c / sum) * std::log2(c / sum);
  return h;
}

std::vector<double> shares_of(const std::vector<double>& counts) {
  const double sum = std::accumulate(counts.begin(), counts.end(), 0.0);
  std::vector<double> s(counts.size(), counts.empty() ? 0.0 : 1.0 / double(counts.size()));
  if (sum > 0)
    for (std::size_t i = 0; i < counts.size(); ++i) s[i] = counts[i] / sum;
  return s;
}

TraceStats trace_stats(const RoutingTrace& tr, std::size_t batch_tokens) {
  TraceStats st;
  st.layers = tr.layers;
  st.experts = tr.experts;
  st.top_k = tr.top_k;
  st.tokens = tr.num_tokens();
  st.records = tr.records();
  st.sequences = tr.seq_names.size();
  st.batch_tokens = batch_tokens == 0 ? tr.num_tokens() : std::min(batch_tokens, tr.num_tokens());
  const auto whole = expert_counts(tr);
  const auto batches = batches_of(tr, batch_tokens);
  st.batches = batches.size();
  std::vector<std::vector<double>> batch_skews(static_cast<std::size_t>(tr.layers));
  for (const TokenRange& r : batches) {
    const auto c = expert_counts(tr, r);
    for (int l = 0; l < tr.layers; ++l) batch_skews[std::size_t(l)].push_back(skew_of(c[std::size_t(l)]));
  }
  double skew_sum = 0, batch_sum = 0, ent_sum = 0;
  for (int l = 0; l < tr.layers; ++l) {
    LayerStats ls;
    ls.layer = l;
    const auto& c = whole[std::size_t(l)];
    ls.shares = shares_of(c);
    ls.skew = skew_of(c);
    ls.entropy_bits = entropy_bits(c);
    const auto& bs = batch_skews[std::size_t(l)];
    ls.batch_skew_mean = bs.empty() ? 1.0 : std::accumulate(bs.begin(), bs.end(), 0.0) / double(bs.size());
    ls.batch_skew_max = bs.empty() ? 1.0 : *std::max_element(bs.begin(), bs.end());
    skew_sum += ls.skew;
    batch_sum += ls.batch_skew_mean;
    ent_sum += ls.entropy_bits;
    st.per_layer.push_back(std::move(ls));
  }
  if (tr.layers > 0) {
    st.skew_mean = skew_sum / tr.layers;
    st.batch_skew_mean = batch_sum / tr.layers;
    st.entropy_mean_bits = ent_sum / tr.layers;
  }
  return st;
}

std::vector<std::vector<std::vector<double>>> layer_transitions(const RoutingTrace& tr) {
  const std::size_t E = std::size_t(tr.experts);
  std::vector<std::vector<std::vector<double>>> m(
      std::size_t(std::max(0, tr.layers - 1)), std::vector<std::vector<double>>(E, std::vector<double>(E, 0.0)));
  for (std::size_t t = 0; t < tr.num_tokens(); ++t)
    for (int l = 0; l + 1 < tr.layers; ++l) {
      const std::int16_t* a = tr.route(t, l);
      const std::int16_t* b = tr.route(t, l + 1);
      if (a[0] < 0 || b[0] < 0) continue;
      for (int i = 0; i < tr.top_k; ++i)
        for (int j = 0; j < tr.top_k; ++j) m[std::size_t(l)][std::size_t(a[i])][std::size_t(b[j])] += 1.0;
    }
  return m;
}

}  // namespace llmgps::moe
