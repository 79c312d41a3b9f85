#include "llmgps/moe/planner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <functional>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "llmgps/specs/error.hpp"
#include "llmgps/util/parallel.hpp"

namespace llmgps::moe {

const char* planner_name(Planner p) {
  switch (p) {
    case Planner::greedy_time:
      return "greedy-time";
    case Planner::greedy:
      return "greedy";
    case Planner::eplb:
      return "eplb";
  }
  return "?";
}

Planner parse_planner(const std::string& s, const std::string& where) {
  for (Planner p : {Planner::greedy_time, Planner::greedy, Planner::eplb})
    if (s == planner_name(p)) return p;
  throw InputError(where,
                   "must be 'greedy-time' (greedy on modelled time), 'greedy' (MoE-GPS, on tokens) "
                   "or 'eplb' (DeepSeek), got '" +
                       s + "'");
}

bool eplb_hierarchical(const EplbConfig& c) {
  return c.num_nodes > 0 && c.num_groups % c.num_nodes == 0;
}

namespace {

// EPLB computes in float32 (weight.float()); ties and sums follow it, so do we.
using Row = std::vector<float>;

#if defined(__x86_64__) || defined(__i386__)
#define LLMGPS_PLANNER_X86 1
bool avx2_ok() {
  static const bool ok = __builtin_cpu_supports("avx2");
  return ok;
}
bool avx512_ok() {
  static const bool ok = __builtin_cpu_supports("avx512f");
  return ok;
}

// Stable descending order of w[0..n) (heaviest first, lower index first among equal weights:
// torch's sort on EPLB's rows, made stable): order[k] is the item at position k. Weights are
// finite and >= 0 (validate_loads); -0.0 compares equal to 0.0, as in torch.
//
// For the row sizes EPLB sees (tens to hundreds of replicas) each item's position is counted
// directly, #{j : w[j] > w[i]} + #{j < i : w[j] == w[i]}, eight comparisons per instruction and
// no branches; a comparison sort spent most of its time on mispredicted branches.
__attribute__((target("avx2"))) void desc_order_avx2(const float* w, int n, int* order) {
  // Eight items' positions at a time: lane k of `count` counts for item i = base + k, and each
  // j is broadcast against the eight (no horizontal sums). Padding items read -inf, which is
  // never > or == a real weight, and are not placed.
  thread_local std::vector<float> padded;
  const int blocks = (n + 7) / 8;
  padded.assign(std::size_t(blocks) * 8, -std::numeric_limits<float>::infinity());
  std::copy(w, w + n, padded.begin());
  const float* x = padded.data();
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  alignas(32) int pos[8];
  for (int base = 0; base < n; base += 8) {
    const __m256 wi = _mm256_loadu_ps(x + base);
    __m256i count = _mm256_setzero_si256();
    // j before the block: j < i, so an equal weight counts too; after the block: only heavier.
    for (int j = 0; j < base; ++j)
      count = _mm256_sub_epi32(
          count, _mm256_castps_si256(_mm256_cmp_ps(_mm256_broadcast_ss(x + j), wi, _CMP_GE_OQ)));
    for (int k = 0; k < 8 && base + k < n; ++k) {
      const __m256 wj = _mm256_broadcast_ss(x + base + k);
      const __m256 before =
          _mm256_castsi256_ps(_mm256_cmpgt_epi32(lanes, _mm256_set1_epi32(k)));  // j < i
      const __m256 m = _mm256_or_ps(_mm256_cmp_ps(wj, wi, _CMP_GT_OQ),
                                    _mm256_and_ps(before, _mm256_cmp_ps(wj, wi, _CMP_EQ_OQ)));
      count = _mm256_sub_epi32(count, _mm256_castps_si256(m));
    }
    for (int j = base + 8; j < n; ++j)
      count = _mm256_sub_epi32(
          count, _mm256_castps_si256(_mm256_cmp_ps(_mm256_broadcast_ss(x + j), wi, _CMP_GT_OQ)));
    _mm256_store_si256(reinterpret_cast<__m256i*>(pos), count);
    for (int k = 0; k < 8 && base + k < n; ++k) order[pos[k]] = base + k;
  }
}

// desc_order_avx2 with sixteen items a block: the comparisons yield masks, and each counts by
// one masked add (the broadcast folds into the compare), about half the instructions.
__attribute__((target("avx512f"))) void desc_order_avx512(const float* w, int n, int* order) {
  thread_local std::vector<float> padded;
  const int blocks = (n + 15) / 16;
  padded.assign(std::size_t(blocks) * 16, -std::numeric_limits<float>::infinity());
  std::copy(w, w + n, padded.begin());
  const float* x = padded.data();
  const __m512i one = _mm512_set1_epi32(1);
  alignas(64) int pos[16];
  for (int base = 0; base < n; base += 16) {
    const __m512 wi = _mm512_loadu_ps(x + base);
    // Two running counts, so that consecutive adds do not wait on each other.
    __m512i c0 = _mm512_setzero_si512(), c1 = _mm512_setzero_si512();
    int j = 0;
    for (; j + 1 < base; j += 2) {
      c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j]), wi, _CMP_GE_OQ), c0,
                                 one);
      c1 = _mm512_mask_add_epi32(c1, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j + 1]), wi, _CMP_GE_OQ),
                                 c1, one);
    }
    for (; j < base; ++j)
      c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j]), wi, _CMP_GE_OQ), c0,
                                 one);
    for (int k = 0; k < 16 && base + k < n; ++k) {
      const __m512 wj = _mm512_set1_ps(x[base + k]);
      const __mmask16 after_k = __mmask16(0xFFFFu << (k + 1));  // lanes i > k: j before i
      const __mmask16 m = _mm512_cmp_ps_mask(wj, wi, _CMP_GT_OQ) |
                          _mm512_mask_cmp_ps_mask(after_k, wj, wi, _CMP_EQ_OQ);
      c0 = _mm512_mask_add_epi32(c0, m, c0, one);
    }
    for (j = base + 16; j + 1 < n; j += 2) {
      c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j]), wi, _CMP_GT_OQ), c0,
                                 one);
      c1 = _mm512_mask_add_epi32(c1, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j + 1]), wi, _CMP_GT_OQ),
                                 c1, one);
    }
    for (; j < n; ++j)
      c0 = _mm512_mask_add_epi32(c0, _mm512_cmp_ps_mask(_mm512_set1_ps(x[j]), wi, _CMP_GT_OQ), c0,
                                 one);
    _mm512_store_si512(pos, _mm512_add_epi32(c0, c1));
    for (int k = 0; k < 16 && base + k < n; ++k) order[pos[k]] = base + k;
  }
}

