#pragma once
// Replica placement: which GPU slots hold which experts (with popular experts duplicated) so that
// the GPUs' expert loads even out. Two planners:
//  - EPLB (DeepSeek's rebalance_experts): give each extra replica to the expert with the largest
//    load per replica, then pack replicas onto GPUs (heaviest first into the lightest pack with
//    room), hierarchically (expert groups to nodes, replicas within nodes) when the groups divide
//    over the nodes, globally otherwise. Output is bit-for-bit EPLB's phy2log / log2phy / logcnt.
//  - Greedy halving (MoE-GPS Algorithm 1): start from the contiguous placement, repeatedly copy the
//    busiest GPU's top expert to the least-loaded GPU and move half the load gap, until loads
//    differ by at most one token or no copy is allowed (slots, copies per expert).
#include <algorithm>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace llmgps::moe {

using LoadMatrix = std::vector<std::vector<double>>;  // [layer][expert] tokens (or shares)

// Replica planners: greedy halving on modelled GPU time (ours), greedy on tokens (MoE-GPS) and
// DeepSeek's EPLB.
enum class Planner { greedy_time, greedy, eplb };
const char* planner_name(Planner p);
Planner parse_planner(const std::string& s, const std::string& where);

struct ReplicaPlan {
  int gpus = 0;
  int slots_per_gpu = 0;                  // physical slots = gpus * slots_per_gpu
  std::vector<std::vector<int>> phy2log;  // [layer][slot]: expert held, -1 = empty slot
  std::vector<std::vector<int>> phyrank;  // [layer][slot]: replica index of that expert
  std::vector<std::vector<int>> logcnt;   // [layer][expert]: replicas of the expert
  // log2phy, kept compactly: per layer, the slots of each expert's replicas in rank order, grouped
  // by expert (log2phy_slots, [layer][slot]), and where each expert's group starts
  // (log2phy_begin, [layer][expert + 1]). max_logcnt is the width of EPLB's padded log2phy tensor,
  // the largest replica count of any expert in any layer (DeepSeek's logcnt.max()), which
  // log2phy_nested() produces.
  int max_logcnt = 1;
  std::vector<int> log2phy_slots;
  std::vector<int> log2phy_begin;
  // Fraction of an expert's tokens each slot serves (EPLB: 1 / logcnt; greedy: what it moved).
  std::vector<std::vector<double>> slot_share;

  int layers() const { return int(phy2log.size()); }
  int experts() const { return logcnt.empty() ? 0 : int(logcnt[0].size()); }
  int slots() const { return gpus * slots_per_gpu; }
  // The slot of replica r of expert e in layer l (-1 when r >= logcnt).
  int log2phy(int l, int e, int r) const {
    const int* begin = log2phy_begin.data() + std::size_t(l) * std::size_t(experts() + 1);
    return r < begin[e + 1] - begin[e]
               ? log2phy_slots[std::size_t(l) * std::size_t(slots()) + std::size_t(begin[e] + r)]
               : -1;
  }
  std::vector<std::vector<std::vector<int>>> log2phy_nested() const;
  int gpu_of_slot(int slot) const { return slot / slots_per_gpu; }
};

struct EplbConfig {
  int num_replicas = 0;  // physical experts in all (multiple of num_gpus, >= experts)
  int num_groups = 1;    // expert groups (DeepSeek-V3: 8); must divide the experts
  int num_nodes = 1;
  int num_gpus = 1;  // multiple of num_nodes
  int threads = 0;  // 0: the machine's cores when the work is large; the result never depends on it
};

// EPLB's policy, as DeepSeek's rebalance_experts chooses it: hierarchical (groups to nodes, then
// replicas within each node) when the groups divide over the nodes, else one global pool.
bool eplb_hierarchical(const EplbConfig& cfg);

// Throws InputError naming the parameter when the shapes are inconsistent.
ReplicaPlan eplb_plan(const LoadMatrix& loads, const EplbConfig& cfg);
// The same on float32 loads, [layer][expert] row-major with `experts` per layer (what DeepSeek's
// weight.float() holds; no conversion).
ReplicaPlan eplb_plan(std::span<const float> loads, int experts, const EplbConfig& cfg);

struct GreedyConfig {
  int gpus = 1;
  int slots_per_gpu = 1;          // >= experts / gpus
  int max_copies_per_expert = 0;  // 0: no limit beyond slots
  double tolerance_tokens = 1.0;  // stop when max - min GPU load <= this
  // Optional cost model: a GPU's expert time for the tokens of its slots. When set, the planner
  // balances time instead of tokens and keeps a copy only if it makes the busiest GPU faster
  // (a replica's weight read can cost more than the tokens it takes over).
  std::function<double(const std::vector<double>& slot_tokens)> gpu_time;
};
ReplicaPlan greedy_plan(const LoadMatrix& loads, const GreedyConfig& cfg);

// Replace layer l of `dst` with layer l of `src` (plans of the same GPUs, slots and experts).
void copy_layer(ReplicaPlan& dst, const ReplicaPlan& src, int l);

// Without duplication: experts in contiguous blocks of experts / gpus per GPU.
ReplicaPlan contiguous_plan(int layers, int experts, int gpus);

// Where experts live before any replica: contiguous blocks, E mod G GPUs holding one more when the
// GPUs do not divide the experts (the placement estimate and advise assume).
struct HomePlacement {
  int experts = 0, gpus = 0;
  int most() const { return (experts + gpus - 1) / gpus; }  // experts on the fullest GPU
  int count(int g) const { return experts / gpus + (g < experts % gpus ? 1 : 0); }
  int first(int g) const { return g * (experts / gpus) + std::min(g, experts % gpus); }
  int gpu_of(int e) const {
    const int big = experts % gpus, lo = experts / gpus;
    return e < big * (lo + 1) ? e / (lo + 1) : big + (e - big * (lo + 1)) / lo;
  }
};

// gpu_loads[l][g]: tokens (load units) GPU g serves in layer l when `loads` is routed through the
// plan (each expert's load split over its replicas by slot_share).
std::vector<std::vector<double>> gpu_loads(const ReplicaPlan& plan, const LoadMatrix& loads);
// EPLB's balancedness: mean over layers of (mean GPU load / max GPU load); 1 = perfect.
double balancedness(const ReplicaPlan& plan, const LoadMatrix& loads);

// Invariant check used by tests and the CLI after planning: every expert keeps a replica, no GPU
// exceeds its slots, log2phy/phy2log/logcnt agree and shares of each expert sum to 1. Returns an
// empty string when the plan is sound, else what is wrong.
std::string check_plan(const ReplicaPlan& plan, int experts);

}  // namespace llmgps::moe
