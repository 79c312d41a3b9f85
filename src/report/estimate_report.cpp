#include "llmgps/report/estimate_report.hpp"

#include <fmt/format.h>

#include <cstring>

#include "llmgps/report/output.hpp"

namespace llmgps::report {

using nlohmann::ordered_json;

ordered_json op_cost_json(const OpCost& c) {
  ordered_json j;
  j["time_s"] = c.time_s;
  j["tflops"] = c.achieved_flops_per_s() / 1e12;
  j["flops"] = c.flops;
  j["hbm_bytes"] = c.hbm_bytes;
  if (c.comm_bytes > 0) j["comm_bytes"] = c.comm_bytes;
  j["bound"] = c.bound;
  j["detail"] = c.detail;
  return j;
}

ordered_json gemm_json(const GemmShape& s, const GemmCost& c, const GpuSpec& gpu) {
  ordered_json j;
  j["gpu"] = gpu.name;
  j["m"] = s.m;
  j["n"] = s.n;
  j["k"] = s.k;
  j["batch"] = s.batch;
  j["dtype"] = std::string(dtype_name(s.dtype));
  j.update(op_cost_json(c));
  j["peak_tflops"] = gpu.peak_flops(s.dtype) / 1e12;
  j["tile"] = fmt::format("{}x{}", c.tile_m, c.tile_n);
  j["split_k"] = c.split_k;
  j["waves"] = c.waves;
  return j;
}

ordered_json attention_json(const AttentionShape& s, const AttentionCost& c, const GpuSpec& gpu) {
  ordered_json j;
  j["gpu"] = gpu.name;
  j["impl"] = s.impl;
  j["pass"] = s.pass == AttnPass::fwd ? "fwd" : "bwd";
  j["batch"] = s.batch;
  j["heads"] = s.heads;
  j["seq"] = s.seq_q;
  j["head_dim"] = s.head_dim;
  j["causal"] = s.causal;
  j["dtype"] = std::string(dtype_name(s.dtype));
  j.update(op_cost_json(c));
  j["peak_tflops"] = gpu.peak_flops(s.dtype) / 1e12;
  j["tensor_cycles_per_iter"] = c.tensor_cycles_per_iter;
  j["softmax_cycles_per_iter"] = c.softmax_cycles_per_iter;
  j["softmax_pipe"] = c.softmax_pipe;
  return j;
}

std::string kv_table(const ordered_json& j) {
  Table t;
  t.headers = {"field", "value"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    std::string v;
    // One format per quantity, by the field's unit suffix: times as times, bytes as bytes,
    // parameter counts in billions, the rest in six significant digits.
    const std::string& k = it.key();
    auto ends = [&](const char* suffix) {
      const std::size_t n = std::strlen(suffix);
      return k.size() >= n && k.compare(k.size() - n, n, suffix) == 0;
    };
    if (it.value().is_string())
      v = it.value().get<std::string>();
    else if (it.value().is_number() && ends("_s") && !ends("_per_s"))
      v = format_time(it.value().get<double>());
    else if (it.value().is_number() && (ends("bytes") || ends("bytes_per_gpu")))
      v = format_bytes(it.value().get<double>());
    else if (it.value().is_number() && k == "params")
      v = fmt::format("{:.2f} B", it.value().get<double>() / 1e9);
    else if (it.value().is_number_float())
      v = fmt::format("{:.6g}", it.value().get<double>());
    else
      v = it.value().dump();
    t.add_row({it.key(), v});
  }
  return render_table(t);
}

ordered_json model_json(const ModelSpec& m) {
  ordered_json j;
  j["name"] = m.name;
  j["model_type"] = m.model_type;
  j["layers"] = m.layers;
  j["hidden_size"] = m.hidden_size;
  j["num_heads"] = m.num_heads;
  j["num_kv_heads"] = m.num_kv_heads;
  j["head_dim"] = m.head_dim;
  j["v_head_dim"] = m.v_head_dim;
  j["ffn_dim"] = m.ffn_dim;
  j["vocab_size"] = m.vocab_size;
  j["num_experts"] = m.num_experts;
  j["top_k"] = m.top_k;
  j["moe_ffn_dim"] = m.moe_ffn_dim;
  j["shared_ffn_dim"] = m.shared_ffn_dim;
  j["moe_layers"] = m.moe_layer_count();
  j["attention"] = m.is_mla() ? "mla" : (m.num_kv_heads == m.num_heads ? "mha" : "gqa");
  if (m.is_mla()) {
    j["q_lora_rank"] = m.q_lora_rank;
    j["kv_lora_rank"] = m.kv_lora_rank;
    j["qk_rope_head_dim"] = m.qk_rope_head_dim;
  }
  j["params"] = m.params();
  return j;
}

ordered_json time_by_bound_json(const StepEstimate& e) {
  // Every resource, zero where no op binds (a column a sweep can rely on).
  ordered_json by = ordered_json::object();
  for (const std::string& r : binding_resources()) by[r] = 0.0;
  for (const auto& [bound, t] : e.time_by_bound) by[bound] = t;
  return by;
}

ordered_json estimate_json(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                           const StepConfig& cfg) {
  ordered_json j;
  j["model"] = m.name;
  j["system"] = s.name;
  j["gpu"] = s.gpu.name;
  j["gpus"] = s.total_gpus();
  j["phase"] = phase_name(cfg.phase);
  j["batch"] = cfg.batch;
  j["seq"] = cfg.seq;
  j["dtype"] = std::string(dtype_name(cfg.dtype));
  j["cuda_graphs"] = cfg.cuda_graphs;
  j["tp"] = e.plan.tp;
  j["dp"] = e.plan.dp;
  j["ep"] = m.is_moe() ? e.plan.ep : 0;
  if (m.is_moe()) j["moe_layout"] = moe_layout_name(e.plan.layout);
  j["tokens"] = e.plan.tokens;
  j["total_s"] = e.total_s;
  j["band_s"] = e.band_s;  // the model's measured error per kernel class, summed over the ops
  j["model_error"] = e.model_error.family;
  j["tokens_per_s"] = e.tokens_per_s();
  j["tflops_per_gpu"] = e.tflops_per_gpu();
  j["time_by_bound_s"] = time_by_bound_json(e);
  ordered_json ops = ordered_json::array();
  for (const auto& op : e.ops) {
    ordered_json o;
    o["name"] = op.name;
    o["stage"] = op.stage;
    o["count"] = op.count;
    // Totals over the op's `count` occurrences are named so; each_s is one occurrence.
    o["each_s"] = op.each.time_s;
    o["total_s"] = op.time_s;
    o["share"] = e.total_s > 0 ? op.time_s / e.total_s : 0.0;
    o["bound"] = op.each.bound;
    o["flops_total"] = op.each.flops * op.count;
    o["hbm_bytes_total"] = op.each.hbm_bytes * op.count;
    o["comm_bytes_total"] = op.each.comm_bytes * op.count;
    o["detail"] = op.each.detail;
    ops.push_back(o);
  }
  j["ops"] = ops;
  return j;
}

std::string estimate_table(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                           const StepConfig& cfg) {
  std::string out = fmt::format(
      "{} {} on {} ({} x {}), batch {}, seq {}, {}; TP {}, DP {}{}{}\n\n", m.name,
      phase_name(cfg.phase), s.name, s.total_gpus(), s.gpu.name, cfg.batch, cfg.seq,
      dtype_name(cfg.dtype), e.plan.tp, e.plan.dp,
      m.is_moe() ? fmt::format(", EP {}, layout {}", e.plan.ep, moe_layout_name(e.plan.layout))
                 : "",
      cfg.cuda_graphs ? "; CUDA graphs" : "");
  Table t;
  t.headers = {"op", "stage", "x", "each", "total", "share", "bound", "detail"};
  t.right_align = {false, false, true, true, true, true, false, false};
  for (const auto& op : e.ops)
    t.add_row({op.name, op.stage, std::to_string(op.count), format_time(op.each.time_s),
               format_time(op.time_s),
               fmt::format("{:.1f}%", e.total_s > 0 ? 100 * op.time_s / e.total_s : 0.0),
               op.each.bound, op.each.detail});
  out += render_table(t);
  out += fmt::format(
      "\ntotal {} +- {} ({:.0f} tokens/s, {:.1f} TFLOP/s on the busiest GPU; +-: the model's "
      "measured error "
      "per kernel class, {} family, docs/calibration.md)\n",
      format_time(e.total_s), format_time(e.band_s), e.tokens_per_s(), e.tflops_per_gpu(),
      e.model_error.family);
  out += "time by binding resource:";
  for (const auto& [bound, time] : e.time_by_bound)
    out += fmt::format("  {} {:.1f}%", bound, e.total_s > 0 ? 100 * time / e.total_s : 0.0);
  out += "\n";
  return out;
}

const std::vector<std::string>& step_setup_columns() {
  static const std::vector<std::string> columns = {"dtype", "tp",     "dp",
                                                   "ep",    "layout", "cuda_graphs"};
  return columns;
}
std::vector<std::string> step_setup_cells(const StepPlan& plan, const ModelSpec& m,
                                          const StepConfig& cfg) {
  return {std::string(dtype_name(cfg.dtype)),
          std::to_string(plan.tp),
          std::to_string(plan.dp),
          std::to_string(m.is_moe() ? plan.ep : 0),
          m.is_moe() ? moe_layout_name(plan.layout) : "",
          cfg.cuda_graphs ? "true" : "false"};
}

std::string estimate_csv(const StepEstimate& e, const ModelSpec& m, const SystemSpec& s,
                         const StepConfig& cfg) {
  // One row per op, the step's configuration repeated in every row (tidy data: no total row;
  // the step's total is the sum of total_s).
  Table t;
  t.headers = {"model", "system", "gpu", "gpus", "phase", "batch", "seq"};
  const auto& setup = step_setup_columns();
  t.headers.insert(t.headers.end(), setup.begin(), setup.end());
  for (const char* h : {"op", "stage", "count", "each_s", "total_s", "share", "bound",
                        "flops_total", "hbm_bytes_total", "comm_bytes_total"})
    t.headers.push_back(h);
  std::vector<std::string> config = {m.name,
                                     s.name,
                                     s.gpu.name,
                                     std::to_string(s.total_gpus()),
                                     phase_name(cfg.phase),
                                     std::to_string(cfg.batch),
                                     std::to_string(cfg.seq)};
  for (std::string& c : step_setup_cells(e.plan, m, cfg)) config.push_back(std::move(c));
  for (const auto& op : e.ops) {
    std::vector<std::string> row = config;
    for (std::string cell :
         {op.name, op.stage, std::to_string(op.count), fmt::format("{:.9g}", op.each.time_s),
          fmt::format("{:.9g}", op.time_s),
          fmt::format("{:.9g}", e.total_s > 0 ? op.time_s / e.total_s : 0.0), op.each.bound,
          fmt::format("{:.9g}", op.each.flops * op.count),
          fmt::format("{:.9g}", op.each.hbm_bytes * op.count),
          fmt::format("{:.9g}", op.each.comm_bytes * op.count)})
      row.push_back(std::move(cell));
    t.add_row(std::move(row));
  }
  return render_csv(t);
}

ordered_json memory_json(const MemoryUse& u, const MemoryLimits& l, const StepConfig& step,
                         const std::string& warning, const char* max_seq_key) {
  ordered_json j;
  j["phase"] = phase_name(step.phase);
  j["batch"] = step.batch;
  j["seq"] = step.seq;
  j["weights_bytes"] = u.weights_bytes;
  j["expert_replica_bytes"] = u.replica_bytes;
  j["copy_buffer_bytes"] = u.copy_buffer_bytes;
  j["kv_cache_bytes"] = u.kv_cache_bytes;
  j["activation_bytes"] = u.activation_bytes;
  j["total_bytes"] = u.total_bytes();
  j["capacity_bytes"] = u.capacity_bytes;
  j["memory_fraction"] = step.memory_fraction;
  j["budget_bytes"] = u.budget_bytes;
  j["fits"] = u.fits();
  j["max_batch"] = l.max_batch;
  j[max_seq_key] = l.max_seq;
  j["warning"] = warning;
  return j;
}

std::string memory_lines(const MemoryUse& u, const MemoryLimits& l, const StepConfig& step,
                         const char* seq_label, std::int64_t seq, std::int64_t batch,
                         const std::string& also) {
  std::string out = fmt::format(
      "memory per GPU: {:.1f} GB of a {:.1f} GB budget ({:.0f}% of {:.1f} GB): weights {:.1f}, "
      "KV cache {:.1f}, activations {:.1f}{} GB; {}\n",
      u.total_bytes() / 1e9, u.budget_bytes / 1e9, 100 * step.memory_fraction,
      u.capacity_bytes / 1e9, u.weights_bytes / 1e9, u.kv_cache_bytes / 1e9,
      u.activation_bytes / 1e9,
      u.replica_bytes > 0 ? fmt::format(", expert replicas {:.1f} (+{:.1f} copy buffer)",
                                        u.replica_bytes / 1e9, u.copy_buffer_bytes / 1e9)
                          : "",
      u.fits() ? "fits" : "DOES NOT FIT");
  out += fmt::format("largest batch at {} {}{}: {}; largest {} at batch {}{}: {}\n", seq_label, seq,
                     also, l.max_batch, seq_label, batch, also, l.max_seq);
  return out;
}

}  // namespace llmgps::report