// One packing problem for pack_sorted_avx2: items in `order` go to `packs` packs of `per_pack`.
struct PackJob {
  const float* w;
  const int* order;
  int* place;  // per item: its pack x items per pack + its rank within the pack
};

// Up to 8 packs in one vector: full packs read +inf, the lightest is the minimum, and the first
// lane equal to it (ctz of the compare mask) is Python's min() on ties. Each item depends on the
// previous one's choice (a chain of about 35 cycles), so K independent jobs (the nodes of a
// layer) are stepped together and the core overlaps their chains.
template <int K>
__attribute__((target("avx2"))) void pack_sorted_avx2(const PackJob* jobs, int n, int packs,
                                                      int per_pack) {
  // The available weights stay in a register (a scalar store followed by a vector load would
  // stall on store forwarding every item).
  alignas(32) float init[8];
  for (int p = 0; p < 8; ++p) init[p] = p < packs ? 0.0f : std::numeric_limits<float>::infinity();
  __m256 avail[K];
  float weight[K][8] = {};
  int count[K][8] = {};
  unsigned room[K];  // packs that still take items
  for (int k = 0; k < K; ++k) {
    avail[k] = _mm256_load_ps(init);
    room[k] = (1u << packs) - 1u;
  }
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256 inf = _mm256_set1_ps(std::numeric_limits<float>::infinity());
  for (int t = 0; t < n; ++t) {
    for (int k = 0; k < K; ++k) {
      const PackJob& job = jobs[k];
      const int item = job.order[t];
      __m256 m = _mm256_min_ps(avail[k], _mm256_permute2f128_ps(avail[k], avail[k], 1));
      m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
      m = _mm256_min_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
      // Among packs with room only: a full pack reads +inf.
      const unsigned mask =
          unsigned(_mm256_movemask_ps(_mm256_cmp_ps(avail[k], m, _CMP_EQ_OQ))) & room[k];
      const int best = __builtin_ctz(mask);
      job.place[item] = best * per_pack + count[k][best];
      weight[k][best] += job.w[item];
      ++count[k][best];
      const __m256 lane = _mm256_castsi256_ps(_mm256_cmpeq_epi32(lanes, _mm256_set1_epi32(best)));
      if (count[k][best] == per_pack) room[k] &= ~(1u << best);
      const __m256 value = count[k][best] < per_pack ? _mm256_set1_ps(weight[k][best]) : inf;
      avail[k] = _mm256_blendv_ps(avail[k], value, lane);
    }
  }
}

// Index of the first maximum of x[0..n) (torch.max's choice on ties), n a multiple of 8 (rows
// padded with -inf): the maximum by a vector reduction, then the first lane equal to it.
__attribute__((target("avx2"))) int first_max_avx2(const float* x, int n) {
  __m256 m = _mm256_loadu_ps(x);
  for (int i = 8; i < n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
  m = _mm256_max_ps(m, _mm256_permute2f128_ps(m, m, 1));
  m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0x4E));
  m = _mm256_max_ps(m, _mm256_shuffle_ps(m, m, 0xB1));
  const __m256 target = _mm256_set1_ps(_mm_cvtss_f32(_mm256_castps256_ps128(m)));
  for (int i = 0; i < n; i += 8) {
    const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(x + i), target, _CMP_EQ_OQ));
    if (hit) return i + __builtin_ctz(unsigned(hit));
  }
  return 0;
}
#endif

// Stable descending order (see desc_order_avx2), portable: one 64-bit key per item, the
// weight's bits (order-preserving for non-negative floats; -0.0 made +0.0) inverted above the
// index, so a plain sort is stable.
void desc_order(const float* w, int n, int* order) {
#if LLMGPS_PLANNER_X86
  if (n <= 1024 && avx512_ok()) return desc_order_avx512(w, n, order);
  if (n <= 1024 && avx2_ok()) return desc_order_avx2(w, n, order);
#endif
  thread_local std::vector<std::uint64_t> keys;
  keys.resize(std::size_t(n));
  for (int i = 0; i < n; ++i) {
    const float v = w[i] + 0.0f;
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    keys[std::size_t(i)] = (std::uint64_t(0xFFFFFFFFu - bits) << 32) | std::uint32_t(i);
  }
  std::sort(keys.begin(), keys.end());
  for (int k = 0; k < n; ++k) order[k] = int(keys[std::size_t(k)] & 0xFFFFFFFFu);
}

