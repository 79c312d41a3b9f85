#include "llmgps/report/api_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include "llmgps/moe/synth_trace.hpp"
#include "llmgps/report/estimate_report.hpp"
#include "llmgps/report/moe_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/report/svg.hpp"
#include "llmgps/report/validate_report.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::report {

namespace {
bool scalar_array(const Json& j) {
  if (!j.is_array() || j.empty()) return false;
  for (const auto& x : j)
    if (x.is_structured()) return false;
  return true;
}
void write_json(const Json& j, int depth, std::string& out) {
  const std::size_t pad = std::size_t(2 * (depth + 1));
  if (j.is_object() && !j.empty()) {
    out += "{\n";
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += ",\n";
      first = false;
      out.append(pad, ' ');
      out += Json(it.key()).dump();
      out += ": ";
      write_json(it.value(), depth + 1, out);
    }
    out += '\n';
    out.append(std::size_t(2 * depth), ' ');
    out += '}';
  } else if (j.is_array() && !j.empty() && !scalar_array(j)) {
    out += "[\n";
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (i) out += ",\n";
      out.append(pad, ' ');
      write_json(j[i], depth + 1, out);
    }
    out += '\n';
    out.append(std::size_t(2 * depth), ' ');
    out += ']';
  } else if (scalar_array(j)) {
    out += '[';
    for (std::size_t i = 0; i < j.size(); ++i) {
      if (i) out += ", ";
      out += j[i].dump();
    }
    out += ']';
  } else {
    out += j.dump();
  }
}
}  // namespace

std::string json_text(const Json& j) {
  std::string out;
  write_json(j, 0, out);
  out += '\n';
  return out;
}

namespace {

std::string csv_cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_number_unsigned()) return std::to_string(v.get<std::uint64_t>());
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  if (v.is_number_float()) return fmt::format("{}", v.get<double>());
  return v.dump();  // an array of scalars
}

bool has_objects(const Json& a) {
  for (const auto& x : a)
    if (x.is_structured()) return true;
  return false;
}

// Appends (column, cell) pairs of `j` under `prefix`; `arrays`: keep arrays of scalars.
void flatten_into(const Json& j, const std::string& prefix, bool arrays,
                  std::vector<std::pair<std::string, std::string>>& out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    const Json& v = it.value();
    if (v.is_object())
      flatten_into(v, key, arrays, out);
    else if (v.is_array()) {
      if (arrays && !has_objects(v)) out.emplace_back(key, csv_cell(v));
    } else {
      out.emplace_back(key, csv_cell(v));
    }
  }
}

}  // namespace

std::string records_csv(const Json& j, const std::string& rows_key) {
  std::vector<std::pair<std::string, std::string>> context;
  std::vector<std::vector<std::pair<std::string, std::string>>> rows;
  if (rows_key.empty() || !j.contains(rows_key)) {
    rows.emplace_back();
    flatten_into(j, "", true, rows.back());
  } else {
    Json top = j;
    top.erase(rows_key);
    flatten_into(top, "", false, context);
    const Json& list = j[rows_key];
    if (list.is_array()) {
      for (const Json& row : list) {
        rows.emplace_back();
        if (row.is_object()) flatten_into(row, "", true, rows.back());
      }
    } else if (list.is_object()) {  // rows keyed by name: the name is a column
      for (auto it = list.begin(); it != list.end(); ++it) {
        rows.emplace_back();
        rows.back().emplace_back(rows_key, it.key());
        flatten_into(it.value(), "", true, rows.back());
      }
    }
  }
  // Columns: the context's, then every row's in order of first appearance; a row's field hides
  // the context's field of the same name.
  std::vector<std::string> columns;
  std::map<std::string, std::size_t> index;
  std::set<std::string> in_rows;
  for (const auto& row : rows)
    for (const auto& [k, v] : row) in_rows.insert(k);
  for (const auto& [k, v] : context)
    if (!in_rows.count(k) && index.emplace(k, columns.size()).second) columns.push_back(k);
  for (const auto& row : rows)
    for (const auto& [k, v] : row)
      if (index.emplace(k, columns.size()).second) columns.push_back(k);
  Table t;
  t.headers = columns;
  for (const auto& row : rows) {
    std::vector<std::string> cells(columns.size());
    for (const auto& [k, v] : context)
      if (!in_rows.count(k)) cells[index[k]] = v;
    for (const auto& [k, v] : row) cells[index[k]] = v;
    t.add_row(std::move(cells));
  }
  return render_csv(t);
}

