#include "llmgps/report/moe_report.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <set>

#include "llmgps/report/estimate_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/report/svg.hpp"

namespace llmgps::report {

using nlohmann::ordered_json;

namespace {
std::string pct(double x) {
  return fmt::format("{:.1f}%", 100 * x);
}
}  // namespace

std::string warmup_excluded(std::size_t records) {
  return fmt::format(
      "{} warm-up records (runs of identical records) excluded (--keep-warmup keeps them)",
      records);
}

ordered_json trace_stats_json(const moe::TraceStats& s) {
  ordered_json j;
  j["layers"] = s.layers;
  j["experts"] = s.experts;
  j["top_k"] = s.top_k;
  j["tokens"] = s.tokens;
  j["records"] = s.records;
  j["warmup_records"] = s.warmup_records;
  // The model layers the statistics cover (a partial trace logs only some).
  ordered_json logged = ordered_json::array();
  for (const auto& l : s.per_layer) logged.push_back(l.layer);
  j["layers_logged"] = logged;
  j["sequences"] = s.sequences;
  j["batch_tokens"] = s.batch_tokens;
  j["batches"] = s.batches;
  j["skew_mean"] = s.skew_mean;
  j["batch_skew_mean"] = s.batch_skew_mean;
  j["entropy_mean_bits"] = s.entropy_mean_bits;
  ordered_json layers = ordered_json::array();
  for (const auto& l : s.per_layer)
    layers.push_back({{"layer", l.layer},
                      {"skew", l.skew},
                      {"entropy_bits", l.entropy_bits},
                      {"batch_skew_mean", l.batch_skew_mean},
                      {"batch_skew_max", l.batch_skew_max},
                      {"shares", l.shares}});
  j["per_layer"] = layers;
  return j;
}

std::string trace_stats_table(const moe::TraceStats& s) {
  Table t;
  t.headers = {"layer",          "skew",    fmt::format("batch skew ({} tok)", s.batch_tokens),
               "max batch skew", "entropy", "shares"};
  t.right_align = {true, true, true, true, true, false};
  for (const auto& l : s.per_layer) {
    std::string sh;
    for (double x : l.shares) sh += fmt::format("{}{:.3f}", sh.empty() ? "" : " ", x);
    t.add_row({std::to_string(l.layer), fmt::format("{:.3f}", l.skew),
               fmt::format("{:.3f}", l.batch_skew_mean), fmt::format("{:.3f}", l.batch_skew_max),
               fmt::format("{:.3f}", l.entropy_bits), sh});
  }
  return fmt::format(
             "{} tokens x {} layers ({} records, {} sequences{}), {} experts, top-{}{}\n\n",
             s.tokens, s.layers, s.records, s.sequences,
             s.layers_logged.empty() ? std::string()
                                     : fmt::format("; the file logs only model layers {}",
                                                   fmt::join(s.layers_logged, ", ")),
             s.experts, s.top_k,
             s.warmup_records > 0 ? "; " + warmup_excluded(s.warmup_records) : std::string()) +
         render_table(t) +
         fmt::format(
             "\nskew (max/mean) mean over layers {:.4f}; per batch of {} tokens {:.4f}; entropy "
             "{:.3f} bits\n",
             s.skew_mean, s.batch_tokens, s.batch_skew_mean, s.entropy_mean_bits);
}

ordered_json predictors_json(const std::vector<moe::PredictorResult>& r, const std::string& train,
                             const std::string& test, std::size_t batch_tokens) {
  ordered_json j;
  j["train"] = train;
  j["test"] = test;
  j["batch_tokens"] = batch_tokens;
  ordered_json arr = ordered_json::array();
  for (const auto& p : r) {
    ordered_json o;
    o["name"] = p.name;
    o["kind"] = moe::strategy_kind_name(p.kind);
    o["error"] = p.error.mean;
    o["error_max"] = p.error.max;
    o["batch_error"] = p.batch_error.mean;
    o["batch_error_max"] = p.batch_error.max;
    if (p.kind == moe::StrategyKind::token) {
      o["accuracy"] = p.accuracy;
      o["top1_accuracy"] = p.top1_accuracy;
    }
    o["samples"] = p.samples;
    arr.push_back(o);
  }
  j["predictors"] = arr;
  return j;
}

std::string predictors_table(const std::vector<moe::PredictorResult>& r) {
  Table t;
  t.headers = {"predictor", "kind", "error", "error max", "batch error", "top-k acc", "top-1 acc"};
  t.right_align = {false, false, true, true, true, true, true};
  for (const auto& p : r)
    t.add_row({p.name, moe::strategy_kind_name(p.kind), pct(p.error.mean), pct(p.error.max),
               pct(p.batch_error.mean), p.kind == moe::StrategyKind::token ? pct(p.accuracy) : "-",
               p.kind == moe::StrategyKind::token ? pct(p.top1_accuracy) : "-"});
  return render_table(t) +
         "\nerror: |p_hat - p| / (1/E) against the test trace's shares (mean over layers and "
         "experts); batch error: "
         "the same per batch, online.\n";
}

ordered_json plan_json(const moe::ReplicaPlan& p, const moe::LoadMatrix& loads,
                       const std::string& algo) {
  ordered_json j;
  j["algo"] = algo;
  j["gpus"] = p.gpus;
  j["slots_per_gpu"] = p.slots_per_gpu;
  j["phy2log"] = p.phy2log;
  // Each expert's replica slots in rank order (EPLB's tensor pads these rows to num_redundant + 1
  // with -1; unpadded, a DeepSeek-V3 plan stays small).
  std::vector<std::vector<std::vector<int>>> log2phy(std::size_t(p.layers()));
  for (int l = 0; l < p.layers(); ++l)
    for (int e = 0; e < p.experts(); ++e) {
      std::vector<int> slots;
      for (int r = 0; r < p.logcnt[std::size_t(l)][std::size_t(e)]; ++r)
        slots.push_back(p.log2phy(l, e, r));
      log2phy[std::size_t(l)].push_back(std::move(slots));
    }
  j["log2phy"] = log2phy;
  j["logcnt"] = p.logcnt;
  j["balancedness"] = moe::balancedness(p, loads);
  if (int(loads[0].size()) >= p.gpus)
    j["balancedness_without_replicas"] = moe::balancedness(
        moe::contiguous_plan(int(loads.size()), int(loads[0].size()), p.gpus), loads);
  j["gpu_loads"] = moe::gpu_loads(p, loads);
  return j;
}

std::string plan_table(const moe::ReplicaPlan& p, const moe::LoadMatrix& loads,
                       const std::string& algo) {
  Table t;
  t.headers = {"layer", "gpu", "experts (slot order)", "load"};
  t.right_align = {true, true, false, true};
  const auto gl = moe::gpu_loads(p, loads);
  for (int l = 0; l < p.layers(); ++l)
    for (int g = 0; g < p.gpus; ++g) {
      std::string ex;
      for (int s = 0; s < p.slots_per_gpu; ++s) {
        const int e = p.phy2log[std::size_t(l)][std::size_t(g * p.slots_per_gpu + s)];
        if (!ex.empty()) ex.push_back(' ');
        ex.append(e < 0 ? std::string("-") : std::to_string(e));
      }
      t.add_row({std::to_string(l), std::to_string(g), ex,
                 fmt::format("{:.1f}", gl[std::size_t(l)][std::size_t(g)])});
    }
  return render_table(t) +
         fmt::format("\n{} plan, {} GPUs x {} slots; balancedness (mean/max GPU load) {:.4f}\n",
                     algo, p.gpus, p.slots_per_gpu, moe::balancedness(p, loads));
}

namespace {
ordered_json named(const moe::StrategyResult& r) {
  return {{"kind", moe::strategy_kind_name(r.strategy.kind)},
          {"name", r.strategy.name},
          {"latency_s", r.latency_s},
          {"band_s", r.band_s}};
}

}  // namespace

// recommended: the fastest strategy's kind, or "tie" when the fastest of another kind is within
// the two bands (both are then named in "tied").
void verdict_json(ordered_json& j, const moe::Advice& a) {
  const bool second = a.runner_up < a.strategies.size();
  j["recommended"] = a.tie ? std::string("tie") : moe::strategy_kind_name(a.recommended);
  j["recommended_name"] = a.tie
                              ? a.recommended_name + " / " + a.strategies[a.runner_up].strategy.name
                              : a.recommended_name;
  if (!a.strategies.empty()) j["fastest"] = named(a.strategies[a.fastest]);
  j["runner_up"] = second ? named(a.strategies[a.runner_up]) : ordered_json();
  j["margin"] = a.margin;
  j["difference_band_s"] = a.difference_band_s;
  j["tied"] =
      a.tie
          ? ordered_json::array({named(a.strategies[a.fastest]), named(a.strategies[a.runner_up])})
          : ordered_json::array();
  j["verdict_basis"] =
      !second ? "one kind of strategy only"
      : a.tie ? "tie: the runner-up is within the two bands (the model cannot tell them apart)"
              : "winner: the margin exceeds the two bands together";
  j["improvement_vs_best_token"] = a.improvement_vs_best_token;
}

namespace {

std::string verdict_line(const moe::Advice& a, const std::string& label) {
  if (a.strategies.empty()) return {};
  const auto& f = a.strategies[a.fastest];
  if (a.runner_up >= a.strategies.size())
    return fmt::format("\n{}: {} ({})\n", label, moe::strategy_kind_name(a.recommended),
                       a.recommended_name);
  const auto& r = a.strategies[a.runner_up];
  const std::string bands =
      fmt::format("bands +-{} and +-{}", format_time(f.band_s), format_time(r.band_s));
  if (a.tie)
    return fmt::format(
        "\n{}: tie between {} ({}) and {} ({}): {:.1f}% apart, within the model's {} "
        "(docs/calibration.md)\n",
        label, moe::strategy_kind_name(f.strategy.kind), f.strategy.name,
        moe::strategy_kind_name(r.strategy.kind), r.strategy.name, 100 * a.margin, bands);
  return fmt::format("\n{}: {} ({}); {:.1f}% ahead of {} ({}), beyond the model's {}\n", label,
                     moe::strategy_kind_name(f.strategy.kind), f.strategy.name, 100 * a.margin,
                     moe::strategy_kind_name(r.strategy.kind), r.strategy.name, bands);
}

ordered_json breakdown_json(const moe::LayerBreakdown& b) {
  ordered_json j;
  j["predictor_s"] = b.predictor_s;
  j["attention_s"] = b.attention_s;
  j["gate_s"] = b.gate_s;
  j["dispatch_s"] = b.dispatch_s;
  j["experts_s"] = b.experts_s;
  j["combine_s"] = b.combine_s;
  j["weight_copy_s"] = b.copy_s;
  j["early_dispatch_s"] = b.early_dispatch_s;
  j["total_s"] = b.total();
  return j;
}

ordered_json context_json(const AdviceContext& c) {
  ordered_json j;
  j["model"] = c.model;
  j["system"] = c.system;
  j["link_gbps"] = c.link_gbps;
  j["batch"] = c.batch;
  j["seq"] = c.seq;
  j["phase"] = c.phase;
  j["dtype"] = c.dtype;
  j["layout"] = c.layout;
  j["dispatch"] = c.dispatch;
  j["combine"] = c.combine;
  j["planner"] = c.algo;
  j["error_model"] = c.error_model;
  j["error_cap"] = c.error_cap;
  j["expert_time"] = c.expert_time;
  j["predictors"] = c.predictors;
  j["slots_per_gpu"] = c.slots_per_gpu;
  j["cuda_graphs"] = c.cuda_graphs;
  j["mode"] = c.mode;
  j["input"] = c.input;
  j["warmup_records"] = c.warmup_records;
  j["notes"] = c.notes;
  j["model_error"] = c.model_error;
  j["memory"] = memory_json(c.memory, c.memory_limits, c.memory_step, c.memory_warning);
  return j;
}
}  // namespace

ordered_json advice_json(const moe::Advice& a, const AdviceContext& c) {
  ordered_json j = context_json(c);
  ordered_json arr = ordered_json::array();
  for (const auto& r : a.strategies) {
    ordered_json o;
    o["name"] = r.strategy.name;
    o["kind"] = moe::strategy_kind_name(r.strategy.kind);
    o["latency_s"] = r.latency_s;
    o["band_s"] = r.band_s;
    o["overhead_s"] = r.overhead_s;
    if (r.strategy.kind != moe::StrategyKind::none) o["error"] = r.strategy.error;
    if (r.strategy.kind == moe::StrategyKind::token) o["accuracy"] = r.strategy.accuracy;
    o["balancedness"] = r.balancedness;
    o["warmup_copy_s"] = r.warmup_copy_s;
    o["copies_per_batch"] = r.copies_per_batch;
    o["per_layer"] = breakdown_json(r.layer);
    o["source"] = r.strategy.source;
    arr.push_back(o);
  }
  j["strategies"] = arr;
  verdict_json(j, a);
  return j;
}

std::string advice_table(const moe::Advice& a, const AdviceContext& c, const std::string& label) {
  Table t;
  t.headers = {"strategy", "kind",    "latency", "+-",   "predictor", "attention", "gate",
               "dispatch", "experts", "combine", "copy", "balance",   "acc/err"};
  t.right_align = {false, false, true, true, true, true, true, true, true, true, true, true, true};
  // On a narrow terminal the per-layer parts that rarely decide go first (--wide shows all).
  t.optional = {false, false, false, false, true, true, true,
                false, false, false, true,  true, false};
  for (const auto& r : a.strategies) {
    const auto& b = r.layer;
    std::string q = r.strategy.kind == moe::StrategyKind::token
                        ? fmt::format("{} / {}", pct(r.strategy.accuracy), pct(r.strategy.error))
                    : r.strategy.kind == moe::StrategyKind::distribution
                        ? fmt::format("- / {}", pct(r.strategy.error))
                        : "-";
    t.add_row({r.strategy.name, moe::strategy_kind_name(r.strategy.kind), format_time(r.latency_s),
               format_time(r.band_s), format_time(b.predictor_s), format_time(b.attention_s),
               format_time(b.gate_s), format_time(b.dispatch_s + b.early_dispatch_s),
               format_time(b.experts_s), format_time(b.combine_s), format_time(b.copy_s),
               fmt::format("{:.3f}", r.balancedness), q});
  }
  std::string head = fmt::format(
      "{} on {} ({:.0f} GB/s per GPU), batch {}, seq {}, {}, {}; layout {}, {} planner, {} "
      "slots/GPU; {} ({})\n",
      c.model, c.system, c.link_gbps, c.batch, c.seq, c.phase, c.dtype, c.layout, c.algo,
      c.slots_per_gpu, c.mode, c.input);
  if (!c.dispatch.empty())
    head += fmt::format("dispatch: {}; combine: {}{}\n", c.dispatch, c.combine,
                        c.layout == "paper"
                            ? " (the dispatch column includes predicted tokens sent early, where "
                              "attention does not hide them)"
                            : "");
  if (c.cuda_graphs)
    head +=
        "launch: CUDA graphs (every kernel, the predictor's included, pays the GPU's graph "
        "launch gap instead of an eager launch)\n";
  if (c.expert_time != "roofline" || !c.error_cap)
    head +=
        fmt::format("what-if: expert time {}, error models {}\n",
                    c.expert_time == "linear" ? "linear in tokens (the paper's)" : c.expert_time,
                    c.error_cap ? "capped at no duplication" : "uncapped (the paper's)");
  if (c.warmup_records > 0) head += warmup_excluded(c.warmup_records) + "\n";
  for (const auto& n : c.notes) head += "assumption: " + n + "\n";
  head += "latency: whole step, +- the model's measured error per kernel class (" +
          (a.strategies.empty() ? std::string() : c.model_error) +
          "); the other columns: mean per MoE layer\n\n";
  return head + render_table(t) + verdict_line(a, label) +
         memory_lines(c.memory, c.memory_limits, c.memory_step,
                      c.memory_step.phase == Phase::decode ? "context" : "seq", c.memory_step.seq,
                      c.memory_step.batch);
}

ordered_json map_json(const std::vector<MapCell>& cells, const AdviceContext& c) {
  ordered_json j = context_json(c);
  ordered_json arr = ordered_json::array();
  for (const auto& m : cells)
    arr.push_back({{"skew", m.skew},
                   {"link_gbps", m.link_gbps},
                   {"batch", m.batch},
                   {"winner", m.tie ? std::string("tie") : moe::strategy_kind_name(m.winner)},
                   {"winner_name", m.winner_name},
                   {"fastest", moe::strategy_kind_name(m.winner)},
                   {"tied_with", m.tie ? m.runner_up_name : std::string()},
                   {"latency_none_s", m.latency_none_s},
                   {"latency_distribution_s", m.latency_distribution_s},
                   {"latency_token_s", m.latency_token_s}});
  j["cells"] = arr;
  return j;
}

std::string map_table(const std::vector<MapCell>& cells) {
  std::set<double> skews, links;
  std::set<std::int64_t> batches;
  for (const auto& m : cells)
    skews.insert(m.skew), links.insert(m.link_gbps), batches.insert(m.batch);
  std::string out;
  for (std::int64_t b : batches) {
    Table t;
    t.headers = {"skew \\ GB/s"};
    t.right_align = {true};
    // Winners are words: left-aligned, so a narrow terminal wraps "tie (a/b)" cells.
    for (double l : links)
      t.headers.push_back(fmt::format("{:g}", l)), t.right_align.push_back(false);
    for (double s : skews) {
      std::vector<std::string> row = {fmt::format("{:g}", s)};
      for (double l : links)
        for (const auto& m : cells)
          if (m.skew == s && m.link_gbps == l && m.batch == b)
            row.push_back(m.tie ? fmt::format("tie ({}/{})", moe::strategy_kind_name(m.winner),
                                              moe::strategy_kind_name(m.runner_up))
                                : moe::strategy_kind_name(m.winner));
      t.add_row(row);
    }
    out += fmt::format("batch {}: winning strategy\n", b) + render_table(t) + "\n";
  }
  return out;
}

std::string map_csv(const std::vector<MapCell>& cells) {
  Table t;
  t.headers = {"batch",
               "skew",
               "link_gbps",
               "winner",
               "winner_name",
               "latency_none_s",
               "latency_distribution_s",
               "latency_token_s"};
  for (const auto& m : cells)
    t.add_row(
        {std::to_string(m.batch), fmt::format("{:g}", m.skew), fmt::format("{:g}", m.link_gbps),
         m.tie ? std::string("tie") : moe::strategy_kind_name(m.winner), m.winner_name,
         fmt::format("{:.9g}", m.latency_none_s), fmt::format("{:.9g}", m.latency_distribution_s),
         fmt::format("{:.9g}", m.latency_token_s)});
  return render_csv(t);
}

namespace {
// The paper's names for the three strategy kinds, the fill each is drawn in (light, so dark text
// reads on it) and a darker shade for the hatching of ties.
struct KindStyle {
  const char* name;
  const char* short_name;  // fits a cell
  const char* fill;
  const char* dark;
};
KindStyle kind_style(moe::StrategyKind k) {
  switch (k) {
    case moe::StrategyKind::none:
      return {"No duplication", "No dup.", "#e3e3e3", "#7a7a7a"};
    case moe::StrategyKind::distribution:
      return {"Distribution-Only", "Dist.-Only", "#a6cee3", "#1f78b4"};
    case moe::StrategyKind::token:
      return {"Token-to-Expert", "Tok.-to-Exp.", "#fdbf6f", "#d95f02"};
  }
  return {"?", "?", "#ffffff", "#000000"};
}
}  // namespace

std::string map_svg(const std::vector<MapCell>& cells, const AdviceContext& c) {
  std::vector<double> skews, links;
  std::vector<std::int64_t> batches;
  for (const auto& m : cells) {
    if (std::find(skews.begin(), skews.end(), m.skew) == skews.end()) skews.push_back(m.skew);
    if (std::find(links.begin(), links.end(), m.link_gbps) == links.end())
      links.push_back(m.link_gbps);
    if (std::find(batches.begin(), batches.end(), m.batch) == batches.end())
      batches.push_back(m.batch);
  }
  std::sort(skews.begin(), skews.end());
  std::sort(links.begin(), links.end());
  // One panel per batch size, side by side, sharing the skew axis; the legend below.
  const int cw = 124, ch = 40, left = 84, top = 116, gap = 36;
  const int panel_w = cw * int(links.size());
  const int grid_bottom = top + ch * int(skews.size());
  const int w = std::max(720, left + int(batches.size()) * (panel_w + gap) + 20),
            h = grid_bottom + 120;
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#1a1a1a\">\n"
      "<rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>\n<defs>\n",
      w, h);
  // One hatch per kind: a tie is the fastest kind's fill crossed by the runner-up's shade.
  for (auto k :
       {moe::StrategyKind::none, moe::StrategyKind::distribution, moe::StrategyKind::token})
    s += fmt::format(
        "<pattern id=\"tie-{}\" patternUnits=\"userSpaceOnUse\" width=\"8\" height=\"8\" "
        "patternTransform=\"rotate(45)\"><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" "
        "stroke=\"{}\" stroke-width=\"3\"/></pattern>\n",
        moe::strategy_kind_name(k), kind_style(k).dark);
  s += "</defs>\n";
  s += fmt::format(
      "<text x=\"{}\" y=\"26\" font-size=\"15\" font-weight=\"bold\">MoE-GPS guideline: {} on "
      "{}</text>\n",
      left, xml_escape(c.model), xml_escape(c.system));
  s += fmt::format(
      "<text x=\"{}\" y=\"48\" font-size=\"11\" fill=\"#444\">{}, seq {}, {}; layout {}, "
      "planner {}, error model {}, predictors {}, {} slots per GPU{}</text>\n",
      left, xml_escape(c.phase), c.seq, xml_escape(c.dtype), xml_escape(c.layout),
      xml_escape(c.algo), xml_escape(c.error_model), xml_escape(c.predictors), c.slots_per_gpu,
      c.cuda_graphs ? "; CUDA graphs" : "");
  s += fmt::format(
      "<text x=\"{0}\" y=\"64\" font-size=\"11\" fill=\"#444\">each cell: the fastest "
      "strategy; hatched: a tie (the two fastest closer than the model's error band)</text>\n",
      left);
  s += fmt::format(
      "<text x=\"16\" y=\"{0}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {0})\">skew "
      "(max / mean expert load)</text>\n",
      top + ch * int(skews.size()) / 2);
  for (std::size_t r = 0; r < skews.size(); ++r)
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{:g}</text>\n", left - 8,
                     top + ch * int(r) + ch / 2 + 4, skews[skews.size() - 1 - r]);
  for (std::size_t bi = 0; bi < batches.size(); ++bi) {
    const int x0 = left + int(bi) * (panel_w + gap);
    s += fmt::format(
        "<text x=\"{}\" y=\"{}\" font-weight=\"bold\">batch {}</text><text x=\"{}\" "
        "y=\"{}\" fill=\"#444\">link GB/s per GPU per direction</text>\n",
        x0, top - 30, batches[bi], x0 + 64, top - 30);
    for (std::size_t i = 0; i < links.size(); ++i)
      s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{:g}</text>\n",
                       x0 + cw * int(i) + cw / 2, top - 8, links[i]);
    for (std::size_t r = 0; r < skews.size(); ++r) {
      const double sk = skews[skews.size() - 1 - r];  // highest skew on top
      for (std::size_t i = 0; i < links.size(); ++i)
        for (const auto& m : cells)
          if (m.skew == sk && m.link_gbps == links[i] && m.batch == batches[bi]) {
            const int x = x0 + cw * int(i), y = top + ch * int(r);
            const KindStyle win = kind_style(m.winner);
            s += fmt::format(
                "<g><title>skew {:g}, {:g} GB/s, batch {}: {} ({}){}</title>"
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" "
                "stroke=\"white\" stroke-width=\"2\"/>",
                m.skew, m.link_gbps, m.batch, win.name, xml_escape(m.winner_name),
                m.tie ? fmt::format(", tie with {} ({})", kind_style(m.runner_up).name,
                                    xml_escape(m.runner_up_name))
                      : "",
                x, y, cw, ch, win.fill);
            if (m.tie)
              s += fmt::format(
                  "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#tie-{})\" "
                  "opacity=\"0.45\"/>",
                  x + 1, y + 1, cw - 2, ch - 2, moe::strategy_kind_name(m.runner_up));
            const std::string label = m.tie ? "tie" : win.short_name;
            const std::string second =
                m.tie ? std::string(win.short_name) + " / " + kind_style(m.runner_up).short_name
                      : xml_escape(m.winner_name);
            s += fmt::format(
                "<text x=\"{0}\" y=\"{1}\" text-anchor=\"middle\" font-size=\"11\" "
                "font-weight=\"bold\">{2}</text><text x=\"{0}\" y=\"{3}\" "
                "text-anchor=\"middle\" font-size=\"9\">{4}</text></g>\n",
                x + cw / 2, y + 17, label, y + 31, second);
          }
    }
  }
  // Legend: the three kinds and the hatching.
  int lx = left;
  const int ly = grid_bottom + 34;
  for (auto k :
       {moe::StrategyKind::none, moe::StrategyKind::distribution, moe::StrategyKind::token}) {
    const KindStyle st = kind_style(k);
    s += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"16\" height=\"16\" fill=\"{}\" stroke=\"#888\"/>"
        "<text x=\"{}\" y=\"{}\">{}</text>\n",
        lx, ly, st.fill, lx + 22, ly + 13, st.name);
    lx += 170;
  }
  s += fmt::format(
      "<rect x=\"{0}\" y=\"{1}\" width=\"16\" height=\"16\" fill=\"{2}\" stroke=\"#888\"/>"
      "<rect x=\"{0}\" y=\"{1}\" width=\"16\" height=\"16\" fill=\"url(#tie-token)\" "
      "opacity=\"0.45\"/><text x=\"{3}\" y=\"{4}\">tie (hatched in the runner-up's "
      "shade)</text>\n",
      lx, ly, kind_style(moe::StrategyKind::distribution).fill, lx + 22, ly + 13);
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"10\" fill=\"#444\">small print in a cell: the "
      "strategy's predictor; hover for details</text>\n",
      left, ly + 40);
  s += "</svg>\n";
  return s;
}

}  // namespace llmgps::report