// balanced_packing for `jobs.size()` independent rows of n items each: items heaviest first
// (desc_order), each into the lightest pack that still has room (first such pack on ties, like
// Python's min). Fills each job's place (pack x per pack + rank within the pack).
void pack_sorted(const std::vector<PackJob>& jobs, int n, int packs) {
  const int per_pack = n / packs;
#if LLMGPS_PLANNER_X86
  if (packs <= 8 && avx2_ok()) {
    std::size_t k = 0;
    for (; k + 4 <= jobs.size(); k += 4) pack_sorted_avx2<4>(&jobs[k], n, packs, per_pack);
    for (; k + 2 <= jobs.size(); k += 2) pack_sorted_avx2<2>(&jobs[k], n, packs, per_pack);
    for (; k < jobs.size(); ++k) pack_sorted_avx2<1>(&jobs[k], n, packs, per_pack);
    return;
  }
#endif
  thread_local std::vector<float> pack_w;
  thread_local std::vector<int> pack_n;
  for (const PackJob& job : jobs) {
    pack_w.assign(std::size_t(packs), 0.0f);
    pack_n.assign(std::size_t(packs), 0);
    for (int t = 0; t < n; ++t) {
      const int item = job.order[t];
      // The first lightest pack with room (compare only packs with room, never a sentinel).
      int best = -1;
      for (int p = 0; p < packs; ++p)
        if (pack_n[std::size_t(p)] < per_pack &&
            (best < 0 || pack_w[std::size_t(p)] < pack_w[std::size_t(best)]))
          best = p;
      job.place[item] = best * per_pack + pack_n[std::size_t(best)];
      pack_w[std::size_t(best)] += job.w[item];
      ++pack_n[std::size_t(best)];
    }
  }
}

// balanced_packing on one row (EPLB's step 1, groups to nodes): one pack per item when each
// pack takes one item, as EPLB special-cases it.
void balanced_packing(const Row& w, int packs, std::vector<int>& order, std::vector<int>& place) {
  const int n = int(w.size());
  if (n == packs) {
    std::iota(place.begin(), place.end(), 0);
    return;
  }
  desc_order(w.data(), n, order.data());
  pack_sorted({PackJob{w.data(), order.data(), place.data()}}, n, packs);
}

// One node's replica choice for replicate(): its experts' loads and where the choice goes.
struct ReplicateJob {
  const float* w;
  int* phy2log;
  int* rank;
  int* cnt;
};

// replicate_experts for the independent `jobs` (the nodes of a layer): each redundant slot goes
// to the expert with the largest load per replica (first index on ties, like torch.max). A
// node's picks form a chain (each reads the ratio the previous one wrote); the nodes' picks
// alternate so that the core overlaps their chains.
void replicate(const ReplicateJob* jobs, int K, int num_log, int num_phy) {
  // Load per replica, kept per expert and updated only for the expert that gained a replica
  // (the same float32 quotient EPLB computes each round); rows padded to whole vectors with
  // -inf, which never wins against a load >= 0.
  const int stride = (num_log + 7) & ~7;
  thread_local std::vector<float> ratios;
  ratios.assign(std::size_t(K) * std::size_t(stride), -std::numeric_limits<float>::infinity());
  for (int k = 0; k < K; ++k) {
    const ReplicateJob& job = jobs[k];
    std::iota(job.phy2log, job.phy2log + num_log, 0);
    std::fill(job.rank, job.rank + num_phy, 0);
    std::fill(job.cnt, job.cnt + num_log, 1);
    std::copy(job.w, job.w + num_log, ratios.begin() + std::ptrdiff_t(k) * stride);
  }
  for (int i = num_log; i < num_phy; ++i)
    for (int k = 0; k < K; ++k) {
      const ReplicateJob& job = jobs[k];
      float* ratio = ratios.data() + std::ptrdiff_t(k) * stride;
      int best = 0;
#if LLMGPS_PLANNER_X86
      if (avx2_ok()) {
        best = first_max_avx2(ratio, stride);
      } else
#endif
      {
        float best_v = ratio[0];
        for (int e = 1; e < num_log; ++e) {
          const float v = ratio[e];
          const bool more = v > best_v;
          best = more ? e : best;
          best_v = more ? v : best_v;
        }
      }
      job.phy2log[i] = best;
      job.rank[i] = job.cnt[best];
      ++job.cnt[best];
      ratio[best] = job.w[best] / float(job.cnt[best]);
    }
}

// log2phy storage (see ReplicaPlan): sized for every layer, then filled layer by layer from
// phy2log, phyrank and logcnt.
void init_log2phy(ReplicaPlan& plan, int experts) {
  plan.log2phy_slots.assign(std::size_t(plan.layers()) * std::size_t(plan.slots()), -1);
  plan.log2phy_begin.assign(std::size_t(plan.layers()) * std::size_t(experts + 1), 0);
}

// Where each expert's replicas start in layer l's log2phy row: the running sum of the counts
// before it (kept in a register: begin[e] re-read would chain through memory).
int* fill_log2phy_begin(ReplicaPlan& plan, int l, int experts) {
  int* begin = plan.log2phy_begin.data() + std::size_t(l) * std::size_t(experts + 1);
  const auto& cnt = plan.logcnt[std::size_t(l)];
  int sum = 0;
  begin[0] = 0;
  for (int e = 0; e < experts; ++e) begin[e + 1] = sum += cnt[std::size_t(e)];
  return begin;
}

void fill_log2phy_layer(ReplicaPlan& plan, int l, int experts) {
  const int* begin = fill_log2phy_begin(plan, l, experts);
  int* slots = plan.log2phy_slots.data() + std::size_t(l) * std::size_t(plan.slots());
  const auto& cnt = plan.logcnt[std::size_t(l)];
  const auto& p2l = plan.phy2log[std::size_t(l)];
  const auto& rank = plan.phyrank[std::size_t(l)];
  for (std::size_t p = 0; p < p2l.size(); ++p)
    if (p2l[p] >= 0 && rank[p] >= 0 && rank[p] < cnt[std::size_t(p2l[p])])
      slots[begin[p2l[p]] + rank[p]] = int(p);
}