// ---- specs ----

Json json(const api::HwListResult& r) {
  Json j = Json::array();
  for (const auto& e : r.entries)
    j.push_back({{"name", e.name}, {"kind", e.kind}, {"description", e.description}});
  return j;
}

namespace {
Table hw_list_table(const api::HwListResult& r) {
  Table t;
  t.headers = {"name", "kind", "description"};
  for (const auto& e : r.entries) t.add_row({e.name, e.kind, e.description});
  return t;
}

Table model_list_table(const api::ModelListResult& r) {
  Table t;
  t.headers = {"name", "layers", "hidden", "heads", "kv_heads", "experts", "top_k", "params_b"};
  t.right_align = {false, true, true, true, true, true, true, true};
  for (const auto& m : r.models)
    t.add_row({m.name, std::to_string(m.layers), std::to_string(m.hidden_size),
               std::to_string(m.num_heads), std::to_string(m.num_kv_heads),
               std::to_string(m.num_experts), std::to_string(m.top_k),
               fmt::format("{:.1f}", m.params() / 1e9)});
  return t;
}
}  // namespace

std::string table(const api::HwListResult& r) {
  return render_table(hw_list_table(r));
}
std::string csv(const api::HwListResult& r) {
  return render_csv(hw_list_table(r));
}

Json json(const api::HwShowResult& r) {
  return r.spec;
}

std::string table(const api::HwShowResult& r) {
  // Flatten {"value", "source"} pairs to "value  (source)" rows.
  Table t;
  t.headers = {"field", "value", "source"};
  std::function<void(const Json&, const std::string&)> walk = [&](const Json& node,
                                                                  const std::string& path) {
    if (node.is_object() && node.contains("value") && !node["value"].is_object()) {
      t.add_row({path, node["value"].dump(), node.value("source", "")});
    } else if (node.is_object()) {
      for (auto it = node.begin(); it != node.end(); ++it)
        walk(it.value(), path.empty() ? it.key() : path + "." + it.key());
    } else if (node.is_array()) {
      for (size_t i = 0; i < node.size(); ++i) walk(node[i], path + "[" + std::to_string(i) + "]");
    } else {
      t.add_row({path, node.is_string() ? node.get<std::string>() : node.dump(), ""});
    }
  };
  walk(r.spec, "");
  return render_table(t);
}

Json json(const api::ModelListResult& r) {
  Json j = Json::array();
  for (const auto& m : r.models) j.push_back(model_json(m));
  return j;
}
std::string table(const api::ModelListResult& r) {
  return render_table(model_list_table(r));
}
std::string csv(const api::ModelListResult& r) {
  return render_csv(model_list_table(r));
}
Json json(const api::ModelShowResult& r) {
  return model_json(r.model);
}
std::string table(const api::ModelShowResult& r) {
  return kv_table(json(r));
}

// ---- cost ----

Json json(const api::GemmResult& r) {
  return gemm_json(r.shape, r.cost, r.gpu);
}
Json json(const api::AttentionResult& r) {
  return attention_json(r.shape, r.cost, r.gpu);
}

Json json(const api::ElementwiseResult& r) {
  Json j = op_cost_json(r.cost);
  j["gpu"] = r.gpu;
  j["kind"] = elementwise_name(r.shape.kind);
  j["rows"] = r.shape.rows;
  j["cols"] = r.shape.cols;
  j["dtype"] = dtype_name(r.shape.dtype);
  return j;
}

Json json(const api::AllreduceResult& r) {
  Json j = op_cost_json(r.cost);
  j["collective"] = collective_kind_name(r.collective);
  j["algorithm"] = r.cost.algorithm;
  j["protocol"] = r.cost.protocol;
  j["system"] = r.system;
  j["bytes"] = r.bytes;
  j["gpus"] = r.gpus;
  j["algbw_gb_per_s"] = r.algbw_bytes_per_s() / 1e9;
  j["busbw_gb_per_s"] = r.busbw_bytes_per_s() / 1e9;
  Json candidates = Json::array();
  for (const auto& c : r.cost.candidates)
    candidates.push_back({{"algorithm", c.algorithm},
                          {"protocol", c.protocol},
                          {"time_s", c.time_s},
                          {"tuner_time_s", c.tuner_s}});
  j["candidates"] = candidates;
  return j;
}

