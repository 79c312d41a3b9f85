#include "llmgps/dropout/block.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <stdexcept>

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
  set_attention_impl(s, gpu, cfg.attn_impl);
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
  r.rng_profile = rng_kernel_profile(gpu, rng);
}

std::string format_seconds(double s) {
  return s < 1e-3 ? fmt::format("{:.1f} us", s * 1e6) : fmt::format("{:.3f} ms", s * 1e3);
}

RngFootprint footprint_of(const KernelSpec& k, int ctas_per_sm) {
  return RngFootprint{k.threads_per_cta, k.registers_per_thread, k.smem_per_cta_bytes, ctas_per_sm};
}

// Both kernels' HBM traffic at the sustained bandwidth: no way finishes sooner.
double hbm_floor(const GpuSpec& gpu, double gemm_bytes, double rng_bytes) {
  return (gemm_bytes + rng_bytes) / (gpu.hbm_bw_bytes_per_s * gpu.hbm_efficiency) +
         gpu.launch_overhead_s;
}

// Co-resident: for each RNG CTA size (ours to choose; register-hungry GEMMs leave room only for
// small CTAs) and each GEMM kernel family, the GEMM restricted to the tiles that leave room for
// one RNG CTA per SM, paired by the SM model. Infeasible pairs are skipped.
bool try_co_resident(const GpuSpec& gpu, const Gemm& g, double elements, const BlockConfig& cfg,
                     HostShare& best) {
  bool found = false;
  for (int threads : {256, 128, 64, 32}) {
    const KernelSpec k = rng_kernel(gpu, elements, cfg.rng, threads);
    const SmReserve room{threads, threads * allocated_registers(k.registers_per_thread),
                         k.smem_per_cta_bytes, 1};
    for (const GemmKernelFamily& f : gpu.gemm_kernels) {
      GemmShape shape = g.shape;
      shape.family = f.name;
      shape.reserve = room;
      GemmCost c;
      try {
        c = gemm_cost(gpu, shape);
      } catch (const InputError&) {
        continue;  // no tile of this family leaves room
      }
      KernelSpec host = gemm_kernel_spec(gpu, g.name, c, g.shape.dtype);
      if (cfg.has("gemm-room")) {
        // What-if: the fastest kernel's time and demand with this kernel's footprint.
        const KernelSpec fastest = gemm_kernel_spec(gpu, g.name, g.cost, g.shape.dtype);
        host.ctas = fastest.ctas;
        host.per_cta = fastest.per_cta;
        host.hbm_bytes = fastest.hbm_bytes;
        host.fixed_time_s = fastest.fixed_time_s;
      }
      const PairTime pt = kernels_together(gpu, host, k);
      if (!pt.co_resident || (found && pt.time_s >= best.time_s)) continue;
      found = true;
      best.time_s = pt.time_s;
      best.rng_time_s = pt.time_s;
      best.gemm_kernel = c.kernel;
      best.gemm_kernel.ctas_per_sm = pt.a_ctas_per_sm;
      best.rng = footprint_of(k, pt.b_ctas_per_sm);
      best.bound = pt.bound;
      best.resources = pt.resources;
      best.detail = fmt::format(
          "{} {}x{} ({} threads x {} registers, {} B shared; {} alone{}) beside {} RNG CTA(s) "
          "of {} threads x {} registers per SM; the combined demand binds on {}",
          c.kernel.family, c.kernel.tile_m, c.kernel.tile_n, c.kernel.threads_per_cta,
          c.kernel.registers_per_thread, c.kernel.smem_bytes, format_seconds(c.time_s),
          cfg.has("gemm-room") ? ", timed as the fastest kernel (what-if gemm-room)" : "",
          pt.b_ctas_per_sm, threads, k.registers_per_thread, pt.bound);
    }
  }
  return found;
}

