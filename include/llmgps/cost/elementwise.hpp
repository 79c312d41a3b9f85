#pragma once
// Memory-bound kernels (norms, softmax, activations, RoPE, residual adds, top-k): HBM traffic
// over achievable bandwidth, plus any extra passes served by L2, plus launch overhead.
#include <cstdint>
#include <string>

#include "llmgps/cost/op_cost.hpp"
#include "llmgps/specs/hw.hpp"

namespace llmgps {

enum class ElementwiseKind {
  copy,
  add,
  activation,
  gated_activation,
  rmsnorm,
  layernorm,
  softmax,
  rope,
  topk
};

struct ElementwiseShape {
  ElementwiseKind kind = ElementwiseKind::copy;
  std::int64_t rows = 1;
  std::int64_t cols = 1;
  DType dtype = DType::fp16;
};

// Memory passes of a kernel kind over its input: reads and writes that reach HBM, and re-reads
// expected to hit L2 (rows stay resident between the statistics pass and the normalising pass).
struct ElementwiseTraffic {
  double hbm_reads = 1;
  double hbm_writes = 1;
  double l2_rereads = 0;
  double flops_per_element = 1;
};
ElementwiseTraffic elementwise_traffic(ElementwiseKind kind);
ElementwiseKind parse_elementwise_kind(const std::string& text, const std::string& where);
const char* elementwise_name(ElementwiseKind kind);

OpCost elementwise_cost(const GpuSpec& gpu, const ElementwiseShape& shape);

}  // namespace llmgps