int row_max(const std::vector<int>& row) {
  return row.empty() ? 1 : std::max(1, *std::max_element(row.begin(), row.end()));
}

// The padded log2phy's width, as DeepSeek's rebalance_experts sizes it: the largest replica count
// of any expert in any layer (logcnt.max()).
void set_max_logcnt(ReplicaPlan& plan) {
  int most = 1;
  for (const auto& row : plan.logcnt) most = std::max(most, row_max(row));
  plan.max_logcnt = most;
}

void fill_log2phy(ReplicaPlan& plan, int experts) {
  init_log2phy(plan, experts);
  for (int l = 0; l < plan.layers(); ++l) fill_log2phy_layer(plan, l, experts);
  set_max_logcnt(plan);
}

// Runs fn(first, last) over blocks of layers, in parallel when the work is large enough to pay
// for waking the workers (a few microseconds).
void run_layers(int layers, std::size_t work, int max_threads,
                const std::function<void(int, int)>& fn) {
  const int threads = max_threads > 0 ? max_threads : util::hardware_threads();
  if (work < 4096 || threads <= 1 || layers < 2) return fn(0, layers);
  // A few blocks per thread, so that a worker that wakes late leaves its share to the others.
  const int blocks = std::min(layers, 4 * threads);
  util::parallel_for(blocks, threads, [&](int b) {
    fn(int(std::int64_t(layers) * b / blocks), int(std::int64_t(layers) * (b + 1) / blocks));
  });
}

// Loads must be finite and >= 0; EPLB computes in float32 (as DeepSeek's does), so they must
// also leave sums of a few thousand finite.
constexpr double kMaxLoad = double(std::numeric_limits<float>::max()) / 65536;

// Row l of n loads: one branch-free pass (NaN fails both comparisons), and only when it fails a
// second that names the first bad load.
template <typename T>
void validate_row(const T* v, std::size_t n, std::size_t l, const char* what) {
  bool ok = true;
  for (std::size_t e = 0; e < n; ++e) ok &= (v[e] >= T(0)) & (v[e] <= T(kMaxLoad));
  if (ok) return;
  for (std::size_t e = 0; e < n; ++e) {
    const double x = double(v[e]);
    if (!std::isfinite(x) || x < 0)
      throw InputError(
          what, fmt::format("layer {} expert {}: load must be finite and >= 0 (got {})", l, e, x));
    if (x > kMaxLoad)
      throw InputError(
          what,
          fmt::format("layer {} expert {}: load {} is beyond the float32 range EPLB computes in", l,
                      e, x));
  }
}

void validate_loads(const LoadMatrix& loads, const char* what) {
  if (loads.empty()) throw InputError(what, "no layers");
  const std::size_t E = loads[0].size();
  if (E == 0) throw InputError(what, "layer 0 has no experts");
  for (std::size_t l = 0; l < loads.size(); ++l) {
    if (loads[l].size() != E)
      throw InputError(
          what, fmt::format("layer {} has {} experts, layer 0 has {}", l, loads[l].size(), E));
    validate_row(loads[l].data(), E, l, what);
  }
}

// The shape of one EPLB call, derived once (a value the compiler can keep in registers: the
// per-layer loops below write int arrays, which a captured reference could alias).
struct EplbShape {
  int experts, replicas, groups, nodes, group_size, groups_per_node, per_gpu, gpus_per_node,
      log_per_node, phy_per_node;
};