Json json(const api::AlltoallResult& r) {
  Json j = op_cost_json(r.cost);
  j["system"] = r.system;
  j["gpus"] = r.gpus;
  j["skew"] = r.skew;
  j["bytes_per_gpu"] = r.bytes_per_gpu;
  return j;
}

Json json(const api::DeepepResult& r) {
  Json j;
  j["system"] = r.system;
  j["mode"] = ep_alltoall_mode_name(r.mode);
  j["gpus"] = r.gpus;
  for (const auto* c : {&r.dispatch, &r.combine}) {
    const std::string p = c == &r.combine ? "combine_" : "dispatch_";
    j[p + "time_s"] = c->time_s;
    j[p + "bound"] = c->bound;
    j[p + "bytes_per_gpu"] = c->bytes_per_gpu;
    j[p + "logical_bytes"] = c->logical_bytes;
    j[p + "nvlink_bytes"] = c->nvlink_bytes;
    j[p + "rdma_bytes"] = c->rdma_bytes;
    j[p + "detail"] = c->detail;
    if (c == &r.dispatch) {
      j["distinct_gpus_per_token"] = c->distinct_gpus;
      j["distinct_nodes_per_token"] = c->distinct_nodes;
    }
  }
  return j;
}

Json json(const api::P2pResult& r) {
  Json j = op_cost_json(r.cost);
  j["system"] = r.system;
  j["bytes"] = r.bytes;
  j["cross_node"] = r.cross_node;
  return j;
}

std::string table(const api::GemmResult& r) {
  return kv_table(json(r));
}
std::string table(const api::AttentionResult& r) {
  return kv_table(json(r));
}
std::string table(const api::ElementwiseResult& r) {
  return kv_table(json(r));
}
std::string table(const api::AllreduceResult& r) {
  Json j = json(r);
  j.erase("candidates");
  if (r.cost.candidates.empty()) return kv_table(j);  // one GPU: nothing to weigh
  Table t;
  t.headers = {"algorithm", "protocol", "tuner's time", "time", "NCCL's pick"};
  t.right_align = {false, false, true, true, false};
  for (const auto& c : r.cost.candidates)
    t.add_row({c.algorithm, c.protocol, format_time(c.tuner_s), format_time(c.time_s),
               c.algorithm == r.cost.algorithm ? "chosen" : ""});
  return kv_table(j) + "\nalgorithms NCCL's tuner weighs (by its time: every channel at work):\n" +
         render_table(t);
}
std::string table(const api::AlltoallResult& r) {
  return kv_table(json(r));
}
std::string table(const api::DeepepResult& r) {
  return kv_table(json(r));
}
std::string table(const api::P2pResult& r) {
  return kv_table(json(r));
}

// ---- estimate ----

namespace {

Json memory_json(const api::EstimateResult& r) {
  return report::memory_json(r.memory, r.limits, r.memory_step, r.memory_warning,
                             r.serve ? "max_prompt" : "max_seq");
}

Json serve_json(const ServeEstimate& s, int gpus) {
  Json j;
  j["prompt"] = s.prompt;
  j["output"] = s.output;
  j["ttft_s"] = s.ttft_s;
  j["ttft_band_s"] = s.ttft_band_s;
  j["decode_steps"] = s.decode_steps;
  j["tpot_mean_s"] = s.tpot_mean_s;
  j["tpot_mean_band_s"] = s.tpot_mean_band_s;
  j["tpot_first_s"] = s.decode_steps > 0 ? s.first_decode.total_s : 0.0;
  j["tpot_last_s"] = s.decode_steps > 0 ? s.last_decode.total_s : 0.0;
  j["e2e_s"] = s.e2e_s;
  j["output_tokens_per_s"] = s.output_tokens_per_s();
  j["output_tokens_per_s_per_gpu"] = s.output_tokens_per_s() / std::max(1, gpus);
  return j;
}

std::string memory_lines(const api::EstimateResult& r) {
  if (r.serve)
    return report::memory_lines(r.memory, r.limits, r.memory_step, "prompt", r.serve->prompt,
                                r.step.batch, fmt::format(" and output {}", r.serve->output));
  return report::memory_lines(r.memory, r.limits, r.memory_step,
                              r.step.phase == Phase::decode ? "context" : "seq", r.step.seq,
                              r.step.batch);
}

}  // namespace