// The best way for one host GEMM and a share of the mask (see Way); ties go to the simpler way
// (sequential first).
HostShare best_way(const GpuSpec& gpu, const Gemm& g, double fraction, double mask_elements,
                   const BlockConfig& cfg) {
  const double elements = mask_elements * fraction;
  const KernelSpec rng = rng_kernel(gpu, elements, cfg.rng);
  const KernelTime rng_t = kernel_alone(gpu, rng);
  HostShare base;
  base.gemm = g.name;
  base.fraction = fraction;
  base.layer_offset = g.layer_offset;
  base.gemm_alone_s = g.cost.time_s;
  base.rng_alone_s = rng_t.time_s;
  base.gemm_kernel = g.cost.kernel;
  base.rng = footprint_of(rng, rng_t.ctas_per_sm);
  base.bound = g.cost.bound;
  const double floor = hbm_floor(gpu, g.cost.hbm_bytes, rng.hbm_bytes);

  std::vector<HostShare> ways;
  HostShare seq = base;
  seq.way = Way::sequential;
  seq.time_s = g.cost.time_s + rng_t.time_s;
  seq.rng_time_s = rng_t.time_s;
  seq.detail = "one after the other";
  ways.push_back(seq);

  HostShare co = base;
  co.way = Way::co_resident;
  const bool co_fits = try_co_resident(gpu, g, elements, cfg, co);
  if (co_fits) ways.push_back(co);

  // Tail: the RNG's SM-time goes first into the SM-time the GEMM leaves free, the rest runs on
  // every SM after it.
  if (g.cost.free_sm_fraction > 0) {
    const double sms = gpu.sm_count;
    const double free_sm_s =
        g.cost.free_sm_fraction * std::max(0.0, g.cost.time_s - gpu.launch_overhead_s) * sms;
    const double rng_sm_s = std::max(0.0, rng_t.time_s - gpu.launch_overhead_s) * sms;
    HostShare tail = base;
    tail.way = Way::tail;
    tail.time_s =
        std::max({g.cost.time_s + std::max(0.0, rng_sm_s - free_sm_s) / sms, floor, rng_t.time_s});
    tail.rng_time_s = tail.time_s;
    tail.detail = fmt::format(
        "{:.1f}% of the SMs' time is free during {}: it holds {:.0f}% of the "
        "RNG kernel's work",
        100 * g.cost.free_sm_fraction, g.name,
        rng_sm_s > 0 ? 100 * std::min(1.0, free_sm_s / rng_sm_s) : 100.0);
    ways.push_back(tail);
  }

  // Partition: p SMs for the RNG kernel (in steps of a 2-CTA cluster), the rest for the GEMM.
  HostShare part = base;
  part.way = Way::partition;
  part.time_s = std::numeric_limits<double>::infinity();
  for (int p = 2; p <= gpu.sm_count / 2; p += p < 16 ? 2 : 4) {
    GpuSpec for_gemm = gpu, for_rng = gpu;
    for_gemm.sm_count = gpu.sm_count - p;
    for_rng.sm_count = p;
    const GemmCost c = gemm_cost(for_gemm, g.shape);
    const KernelTime tr = kernel_alone(for_rng, rng);
    const double t = std::max({c.time_s, tr.time_s, floor});
    if (t < part.time_s) {
      part.time_s = t;
      part.rng_time_s = tr.time_s;
      part.rng_sms = p;
      part.gemm_kernel = c.kernel;
      part.rng.ctas_per_sm = tr.ctas_per_sm;
      part.detail = fmt::format("{} on {} SMs ({}), the RNG kernel on {}", g.name, gpu.sm_count - p,
                                format_seconds(c.time_s), p, format_seconds(tr.time_s));
    }
  }
  if (std::isfinite(part.time_s)) ways.push_back(part);

  const HostShare* best = &ways.front();
  for (const HostShare& w : ways)
    if (w.time_s < best->time_s) best = &w;
  HostShare out = *best;
  std::string others;
  for (const HostShare& w : ways)
    if (&w != best)
      others += fmt::format("{}{} {}", others.empty() ? "" : ", ", way_name(w.way),
                            format_seconds(w.time_s));
  if (!co_fits)
    others += std::string(others.empty() ? "" : "; ") +
              "co-resident: no kernel of the GEMM leaves room for an RNG CTA";
  out.detail = fmt::format("{}: {} ({}; others: {})", way_name(out.way), format_seconds(out.time_s),
                           out.detail, others);
  return out;
}