// EPLB's three steps for layers [first, last) of `loads` (float32, [layer][expert] row-major),
// into rows already sized in `plan`.
void eplb_layers(const float* loads, const EplbShape sh, ReplicaPlan& plan, int first, int last) {
  const int E = sh.experts, groups = sh.groups, nodes = sh.nodes, group_size = sh.group_size,
            gpus_per_node = sh.gpus_per_node, log_per_node = sh.log_per_node,
            phy_per_node = sh.phy_per_node, replicas = sh.replicas;
  std::vector<int> gplace(static_cast<std::size_t>(groups)),
      gorder(static_cast<std::size_t>(groups));
  // Per node: its replicas' weights, order and place (the nodes are packed together).
  std::vector<int> order(static_cast<std::size_t>(replicas)),
      place(static_cast<std::size_t>(replicas)), node_phy2mlog(static_cast<std::size_t>(replicas)),
      node_phyrank(static_cast<std::size_t>(replicas)), node_mlogcnt(static_cast<std::size_t>(E));
  // node_w: the experts in node order (mlog), node after node.
  Row group_w(static_cast<std::size_t>(groups)), node_w(static_cast<std::size_t>(E)),
      phy_w(static_cast<std::size_t>(replicas));
  std::vector<int> mlog2log(static_cast<std::size_t>(E));
  Row per_replica(static_cast<std::size_t>(log_per_node));
  std::vector<PackJob> jobs(static_cast<std::size_t>(nodes));
  std::vector<ReplicateJob> rjobs(static_cast<std::size_t>(nodes));
  // 1.0 / c for every replica count c an expert can reach (the same doubles a division gives).
  std::vector<double> inverse_count(static_cast<std::size_t>(replicas - E + 2), 0.0);
  for (std::size_t c = 1; c < inverse_count.size(); ++c) inverse_count[c] = 1.0 / double(c);
  for (int l = first; l < last; ++l) {
    const float* w = loads + std::size_t(l) * std::size_t(E);
    // Step 1: expert groups to nodes.
    std::fill(group_w.begin(), group_w.end(), 0.0f);
    for (int g = 0; g < groups; ++g)
      for (int i = 0; i < group_size; ++i) group_w[std::size_t(g)] += w[g * group_size + i];
    balanced_packing(group_w, nodes, gorder, gplace);
    for (int g = 0; g < groups; ++g)
      for (int i = 0; i < group_size; ++i)
        mlog2log[std::size_t(gplace[std::size_t(g)] * group_size + i)] = g * group_size + i;
    // Step 2: replicas within each node (the nodes' greedy picks interleaved).
    for (int m = 0; m < E; ++m) node_w[std::size_t(m)] = w[mlog2log[std::size_t(m)]];
    for (int node = 0; node < nodes; ++node) {
      const std::size_t at = std::size_t(node) * std::size_t(phy_per_node);
      rjobs[std::size_t(node)] =
          ReplicateJob{&node_w[std::size_t(node) * std::size_t(log_per_node)], &node_phy2mlog[at],
                       &node_phyrank[at], &node_mlogcnt[std::size_t(node * log_per_node)]};
    }
    replicate(rjobs.data(), nodes, log_per_node, phy_per_node);
    for (int node = 0; node < nodes; ++node) {
      const std::size_t at = std::size_t(node) * std::size_t(phy_per_node);
      const float* nw = rjobs[std::size_t(node)].w;
      const int* mlogcnt = rjobs[std::size_t(node)].cnt;
      const int* phy2mlog = &node_phy2mlog[at];
      // Load per replica, divided once per expert (no branch: x / 1.0f == x exactly), then
      // gathered per replica.
      for (int m = 0; m < log_per_node; ++m)
        per_replica[std::size_t(m)] = nw[m] / float(mlogcnt[m]);
      for (int p = 0; p < phy_per_node; ++p)
        phy_w[at + std::size_t(p)] = per_replica[std::size_t(phy2mlog[p])];
      desc_order(&phy_w[at], phy_per_node, &order[at]);
      jobs[std::size_t(node)] = PackJob{&phy_w[at], &order[at], &place[at]};
    }
    // Step 3: each node's replicas to its GPUs.
    if (phy_per_node == gpus_per_node) {
      for (std::size_t p = 0; p < place.size(); ++p) place[p] = int(p % std::size_t(phy_per_node));
    } else {
      pack_sorted(jobs, phy_per_node, gpus_per_node);
    }
    // The layer's rows, written through plain pointers (the loop below keeps them in registers).
    int* const p2l = plan.phy2log[std::size_t(l)].data();
    int* const prank = plan.phyrank[std::size_t(l)].data();
    double* const share = plan.slot_share[std::size_t(l)].data();
    int* const cnt = plan.logcnt[std::size_t(l)].data();
    for (int m = 0; m < E; ++m) cnt[mlog2log[std::size_t(m)]] = node_mlogcnt[std::size_t(m)];
    const int* const begin = fill_log2phy_begin(plan, l, E);
    int* const l2p = plan.log2phy_slots.data() + std::size_t(l) * std::size_t(replicas);
    const int *const placed = place.data(), *const phy2mlog = node_phy2mlog.data(),
                     *const phyrank = node_phyrank.data(), *const m2l = mlog2log.data(),
                     *const mcnt = node_mlogcnt.data();
    const double* const inverse = inverse_count.data();
    for (int node = 0; node < nodes; ++node) {
      const int at = node * phy_per_node, mbase = node * log_per_node;
      for (int p = at; p < at + phy_per_node; ++p) {
        const int slot = at + placed[p], m = mbase + phy2mlog[p];
        const int e = m2l[m], r = phyrank[p];
        p2l[slot] = e;
        prank[slot] = r;
        share[slot] = inverse[mcnt[m]];
        l2p[begin[e] + r] = slot;
      }
    }
  }
}

// EPLB on loads already checked (finite, >= 0, within float32's range) of L layers x E experts.
ReplicaPlan eplb_plan_checked(std::span<const float> loads, int L, int E, const EplbConfig& c) {
  if (c.num_gpus <= 0) throw InputError("plan.gpus", "must be positive");
  if (c.num_nodes <= 0) throw InputError("plan.nodes", "must be positive");
  if (c.num_groups <= 0) throw InputError("plan.groups", "must be positive");
  // The plan must fit in memory (layers x slots entries, a few times over).
  if (double(L) * double(c.num_replicas) > double(std::int64_t(1) << 28))
    throw InputError("plan.slots_per_gpu",
                     fmt::format("{} layers x {} slots is beyond the 2^28 entries a plan may hold",
                                 L, c.num_replicas));
  // EPLB's policy: hierarchical when the groups divide over the nodes, else one global pool
  // (DeepSeek's rebalance_experts then ignores the groups and nodes, and so do we: they are
  // checked only for the hierarchical policy, as its asserts are).
  const bool hier = eplb_hierarchical(c);
  if (hier && c.num_gpus % c.num_nodes != 0)
    throw InputError("plan.gpus",
                     fmt::format("{} GPUs do not divide over {} nodes", c.num_gpus, c.num_nodes));
  if (c.num_replicas < E)
    throw InputError("plan.slots_per_gpu",
                     fmt::format("{} slots cannot hold the {} experts", c.num_replicas, E));
  if (c.num_replicas % c.num_gpus != 0)
    throw InputError("plan.slots_per_gpu", fmt::format("{} replicas do not divide over {} GPUs",
                                                       c.num_replicas, c.num_gpus));
  if (hier && E % c.num_groups != 0)
    throw InputError("plan.groups",
                     fmt::format("{} experts do not divide into {} groups", E, c.num_groups));
  EplbShape sh;
  sh.experts = E;
  sh.replicas = c.num_replicas;
  sh.groups = hier ? c.num_groups : 1;
  sh.nodes = hier ? c.num_nodes : 1;
  if (c.num_replicas % sh.nodes != 0 || E % sh.nodes != 0)
    throw InputError("plan.nodes",
                     fmt::format("{} experts / {} replicas do not divide over {} nodes", E,
                                 c.num_replicas, sh.nodes));
  sh.group_size = E / sh.groups;
  sh.groups_per_node = sh.groups / sh.nodes;
  sh.per_gpu = c.num_replicas / c.num_gpus;
  sh.gpus_per_node = c.num_gpus / sh.nodes;
  sh.log_per_node = E / sh.nodes;
  sh.phy_per_node = c.num_replicas / sh.nodes;
  if (sh.phy_per_node % sh.gpus_per_node != 0)
    throw InputError("plan.slots_per_gpu", "replicas per node do not divide over the node's GPUs");

  ReplicaPlan plan;
  plan.gpus = c.num_gpus;
  plan.slots_per_gpu = sh.per_gpu;
  plan.phy2log.assign(std::size_t(L), std::vector<int>(std::size_t(c.num_replicas), -1));
  plan.phyrank.assign(std::size_t(L), std::vector<int>(std::size_t(c.num_replicas), 0));
  plan.logcnt.assign(std::size_t(L), std::vector<int>(std::size_t(E), 0));
  plan.slot_share.assign(std::size_t(L), std::vector<double>(std::size_t(c.num_replicas), 0.0));
  init_log2phy(plan, E);
  // Layers are independent: each worker plans a contiguous block of layers with its own buffers
  // and writes only its layers' rows, so the result does not depend on the thread count.
  auto plan_layers = [&](int first, int last) { eplb_layers(loads.data(), sh, plan, first, last); };
  run_layers(L, std::size_t(L) * std::size_t(c.num_replicas), c.threads, plan_layers);
  set_max_logcnt(plan);
  return plan;
}

}  // namespace