Json json(const api::EstimateResult& r) {
  Json j = estimate_json(r.estimate, r.model, r.system, r.step);
  if (r.serve) {
    j["phase"] = "serve";
    j["serve"] = serve_json(*r.serve, r.system.total_gpus());
  }
  j["memory"] = memory_json(r);
  return j;
}
std::string table(const api::EstimateResult& r) {
  if (!r.serve) {
    std::string out = estimate_table(r.estimate, r.model, r.system, r.step);
    out += memory_lines(r);
    return out;
  }
  const ServeEstimate& s = *r.serve;
  const auto& p = s.prefill.plan;
  std::string out = fmt::format(
      "{} serving on {} ({} x {}): batch {}, prompt {}, output {}, {}; TP {}, DP {}{}{}\n\n",
      r.model.name, r.system.name, r.system.total_gpus(), r.system.gpu.name, s.batch, s.prompt,
      s.output, dtype_name(r.step.dtype), p.tp, p.dp,
      r.model.is_moe() ? fmt::format(", EP {}, layout {}", p.ep, moe_layout_name(p.layout)) : "",
      r.step.cuda_graphs ? "; CUDA graphs" : "");
  Table t;
  t.headers = {"figure", "value", "+-", "what"};
  t.right_align = {false, true, true, false};
  t.add_row({"TTFT", format_time(s.ttft_s), format_time(s.ttft_band_s),
             fmt::format("prefill of {} x {} tokens", s.batch, s.prompt)});
  if (s.decode_steps > 0) {
    t.add_row({"TPOT mean", format_time(s.tpot_mean_s), format_time(s.tpot_mean_band_s),
               fmt::format("{} decode steps", s.decode_steps)});
    t.add_row({"TPOT first", format_time(s.first_decode.total_s),
               format_time(s.first_decode.band_s), fmt::format("context {}", s.prompt)});
    t.add_row({"TPOT last", format_time(s.last_decode.total_s), format_time(s.last_decode.band_s),
               fmt::format("context {}", s.last_step.seq)});
  }
  t.add_row({"end to end", format_time(s.e2e_s), "", "TTFT + every decode step"});
  t.add_row({"throughput", fmt::format("{:.0f}", s.output_tokens_per_s()), "",
             fmt::format("output tokens/s ({:.0f} per GPU)",
                         s.output_tokens_per_s() / std::max(1, r.system.total_gpus()))});
  out += render_table(t);
  out += '\n';
  out += memory_lines(r);
  return out;
}
std::string csv(const api::EstimateResult& r) {
  if (!r.serve) return estimate_csv(r.estimate, r.model, r.system, r.step);
  // Serving: one row of figures with the configuration (the prefill's ops are in the JSON).
  const ServeEstimate& s = *r.serve;
  const StepPlan& p = s.prefill.plan;
  Table t;
  t.headers = {"model", "system", "gpu", "gpus", "batch", "prompt", "output"};
  const auto& setup = step_setup_columns();
  t.headers.insert(t.headers.end(), setup.begin(), setup.end());
  for (const char* h : {"ttft_s", "ttft_band_s", "tpot_mean_s", "tpot_mean_band_s", "tpot_first_s",
                        "tpot_last_s", "e2e_s", "output_tokens_per_s", "memory_bytes",
                        "memory_budget_bytes", "memory_fits", "max_batch", "max_prompt"})
    t.headers.push_back(h);
  auto num = [](double x) { return fmt::format("{:.9g}", x); };
  std::vector<std::string> row = {r.model.name,
                                  r.system.name,
                                  r.system.gpu.name,
                                  std::to_string(r.system.total_gpus()),
                                  std::to_string(s.batch),
                                  std::to_string(s.prompt),
                                  std::to_string(s.output)};
  for (std::string& c : step_setup_cells(p, r.model, r.step)) row.push_back(std::move(c));
  for (std::string c :
       {num(s.ttft_s), num(s.ttft_band_s), num(s.tpot_mean_s), num(s.tpot_mean_band_s),
        num(s.decode_steps > 0 ? s.first_decode.total_s : 0.0),
        num(s.decode_steps > 0 ? s.last_decode.total_s : 0.0), num(s.e2e_s),
        num(s.output_tokens_per_s()), num(r.memory.total_bytes()), num(r.memory.budget_bytes),
        std::string(r.memory.fits() ? "1" : "0"), std::to_string(r.limits.max_batch),
        std::to_string(r.limits.max_seq)})
    row.push_back(std::move(c));
  t.add_row(std::move(row));
  return render_csv(t);
}
// ---- estimate sweep ----

