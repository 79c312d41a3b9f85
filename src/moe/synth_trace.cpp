#include "llmgps/moe/synth_trace.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "llmgps/common/splitmix64.hpp"
#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

namespace {

using Rng = SplitMix64;

std::vector<double> zipf(int n, double a) {
  std::vector<double> p(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) p[std::size_t(i)] = std::pow(double(i + 1), -a);
  const double s = std::accumulate(p.begin(), p.end(), 0.0);
  for (double& x : p) x /= s;
  return p;
}

// Draw top_k distinct experts by sequential sampling from `p` without replacement; the first
// draw uses `first_u` when given (in [0, 1)), which couples it to another draw.
void draw_topk(const std::vector<double>& p, int top_k, Rng& rng, std::int16_t* out,
               double first_u = -1) {
  double remaining = 1.0;
  for (int j = 0; j < top_k; ++j) {
    double u = (j == 0 && first_u >= 0 ? first_u : rng.uniform()) * remaining;
    int pick = -1;
    for (std::size_t e = 0; e < p.size(); ++e) {
      bool used = false;
      for (int q = 0; q < j; ++q) used = used || out[q] == std::int16_t(e);
      if (used) continue;
      pick = int(e);
      if (u < p[e]) break;
      u -= p[e];
    }
    out[j] = std::int16_t(pick);
    remaining -= p[std::size_t(pick)];
    if (remaining <= 0) remaining = 1e-300;
  }
}

double selection_skew(const std::vector<double>& pop, int top_k) {
  const auto s = topk_selection_shares(pop, top_k);
  return *std::max_element(s.begin(), s.end()) * double(s.size());
}

// Zipf exponent whose top-k selection skew equals `target` (bisection; skew grows with a).
double solve_exponent(int experts, int top_k, double target) {
  if (target <= 1.0 + 1e-12) return 0.0;
  double lo = 0, hi = 1;
  while (selection_skew(zipf(experts, hi), top_k) < target && hi < 64) hi *= 2;
  // To 1e-4 in the exponent: far below what the trace's sampling resolves.
  while (hi - lo > 1e-4) {
    const double mid = 0.5 * (lo + hi);
    (selection_skew(zipf(experts, mid), top_k) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace

std::vector<double> topk_selection_shares(const std::vector<double>& p, int top_k) {
  const std::size_t E = p.size();
  std::vector<double> s(E, 0.0);
  if (top_k == 1) return p;
  if (top_k == 2) {
    for (std::size_t i = 0; i < E; ++i) {
      s[i] += p[i];
      for (std::size_t j = 0; j < E; ++j)
        if (j != i && p[i] < 1) s[j] += p[i] * p[j] / (1 - p[i]);
    }
  } else {
    // Monte Carlo over the same sequential sampling without replacement draw_topk does, drawn
    // here by rejection from the whole distribution (binary search on its running sum; a pick
    // already taken is drawn again), which is that sampling exactly: O(k log E) per token
    // instead of O(k^2 E). A fixed seed makes the estimate a deterministic function of p, so the
    // exponent's bisection sees a monotone function.
    std::vector<double> cdf(E);
    std::partial_sum(p.begin(), p.end(), cdf.begin());
    const double total = cdf.back();
    Rng rng{0x5EEDull};
    std::vector<std::int16_t> out(static_cast<std::size_t>(top_k));
    const int draws = 100000;
    for (int d = 0; d < draws; ++d) {
      double taken = 0;  // probability mass already drawn
      for (int j = 0; j < top_k; ++j) {
        int pick = -1;
        // Rejection while the remaining mass is not tiny; else the exact scan over the rest.
        for (int attempt = 0; attempt < 64 && taken < 0.999 * total; ++attempt) {
          const double u = rng.uniform() * total;
          int e = int(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
          e = std::min(e, int(E) - 1);
          bool used = false;
          for (int q = 0; q < j; ++q) used = used || out[std::size_t(q)] == e;
          if (!used) {
            pick = e;
            break;
          }
        }
        if (pick < 0) {
          // Nearly all mass taken: the exact draw over the experts not yet picked.
          double u = rng.uniform() * (total - taken);
          for (std::size_t e = 0; e < E; ++e) {
            bool used = false;
            for (int q = 0; q < j; ++q) used = used || out[std::size_t(q)] == std::int16_t(e);
            if (used) continue;
            pick = int(e);
            if (u < p[e]) break;
            u -= p[e];
          }
        }
        out[std::size_t(j)] = std::int16_t(pick);
        taken += p[std::size_t(pick)];
      }
      for (int j = 0; j < top_k; ++j) s[std::size_t(out[std::size_t(j)])] += 1.0;
    }
    for (double& x : s) x /= draws;
  }
  for (double& x : s) x /= double(top_k);
  return s;
}

RoutingTrace synthesize_trace(const SynthConfig& c) {
  if (c.layers <= 0 || c.layers > 4096)
    throw InputError("synth.layers", fmt::format("must be in [1, 4096] (got {})", c.layers));
  if (c.experts <= 0 || c.experts > 32768)
    throw InputError("synth.experts", fmt::format("must be in [1, 32768] (got {})", c.experts));
  if (c.top_k <= 0 || c.top_k > c.experts || c.top_k > 64)
    throw InputError("synth.top_k",
                     fmt::format("must be in [1, min(experts, 64)] (got {})", c.top_k));
  if (c.sequences <= 0) throw InputError("synth.sequences", "must be positive");
  if (c.tokens_per_sequence <= 0) throw InputError("synth.tokens", "must be positive");
  if (double(c.sequences) * c.tokens_per_sequence * c.layers * c.top_k > 4e9)
    throw InputError(
        "synth.tokens",
        "trace too large to hold in memory (sequences x tokens x layers x top-k > 4e9)");
  if (c.skew.empty() || (c.skew.size() != 1 && int(c.skew.size()) != c.layers))
    throw InputError("synth.skew", fmt::format("give one value or one per layer ({}), got {}",
                                               c.layers, c.skew.size()));
  if (c.top_k >= c.experts)
    throw InputError("synth.top_k", fmt::format("must be less than the experts ({}): top-{} of "
                                                "{} selects every expert, no routing to skew",
                                                c.experts, c.top_k, c.experts));
  const double max_skew = double(c.experts) / c.top_k;
  for (double k : c.skew)
    if (!(k >= 1.0 && k < max_skew))
      throw InputError("synth.skew",
                       fmt::format("must be in [1, {:.4g}) for {} experts and top-{} (got {})",
                                   max_skew, c.experts, c.top_k, k));
  if (!(c.token_correlation >= 0 && c.token_correlation < 1))
    throw InputError("synth.token_correlation", "must be in [0, 1)");
  if (!(c.layer_correlation >= 0 && c.layer_correlation < 1))
    throw InputError("synth.layer_correlation", "must be in [0, 1)");

  Rng model_rng{c.model_seed};
  // Per layer: popularity over ranks, and which expert holds each rank.
  std::vector<std::vector<double>> pop(static_cast<std::size_t>(c.layers));
  std::vector<std::vector<int>> rank_to_expert(static_cast<std::size_t>(c.layers));
  std::vector<std::pair<double, double>> solved;  // (skew, exponent) cache
  std::vector<double> shift(static_cast<std::size_t>(c.layers), 0.0);
  for (int l = 0; l < c.layers; ++l) {
    const double target = c.skew.size() == 1 ? c.skew[0] : c.skew[std::size_t(l)];
    double a = -1;
    for (auto& [k, e] : solved)
      if (k == target) a = e;
    if (a < 0) {
      a = solve_exponent(c.experts, c.top_k, target);
      solved.emplace_back(target, a);
    }
    pop[std::size_t(l)] = zipf(c.experts, a);
    auto& r2e = rank_to_expert[std::size_t(l)];
    r2e.resize(std::size_t(c.experts));
    std::iota(r2e.begin(), r2e.end(), 0);
    for (int i = c.experts - 1; i > 0; --i)
      std::swap(r2e[std::size_t(i)], r2e[model_rng.next() % std::uint64_t(i + 1)]);
    shift[std::size_t(l)] = model_rng.uniform();
  }

  Rng rng{c.seed};
  RoutingTrace tr;
  tr.source = "synthetic";
  tr.layers = c.layers;
  tr.experts = c.experts;
  tr.top_k = c.top_k;
  const std::size_t K = std::size_t(c.top_k);
  const std::size_t n = std::size_t(c.sequences) * std::size_t(c.tokens_per_sequence);
  tr.routes.assign(n * std::size_t(c.layers) * K, -1);
  std::vector<std::int16_t> ranks(K);
  // The uniform behind each layer's first pick for the latest token (a copied token inherits
  // its predecessor's, so layer correlation follows the experts the token really has).
  std::vector<double> last_u(static_cast<std::size_t>(c.layers), 0.0);
  for (int s = 0; s < c.sequences; ++s) {
    if (c.progress) c.progress(std::size_t(s), std::size_t(c.sequences));
    tr.seq_names.push_back(std::to_string(s));
    for (int p = 0; p < c.tokens_per_sequence; ++p) {
      const std::size_t t = tr.tokens.size();
      double first_u = 0;
      tr.tokens.push_back(TraceToken{s, p});
      for (int l = 0; l < c.layers; ++l) {
        std::int16_t* out = tr.routes.data() + (t * std::size_t(c.layers) + std::size_t(l)) * K;
        const auto& r2e = rank_to_expert[std::size_t(l)];
        if (p > 0 && rng.uniform() < c.token_correlation) {
          const std::int16_t* prev =
              tr.routes.data() + ((t - 1) * std::size_t(c.layers) + std::size_t(l)) * K;
          std::copy(prev, prev + K, out);
          first_u = last_u[std::size_t(l)];
          continue;
        }
        // Layer correlation: the uniform behind the token's first pick in the previous layer,
        // rotated by this layer's fixed shift, drives its first pick here. A rotated uniform is
        // uniform, so each layer keeps exactly its own popularity, while each previous expert
        // maps onto one or two specific experts here (the affinity real routers show).
        double u0 = rng.uniform();
        if (l > 0 && u0 < c.layer_correlation) {
          u0 = first_u + shift[std::size_t(l)];
          u0 -= std::floor(u0);
        } else {
          u0 = rng.uniform();
        }
        draw_topk(pop[std::size_t(l)], c.top_k, rng, ranks.data(), u0);
        first_u = u0;
        last_u[std::size_t(l)] = u0;
        for (std::size_t j = 0; j < K; ++j) out[j] = std::int16_t(r2e[std::size_t(ranks[j])]);
      }
    }
  }
  return tr;
}

}  // namespace llmgps::moe
