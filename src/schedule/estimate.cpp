#include "llmgps/schedule/estimate.hpp"

#include <algorithm>
#include <cmath>
#include <map>

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
      return slice(allreduce_cost(sys, op.comm_bytes, op.comm_gpus));
    case OpKind::alltoall:
      return alltoall_cost(sys, op.volume);
  }
  return {};
}

StepEstimate estimate_step(const ModelSpec& model, const SystemSpec& sys, const StepConfig& cfg) {
  StepEstimate est;
  est.plan = build_step(model, sys, cfg);
  auto& by_bound = est.time_by_bound;  // a handful of resources: a linear search beats a map
  est.ops.reserve(est.plan.ops.size());
  for (const Op& op : est.plan.ops) {
    OpEstimate e;
    e.name = op.name;
    e.stage = op.stage;
    e.count = op.count;
    e.each = cost_of(op, sys);
    e.time_s = e.each.time_s * op.count;
    est.total_s += e.time_s;
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
  Timeline tl;
  int prev = -1;
  auto add = [&](const OpEstimate& op) {
    std::vector<int> deps;
    if (prev >= 0) deps.push_back(prev);  // one GPU runs its ops in order, communication included
    prev = tl.add(op.name, op.stage, op.each.bound == "link" ? 1 : 0, op.each.time_s, deps);
  };
  for (int layer = 0; layer < model.layers; ++layer) {
    const bool moe = model.is_moe_layer(layer);
    for (const auto& op : est.ops) {
      if (op.stage == "head") continue;
      if ((op.stage == "moe" && !moe) || (op.stage == "ffn" && op.name != "ffn_norm" && moe))
        continue;
      int reps = op.name == "residual_add" ? 2 : 1;
      for (int r = 0; r < reps; ++r) add(op);
    }
  }
  for (const auto& op : est.ops)
    if (op.stage == "head") add(op);
  tl.run();
  return tl.chrome_trace_json({"gpu0 compute", "gpu0 communication"});
}

}  // namespace llmgps
