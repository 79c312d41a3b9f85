#pragma once
// Collectives over a system's links, the way NCCL runs them. For every algorithm the system can
// run (ring; NVLS, NVLink SHARP, where the switch reduces; across nodes NCCL's tree, a chain
// inside each node and trees of log2(nodes) hops between them, and NVLS-tree, NVLS inside and a
// tree between, pipelined) and every transport protocol (LL, LL128, Simple):
//   time = base latency + steps x step latency + bus bytes / (link bandwidth x link efficiency x
//          protocol payload fraction x links side by side, capped at the protocol's maximum)
// where between nodes a node's NICs (one per GPU) carry NCCL's channels side by side. Where the
// fabric reduces in its switches (InfiniBand SHARP) and NCCL's CollNet is on, CollNet-direct,
// CollNet-chain and NVLS across nodes send each NIC's share up the switch tree once and get the
// sum back, pipelined with the node's own part (below). NCCL's
// tuner picks the pair of least time with every channel; the pick is timed on the channels a
// small buffer really gets. A framework's serial hierarchical all-reduce (reduce-scatter,
// inter-node all-reduce, all-gather) runs only when asked for by name.
//
// MoE all-to-all, DeepEP-style (deepseek-ai/DeepEP): normal kernels send a token once per
// destination GPU (intra-node, NVLink) or once per destination node over RDMA and forward it over
// NVLink inside the node (node-limited routing: at most `max_nodes_per_token` nodes); low-latency
// kernels send every (token, expert) pair as its own message, over NVLink to the GPUs of their
// node (DeepEP's default) and over RDMA to the rest. Payloads are FP8 with per-128
// scales or BF16.
#include <cstdint>
#include <string>
#include <vector>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

enum class CollectiveAlgo {
  automatic,
  ring,
  hierarchical,
  nvls,
  nvls_tree,
  tree,
  collnet_direct,
  collnet_chain
};
CollectiveAlgo parse_collective_algo(const std::string& s, const std::string& where);
const char* collective_algo_name(CollectiveAlgo a);

// One algorithm NCCL's tuner weighed: its protocol of least tuner time, that time (every
// channel at work: what the tuner compares) and the time it really takes (a small buffer runs on
// fewer channels).
struct CollectiveCandidate {
  std::string algorithm, protocol;
  double time_s = 0, tuner_s = 0;
};

struct CollectiveCost : OpCost {
  // ring, tree, nvls, nvls-tree, collnet-direct, collnet-chain, hierarchical or local
  std::string algorithm;
  std::string protocol;  // LL, LL128, Simple
  double bus_bytes = 0;  // bytes each GPU moves per direction on the busiest link
  // Every algorithm the system could run for this call, in the order considered; the one of
  // least tuner_s is the choice (ties: the first).
  std::vector<CollectiveCandidate> candidates;
};

// All-reduce of `bytes` per GPU over `gpus` GPUs (0: all of the system). `algo` forces an
// algorithm (NCCL_ALGO); automatic takes NCCL's choice among those the system supports. nvls
// needs a link with NVLink SHARP (NVLS in one node; across nodes NVLS through the fabric's
// switches where CollNet is on, else NVLS-tree, which needs a Simple protocol on the inter-node
// link; nvls_tree forces NVLS-tree);
// hierarchical and tree need more than one node (and tree the links' tree latencies);
// collnet-direct and collnet-chain need a system with CollNet on (SystemSpec::collnet; direct
// also an NVSwitch inside the node) and Simple protocols on both links.
CollectiveCost allreduce_cost(const SystemSpec& sys, double bytes, int gpus = 0,
                              CollectiveAlgo algo = CollectiveAlgo::automatic);

// All-gather and reduce-scatter of a `bytes` buffer (nccl-tests' size: the gathered output, or
// the input reduced and scattered; each GPU owns bytes / gpus of it): NCCL's ring over every
// GPU (n - 1 steps) or, on one node with NVLink SHARP, NVLS. `algo` automatic, ring or nvls.
CollectiveCost allgather_cost(const SystemSpec& sys, double bytes, int gpus = 0,
                              CollectiveAlgo algo = CollectiveAlgo::automatic);
CollectiveCost reducescatter_cost(const SystemSpec& sys, double bytes, int gpus = 0,
                                  CollectiveAlgo algo = CollectiveAlgo::automatic);