ReplicaPlan eplb_plan(const LoadMatrix& loads, const EplbConfig& c) {
  validate_loads(loads, "loads");  // the doubles, so errors print the values as given
  std::vector<float> flat;
  flat.reserve(loads.size() * loads[0].size());
  for (const auto& row : loads)
    for (double x : row) flat.push_back(float(x));
  return eplb_plan_checked(flat, int(loads.size()), int(loads[0].size()), c);
}

ReplicaPlan eplb_plan(std::span<const float> loads, int experts, const EplbConfig& c) {
  if (experts <= 0) throw InputError("loads", "no experts");
  if (loads.empty()) throw InputError("loads", "no layers");
  if (loads.size() % std::size_t(experts) != 0)
    throw InputError(
        "loads", fmt::format("{} loads are not whole layers of {} experts", loads.size(), experts));
  if (loads.size() / std::size_t(experts) > std::size_t(std::numeric_limits<int>::max()))
    throw InputError("loads", "too many layers");
  const int L = int(loads.size() / std::size_t(experts));
  for (int l = 0; l < L; ++l)
    validate_row(loads.data() + std::size_t(l) * std::size_t(experts), std::size_t(experts),
                 std::size_t(l), "loads");
  return eplb_plan_checked(loads, L, experts, c);
}

void copy_layer(ReplicaPlan& dst, const ReplicaPlan& src, int l) {
  if (dst.gpus != src.gpus || dst.slots_per_gpu != src.slots_per_gpu ||
      dst.experts() != src.experts() || l < 0 || l >= dst.layers() || l >= src.layers())
    throw std::invalid_argument("copy_layer: plans of different shapes");
  const std::size_t L = std::size_t(l);
  // The width changes only through this row: rescan the others only if it held the maximum.
  const bool held_max = row_max(dst.logcnt[L]) == dst.max_logcnt;
  dst.phy2log[L] = src.phy2log[L];
  dst.phyrank[L] = src.phyrank[L];
  dst.logcnt[L] = src.logcnt[L];
  dst.slot_share[L] = src.slot_share[L];
  const std::size_t slots = std::size_t(dst.slots()), begins = std::size_t(dst.experts() + 1);
  std::copy_n(src.log2phy_slots.begin() + std::ptrdiff_t(L * slots), slots,
              dst.log2phy_slots.begin() + std::ptrdiff_t(L * slots));
  std::copy_n(src.log2phy_begin.begin() + std::ptrdiff_t(L * begins), begins,
              dst.log2phy_begin.begin() + std::ptrdiff_t(L * begins));
  if (held_max)
    set_max_logcnt(dst);
  else
    dst.max_logcnt = std::max(dst.max_logcnt, row_max(dst.logcnt[L]));
}

ReplicaPlan contiguous_plan(int layers, int experts, int gpus) {
  if (gpus <= 0 || gpus > experts)
    throw InputError("plan.gpus", fmt::format("{} GPUs for {} experts: every GPU needs an expert",
                                              gpus, experts));
  const HomePlacement home{experts, gpus};
  ReplicaPlan plan;
  plan.gpus = gpus;
  plan.slots_per_gpu = home.most();
  const std::size_t slots = std::size_t(plan.slots());
  // GPUs holding one expert fewer leave their last slot empty (-1).
  std::vector<int> ids(slots, -1);
  std::vector<double> share(slots, 0.0);
  for (int e = 0; e < experts; ++e) {
    const int g = home.gpu_of(e);
    const std::size_t slot = std::size_t(g * plan.slots_per_gpu + (e - home.first(g)));
    ids[slot] = e;
    share[slot] = 1.0;
  }
  plan.phy2log.assign(std::size_t(layers), ids);
  plan.phyrank.assign(std::size_t(layers), std::vector<int>(slots, 0));
  plan.logcnt.assign(std::size_t(layers), std::vector<int>(std::size_t(experts), 1));
  plan.slot_share.assign(std::size_t(layers), share);
  fill_log2phy(plan, experts);
  return plan;
}