namespace {
Json sweep_row(const api::EstimateResult& p) {
  Json o;
  o["model"] = p.model.name;
  o["system"] = p.system.name;
  o["gpu"] = p.system.gpu.name;
  o["gpus"] = p.system.total_gpus();
  o["phase"] = phase_name(p.step.phase);
  o["dtype"] = std::string(dtype_name(p.step.dtype));
  o["batch"] = p.step.batch;
  o["seq"] = p.step.seq;
  o["tp"] = p.estimate.plan.tp;
  o["dp"] = p.estimate.plan.dp;
  o["ep"] = p.model.is_moe() ? p.estimate.plan.ep : 0;
  o["layout"] = p.model.is_moe() ? moe_layout_name(p.estimate.plan.layout) : "";
  o["cuda_graphs"] = p.step.cuda_graphs;
  o["total_s"] = p.estimate.total_s;
  o["band_s"] = p.estimate.band_s;
  o["tokens_per_s"] = p.estimate.tokens_per_s();
  o["tflops_per_gpu"] = p.estimate.tflops_per_gpu();
  o["time_by_bound_s"] = time_by_bound_json(p.estimate);
  o["memory_bytes"] = p.memory.total_bytes();
  o["memory_budget_bytes"] = p.memory.budget_bytes;
  o["memory_fits"] = p.memory.fits();
  o["max_batch"] = p.limits.max_batch;
  o["max_seq"] = p.limits.max_seq;
  return o;
}
}  // namespace

Json json(const api::EstimateSweepResult& r) {
  Json j;
  j["points"] = r.points.size();
  Json rows = Json::array();
  for (const auto& p : r.points) rows.push_back(sweep_row(p));
  j["rows"] = rows;
  return j;
}

std::string table(const api::EstimateSweepResult& r) {
  Table t;
  t.headers = {"model", "system", "phase",    "dtype",  "batch", "seq",
               "time",  "+-",     "tokens/s", "memory", "fits"};
  t.right_align = {false, false, false, false, true, true, true, true, true, true, false};
  t.optional = {false, false, false, false, false, false, false, true, false, true, false};
  std::size_t over = 0;
  for (const auto& p : r.points) {
    over += !p.memory.fits();
    t.add_row({p.model.name, p.system.name, phase_name(p.step.phase),
               std::string(dtype_name(p.step.dtype)), std::to_string(p.step.batch),
               std::to_string(p.step.seq), format_time(p.estimate.total_s),
               format_time(p.estimate.band_s), fmt::format("{:.0f}", p.estimate.tokens_per_s()),
               format_bytes(p.memory.total_bytes()), p.memory.fits() ? "yes" : "NO"});
  }
  std::string out = render_table(t);
  if (!r.points.empty() && r.points.front().step.cuda_graphs)
    out += "every step replayed from CUDA graphs (--cuda-graphs)\n";
  if (over > 0)
    out += fmt::format(
        "{} of {} points do not fit in GPU memory (fits: NO); --format json gives "
        "each one's memory and limits\n",
        over, r.points.size());
  return out;
}

std::string csv(const api::EstimateSweepResult& r) {
  return records_csv(json(r), "rows");
}

