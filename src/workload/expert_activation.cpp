#include "llmgps/workload/expert_activation.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "llmgps/specs/error.hpp"

namespace llmgps {
namespace {

// log C(n, r)
double log_choose(double n, double r) {
  return std::lgamma(n + 1) - std::lgamma(r + 1) - std::lgamma(n - r + 1);
}

}  // namespace

ExpertActivation expected_activation(int experts, int gpus, int top_k, double tokens) {
  if (experts <= 0) throw InputError("experts", "must be positive");
  if (gpus <= 0 || gpus > experts)
    throw InputError("gpus", "must be between 1 and the number of experts");
  if (top_k <= 0 || top_k > experts) throw InputError("top_k", "must be in [1, experts]");
  if (!(tokens >= 1) || !std::isfinite(tokens)) throw InputError("tokens", "must be at least 1");
  // Contiguous placement: E mod G GPUs hold ceil(E / G) experts, the others floor(E / G).
  const int e_lo = experts / gpus, n_hi = experts % gpus;
  const int e = n_hi > 0 ? e_lo + 1 : e_lo;  // the most experts one GPU holds
  const int n_e = n_hi > 0 ? n_hi : gpus;    // GPUs that hold e
  const int n_lo = gpus - n_e;               // GPUs that hold e - 1 (when uneven)
  const double E = experts, k = top_k, T = tokens;
  // q(u)^T: probability that all T tokens avoid a given set of u experts.
  // Needed for u = 0..e only: tabulated once (the pmf below uses each many times).
  std::vector<double> avoid_of(std::size_t(e) + 1, 0.0);
  const double log_all = log_choose(E, k);
  for (int u = 0; u <= e; ++u)
    avoid_of[std::size_t(u)] = E - u < k ? 0.0 : std::exp(T * (log_choose(E - u, k) - log_all));
  ExpertActivation a;
  const double p_active = 1.0 - avoid_of[1];
  a.active_per_gpu = e * p_active;
  a.tokens_per_active = p_active > 0 ? T * k / E / p_active : 0.0;
  // Distribution of the active count of a GPU holding `held` experts.
  auto pmf_of = [&](int held) {
    std::vector<double> pmf(std::size_t(held) + 1, 0.0);
    if (held <= 24) {
      // The alternating sum is exact but cancels badly for many experts per GPU. Binomial
      // coefficients up to C(24, 12) are exact in a double: Pascal's triangle, built once.
      static const auto choose = [] {
        std::array<std::array<double, 25>, 25> c{};
        for (std::size_t j = 0; j < 25; ++j) {
          c[j][0] = c[j][j] = 1.0;
          for (std::size_t i = 1; i < j; ++i) c[j][i] = c[j - 1][i - 1] + c[j - 1][i];
        }
        return c;
      }();
      for (int j = 0; j <= held; ++j) {
        double sum = 0;
        for (int i = 0; i <= j; ++i)
          sum += ((j - i) % 2 ? -1.0 : 1.0) * choose[std::size_t(j)][std::size_t(i)] *
                 avoid_of[std::size_t(held - i)];
        pmf[std::size_t(j)] = std::max(0.0, choose[std::size_t(held)][std::size_t(j)] * sum);
      }
    } else {
      // Beyond 24 the experts are treated as independent (binomial), which is accurate there
      // (each expert is a small share of the token's choices).
      for (int j = 0; j <= held; ++j)
        pmf[std::size_t(j)] =
            std::exp(log_choose(held, j) + j * std::log(std::max(1e-300, p_active)) +
                     (held - j) * std::log(std::max(1e-300, 1.0 - p_active)));
    }
    return pmf;
  };
  const std::vector<double> pmf = pmf_of(e);
  const std::vector<double> pmf_lo = n_lo > 0 ? pmf_of(e - 1) : std::vector<double>{};
  double cdf = 0, cdf_lo = 0, busiest = 0;
  for (int j = 0; j < e; ++j) {
    cdf = std::min(1.0, cdf + pmf[std::size_t(j)]);
    if (n_lo > 0) cdf_lo = j < e - 1 ? std::min(1.0, cdf_lo + pmf_lo[std::size_t(j)]) : 1.0;
    // P(busiest >= j + 1) = 1 - P(every GPU <= j); at least one GPU is always active.
    const double all_below = std::pow(cdf, n_e) * (n_lo > 0 ? std::pow(cdf_lo, n_lo) : 1.0);
    busiest += j == 0 ? 1.0 : 1.0 - all_below;
  }
  a.busiest_active =
      std::clamp(busiest, a.active_per_gpu * (n_lo > 0 ? (e - 1.0) / e : 1.0), double(e));
  return a;
}

}  // namespace llmgps
