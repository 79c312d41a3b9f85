#include "llmgps/schedule/estimate.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "llmgps/cost/collective.hpp"
#include "llmgps/schedule/timeline.hpp"

namespace llmgps {

namespace {
// The OpCost part of a richer cost, its strings moved rather than copied.
template <typename Cost>
OpCost slice(Cost&& c) {
  return OpCost(static_cast<OpCost&&>(c));
}
}  // namespace

OpCost cost_of(const Op& op, const SystemSpec& sys) {
  switch (op.kind) {
    case OpKind::gemm:
      return slice(gemm_cost(sys.gpu, op.gemm));
    case OpKind::grouped_gemm: {
      const double lo = std::floor(op.groups), frac = op.groups - lo;
      auto at = [&](double g) {
        return grouped_gemm_cost(
            sys.gpu, GroupedGemmShape::uniform(std::int64_t(g), op.rows_per_group, op.gemm.n,
                                               op.gemm.k, op.gemm.dtype));
      };
      GemmCost c = at(std::max(1.0, lo));
      if (frac > 1e-9 && lo >= 1) {
        const GemmCost hi = at(lo + 1);
        c.time_s += frac * (hi.time_s - c.time_s);
        c.flops += frac * (hi.flops - c.flops);
        c.hbm_bytes += frac * (hi.hbm_bytes - c.hbm_bytes);
      }
      return slice(std::move(c));
    }
    case OpKind::attention:
      return slice(attention_cost(sys.gpu, op.attn));
    case OpKind::decode_attention:
      return slice(decode_attention_cost(sys.gpu, op.attn));
    case OpKind::elementwise:
      return elementwise_cost(sys.gpu, op.elem);
    case OpKind::allreduce:
      return slice(collective_cost(op.comm_kind, sys, op.comm_bytes, op.comm_gpus));
    case OpKind::alltoall:
      return alltoall_cost(sys, op.volume);
    case OpKind::ep_alltoall: {
      OpCost c = slice(ep_alltoall_cost(sys, op.ep));
      c.detail = c.bound + " binds; " + c.detail;
      c.bound = "link";  // a collective, whichever link binds (the detail says)
      return c;
    }
  }
  return {};
}

ErrorClass error_class_of(const Op& op) {
  switch (op.kind) {
    case OpKind::gemm:
      return ErrorClass::gemm;
    case OpKind::grouped_gemm:
      return ErrorClass::grouped_gemm;
    case OpKind::attention:
    case OpKind::decode_attention:
      return op.attn.dtype == DType::fp8 ? ErrorClass::attention_fp8 : ErrorClass::attention;
    case OpKind::elementwise:
      return ErrorClass::elementwise;
    case OpKind::allreduce:
      return op.comm_kind == CollectiveKind::allreduce ? ErrorClass::allreduce
                                                       : ErrorClass::allgather_reducescatter;
    case OpKind::alltoall:
      return ErrorClass::alltoall;
    case OpKind::ep_alltoall:
      return is_low_latency(op.ep.mode) ? ErrorClass::deepep_low_latency
                                        : ErrorClass::deepep_normal;
  }
  return ErrorClass::gemm;
}

StepEstimate estimate_step(const ModelSpec& model, const SystemSpec& system,
                           const StepConfig& cfg) {
  // Copied only when graphs change the launch gap (estimates are benchmarked per call).
  std::optional<SystemSpec> graphed;
  if (cfg.cuda_graphs) graphed = with_cuda_graphs(system);
  const SystemSpec& sys = graphed ? *graphed : system;
  StepEstimate est;
  est.plan = build_step(model, sys, cfg);
  est.model_error = specs::model_error_for(sys.gpu);
  auto& by_bound = est.time_by_bound;  // a handful of resources: a linear search beats a map
  est.ops.reserve(est.plan.ops.size());
  for (const Op& op : est.plan.ops) {
    OpEstimate e;
    e.name = op.name;
    e.stage = op.stage;
    e.count = op.count;
    e.each = cost_of(op, sys);
    e.time_s = e.each.time_s * op.count;
    e.band_s = e.time_s * est.model_error.of(error_class_of(op));
    est.total_s += e.time_s;
    est.band_s += e.band_s;
    est.flops_per_gpu += e.each.flops * op.count;
    auto slot = std::find_if(by_bound.begin(), by_bound.end(),
                             [&](const auto& b) { return b.first == e.each.bound; });
    if (slot == by_bound.end())
      by_bound.emplace_back(e.each.bound, e.time_s);
    else
      slot->second += e.time_s;
    est.ops.push_back(std::move(e));
  }
  // Largest first; equal times in name order (as the map this replaced gave them).
  std::sort(by_bound.begin(), by_bound.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  return est;
}

std::string step_chrome_trace(const StepEstimate& est, const ModelSpec& model) {
  // The GPUs of one tensor-parallel group (every group runs the same sequence). Each runs the
  // step's ops layer by layer: kernels on its compute stream, collectives on its communication
  // stream, each op after that GPU's previous one, a collective after every member's previous op.
  const int gpus = std::max(1, est.plan.tp);
  Timeline tl;
  std::vector<int> prev(std::size_t(gpus), -1);
  auto add = [&](const OpEstimate& op, int layer) {
    const bool comm = op.each.bound == "link";
    std::vector<int> now(prev.size());
    for (int g = 0; g < gpus; ++g) {
      TimelineOp t;
      t.name = layer >= 0 ? fmt::format("L{} {}", layer, op.name) : op.name;
      t.category = op.stage;
      t.gpu = g;
      t.stream = comm ? 1 : 0;
      t.duration_s = op.each.time_s;
      t.bound = op.each.bound;
      t.flops = op.each.flops;
      t.bytes = comm ? op.each.comm_bytes : op.each.hbm_bytes;
      if (comm) {
        for (int p : prev)
          if (p >= 0) t.deps.push_back(p);
      } else if (prev[std::size_t(g)] >= 0) {
        t.deps.push_back(prev[std::size_t(g)]);
      }
      now[std::size_t(g)] = tl.add(std::move(t));
    }
    prev = now;
  };
  for (int layer = 0; layer < model.layers; ++layer) {
    const bool moe = model.is_moe_layer(layer);
    for (const auto& op : est.ops) {
      if (op.stage == "head") continue;
      if ((op.stage == "moe" && !moe) || (op.stage == "ffn" && op.name != "ffn_norm" && moe))
        continue;
      int reps = op.name == "residual_add" ? 2 : 1;
      for (int r = 0; r < reps; ++r) add(op, layer);
    }
  }
  for (const auto& op : est.ops)
    if (op.stage == "head") add(op, -1);
  tl.run();
  return tl.chrome_trace_json({"compute", "communication"});
}

}  // namespace llmgps
