#pragma once
// Collectives over a system's links, NCCL-style: for each transport protocol (LL, LL128, Simple)
// time = steps * (hop + protocol latency) + bytes on the busiest link / (bandwidth * protocol
// fraction), and the fastest protocol is taken, as NCCL's tuner does.
#include <vector>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

// Ring all-reduce of `bytes` per GPU over `gpus` GPUs (0: all of the system). Across nodes:
// reduce-scatter inside each node, all-reduce between nodes, all-gather inside.
OpCost allreduce_cost(const SystemSpec& sys, double bytes, int gpus = 0);

// All-to-all with an explicit volume matrix: volume[i][j] = bytes GPU i sends to GPU j (the
// diagonal stays local and costs nothing). GPUs 0..g-1 map to nodes in blocks of gpus_per_node.
OpCost alltoall_cost(const SystemSpec& sys, const std::vector<std::vector<double>>& volume);

// Volume matrix for an all-to-all where every GPU sends `bytes_per_gpu` in total and the
// receivers are skewed: the hottest GPU receives `skew` times the mean share (skew in [1, G]).
std::vector<std::vector<double>> skewed_alltoall_volume(int gpus, double bytes_per_gpu, double skew);

// Point-to-point copy of `bytes` between two GPUs (same node unless cross_node).
OpCost p2p_cost(const SystemSpec& sys, double bytes, bool cross_node = false);

}  // namespace llmgps