std::string svg(const api::EstimateSweepResult& r) {
  // Throughput against batch (or against sequence length when the sweep has one batch), one
  // line per everything else.
  std::set<std::int64_t> batches, seqs;
  for (const auto& p : r.points) batches.insert(p.step.batch), seqs.insert(p.step.seq);
  const bool by_batch = batches.size() > 1 || seqs.size() == 1;
  LineChart c;
  c.title = by_batch ? "Throughput vs batch" : "Throughput vs sequence length";
  c.x_label = by_batch ? "batch (sequences)" : "sequence length (tokens)";
  c.y_label = "tokens per second (whole system)";
  c.log_x = true;
  std::map<std::string, std::size_t> index;
  std::set<std::string> layouts;
  for (const auto& p : r.points) {
    std::string name = p.model.name + ", " + p.system.name + ", " + phase_name(p.step.phase) +
                       ", " + std::string(dtype_name(p.step.dtype));
    name +=
        by_batch ? fmt::format(", seq {}", p.step.seq) : fmt::format(", batch {}", p.step.batch);
    if (!index.count(name))
      index[name] = c.series.size(), c.series.push_back({name, {}, {}, false});
    c.series[index[name]].points.emplace_back(double(by_batch ? p.step.batch : p.step.seq),
                                              p.estimate.tokens_per_s());
    c.series[index[name]].hollow.push_back(!p.memory.fits());
    if (!p.memory.fits()) c.hollow_means = "does not fit in GPU memory";
    if (p.model.is_moe()) layouts.insert(moe_layout_name(p.estimate.plan.layout));
  }
  c.subtitle =
      fmt::format("llmgps estimate sweep: {} points; memory fraction {:g}{}{}", r.points.size(),
                  r.points.empty() ? 0.9 : r.points.front().step.memory_fraction,
                  layouts.empty() ? "" : fmt::format("; MoE layout {}", *layouts.begin()),
                  !r.points.empty() && r.points.front().step.cuda_graphs ? "; CUDA graphs" : "");
  return svg_line_chart(c);
}

std::string chrome_trace(const api::EstimateResult& r) {
  return step_chrome_trace(r.estimate, r.model);
}

// ---- validate, calibrate ----

Json json(const api::ValidateResult& r) {
  if (r.loso) return loso_json(*r.loso);
  return validation_json(r.validation.rows, r.validation.classes, r.validation.samples);
}
std::string table(const api::ValidateResult& r) {
  if (r.loso) return loso_table(*r.loso);
  return validation_table(r.validation.rows, r.validation.classes, r.validation.samples);
}
namespace {
// The scored rows as records, without the prose the JSON carries for readers.
std::string validation_records(Json j, const char* rows) {
  j.erase("error_convention");
  return records_csv(j, rows);
}
}  // namespace

std::string csv(const api::ValidateResult& r) {
  if (r.loso) return validation_records(json(r), "held_out");
  return validation_records(json(r), r.validation.samples ? "samples" : "classes");
}
Json json(const api::CalibrateResult& r) {
  return validation_json(r.validation.rows, r.validation.classes, r.validation.samples);
}
std::string table(const api::CalibrateResult& r) {
  return validation_table(r.validation.rows, r.validation.classes, r.validation.samples);
}
std::string csv(const api::CalibrateResult& r) {
  return validation_records(json(r), r.validation.samples ? "samples" : "classes");
}

// ---- moe ----

