#pragma once
// `cost gemm|attention|elementwise|allreduce|alltoall|deepep|p2p` as library calls: one
// operation's cost on a GPU or system named by preset or file. Each request's validate() checks
// what needs no file (the CLI's dry run stops there); each call validates, loads the spec, costs.
// Errors name the request field ("gemm.m", "allreduce.bytes").
#include <string>

#include "llmgps/cost/attention.hpp"
#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps::api {

// dtype in the cost requests: "auto" applies default_dtype (bf16 where the GPU has it: one kernel
// is not an FP8-typical workload), another name sets shape.dtype, empty keeps shape.dtype.
struct GemmRequest {
  std::string hw;  // GPU preset or hardware JSON
  GemmShape shape;
  std::string dtype;
  void validate() const;
};
struct GemmResult {
  GpuSpec gpu;
  GemmShape shape;
  GemmCost cost;
};
GemmResult cost_gemm(const GemmRequest& r);

struct AttentionRequest {
  std::string hw;
  AttentionShape shape;  // impl "": the GPU's default (fa3 on Hopper, else fa2), as estimate's
  std::string dtype;
  void validate() const {}
};
struct AttentionResult {
  GpuSpec gpu;
  AttentionShape shape;
  AttentionCost cost;
};
AttentionResult cost_attention(const AttentionRequest& r);

struct ElementwiseRequest {
  std::string hw;
  ElementwiseShape shape;
  std::string dtype;
  void validate() const {}
};
struct ElementwiseResult {
  std::string gpu;
  ElementwiseShape shape;  // as costed (dtype resolved)
  OpCost cost;
};
ElementwiseResult cost_elementwise(const ElementwiseRequest& r);

// An all-reduce, all-gather or reduce-scatter (`collective`); errors name "<collective>.bytes".
struct AllreduceRequest {
  std::string system;  // system preset or JSON
  double bytes = 0;    // per GPU (all-gather: the gathered buffer; reduce-scatter: the input)
  int gpus = 0;        // 0: every GPU of the system
  CollectiveAlgo algo = CollectiveAlgo::automatic;
  CollectiveKind collective = CollectiveKind::allreduce;
  void validate() const;
};
struct AllreduceResult {
  std::string system;
  double bytes = 0;
  CollectiveCost cost;
  CollectiveKind collective = CollectiveKind::allreduce;
  int gpus = 0;
  double algbw_bytes_per_s() const { return cost.time_s > 0 ? bytes / cost.time_s : 0.0; }
  double busbw_bytes_per_s() const { return algbw_bytes_per_s() * busbw_factor(collective, gpus); }
};
AllreduceResult cost_allreduce(const AllreduceRequest& r);

struct AlltoallRequest {
  std::string system;
  double bytes_per_gpu = 0;  // each GPU sends in total
  double skew = 1.0;         // max/mean received share, in [1, gpus]
  int gpus = 0;              // 0: every GPU of the system
  void validate() const;
};
struct AlltoallResult {
  std::string system;
  int gpus = 0;
  double skew = 1;
  double bytes_per_gpu = 0;
  OpCost cost;
};
AlltoallResult cost_alltoall(const AlltoallRequest& r);

struct DeepepRequest {
  std::string system;
  EpAllToAll shape;  // `payload` is the dispatch's (fp8 or bf16); the combine is always BF16
  void validate() const;
};
struct DeepepResult {
  std::string system;
  EpAllToAllMode mode = EpAllToAllMode::deepep_normal;
  int gpus = 0;
  EpAllToAllCost dispatch, combine;
};
DeepepResult cost_deepep(const DeepepRequest& r);

struct P2pRequest {
  std::string system;
  double bytes = 0;
  bool cross_node = false;
  void validate() const;
};
struct P2pResult {
  std::string system;
  double bytes = 0;
  bool cross_node = false;
  OpCost cost;
};
P2pResult cost_p2p(const P2pRequest& r);

}  // namespace llmgps::api
