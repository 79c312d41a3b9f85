#include "llmgps/api/cost.hpp"

#include <fmt/format.h>

#include <cmath>

#include "llmgps/specs/error.hpp"

namespace llmgps::api {

namespace {

template <typename T>
void require_positive(T v, const char* field) {
  if (!(v > 0)) throw InputError(field, fmt::format("must be positive (got {})", v));
}

void require_bytes(double v, const char* field) {
  if (!(v > 0) || !std::isfinite(v)) throw InputError(field, "must be a positive number of bytes");
}

}  // namespace

void GemmRequest::validate() const {
  require_positive(shape.m, "gemm.m");
  require_positive(shape.n, "gemm.n");
  require_positive(shape.k, "gemm.k");
  require_positive(shape.batch, "gemm.batch");
}

GemmResult cost_gemm(const GemmRequest& r) {
  r.validate();
  const GpuSpec gpu = specs::load_system(r.hw).gpu;
  GemmShape shape = r.shape;
  if (!r.dtype.empty()) shape.dtype = resolve_dtype(r.dtype, gpu, false, "gemm.dtype");
  return {gpu, shape, gemm_cost(gpu, shape)};  // gemm_cost checks the GPU has the dtype
}

AttentionResult cost_attention(const AttentionRequest& r) {
  r.validate();
  const GpuSpec gpu = specs::load_system(r.hw).gpu;
  AttentionShape shape = r.shape;
  if (!r.dtype.empty()) shape.dtype = resolve_dtype(r.dtype, gpu, false, "attention.dtype");
  if (shape.impl.empty()) shape.impl = default_attention_impl(gpu);
  return {gpu, shape, attention_cost(gpu, shape)};
}

ElementwiseResult cost_elementwise(const ElementwiseRequest& r) {
  r.validate();
  const GpuSpec gpu = specs::load_system(r.hw).gpu;
  ElementwiseShape shape = r.shape;
  if (!r.dtype.empty()) shape.dtype = resolve_dtype(r.dtype, gpu, false, "elementwise.dtype");
  return {gpu.name, shape, elementwise_cost(gpu, shape)};
}

void AllreduceRequest::validate() const {
  const std::string what = collective_kind_name(collective);
  require_bytes(bytes, (what + ".bytes").c_str());
  if (gpus < 0)
    throw InputError(what + ".gpus", fmt::format("must not be negative (got {}; 0: all)", gpus));
}

AllreduceResult cost_allreduce(const AllreduceRequest& r) {
  r.validate();
  const SystemSpec sys = specs::load_system(r.system);
  return {sys.name, r.bytes, collective_cost(r.collective, sys, r.bytes, r.gpus, r.algo),
          r.collective, r.gpus > 0 ? r.gpus : sys.total_gpus()};
}

void AlltoallRequest::validate() const {
  require_bytes(bytes_per_gpu, "alltoall.bytes_per_gpu");
  if (gpus < 0)
    throw InputError("alltoall.gpus", fmt::format("must not be negative (got {}; 0: all)", gpus));
}

AlltoallResult cost_alltoall(const AlltoallRequest& r) {
  r.validate();
  const SystemSpec sys = specs::load_system(r.system);
  const int g = r.gpus > 0 ? r.gpus : sys.total_gpus();
  return {sys.name, g, r.skew, r.bytes_per_gpu,
          alltoall_cost(sys, skewed_alltoall_volume(g, r.bytes_per_gpu, r.skew))};
}

void DeepepRequest::validate() const {
  require_positive(shape.tokens_per_gpu, "ep_alltoall.tokens");
  require_positive(shape.hidden, "ep_alltoall.hidden");
  require_positive(shape.top_k, "ep_alltoall.top_k");
  require_positive(shape.experts, "ep_alltoall.experts");
  require_positive(shape.max_nodes_per_token, "ep_alltoall.max_nodes_per_token");
  if (shape.gpus < 0)
    throw InputError("ep_alltoall.gpus", fmt::format("must be positive (got {})", shape.gpus));
  if (shape.payload != DType::fp8 && shape.payload != DType::bf16)
    throw InputError("ep_alltoall.payload",
                     fmt::format("must be fp8 or bf16, got '{}'", dtype_name(shape.payload)));
}

DeepepResult cost_deepep(const DeepepRequest& r) {
  r.validate();
  const SystemSpec sys = specs::load_system(r.system);
  DeepepResult out;
  out.system = sys.name;
  out.mode = r.shape.mode;
  out.gpus = r.shape.gpus > 0 ? r.shape.gpus : sys.total_gpus();
  // The library checks the GPU count and expert placement (ep_alltoall.gpus, .experts).
  EpAllToAll a = r.shape;
  a.combine = false;
  out.dispatch = ep_alltoall_cost(sys, a);
  a.combine = true;
  a.payload = DType::bf16;  // DeepEP dispatches in the chosen payload and combines in BF16
  out.combine = ep_alltoall_cost(sys, a);
  return out;
}

void P2pRequest::validate() const {
  require_bytes(bytes, "p2p.bytes");
}

P2pResult cost_p2p(const P2pRequest& r) {
  r.validate();
  const SystemSpec sys = specs::load_system(r.system);
  return {sys.name, r.bytes, r.cross_node, p2p_cost(sys, r.bytes, r.cross_node)};
}

}  // namespace llmgps::api