Json json(const api::StatsResult& r) {
  Json j = trace_stats_json(r.stats);
  if (r.transitions) j["transitions"] = *r.transitions;
  return j;
}
std::string table(const api::StatsResult& r) {
  return trace_stats_table(r.stats);
}
std::string jsonl(const api::SynthResult& r) {
  return moe::trace_to_jsonl(r.trace);
}
Json json(const api::PredictResult& r) {
  Json j = predictors_json(r.results, r.train, r.test, r.batch_tokens);
  j["train_warmup_records"] = r.train_warmup_records;
  j["test_warmup_records"] = r.test_warmup_records;
  return j;
}
std::string table(const api::PredictResult& r) {
  std::string t = predictors_table(r.results);
  if (r.train_warmup_records + r.test_warmup_records > 0)
    t += fmt::format(
        "warm-up records excluded: {} from the training trace, {} from the test "
        "trace (--keep-warmup keeps them)\n",
        r.train_warmup_records, r.test_warmup_records);
  return t;
}
Json json(const api::PlanResult& r) {
  Json j = plan_json(r.plan, r.loads, r.algo);
  if (!r.eplb_policy.empty()) j["eplb_policy"] = r.eplb_policy;
  j["warmup_records"] = r.warmup_records;
  // The model layer of each row (a partial trace plans only the layers it logs).
  std::vector<int> ids(r.plan.phy2log.size());
  for (std::size_t l = 0; l < ids.size(); ++l)
    ids[l] = r.layer_ids.empty() ? int(l) : r.layer_ids[l];
  j["layers"] = ids;
  return j;
}
std::string csv(const api::PlanResult& r) {
  // Long form: one row per layer and slot.
  Table t;
  t.headers = {"algo",   "gpus",    "slots_per_gpu", "layer", "slot",  "gpu",
               "expert", "replica", "replicas",      "share", "tokens"};
  const moe::ReplicaPlan& p = r.plan;
  for (int l = 0; l < p.layers(); ++l) {
    const int layer = r.layer_ids.empty() ? l : r.layer_ids[std::size_t(l)];
    for (int s = 0; s < p.slots(); ++s) {
      const int e = p.phy2log[std::size_t(l)][std::size_t(s)];
      const double share = e >= 0 ? p.slot_share[std::size_t(l)][std::size_t(s)] : 0.0;
      t.add_row(
          {r.algo, std::to_string(p.gpus), std::to_string(p.slots_per_gpu), std::to_string(layer),
           std::to_string(s), std::to_string(p.gpu_of_slot(s)), std::to_string(e),
           e >= 0 ? std::to_string(p.phyrank[std::size_t(l)][std::size_t(s)]) : "",
           e >= 0 ? std::to_string(p.logcnt[std::size_t(l)][std::size_t(e)]) : "",
           fmt::format("{}", share),
           fmt::format("{}", e >= 0 ? r.loads[std::size_t(l)][std::size_t(e)] * share : 0.0)});
    }
  }
  return render_csv(t);
}
std::string table(const api::PlanResult& r) {
  std::string t = plan_table(r.plan, r.loads, r.algo);
  if (!r.eplb_policy.empty())
    t += fmt::format("EPLB's {} policy{}\n", r.eplb_policy,
                     r.eplb_policy == "global" ? " (the groups do not divide over the nodes)" : "");
  if (!r.layer_ids.empty())
    t += fmt::format("plan rows are model layers {} (the layers the trace logs)\n",
                     fmt::join(r.layer_ids, ", "));
  if (r.warmup_records > 0) t += warmup_excluded(r.warmup_records) + "\n";
  return t;
}
Json sglang_json(const api::PlanResult& r) {
  if (!r.layer_ids.empty())
    throw InputError("--format",
                     "sglang needs a plan for every MoE layer; the trace logs only "
                     "some (layers_logged)");
  for (std::size_t l = 0; l < r.plan.phy2log.size(); ++l)
    for (std::size_t s = 0; s < r.plan.phy2log[l].size(); ++s)
      if (r.plan.phy2log[l][s] < 0)
        throw InputError("--format",
                         fmt::format("sglang needs every physical slot to hold an expert; layer {} "
                                     "slot {} is empty (use --algo eplb, or fewer slots)",
                                     l, s));
  Json j;
  if (r.model_layers == 0) {
    j["physical_to_logical_map"] = r.plan.phy2log;
    return j;
  }
  // SGLang indexes the map by layer id over all of the model's layers (its num_layers is
  // num_hidden_layers): the MoE layers get their plan rows, the dense ones, which it never reads,
  // the contiguous placement (slot s holds expert s mod E: every expert has a slot).
  const int E = r.plan.experts();
  std::vector<std::vector<int>> rows(std::size_t(r.model_layers));
  for (int l = 0; l < r.model_layers; ++l) {
    auto& row = rows[std::size_t(l)];
    for (int s = 0; s < r.plan.slots(); ++s) row.push_back(s % E);
  }
  for (std::size_t i = 0; i < r.moe_layer_ids.size(); ++i)
    rows[std::size_t(r.moe_layer_ids[i])] = r.plan.phy2log[i];
  j["physical_to_logical_map"] = rows;
  return j;
}

// Trace mode gives one answer: the trace-driven verdict. The closed form on the same trace's
// shares rides along as a labelled cross-check, never as a second recommendation.
Json json(const api::AdviseResult& r) {
  Json j = advice_json(r.advice, r.context);
  if (r.closed_form) {
    const Json cj = advice_json(*r.closed_form, r.closed_form_context);
    Json x;
    x["role"] =
        "cross-check: the closed form on the trace's shares with the predictors' measured "
        "properties; the recommendation is the trace-driven one above";
    for (const char* k :
         {"strategies", "recommended", "recommended_name", "fastest", "runner_up", "margin",
          "difference_band_s", "tied", "verdict_basis", "improvement_vs_best_token"})
      x[k] = cj[k];
    j["cross_check"] = x;
  }
  return j;
}
std::string table(const api::AdviseResult& r) {
  std::string t = advice_table(r.advice, r.context);
  if (r.closed_form)
    t += "\ncross-check, not the recommendation: the closed form on the same trace's shares and "
         "the predictors' measured properties\n\n" +
         advice_table(*r.closed_form, r.closed_form_context, "cross-check verdict");
  return t;
}
// ---- advise sweep ----