// The host GEMM(s) for the overlap. Either one host takes the whole RNG kernel, or (when the mask
// outgrows every single GEMM) the mask is split over all forward GEMMs in proportion to their
// time; the cheaper plan wins. Each host meets its share in its own best way.
void choose_hosts(BlockResult& r, const GpuSpec& gpu, const std::vector<Gemm>& fwd_gemms,
                  const BlockConfig& cfg) {
  double best_added = std::numeric_limits<double>::infinity();
  for (const Gemm& g : fwd_gemms) {
    HostShare hs = best_way(gpu, g, 1.0, r.rng_elements, cfg);
    const double added = hs.time_s - g.cost.time_s;
    if (added < best_added) {
      best_added = added;
      r.hosts = {std::move(hs)};
    }
  }
  double total_gemm = 0;
  for (const Gemm& g : fwd_gemms) total_gemm += g.cost.time_s;
  std::vector<HostShare> split;
  double split_added = 0;
  for (const Gemm& g : fwd_gemms) {
    split.push_back(best_way(gpu, g, g.cost.time_s / total_gemm, r.rng_elements, cfg));
    split_added += split.back().time_s - g.cost.time_s;
  }
  if (split_added < best_added) r.hosts = split;
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
          const std::string what = fmt::format("{:.0f}% of the mask", 100 * hs.fraction);
          if (hs.way == Way::sequential) {
            // Nothing overlaps: the RNG kernel runs alone just before its host.
            s.ops.push_back(BlockOp{"rng_mask", "fwd", hs.rng_alone_s, r.rng_alone.bound,
                                    what + ", before " + g.name, 0});
            continue;
          }
          s.ops.push_back(BlockOp{"rng_mask", "fwd", std::min(hs.rng_time_s, hs.time_s),
                                  r.rng_alone.bound,
                                  what + " " + way_name(hs.way) + " with " + g.name, 1});
          o.time_s = hs.time_s;
          o.detail += "; with rng_mask " + hs.detail;
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

// One line: what binds fused attention, what the RNG binds on, how it meets its host.
std::string summary_line(const BlockResult& r) {
  const HostShare& h = r.main_host();
  return fmt::format(
      "fused attention fwd binds on {} ({:.0f} tensor vs {:.0f} non-tensor cycles per tile; "
      "without dropout {:.0f}); RNG alone binds on {}; with {} it runs {}",
      r.attention_fwd_fused.bound, r.attention_fwd_fused.tensor_cycles_per_iter,
      r.attention_fwd_fused.softmax_cycles_per_iter, r.attention_fwd_none.softmax_cycles_per_iter,
      r.rng_alone.bound, h.gemm, h.detail);
}

}  // namespace

const std::vector<std::string>& what_if_names() {
  static const std::vector<std::string> names = {"gemm-room"};
  return names;
}

std::vector<std::string> expand_what_ifs(const std::vector<std::string>& names,
                                         const std::string& where) {
  std::vector<std::string> out;
  auto add = [&](const std::string& n) {
    if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
  };
  for (const std::string& n : names) {
    if (n == "paper") {
      for (const std::string& w : what_if_names()) add(w);
    } else if (std::find(what_if_names().begin(), what_if_names().end(), n) !=
               what_if_names().end()) {
      add(n);
    } else {
      std::string known = "paper";
      for (const std::string& w : what_if_names()) known += ", " + w;
      throw InputError(where, "unknown what-if '" + n + "' (known: " + known + ")");
    }
  }
  return out;
}

bool BlockConfig::has(const std::string& what_if) const {
  return std::find(what_ifs.begin(), what_ifs.end(), what_if) != what_ifs.end();
}

const char* way_name(Way w) {
  switch (w) {
    case Way::co_resident:
      return "co-resident";
    case Way::tail:
      return "tail";
    case Way::partition:
      return "partition";
    case Way::sequential:
      return "sequential";
  }
  return "?";
}

HostShare rng_beside_gemm(const GpuSpec& gpu, const std::string& name, const GemmShape& shape,
                          double elements, const BlockConfig& cfg) {
  if (!(elements > 0)) throw InputError("rng.elements", "must be positive");
  keep_threshold(cfg.rng);
  const Gemm g{name, "fwd", shape, gemm_cost(gpu, shape), 0};
  return best_way(gpu, g, 1.0, elements, cfg);
}

const HostShare& BlockResult::main_host() const {
  if (hosts.empty()) throw std::logic_error("block result has no host GEMM");
  return *std::max_element(hosts.begin(), hosts.end(), [](const HostShare& x, const HostShare& y) {
    return x.fraction < y.fraction;
  });
}

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
      r.what_ifs = cfg.what_ifs;
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
