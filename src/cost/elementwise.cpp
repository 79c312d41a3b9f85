#include "llmgps/cost/elementwise.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "llmgps/common/fixed.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps {

ElementwiseTraffic elementwise_traffic(ElementwiseKind kind) {
  switch (kind) {
    case ElementwiseKind::copy:
      return {1, 1, 0, 0};
    case ElementwiseKind::add:
      return {2, 1, 0, 1};
    case ElementwiseKind::activation:
      return {1, 1, 0, 8};
    case ElementwiseKind::gated_activation:
      return {2, 1, 0, 6};  // silu(gate) * up
    // Norms keep a row in registers between the statistics and the normalising step (PyTorch's
    // vectorised layer_norm, Apex/FlashInfer rmsnorm): one read, one write.
    case ElementwiseKind::rmsnorm:
      return {1, 1, 0, 4};
    case ElementwiseKind::layernorm:
      return {1, 1, 0, 6};
    // Softmax reads its input twice from DRAM (max/sum pass, then the normalising pass: rows of a
    // whole wave do not stay in L2 between them) plus a re-read of the statistics from L2.
    case ElementwiseKind::softmax:
      return {2, 1, 1, 5};
    case ElementwiseKind::rope:
      return {1, 1, 0, 6};
    case ElementwiseKind::topk:
      return {1, 0, 0, 2};
  }
  return {1, 1, 0, 1};
}

const char* elementwise_name(ElementwiseKind kind) {
  switch (kind) {
    case ElementwiseKind::copy:
      return "copy";
    case ElementwiseKind::add:
      return "add";
    case ElementwiseKind::activation:
      return "activation";
    case ElementwiseKind::gated_activation:
      return "gated_activation";
    case ElementwiseKind::rmsnorm:
      return "rmsnorm";
    case ElementwiseKind::layernorm:
      return "layernorm";
    case ElementwiseKind::softmax:
      return "softmax";
    case ElementwiseKind::rope:
      return "rope";
    case ElementwiseKind::topk:
      return "topk";
  }
  return "?";
}

ElementwiseKind parse_elementwise_kind(const std::string& text, const std::string& where) {
  for (auto k :
       {ElementwiseKind::copy, ElementwiseKind::add, ElementwiseKind::activation,
        ElementwiseKind::gated_activation, ElementwiseKind::rmsnorm, ElementwiseKind::layernorm,
        ElementwiseKind::softmax, ElementwiseKind::rope, ElementwiseKind::topk})
    if (text == elementwise_name(k)) return k;
  throw InputError(where, "unknown kernel kind '" + text +
                              "' (expected copy, add, activation, gated_activation, rmsnorm, "
                              "layernorm, softmax, rope, topk)");
}

OpCost elementwise_cost(const GpuSpec& gpu, const ElementwiseShape& s) {
  if (s.rows <= 0)
    throw InputError("elementwise.rows", "must be positive (got " + std::to_string(s.rows) + ")");
  if (s.cols <= 0)
    throw InputError("elementwise.cols", "must be positive (got " + std::to_string(s.cols) + ")");
  ElementwiseTraffic t = elementwise_traffic(s.kind);
  // A norm row longer than one CTA can hold in registers falls back to a two-pass kernel that
  // reads the row from DRAM again (PyTorch's layer_norm: 16 KB rows and longer).
  constexpr double kNormRowInRegistersBytes = 16384;
  const bool norm = s.kind == ElementwiseKind::layernorm || s.kind == ElementwiseKind::rmsnorm;
  if (norm && double(s.cols) * dtype_bytes(s.dtype) > kNormRowInRegistersBytes) t.hbm_reads += 1;
  const double elems = double(s.rows) * double(s.cols);
  const double b = dtype_bytes(s.dtype);
  OpCost c;
  c.flops = elems * t.flops_per_element;
  c.hbm_bytes = elems * b * (t.hbm_reads + t.hbm_writes);
  const double hbm_s = c.hbm_bytes / (gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency);
  const double l2_s = elems * b * t.l2_rereads / (gpu.l2_bw_bytes_per_s * gpu.l2_efficiency);
  const double mem_s = hbm_s + l2_s;
  const double body = std::max(mem_s, gpu.elementwise_min_time_s);
  c.time_s = gpu.launch_overhead_s + body;
  c.bound = body == mem_s ? "hbm" : "launch";
  c.detail =
      std::string(elementwise_name(s.kind)) + ": " + fixed(c.hbm_bytes / 1e6, 2) + " MB from HBM";
  return c;
}

}  // namespace llmgps
