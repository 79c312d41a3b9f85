// The dropout part of api_report.hpp: philox lines, mask summaries, the block and the sweep.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/report/svg.hpp"

namespace llmgps::report {

namespace {

// The block's strategies, by name (the model returns none, fused, sequential, overlapped).
const char* const kStrategies[] = {"none", "fused", "sequential", "overlapped"};

const dropout::BlockStrategy& strategy(const dropout::BlockResult& b, const std::string& name) {
  for (const auto& s : b.strategies)
    if (s.name == name) return s;
  throw std::logic_error("dropout block has no strategy '" + name + "'");
}

Json utilisation(const std::vector<ResourceUse>& resources) {
  Json j;
  for (const auto& u : resources) j[u.resource] = u.utilisation;
  return j;
}

// The contract's `overlap` object: how the RNG meets its (main) host GEMM, with both kernels'
// footprints in that way.
Json overlap_json(const dropout::BlockResult& b, const dropout::HostShare& h) {
  const GemmKernel& g = h.gemm_kernel;
  Json j;
  j["way"] = dropout::way_name(h.way);
  j["host_gemm"] = h.gemm;
  j["host_layer_offset"] = h.layer_offset;
  j["gemm_kernel"] = {{"family", g.family},
                      {"tile_m", g.tile_m},
                      {"tile_n", g.tile_n},
                      {"threads", g.threads_per_cta},
                      {"consumer_threads", g.threads_per_cta - g.producer_threads},
                      {"registers_per_thread", g.registers_per_thread},
                      {"smem_bytes", g.smem_bytes},
                      {"ctas_per_sm", g.ctas_per_sm}};
  if (g.consumer_registers > 0)
    j["gemm_kernel"]["setmaxnreg"] = {{"producer", g.producer_registers},
                                      {"consumer", g.consumer_registers}};
  const auto& p = b.rng_profile;
  j["rng_kernel"] = {{"threads", h.rng.threads},
                     {"registers_per_thread", h.rng.registers_per_thread},
                     {"smem_bytes", h.rng.smem_bytes},
                     {"ctas_per_sm", h.rng.ctas_per_sm},
                     {"instructions_per_element",
                      {{"imad", p.imad}, {"alu", p.alu}, {"other", p.total - p.imad - p.alu}}}};
  if (h.way == dropout::Way::partition) j["rng_sms"] = h.rng_sms;
  j["time_s"] = h.time_s;
  j["detail"] = h.detail;
  return j;
}

Table sweep_table(const api::SweepResult& r) {
  Table t;
  t.headers = {"model",      "dtype",      "batch",         "seq",      "none",     "fused",
               "sequential", "overlapped", "vs sequential", "vs fused", "host GEMM"};
  t.right_align = {false, false, true, true, true, true, true, true, true, true, false};
  t.optional = {false, false, false, false, true, true, true, false, false, false, false};
  for (const auto& row : r.rows) {
    std::vector<std::string> cells = {row.model, row.dtype, std::to_string(row.batch),
                                      std::to_string(row.seq)};
    for (const char* name : kStrategies)
      cells.push_back(format_time(strategy(row.block, name).time_s));
    cells.push_back(fmt::format("{:.3f}x", row.block.speedup_vs_sequential));
    cells.push_back(fmt::format("{:.3f}x", row.block.speedup_vs_fused));
    std::string hosts = row.block.host_gemm;  // "a+b+c", spaced so a narrow table can wrap it
    for (std::size_t at = hosts.find('+'); at != std::string::npos; at = hosts.find('+', at + 3))
      hosts.replace(at, 1, " + ");
    cells.push_back(hosts);
    t.add_row(cells);
  }
  return t;
}

}  // namespace

std::string philox_lines(const std::uint32_t* words, std::size_t n) {
  std::string out;
  out.reserve(36 * n);
  for (std::size_t i = 0; i < n; ++i)
    out += fmt::format("{:08x} {:08x} {:08x} {:08x}\n", words[4 * i], words[4 * i + 1],
                       words[4 * i + 2], words[4 * i + 3]);
  return out;
}

Json json(const api::MaskResult& r, const std::string& file) {
  Json j;
  j["file"] = file;
  j["batch"] = r.shape.batch, j["heads"] = r.shape.heads;
  j["seq_q"] = r.shape.seq_q, j["seq_k"] = r.shape.seq_k;
  j["elements"] = r.shape.elements();
  j["bytes"] = r.words.size() * sizeof(std::uint32_t);
  j["p"] = r.rng.p, j["bits"] = r.rng.bits, j["rounds"] = r.rng.rounds;
  j["seed"] = r.rng.seed, j["offset"] = r.rng.offset;
  j["keep_threshold"] = dropout::keep_threshold(r.rng);
  j["keep_fraction"] = r.keep_fraction;
  j["expected_keep_fraction"] = r.expected_keep_fraction;
  j["philox"] = r.philox_impl;
  j["generate_s"] = r.generate_s;
  return j;
}

std::string table(const api::MaskResult& r, const std::string& file) {
  return fmt::format(
      "wrote {} ({} bytes): {} x {} x {} x {} elements, p {}, {} bits, Philox-{}; keep fraction "
      "{:.6f} (expected {:.6f}); generated in {}\n",
      file, r.words.size() * sizeof(std::uint32_t), r.shape.batch, r.shape.heads, r.shape.seq_q,
      r.shape.seq_k, r.rng.p, r.rng.bits, r.rng.rounds, r.keep_fraction, r.expected_keep_fraction,
      format_time(r.generate_s));
}

Json json(const api::BlockResult& r) {
  const auto& a = r.request;
  const auto& b = r.block;
  Json j;
  j["model"] = a.model;
  j["hw"] = a.hw;
  j["dtype"] = a.dtype;
  j["scope"] = a.scope;
  j["batch"] = a.batch;
  j["seq"] = a.seq;
  j["p"] = a.p;
  j["bits"] = a.bits;
  j["rounds"] = a.rounds;
  Json st;
  for (const auto& s : b.strategies) {
    Json o;
    o["time_s"] = s.time_s;
    Json ops = Json::array();
    for (const auto& op : s.ops)
      ops.push_back({{"name", op.name},
                     {"pass", op.pass},
                     {"time_s", op.time_s},
                     {"bound", op.bound},
                     {"stream", op.stream == 1 ? "rng" : "compute"}});
    o["ops"] = ops;
    st[s.name] = o;
  }
  j["strategies"] = st;
  j["speedup_vs_sequential"] = b.speedup_vs_sequential;
  j["speedup_vs_fused"] = b.speedup_vs_fused;
  j["host_gemm"] = b.host_gemm;
  const dropout::HostShare& main = b.main_host();
  j["host_co_resident"] = main.way == dropout::Way::co_resident;
  Json hosts = Json::array();
  for (const auto& h : b.hosts)
    hosts.push_back({{"gemm", h.gemm},
                     {"fraction", h.fraction},
                     {"host_layer_offset", h.layer_offset},
                     {"way", dropout::way_name(h.way)},
                     {"time_s", h.time_s},
                     {"gemm_alone_s", h.gemm_alone_s},
                     {"rng_alone_s", h.rng_alone_s},
                     {"detail", h.detail}});
  j["hosts"] = hosts;
  j["overlap"] = overlap_json(b, main);
  j["rng_kernel_s"] = b.rng_alone.time_s;
  j["rng_elements"] = b.rng_elements;
  j["rng_kernel_utilisation"] = utilisation(b.rng_alone.resources);
  j["host_pair_utilisation"] = utilisation(main.resources);
  j["attention_fwd_s"] = {{"none", b.attention_fwd_none.time_s},
                          {"fused", b.attention_fwd_fused.time_s},
                          {"mask", b.attention_fwd_mask.time_s}};
  j["attention_bwd_s"] = {{"none", b.attention_bwd_none.time_s},
                          {"fused", b.attention_bwd_fused.time_s},
                          {"mask", b.attention_bwd_mask.time_s}};
  j["fused_rng"] = {{"bits", b.fused_rng.bits}, {"rounds", b.fused_rng.rounds}};
  j["what_ifs"] = b.what_ifs;
  j["summary"] = b.summary;
  return j;
}

std::string table(const api::BlockResult& r) {
  const auto& a = r.request;
  const auto& b = r.block;
  // One row per compute op of the overlapped block (it has every op), one column per strategy.
  Table t;
  t.headers = {"op", "pass", "none", "fused", "sequential", "overlapped"};
  t.right_align = {false, false, true, true, true, true};
  for (const auto& o : strategy(b, "overlapped").ops) {
    if (o.stream == 1) continue;
    std::vector<std::string> row = {o.name, o.pass};
    for (const char* name : kStrategies) {
      std::string cell = "-";
      for (const auto& x : strategy(b, name).ops)
        if (x.name == o.name && x.pass == o.pass && x.stream == 0) cell = format_time(x.time_s);
      row.push_back(cell);
    }
    t.add_row(row);
  }
  t.add_row({"rng_mask", "fwd", "-", "-", format_time(b.rng_alone.time_s),
             fmt::format("({}, {})", dropout::way_name(b.main_host().way), b.host_gemm)});
  std::vector<std::string> total = {"total", ""};
  for (const char* name : kStrategies) total.push_back(format_time(strategy(b, name).time_s));
  t.add_row(total);
  return fmt::format("{} on {}, {} {}, batch {}, seq {}, dropout {} (Philox4x32-{}, {} bits)\n\n",
                     r.model.name, r.gpu.name, a.dtype, a.scope, a.batch, a.seq, a.p, a.rounds,
                     a.bits) +
         render_table(t) +
         fmt::format("\noverlapped: {:.3f}x vs sequential, {:.3f}x vs fused; host GEMM {}\n{}\n",
                     b.speedup_vs_sequential, b.speedup_vs_fused, b.host_gemm, b.summary) +
         fmt::format(
             "fused: Philox4x32-{}, {} bits inside attention{}\n", b.fused_rng.rounds,
             b.fused_rng.bits,
             std::find(b.what_ifs.begin(), b.what_ifs.end(), "fused-fa3") == b.what_ifs.end()
                 ? " (FlashAttention-2's own RNG)"
                 : " (what-if: FlashAttention-3 implements no dropout)");
}

std::string chrome_trace(const api::BlockResult& r, const std::string& name) {
  return dropout::block_chrome_trace(strategy(r.block, name));
}

Json json(const api::SweepResult& r) {
  Json rows = Json::array();
  for (const auto& row : r.rows) {
    Json o;
    o["model"] = row.model;
    o["dtype"] = row.dtype;
    o["batch"] = row.batch;
    o["seq"] = row.seq;
    for (const auto& s : row.block.strategies) o[s.name + "_s"] = s.time_s;
    o["speedup_vs_sequential"] = row.block.speedup_vs_sequential;
    o["speedup_vs_fused"] = row.block.speedup_vs_fused;
    o["host_gemm"] = row.block.host_gemm;
    rows.push_back(o);
  }
  Json j;
  j["model"] = r.request.model;
  j["hw"] = r.request.hw;
  j["dtype"] = r.request.dtype;
  j["scope"] = r.request.scope;
  j["what_ifs"] = r.rows.empty() ? std::vector<std::string>{} : r.rows.front().block.what_ifs;
  j["rows"] = rows;
  return j;
}

std::string csv(const api::BlockResult& r) {
  Json j = json(r);
  j.erase("summary");  // prose for readers
  return records_csv(j, "hosts");
}

std::string table(const api::SweepResult& r) {
  return render_table(sweep_table(r));
}
std::string svg(const api::SweepResult& r) {
  // The overlapped strategy's speedup against sequence length, one line per batch (and model
  // and dtype when the sweep has several), over sequential and over fused.
  // The models and dtypes the rows ran (a dtype "auto" resolves per model and GPU).
  std::set<std::string> models, dtypes;
  for (const auto& row : r.rows) models.insert(row.model), dtypes.insert(row.dtype);
  auto one_or_count = [](const std::set<std::string>& s, const char* what) {
    return s.size() == 1 ? *s.begin() : fmt::format("{} {}", s.size(), what);
  };
  LineChart c;
  c.title = "Dropout: overlapped RNG speedup vs sequence length";
  c.subtitle = fmt::format(
      "llmgps dropout sweep: {} on {}, {}, scope {}, p {:g}, {}-bit Philox-{}; solid: over "
      "sequential, dashed: over fused",
      one_or_count(models, "models"), r.request.hw, one_or_count(dtypes, "dtypes"), r.request.scope,
      r.request.p, r.request.bits, r.request.rounds);
  c.x_label = "sequence length (tokens)";
  c.y_label = "speedup (x)";
  c.log_x = true;
  c.y_from_zero = false;
  std::map<std::string, std::size_t> index;
  for (const auto& row : r.rows)
    for (const bool vs_fused : {false, true}) {
      std::string name = fmt::format("batch {}", row.batch);
      if (models.size() > 1) name = row.model + ", " + name;
      if (dtypes.size() > 1) name += ", " + row.dtype;
      name += vs_fused ? ", vs fused" : ", vs sequential";
      if (!index.count(name))
        index[name] = c.series.size(), c.series.push_back({name, {}, {}, vs_fused});
      c.series[index[name]].points.emplace_back(
          double(row.seq), vs_fused ? row.block.speedup_vs_fused : row.block.speedup_vs_sequential);
    }
  return svg_line_chart(c);
}

std::string csv(const api::SweepResult& r) {
  return records_csv(json(r), "rows");
}

}  // namespace llmgps::report