namespace {
// The fastest latency of each strategy kind in an advice (infinite when the kind is absent).
std::map<moe::StrategyKind, double> best_by_kind(const moe::Advice& a) {
  std::map<moe::StrategyKind, double> best;
  for (const auto& r : a.strategies) {
    auto it = best.find(r.strategy.kind);
    if (it == best.end() || r.latency_s < it->second) best[r.strategy.kind] = r.latency_s;
  }
  return best;
}
}  // namespace

Json json(const api::AdviseSweepResult& r) {
  Json j;
  j["points"] = r.points.size();
  Json rows = Json::array();
  for (const auto& p : r.points) {
    const auto& c = p.context;
    Json o;
    o["model"] = c.model;
    o["system"] = c.system;
    o["phase"] = c.phase;
    o["batch"] = c.batch;
    o["seq"] = c.seq;
    o["dtype"] = c.dtype;
    o["layout"] = c.layout;
    o["cuda_graphs"] = c.cuda_graphs;
    o["mode"] = c.mode;
    o["slots_per_gpu"] = c.slots_per_gpu;
    Json v;
    verdict_json(v, p.advice);
    o["recommended"] = v["recommended"];
    o["recommended_name"] = v["recommended_name"];
    o["margin"] = v["margin"];
    const auto best = best_by_kind(p.advice);
    for (auto k :
         {moe::StrategyKind::none, moe::StrategyKind::distribution, moe::StrategyKind::token}) {
      auto it = best.find(k);
      o[std::string(moe::strategy_kind_name(k)) + "_latency_s"] =
          it == best.end() ? Json() : Json(it->second);
    }
    o["memory_fits"] = c.memory.fits();
    rows.push_back(o);
  }
  j["rows"] = rows;
  return j;
}

std::string table(const api::AdviseSweepResult& r) {
  Table t;
  t.headers = {"phase", "batch",        "seq",   "recommended", "margin",
               "none",  "distribution", "token", "fits"};
  t.right_align = {false, true, true, false, true, true, true, true, false};
  for (const auto& p : r.points) {
    const auto& a = p.advice;
    const auto best = best_by_kind(a);
    auto lat = [&](moe::StrategyKind k) {
      auto it = best.find(k);
      return it == best.end() ? std::string("-") : format_time(it->second);
    };
    const std::string rec =
        a.tie
            ? "tie: " + a.recommended_name + " / " + a.strategies[a.runner_up].strategy.name
            : std::string(moe::strategy_kind_name(a.recommended)) + " (" + a.recommended_name + ")";
    t.add_row({p.context.phase, std::to_string(p.context.batch), std::to_string(p.context.seq), rec,
               fmt::format("{:.1f}%", 100 * a.margin), lat(moe::StrategyKind::none),
               lat(moe::StrategyKind::distribution), lat(moe::StrategyKind::token),
               p.context.memory.fits() ? "yes" : "NO"});
  }
  std::string head;
  if (!r.points.empty()) {
    const auto& c = r.points.front().context;
    head = fmt::format(
        "{} on {}, {}; layout {}, {} planner; {} ({}); latency: whole step, the "
        "fastest strategy of each kind\n\n",
        c.model, c.system, c.dtype, c.layout, c.algo, c.mode, c.input);
  }
  return head + render_table(t);
}

std::string csv(const api::AdviseSweepResult& r) {
  return records_csv(json(r), "rows");
}

Json json(const api::MapResult& r) {
  return map_json(r.cells, r.context);
}
std::string table(const api::MapResult& r) {
  return map_table(r.cells);
}
std::string csv(const api::MapResult& r) {
  return map_csv(r.cells);
}
std::string svg(const api::MapResult& r) {
  return map_svg(r.cells, r.context);
}

}  // namespace llmgps::report