namespace {

// With a cost model: the whole tokens to move from slot `top` (busiest GPU `hi`) to slot `dst`
// (idlest GPU `lo`) that equalise the two GPUs' times, by bisection (the busy GPU's time falls
// and the idle one's rises as tokens move); a negative answer when even that move leaves the
// busier of the two no faster than the busiest GPU was.
template <typename GpuLoad>
double time_balanced_move(std::vector<double>& slot_load, int top, int dst, int hi, int lo,
                          double hi_load, const GpuLoad& gpu_load) {
  const double have = slot_load[std::size_t(top)];
  auto times = [&](double x) {
    slot_load[std::size_t(top)] = have - x;
    slot_load[std::size_t(dst)] += x;
    const std::pair<double, double> t{gpu_load(hi), gpu_load(lo)};
    slot_load[std::size_t(top)] = have;
    slot_load[std::size_t(dst)] -= x;
    return t;
  };
  double a = 0, b = have;
  for (int it = 0; it < 40; ++it) {
    const double mid = 0.5 * (a + b);
    const auto [th, tl] = times(mid);
    (th > tl ? a : b) = mid;
  }
  const double move = std::min(std::ceil(b), have);  // whole tokens
  const auto [th, tl] = times(move);
  return std::max(th, tl) < hi_load * (1 - 1e-9) ? move : -1.0;
}

// One layer of the greedy plan: every GPU starts with its own experts; each step copies (or
// reuses a replica of) the busiest GPU's top expert on the idlest GPU and moves load there.
void greedy_layer(ReplicaPlan& plan, int l, const std::vector<double>& w, const GreedyConfig& c) {
  const int E = int(w.size()), G = c.gpus, S = c.slots_per_gpu;
  const HomePlacement home{E, G};
  auto& p2l = plan.phy2log[std::size_t(l)];
  std::vector<double> slot_load(static_cast<std::size_t>(G * S), 0.0);
  std::vector<int> used(static_cast<std::size_t>(G));
  for (int g = 0; g < G; ++g) used[std::size_t(g)] = home.count(g);
  for (int e = 0; e < E; ++e) {
    const int g = home.gpu_of(e);
    const int slot = g * S + (e - home.first(g));
    p2l[std::size_t(slot)] = e;
    slot_load[std::size_t(slot)] = w[std::size_t(e)];
  }
  // A GPU's load: its tokens, or with a cost model its modelled expert time (every replica
  // that receives tokens costs its weight read, which the token count does not see).
  std::vector<double> gpu_slots(static_cast<std::size_t>(S));
  auto gpu_load = [&](int g) {
    if (c.gpu_time) {
      for (int i = 0; i < S; ++i) gpu_slots[std::size_t(i)] = slot_load[std::size_t(g * S + i)];
      return c.gpu_time(gpu_slots);
    }
    double sum = 0;
    for (int i = 0; i < S; ++i) sum += slot_load[std::size_t(g * S + i)];
    return sum;
  };
  // Each copy moves load from the busiest to the least-loaded GPU; the gap at least halves on
  // every move that is allowed, so the loop ends; the bound guards degenerate inputs.
  for (int iter = 0; iter < 64 * G * S; ++iter) {
    int hi = 0, lo = 0;
    for (int g = 1; g < G; ++g) {
      if (gpu_load(g) > gpu_load(hi)) hi = g;
      if (gpu_load(g) < gpu_load(lo)) lo = g;
    }
    const double hi_load = gpu_load(hi);
    const double gap = hi_load - gpu_load(lo);
    if (c.gpu_time ? gap <= 1e-9 * hi_load : gap <= c.tolerance_tokens) break;
    // The busiest GPU's top expert (largest load it serves there).
    int top = -1;
    for (int i = 0; i < S; ++i) {
      const int s = hi * S + i;
      if (p2l[std::size_t(s)] >= 0 &&
          (top < 0 || slot_load[std::size_t(s)] > slot_load[std::size_t(top)]))
        top = s;
    }
    if (top < 0 || slot_load[std::size_t(top)] <= 0) break;
    const int e = p2l[std::size_t(top)];
    // Existing replica of e on the target GPU, else a free slot there (if copies allowed).
    int dst = -1;
    bool new_slot = false;
    for (int i = 0; i < S; ++i)
      if (p2l[std::size_t(lo * S + i)] == e) dst = lo * S + i;
    if (dst < 0) {
      const bool copy_ok = c.max_copies_per_expert == 0 ||
                           plan.logcnt[std::size_t(l)][std::size_t(e)] < c.max_copies_per_expert;
      if (!copy_ok || used[std::size_t(lo)] >= S) break;
      dst = lo * S + used[std::size_t(lo)];
      p2l[std::size_t(dst)] = e;
      new_slot = true;
    }
    double move = std::min(gap / 2, slot_load[std::size_t(top)]);
    if (c.gpu_time) {
      move = time_balanced_move(slot_load, top, dst, hi, lo, hi_load, gpu_load);
      if (move < 0) {
        if (new_slot) p2l[std::size_t(dst)] = -1;
        break;
      }
    }
    if (new_slot) {
      ++used[std::size_t(lo)];
      plan.phyrank[std::size_t(l)][std::size_t(dst)] =
          plan.logcnt[std::size_t(l)][std::size_t(e)]++;
    }
    slot_load[std::size_t(top)] -= move;
    slot_load[std::size_t(dst)] += move;
  }
  for (int s = 0; s < G * S; ++s) {
    const int e = p2l[std::size_t(s)];
    if (e < 0) continue;
    const double total = w[std::size_t(e)];
    plan.slot_share[std::size_t(l)][std::size_t(s)] =
        total > 0 ? slot_load[std::size_t(s)] / total
                  : 1.0 / plan.logcnt[std::size_t(l)][std::size_t(e)];
  }
}

}  // namespace