// The three as one: kind by name (allreduce, allgather, reducescatter) and nccl-tests' bus
// bandwidth factor (2(n-1)/n for an all-reduce, (n-1)/n for the others).
enum class CollectiveKind { allreduce, allgather, reducescatter };
CollectiveKind parse_collective_kind(const std::string& s, const std::string& where);
// An algorithm name for collective `k`: all-gather and reduce-scatter take auto, ring or nvls.
CollectiveAlgo parse_collective_algo(CollectiveKind k, const std::string& s,
                                     const std::string& where);
const char* collective_kind_name(CollectiveKind k);
CollectiveCost collective_cost(CollectiveKind k, const SystemSpec& sys, double bytes, int gpus = 0,
                               CollectiveAlgo algo = CollectiveAlgo::automatic);
double busbw_factor(CollectiveKind k, int gpus);

// All-to-all with an explicit volume matrix: volume[i][j] = bytes GPU i sends to GPU j (the
// diagonal stays local and costs nothing). GPUs 0..g-1 map to nodes in blocks of gpus_per_node.
OpCost alltoall_cost(const SystemSpec& sys, const std::vector<std::vector<double>>& volume);

// Volume matrix for an all-to-all where every GPU sends `bytes_per_gpu` in total and the
// receivers are skewed: the hottest GPU receives `skew` times the mean share (skew in [1, G]).
std::vector<std::vector<double>> skewed_alltoall_volume(int gpus, double bytes_per_gpu,
                                                        double skew);

// Point-to-point copy of `bytes` between two GPUs (same node unless cross_node).
// `node_wide`: every GPU of the node copies across nodes at once, so each has its share of the
// node's NICs (SystemSpec::nics_per_gpu) instead of a whole NIC.
OpCost p2p_cost(const SystemSpec& sys, double bytes, bool cross_node = false,
                bool node_wide = false);

// --- Expert-parallel all-to-all (DeepEP) ---
// deepep_low_latency: DeepEP's default low-latency kernels, which reach GPUs of their own node
// over NVLink (Buffer(allow_nvlink_for_low_latency_mode=True), DeepEP #173); _rdma: the same
// kernels with every message over RDMA (allow_nvlink_for_low_latency_mode=False, and DeepEP's
// first release).
enum class EpAllToAllMode { deepep_normal, deepep_low_latency, deepep_low_latency_rdma };
EpAllToAllMode parse_ep_alltoall_mode(const std::string& s, const std::string& where);
const char* ep_alltoall_mode_name(EpAllToAllMode m);
bool is_low_latency(EpAllToAllMode m);

// Bytes one token's hidden state takes on the wire: FP8 with one fp32 scale per 128 values (the
// format DeepEP dispatches and vLLM's DP/EP prepare quantises to), else hidden x the type's size.
double token_payload_bytes(std::int64_t hidden, DType payload);

struct EpAllToAll {
  std::int64_t tokens_per_gpu = 0;
  std::int64_t hidden = 0;
  int top_k = 0;
  int experts = 0;
  int gpus = 0;                // 0: the whole system
  bool combine = false;        // false: dispatch
  DType payload = DType::fp8;  // fp8 (with one fp32 scale per 128 values) or bf16
  EpAllToAllMode mode = EpAllToAllMode::deepep_normal;
  int max_nodes_per_token = 4;  // node-limited routing (DeepSeek-V3: top-4 groups)
  // Skewed routing: the busiest GPU receives (dispatch) or sends (combine) port_skew times the
  // mean GPU's traffic; every other term stays as under balanced routing. 1: balanced.
  double port_skew = 1;
};

struct EpAllToAllCost : OpCost {
  double bytes_per_gpu = 0;  // on the bottleneck link
  // What DeepEP's own tests count per GPU as moved, the numerator of the bandwidth its README
  // reports (tests/test_intranode.py, test_internode.py, test_low_latency.py): one node, the
  // tokens received, the GPU's own included; across nodes, the (token, node) pairs deduplicated by
  // node, its own node included (a "logical" RDMA bandwidth); low-latency, every (token, expert)
  // message.
  double logical_bytes = 0;
  double nvlink_bytes = 0;    // per GPU
  double rdma_bytes = 0;      // per GPU
  double distinct_gpus = 0;   // expected destination GPUs per token (incl. its own)
  double distinct_nodes = 0;  // expected destination nodes per token (incl. its own)
};

// Expected number of distinct bins among `bins` equal bins of `items` items (experts) that k
// uniformly drawn distinct items touch: bins x (1 - C(items - items/bins, k) / C(items, k)).
double expected_distinct_bins(int items, int bins, int k);

EpAllToAllCost ep_alltoall_cost(const SystemSpec& sys, const EpAllToAll& a);

}  // namespace llmgps
