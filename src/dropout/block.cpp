#include "llmgps/dropout/block.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "llmgps/cost/elementwise.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/dropout/rng_cost.hpp"
#include "llmgps/schedule/timeline.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/workload/layer.hpp"

namespace llmgps::dropout {

Scope parse_scope(const std::string& s, const std::string& where) {
  if (s == "fwd") return Scope::fwd;
  if (s == "train") return Scope::train;
  throw InputError(where, "must be 'fwd' or 'train', got '" + s + "'");
}
const char* scope_name(Scope s) {
  return s == Scope::fwd ? "fwd" : "train";
}

namespace {

struct Gemm {
  std::string name;
  std::string pass;
  GemmShape shape;
  GemmCost cost;
  int layer_offset = 0;  // as a host: 0 before attention, -1 after (see HostShare)
};

BlockOp op_of(const std::string& name, const std::string& pass, const OpCost& c) {
  return BlockOp{name, pass, c.time_s, c.bound, c.detail, 0, c.flops, c.hbm_bytes};
}

void check_block(const ModelSpec& m, const GpuSpec& gpu, const BlockConfig& cfg) {
  if (m.is_moe())
    throw InputError(
        "block.model",
        fmt::format(
            "'{}' is a mixture-of-experts model; the dropout block is a dense Llama-style block",
            m.name));
  if (m.is_mla())
    throw InputError(
        "block.model",
        fmt::format("'{}' uses latent attention; the dropout block models standard attention",
                    m.name));
  if (cfg.batch <= 0)
    throw InputError("block.batch", fmt::format("must be positive (got {})", cfg.batch));
  if (cfg.seq <= 0)
    throw InputError("block.seq", fmt::format("must be positive (got {})", cfg.seq));
  keep_threshold(cfg.rng);
  if (!gpu.supports(cfg.dtype))
    throw InputError("block.dtype",
                     fmt::format("GPU '{}' has no {} support", gpu.name, dtype_name(cfg.dtype)));
}

// The block's forward ops on one GPU, from the one layer builder: the attention sub-block, the
// residual and norm between, the gated FFN and the last residual.
std::vector<Op> forward_ops(const ModelSpec& m, const GpuSpec& gpu, const BlockConfig& cfg) {
  LayerShape s;
  s.batch = cfg.batch;
  s.seq = cfg.seq;
  s.dtype = cfg.dtype;
  s.attn_impl = cfg.attn_impl.empty() ? default_attention_impl(gpu) : cfg.attn_impl;
  const std::int64_t T = s.tokens(), h = m.hidden_size;
  const DType act = activation_dtype(cfg.dtype);
  std::vector<Op> ops;
  add_attention_ops(ops, m, s);
  ops.push_back(elem_op("residual", "attention", 1, ElementwiseKind::add, T, h, act));
  ops.push_back(elem_op("ffn_norm", "ffn", 1, ElementwiseKind::rmsnorm, T, h, act));
  add_gated_ffn_ops(ops, m, s, "", "ffn", 1, m.ffn_dim);
  ops.push_back(elem_op("residual", "ffn", 1, ElementwiseKind::add, T, h, act));
  return ops;
}

// Attention without dropout, with the RNG fused, and reading a precomputed mask, forward and
// backward; and the RNG kernel that makes the mask.
void cost_attention_variants(BlockResult& r, const GpuSpec& gpu, const AttentionShape& a,
                             const DropoutRng& rng, const DropoutRng& fused) {
  AttentionShape ab = a;
  ab.pass = AttnPass::bwd;
  if (a.dtype == DType::fp8) ab.dtype = DType::bf16;  // FA3 ships FP8 forward only
  r.attention_fwd_none = attention_cost(gpu, a);
  r.attention_bwd_none = attention_cost(gpu, ab);
  AttentionShape af = a, abf = ab, am = a, abm = ab;
  af.extra = abf.extra = fused_rng_work(gpu, fused);
  am.extra = abm.extra = mask_read_work();
  r.attention_fwd_fused = attention_cost(gpu, af);
  r.attention_bwd_fused = attention_cost(gpu, abf);
  r.attention_fwd_mask = attention_cost(gpu, am);
  r.attention_bwd_mask = attention_cost(gpu, abm);
  // The mask covers the score tiles attention visits (a causal kernel skips the rest).
  r.rng_elements = r.attention_fwd_none.scores;
  r.rng_alone = kernel_alone(gpu, rng_kernel(gpu, r.rng_elements, rng));
}

// The host GEMM(s) for the overlap. Either one host takes the whole RNG kernel, or (when the mask
// outgrows every single GEMM) the mask is split over all forward GEMMs in proportion to their
// time; the cheaper plan wins. The RNG kernel's CTA size is ours to choose: the largest of 256 /
// 128 / 64 threads that can share an SM with the host (register-hungry GEMMs leave room only for
// small CTAs).
void choose_hosts(BlockResult& r, const GpuSpec& gpu, const std::vector<Gemm>& fwd_gemms,
                  const BlockConfig& cfg) {
  auto pair_with = [&](const Gemm& g, double fraction, KernelSpec* used) {
    const KernelSpec host = gemm_kernel_spec(gpu, g.name, g.cost, cfg.dtype);
    PairTime best;
    bool have = false;
    for (int threads : {256, 128, 64}) {
      KernelSpec k = rng_kernel(gpu, r.rng_elements * fraction, cfg.rng, threads);
      const PairTime pt = kernels_together(gpu, host, k);
      if (!have || (pt.co_resident && !best.co_resident)) {
        best = pt, have = true;
        if (used) *used = k;
      }
      if (pt.co_resident) break;
    }
    return best;
  };
  double best_added = std::numeric_limits<double>::infinity();
  for (const Gemm& g : fwd_gemms) {
    KernelSpec used;
    const PairTime pt = pair_with(g, 1.0, &used);
    const double added = pt.time_s - g.cost.time_s;
    if (added < best_added) {
      best_added = added;
      r.hosts = {HostShare{g.name, 1.0, pt, kernel_alone(gpu, used).time_s, g.layer_offset}};
    }
  }
  double total_gemm = 0;
  for (const Gemm& g : fwd_gemms) total_gemm += g.cost.time_s;
  std::vector<HostShare> split;
  double split_added = 0;
  for (const Gemm& g : fwd_gemms) {
    const double f = g.cost.time_s / total_gemm;
    KernelSpec part;
    const PairTime pt = pair_with(g, f, &part);
    split_added += pt.time_s - g.cost.time_s;
    split.push_back(HostShare{g.name, f, pt, kernel_alone(gpu, part).time_s, g.layer_offset});
  }
  if (split_added < best_added) r.hosts = split;
  const auto biggest = std::max_element(
      r.hosts.begin(), r.hosts.end(),
      [](const HostShare& x, const HostShare& y) { return x.fraction < y.fraction; });
  r.host_pair = biggest->pair;
  r.host_gemm.clear();
  for (const HostShare& hs : r.hosts) r.host_gemm += (r.host_gemm.empty() ? "" : "+") + hs.gemm;
}

enum class Schedule { none, fused, sequential, overlapped };
const char* schedule_name(Schedule k) {
  switch (k) {
    case Schedule::none:
      return "none";
    case Schedule::fused:
      return "fused";
    case Schedule::sequential:
      return "sequential";
    case Schedule::overlapped:
      return "overlapped";
  }
  return "?";
}

// One strategy's block: the forward ops in order (the RNG kernel alone before attention when
// sequential, beside its host GEMMs when overlapped), then in training the backward in reverse,
// each GEMM as dgrad (M = T) and wgrad (M = its N, K = T), elementwise backward reading the
// saved input and the incoming gradient.
BlockStrategy schedule(Schedule kind, const BlockResult& r, const std::vector<Op>& fwd,
                       const std::vector<Gemm>& fwd_gemms, const std::vector<Gemm>& bwd_gemms,
                       const GpuSpec& gpu, const BlockConfig& cfg) {
  BlockStrategy s;
  s.name = schedule_name(kind);
  const AttentionCost& af = kind == Schedule::none    ? r.attention_fwd_none
                            : kind == Schedule::fused ? r.attention_fwd_fused
                                                      : r.attention_fwd_mask;
  const AttentionCost& ab = kind == Schedule::none    ? r.attention_bwd_none
                            : kind == Schedule::fused ? r.attention_bwd_fused
                                                      : r.attention_bwd_mask;
  auto add_gemm = [&](const Gemm& g) {
    BlockOp o = op_of(g.name, g.pass, g.cost);
    if (kind == Schedule::overlapped && g.pass == "fwd")
      for (const HostShare& hs : r.hosts)
        if (hs.gemm == g.name) {
          s.ops.push_back(
              BlockOp{"rng_mask", "fwd", hs.rng_alone_s, r.rng_alone.bound,
                      fmt::format("{:.0f}% of the mask beside {}", 100 * hs.fraction, g.name), 1});
          o.time_s = hs.pair.time_s;
          o.detail += "; with rng_mask: " + hs.pair.detail;
        }
    s.ops.push_back(o);
  };
  auto gemm_of = [&](const std::string& name) -> const Gemm& {
    const auto& list = name.find("grad") == std::string::npos ? fwd_gemms : bwd_gemms;
    return *std::find_if(list.begin(), list.end(), [&](const Gemm& g) { return g.name == name; });
  };
  auto elem = [&](const Op& op, std::int64_t cols_factor, const std::string& name,
                  const std::string& pass) {
    ElementwiseShape e = op.elem;
    e.cols *= cols_factor;
    s.ops.push_back(op_of(name, pass, elementwise_cost(gpu, e)));
  };
  for (const Op& op : fwd) {
    if (op.kind == OpKind::gemm) {
      add_gemm(gemm_of(op.name));
    } else if (op.kind == OpKind::attention) {
      if (kind == Schedule::sequential)
        s.ops.push_back(
            BlockOp{"rng_mask", "fwd", r.rng_alone.time_s, r.rng_alone.bound, "standalone", 0});
      s.ops.push_back(op_of("attention", "fwd", af));
    } else {
      elem(op, 1, op.name, "fwd");
    }
  }
  if (cfg.scope == Scope::train) {
    auto grads = [&](const Gemm& g) {
      add_gemm(gemm_of(g.name + "_dgrad"));
      add_gemm(gemm_of(g.name + "_wgrad"));
    };
    // Backward of every forward op but the residual adds (their gradient passes through), in
    // reverse; norms and the activation read twice the data (input and incoming gradient).
    for (auto it = fwd.rbegin(); it != fwd.rend(); ++it) {
      if (it->kind == OpKind::gemm)
        grads(gemm_of(it->name));
      else if (it->kind == OpKind::attention)
        s.ops.push_back(op_of("attention", "bwd", ab));
      else if (it->elem.kind == ElementwiseKind::rope)
        elem(*it, 1, it->name + "_bwd", "bwd");
      else if (it->elem.kind != ElementwiseKind::add)
        elem(*it, 2, it->name + "_bwd", "bwd");
    }
  }
  Timeline tl = block_timeline(s);
  s.time_s = tl.run();
  return s;
}

// One line: what binds fused attention, what the RNG binds on, what the host leaves free.
std::string summary_line(const BlockResult& r) {
  auto util = [&](const std::string& res) {
    for (const auto& u : r.host_pair.resources)
      if (u.resource == res) return u.utilisation;
    return 0.0;
  };
  return fmt::format(
      "fused attention fwd binds on {} ({:.0f} tensor vs {:.0f} non-tensor cycles per tile; "
      "without dropout {:.0f}); "
      "RNG alone binds on {}; beside {} it is {} ({}), issue {:.0f}% / alu {:.0f}% / tensor "
      "{:.0f}% used",
      r.attention_fwd_fused.bound, r.attention_fwd_fused.tensor_cycles_per_iter,
      r.attention_fwd_fused.softmax_cycles_per_iter, r.attention_fwd_none.softmax_cycles_per_iter,
      r.rng_alone.bound, r.host_gemm, r.host_pair.co_resident ? "co-resident" : "not co-resident",
      r.host_pair.bound, 100 * util("issue"), 100 * util("alu"), 100 * util("tensor"));
}

}  // namespace

DropoutRng fused_rng_for(const std::string& attn_impl, const DropoutRng& separate) {
  if (attn_impl != "fa2") return separate;
  // FlashAttention-2's fused dropout (Dao-AILab/flash-attention @0251105a,
  // csrc/flash_attn/src/philox.cuh: 6 unrolled rounds plus a final one; dropout.h: 16 uint8
  // numbers per call compared with p in 8 bits).
  DropoutRng r = separate;
  r.bits = 8;
  r.rounds = 7;
  return r;
}

BlockResult block_dropout(const ModelSpec& m, const GpuSpec& gpu, const BlockConfig& cfg) {
  check_block(m, gpu, cfg);
  const std::vector<Op> fwd = forward_ops(m, gpu, cfg);
  std::vector<Gemm> fwd_gemms;
  BlockResult r;
  bool after_attention = false;
  for (const Op& op : fwd) {
    if (op.kind == OpKind::gemm)
      fwd_gemms.push_back(
          {op.name, "fwd", op.gemm, gemm_cost(gpu, op.gemm), after_attention ? -1 : 0});
    if (op.kind == OpKind::attention) {
      after_attention = true;
      r.fused_rng = fused_rng_for(op.attn.impl, cfg.rng);
      if (op.attn.impl != "fa2") r.what_ifs.push_back("fused-fa3");
      cost_attention_variants(r, gpu, op.attn, cfg.rng, r.fused_rng);
    }
  }
  choose_hosts(r, gpu, fwd_gemms, cfg);
  // Training: each forward GEMM as dgrad (M = T) and wgrad (M = its N, K = T), costed once for
  // every strategy.
  std::vector<Gemm> bwd_gemms;
  if (cfg.scope == Scope::train) {
    const std::int64_t T = cfg.batch * cfg.seq;
    for (const Gemm& g : fwd_gemms)
      for (const auto& [suffix, shape] :
           {std::pair{"_dgrad", GemmShape{T, g.shape.k, g.shape.n, 1, cfg.dtype}},
            std::pair{"_wgrad", GemmShape{g.shape.n, g.shape.k, T, 1, cfg.dtype}}})
        bwd_gemms.push_back({g.name + suffix, "bwd", shape, gemm_cost(gpu, shape), 0});
  }
  for (Schedule k : {Schedule::none, Schedule::fused, Schedule::sequential, Schedule::overlapped})
    r.strategies.push_back(schedule(k, r, fwd, fwd_gemms, bwd_gemms, gpu, cfg));
  const double overlapped = r.strategies[3].time_s;
  r.speedup_vs_sequential = r.strategies[2].time_s / overlapped;
  r.speedup_vs_fused = r.strategies[1].time_s / overlapped;
  r.summary = summary_line(r);
  return r;
}

Timeline block_timeline(const BlockStrategy& s) {
  Timeline tl;
  int last = -1;           // the compute stream's latest op
  std::vector<int> masks;  // RNG kernels launched before the first attention
  bool attention_seen = false;
  for (const BlockOp& o : s.ops) {
    TimelineOp t;
    t.name = o.name + (o.pass == "bwd" ? " (bwd)" : "");
    // An RNG kernel before attention makes this layer's mask; after it, the next layer's.
    if (o.stream == 1) t.name += attention_seen ? " (mask for layer L+1)" : " (mask for layer L)";
    t.category = o.stream == 1 ? "rng" : o.pass;
    t.stream = o.stream;
    t.duration_s = o.time_s;
    t.bound = o.bound;
    t.flops = o.flops;
    t.bytes = o.hbm_bytes;
    if (o.stream == 1) {
      // The RNG kernel starts with its host GEMM (the next op on the compute stream).
      if (last >= 0) t.deps = {last};
      const int id = tl.add(std::move(t));
      if (!attention_seen) masks.push_back(id);
      continue;
    }
    if (o.name == "attention") {
      attention_seen = true;
      t.deps = masks;
    }
    last = tl.add(std::move(t));
  }
  return tl;
}

std::string block_chrome_trace(const BlockStrategy& s) {
  Timeline tl = block_timeline(s);
  tl.run();
  return tl.chrome_trace_json({"compute", "rng"});
}

}  // namespace llmgps::dropout