ReplicaPlan greedy_plan(const LoadMatrix& loads, const GreedyConfig& c) {
  validate_loads(loads, "loads");
  const int L = int(loads.size());
  const int E = int(loads[0].size());
  if (c.gpus <= 0) throw InputError("plan.gpus", "must be positive");
  if (c.gpus > E)
    throw InputError("plan.gpus",
                     fmt::format("{} GPUs for {} experts: every GPU needs an expert", c.gpus, E));
  const HomePlacement home{E, c.gpus};
  if (c.slots_per_gpu < home.most())
    throw InputError("plan.slots_per_gpu",
                     fmt::format("{} slots per GPU cannot hold the {} experts the fullest of {} "
                                 "GPUs owns",
                                 c.slots_per_gpu, home.most(), c.gpus));
  if (c.max_copies_per_expert < 0) throw InputError("plan.max_copies", "must be >= 0");
  if (!(c.tolerance_tokens >= 0)) throw InputError("tolerance", "must be >= 0");
  const int G = c.gpus, S = c.slots_per_gpu;
  ReplicaPlan plan;
  plan.gpus = G;
  plan.slots_per_gpu = S;
  plan.phy2log.assign(std::size_t(L), std::vector<int>(std::size_t(G * S), -1));
  plan.phyrank.assign(std::size_t(L), std::vector<int>(std::size_t(G * S), 0));
  plan.logcnt.assign(std::size_t(L), std::vector<int>(std::size_t(E), 1));
  plan.slot_share.assign(std::size_t(L), std::vector<double>(std::size_t(G * S), 0.0));
  for (int l = 0; l < L; ++l) greedy_layer(plan, l, loads[std::size_t(l)], c);
  fill_log2phy(plan, E);
  return plan;
}

std::vector<std::vector<std::vector<int>>> ReplicaPlan::log2phy_nested() const {
  std::vector<std::vector<std::vector<int>>> out(static_cast<std::size_t>(layers()));
  for (int l = 0; l < layers(); ++l)
    for (int e = 0; e < experts(); ++e) {
      std::vector<int> row;
      for (int r = 0; r < max_logcnt; ++r) row.push_back(log2phy(l, e, r));
      out[std::size_t(l)].push_back(std::move(row));
    }
  return out;
}

std::vector<std::vector<double>> gpu_loads(const ReplicaPlan& plan, const LoadMatrix& loads) {
  std::vector<std::vector<double>> out(std::size_t(plan.layers()),
                                       std::vector<double>(std::size_t(plan.gpus), 0.0));
  for (int l = 0; l < plan.layers(); ++l)
    for (std::size_t s = 0; s < plan.phy2log[std::size_t(l)].size(); ++s) {
      const int e = plan.phy2log[std::size_t(l)][s];
      if (e < 0) continue;
      out[std::size_t(l)][std::size_t(plan.gpu_of_slot(int(s)))] +=
          loads[std::size_t(l)][std::size_t(e)] * plan.slot_share[std::size_t(l)][s];
    }
  return out;
}

double balancedness(const ReplicaPlan& plan, const LoadMatrix& loads) {
  const auto g = gpu_loads(plan, loads);
  if (g.empty()) return 1.0;
  double sum = 0;
  for (const auto& row : g) {
    const double mx = *std::max_element(row.begin(), row.end());
    const double mean = std::accumulate(row.begin(), row.end(), 0.0) / double(row.size());
    sum += mx > 0 ? mean / mx : 1.0;
  }
  return sum / double(g.size());
}

std::string check_plan(const ReplicaPlan& plan, int experts) {
  for (int l = 0; l < plan.layers(); ++l) {
    const auto& p2l = plan.phy2log[std::size_t(l)];
    if (int(p2l.size()) != plan.gpus * plan.slots_per_gpu)
      return fmt::format("layer {}: {} slots, expected {} GPUs x {}", l, p2l.size(), plan.gpus,
                         plan.slots_per_gpu);
    std::vector<int> count(static_cast<std::size_t>(experts), 0);
    std::vector<double> share(static_cast<std::size_t>(experts), 0.0);
    for (std::size_t s = 0; s < p2l.size(); ++s) {
      const int e = p2l[s];
      if (e < -1 || e >= experts)
        return fmt::format("layer {} slot {}: expert {} out of range", l, s, e);
      if (e < 0) continue;
      ++count[std::size_t(e)];
      share[std::size_t(e)] += plan.slot_share[std::size_t(l)][s];
      const int r = plan.phyrank[std::size_t(l)][s];
      if (r < 0 || r >= plan.max_logcnt || plan.log2phy(l, e, r) != int(s))
        return fmt::format("layer {} slot {}: log2phy does not point back", l, s);
    }
    for (int e = 0; e < experts; ++e) {
      if (count[std::size_t(e)] == 0)
        return fmt::format("layer {}: expert {} has no replica", l, e);
      if (count[std::size_t(e)] != plan.logcnt[std::size_t(l)][std::size_t(e)])
        return fmt::format("layer {}: expert {} has {} replicas but logcnt {}", l, e,
                           count[std::size_t(e)], plan.logcnt[std::size_t(l)][std::size_t(e)]);
      if (std::abs(share[std::size_t(e)] - 1.0) > 1e-9)
        return fmt::format("layer {}: expert {} shares sum to {}", l, e, share[std::size_t(e)]);
    }
  }
  return {};
}

}  // namespace llmgps::moe
