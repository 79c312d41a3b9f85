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
};

BlockOp op_of(const std::string& name, const std::string& pass, const OpCost& c) {
  return BlockOp{name, pass, c.time_s, c.bound, c.detail, 0};
}

}  // namespace

BlockResult block_dropout(const ModelSpec& m, const GpuSpec& gpu, const BlockConfig& cfg) {
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
  const DType dt = cfg.dtype;
  const DType act = dt == DType::fp8 ? DType::bf16 : dt;
  std::string impl = cfg.attn_impl;
  if (impl.empty()) {
    auto it = gpu.attention.find("fa3");
    impl =
        (it != gpu.attention.end() && gpu.sm_version >= it->second.min_sm_version) ? "fa3" : "fa2";
  }
  const std::int64_t T = cfg.batch * cfg.seq, h = m.hidden_size, H = m.num_heads,
                     KV = m.num_kv_heads, d = m.head_dim, F = m.ffn_dim;

  // --- GEMMs (forward, and dgrad + wgrad per forward GEMM in backward) ---
  auto gemm = [&](const std::string& name, const std::string& pass, std::int64_t M, std::int64_t N,
                  std::int64_t K) {
    Gemm g{name, pass, GemmShape{M, N, K, 1, dt}, {}};
    g.cost = gemm_cost(gpu, g.shape);
    return g;
  };
  const std::vector<std::array<std::int64_t, 2>> fwd_nk = {
      {(H + 2 * KV) * d, h}, {h, H * d}, {2 * F, h}, {h, F}};
  const char* fwd_names[] = {"qkv_proj", "o_proj", "gate_up", "down"};
  std::vector<Gemm> fwd_gemms;
  for (std::size_t i = 0; i < 4; ++i)
    fwd_gemms.push_back(gemm(fwd_names[i], "fwd", T, fwd_nk[i][0], fwd_nk[i][1]));

  auto elem = [&](ElementwiseKind kind, std::int64_t rows, std::int64_t cols) {
    return elementwise_cost(gpu, ElementwiseShape{kind, rows, cols, act});
  };

  // --- attention in each variant ---
  AttentionShape a;
  a.batch = cfg.batch;
  a.heads = H;
  a.kv_heads = KV;
  a.seq_q = a.seq_k = cfg.seq;
  a.head_dim = d;
  a.causal = true;
  a.dtype = dt;
  a.impl = impl;
  AttentionShape ab = a;
  ab.pass = AttnPass::bwd;
  if (dt == DType::fp8) ab.dtype = DType::bf16;  // FA3 ships FP8 forward only: backward in BF16
  BlockResult r;
  r.attention_fwd_none = attention_cost(gpu, a);
  r.attention_bwd_none = attention_cost(gpu, ab);
  AttentionShape af = a, abf = ab, am = a, abm = ab;
  af.extra = abf.extra = fused_rng_work(cfg.rng);
  am.extra = abm.extra = mask_read_work();
  r.attention_fwd_fused = attention_cost(gpu, af);
  r.attention_bwd_fused = attention_cost(gpu, abf);
  r.attention_fwd_mask = attention_cost(gpu, am);
  r.attention_bwd_mask = attention_cost(gpu, abm);
  // The mask covers the score tiles attention visits (a causal kernel skips the rest).
  r.rng_elements = r.attention_fwd_none.scores;
  const KernelSpec rng = rng_kernel(gpu, r.rng_elements, cfg.rng);
  r.rng_alone = kernel_alone(gpu, rng);

  // --- the host GEMM for the overlap: the forward GEMM that hides the RNG kernel best ---
  auto gemm_kernel = [&](const Gemm& g) { return gemm_kernel_spec(gpu, g.name, g.cost, dt); };

  // Either one host takes the whole RNG kernel, or (when the mask outgrows every single GEMM) the
  // mask is split over all forward GEMMs in proportion to their time; the cheaper plan wins.
  // The RNG kernel's CTA size is ours to choose: the largest of 256 / 128 / 64 threads that can
  // share an SM with the host (register-hungry GEMMs leave room only for small CTAs).
  auto pair_with = [&](const Gemm& g, double fraction, KernelSpec* used) {
    PairTime best;
    bool have = false;
    for (int threads : {256, 128, 64}) {
      KernelSpec k = rng_kernel(gpu, r.rng_elements * fraction, cfg.rng, threads);
      const PairTime pt = kernels_together(gpu, gemm_kernel(g), k);
      if (!have || (pt.co_resident && !best.co_resident)) {
        best = pt, have = true;
        if (used) *used = k;
      }
      if (pt.co_resident) break;
    }
    return best;
  };
  double best_added = std::numeric_limits<double>::infinity();
  for (std::size_t i = 0; i < fwd_gemms.size(); ++i) {
    KernelSpec used;
    const PairTime pt = pair_with(fwd_gemms[i], 1.0, &used);
    const double added = pt.time_s - fwd_gemms[i].cost.time_s;
    if (added < best_added) {
      best_added = added;
      r.hosts = {HostShare{fwd_gemms[i].name, 1.0, pt, kernel_alone(gpu, used).time_s}};
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
    split.push_back(HostShare{g.name, f, pt, kernel_alone(gpu, part).time_s});
  }
  if (split_added < best_added) r.hosts = split;
  const auto biggest = std::max_element(
      r.hosts.begin(), r.hosts.end(),
      [](const HostShare& x, const HostShare& y) { return x.fraction < y.fraction; });
  r.host_pair = biggest->pair;
  r.host_gemm.clear();
  for (const HostShare& hs : r.hosts) r.host_gemm += (r.host_gemm.empty() ? "" : "+") + hs.gemm;

  // --- the four schedules ---
  const char* names[] = {"none", "fused", "sequential", "overlapped"};
  for (int si = 0; si < 4; ++si) {
    StrategyResult s;
    s.name = names[si];
    const AttentionCost& af_c = si == 0   ? r.attention_fwd_none
                                : si == 1 ? r.attention_fwd_fused
                                          : r.attention_fwd_mask;
    const AttentionCost& ab_c = si == 0   ? r.attention_bwd_none
                                : si == 1 ? r.attention_bwd_fused
                                          : r.attention_bwd_mask;
    auto add_gemm = [&](const Gemm& g) {
      BlockOp o = op_of(g.name, g.pass, g.cost);
      if (si == 3 && g.pass == "fwd")
        for (const HostShare& hs : r.hosts)
          if (hs.gemm == g.name) {
            s.ops.push_back(BlockOp{
                "rng_mask", "fwd", hs.rng_alone_s, r.rng_alone.binding,
                fmt::format("{:.0f}% of the mask beside {}", 100 * hs.fraction, g.name), 1});
            o.time_s = hs.pair.time_s;
            o.detail += "; with rng_mask: " + hs.pair.detail;
          }
      s.ops.push_back(o);
    };
    // forward
    s.ops.push_back(op_of("attn_norm", "fwd", elem(ElementwiseKind::rmsnorm, T, h)));
    add_gemm(fwd_gemms[0]);
    s.ops.push_back(op_of("rope", "fwd", elem(ElementwiseKind::rope, T, (H + KV) * d)));
    if (si == 2)
      s.ops.push_back(
          BlockOp{"rng_mask", "fwd", r.rng_alone.time_s, r.rng_alone.binding, "standalone", 0});
    s.ops.push_back(op_of("attention", "fwd", af_c));
    add_gemm(fwd_gemms[1]);
    s.ops.push_back(op_of("residual", "fwd", elem(ElementwiseKind::add, T, h)));
    s.ops.push_back(op_of("ffn_norm", "fwd", elem(ElementwiseKind::rmsnorm, T, h)));
    add_gemm(fwd_gemms[2]);
    s.ops.push_back(op_of("swiglu", "fwd", elem(ElementwiseKind::gated_activation, T, F)));
    add_gemm(fwd_gemms[3]);
    s.ops.push_back(op_of("residual", "fwd", elem(ElementwiseKind::add, T, h)));
    if (cfg.scope == Scope::train) {
      // backward, in reverse: each GEMM as dgrad (M = T) and wgrad (M = its N, K = T);
      // elementwise backward reads the saved input and the incoming gradient.
      auto grads = [&](const Gemm& g) {
        add_gemm(gemm(g.name + "_dgrad", "bwd", T, g.shape.k, g.shape.n));
        add_gemm(gemm(g.name + "_wgrad", "bwd", g.shape.n, g.shape.k, T));
      };
      grads(fwd_gemms[3]);
      s.ops.push_back(
          op_of("swiglu_bwd", "bwd", elem(ElementwiseKind::gated_activation, T, 2 * F)));
      grads(fwd_gemms[2]);
      s.ops.push_back(op_of("ffn_norm_bwd", "bwd", elem(ElementwiseKind::rmsnorm, T, 2 * h)));
      grads(fwd_gemms[1]);
      s.ops.push_back(op_of("attention", "bwd", ab_c));
      s.ops.push_back(op_of("rope_bwd", "bwd", elem(ElementwiseKind::rope, T, (H + KV) * d)));
      grads(fwd_gemms[0]);
      s.ops.push_back(op_of("attn_norm_bwd", "bwd", elem(ElementwiseKind::rmsnorm, T, 2 * h)));
    }
    for (const BlockOp& o : s.ops)
      if (o.stream == 0) s.time_s += o.time_s;
    r.strategies.push_back(std::move(s));
  }
  const double none_t = r.strategies[0].time_s, fused_t = r.strategies[1].time_s,
               seq_t = r.strategies[2].time_s, over_t = r.strategies[3].time_s;
  (void)none_t;
  r.speedup_vs_sequential = seq_t / over_t;
  r.speedup_vs_fused = fused_t / over_t;
  const auto& host_res = r.host_pair.resources;
  auto util = [&](const std::string& res) {
    for (const auto& u : host_res)
      if (u.resource == res) return u.utilisation;
    return 0.0;
  };
  r.binding = fmt::format(
      "fused attention fwd binds on {} ({:.0f} tensor vs {:.0f} non-tensor cycles per tile; "
      "without dropout {:.0f}); "
      "RNG alone binds on {}; beside {} it is {} ({}), issue {:.0f}% / alu {:.0f}% / tensor "
      "{:.0f}% used",
      r.attention_fwd_fused.bound, r.attention_fwd_fused.tensor_cycles_per_iter,
      r.attention_fwd_fused.softmax_cycles_per_iter, r.attention_fwd_none.softmax_cycles_per_iter,
      r.rng_alone.binding, r.host_gemm, r.host_pair.co_resident ? "co-resident" : "not co-resident",
      r.host_pair.binding, 100 * util("issue"), 100 * util("alu"), 100 * util("tensor"));
  return r;
}

std::string block_chrome_trace(const StrategyResult& s) {
  Timeline tl;
  int last = -1;
  for (const BlockOp& o : s.ops) {
    if (o.stream == 1) {
      // The RNG kernel starts with its host GEMM (the next op on stream 0).
      tl.add(o.name, "rng", 1, o.time_s, last >= 0 ? std::vector<int>{last} : std::vector<int>{});
      continue;
    }
    last = tl.add(o.name + (o.pass == "bwd" ? " (bwd)" : ""), o.pass, 0, o.time_s,
                  last >= 0 ? std::vector<int>{last} : std::vector<int>{});
  }
  tl.run();
  return tl.chrome_trace_json({"compute", "rng"});
}

}  // namespace llmgps::dropout
