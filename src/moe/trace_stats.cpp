#include "llmgps/moe/trace_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "llmgps/specs/error.hpp"

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
  st.warmup_records = tr.warmup_records;
  st.layers_logged = tr.layer_ids;
  st.batch_tokens = batch_tokens == 0 ? tr.num_tokens() : std::min(batch_tokens, tr.num_tokens());
  const auto whole = expert_counts(tr);
  // Per-batch skew: each layer's records in token order, cut into batches of batch_tokens records
  // (a token with no record in a layer is not in that layer's batch); the last, partial batch
  // counts too. The streaming reader computes exactly this (records arrive in token order).
  std::vector<std::vector<double>> batch_skews(static_cast<std::size_t>(tr.layers));
  std::size_t most_batches = 0;
  for (int l = 0; l < tr.layers; ++l) {
    std::vector<double> c(std::size_t(tr.experts), 0.0);
    std::size_t in_batch = 0;
    auto& bs = batch_skews[std::size_t(l)];
    for (std::size_t t = 0; t < tr.num_tokens(); ++t) {
      if (!tr.has(t, l)) continue;
      const std::int16_t* e = tr.route(t, l);
      for (int j = 0; j < tr.top_k; ++j)
        if (e[j] >= 0) c[std::size_t(e[j])] += 1;
      if (batch_tokens > 0 && ++in_batch == batch_tokens) {
        bs.push_back(skew_of(c));
        std::fill(c.begin(), c.end(), 0.0);
        in_batch = 0;
      }
    }
    if (batch_tokens == 0 || in_batch > 0 || bs.empty()) bs.push_back(skew_of(c));
    most_batches = std::max(most_batches, bs.size());
  }
  st.batches = most_batches;
  double skew_sum = 0, batch_sum = 0, ent_sum = 0;
  for (int l = 0; l < tr.layers; ++l) {
    LayerStats ls;
    ls.layer = tr.layer_id(l);
    const auto& c = whole[std::size_t(l)];
    ls.shares = shares_of(c);
    ls.skew = skew_of(c);
    ls.entropy_bits = entropy_bits(c);
    const auto& bs = batch_skews[std::size_t(l)];
    ls.batch_skew_mean =
        bs.empty() ? 1.0 : std::accumulate(bs.begin(), bs.end(), 0.0) / double(bs.size());
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
      std::size_t(std::max(0, tr.layers - 1)),
      std::vector<std::vector<double>>(E, std::vector<double>(E, 0.0)));
  for (std::size_t t = 0; t < tr.num_tokens(); ++t)
    for (int l = 0; l + 1 < tr.layers; ++l) {
      const std::int16_t* a = tr.route(t, l);
      const std::int16_t* b = tr.route(t, l + 1);
      if (a[0] < 0 || b[0] < 0) continue;
      for (int i = 0; i < tr.top_k; ++i)
        for (int j = 0; j < tr.top_k; ++j)
          m[std::size_t(l)][std::size_t(a[i])][std::size_t(b[j])] += 1.0;
    }
  return m;
}

TraceActivation trace_activation(const RoutingTrace& tr, int gpus, std::size_t batch_tokens) {
  if (gpus < 1 || tr.experts % gpus != 0)
    throw InputError("activation.gpus",
                     fmt::format("{} GPUs do not divide the {} experts of trace '{}'", gpus,
                                 tr.experts, tr.source));
  if (batch_tokens < 1) throw InputError("activation.batch", "must be at least one token");
  const int per_gpu = tr.experts / gpus;
  TraceActivation a;
  double active = 0, busiest = 0, selections = 0, active_experts = 0;
  std::vector<int> seen(std::size_t(tr.experts), -1);  // last (batch, layer) sample touching it
  std::vector<int> on_gpu(std::size_t(gpus), 0);
  int sample = 0;
  for (const TokenRange& r : batches_of(tr, batch_tokens))
    for (int l = 0; l < tr.layers; ++l) {
      std::fill(on_gpu.begin(), on_gpu.end(), 0);
      bool any = false;
      int distinct = 0;
      double picks = 0;
      for (std::size_t t = r.begin; t < r.end; ++t) {
        if (!tr.has(t, l)) continue;
        any = true;
        const std::int16_t* e = tr.route(t, l);
        for (int j = 0; j < tr.top_k; ++j) {
          if (e[j] < 0 || e[j] >= tr.experts) continue;
          picks += 1;
          if (seen[std::size_t(e[j])] == sample) continue;
          seen[std::size_t(e[j])] = sample;
          ++on_gpu[std::size_t(e[j] / per_gpu)];
          ++distinct;
        }
      }
      ++sample;
      if (!any) continue;
      ++a.samples;
      active += double(distinct) / gpus;
      busiest += *std::max_element(on_gpu.begin(), on_gpu.end());
      selections += picks;
      active_experts += distinct;
    }
  if (a.samples == 0) return a;
  a.active_per_gpu = active / double(a.samples);
  a.busiest_active = busiest / double(a.samples);
  a.tokens_per_active = active_experts > 0 ? selections / active_experts : 0.0;
  return a;
}

}  // namespace llmgps::moe
