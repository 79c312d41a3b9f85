// `llmgps moe stats|predict|plan|advise|map|synth`: the MoE-GPS application on the command line.
// Parsing and wiring only; the modelling lives in llmgps/moe.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "common.hpp"
#include "llmgps/moe/advisor.hpp"
#include "llmgps/moe/loads_file.hpp"
#include "llmgps/moe/synth_trace.hpp"
#include "llmgps/report/moe_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/csv.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"

namespace llmgps::cli {

namespace {

std::vector<double> parse_list(const std::string& text, const std::string& where) {
  std::vector<double> out;
  for (const std::string& item : split_commas(text)) {
    try {
      std::size_t used = 0;
      const double v = std::stod(item, &used);
      if (used != item.size() || !std::isfinite(v)) throw std::invalid_argument(item);
      out.push_back(v);
    } catch (const std::exception&) {
      throw InputError(where,
                       fmt::format("'{}' is not a number (expected a comma-separated list)", item));
    }
  }
  if (out.empty()) throw InputError(where, "empty list");
  return out;
}

// Per-layer expert shares from a CSV with columns layer, expert and a share column
// (mean_fraction_of_routing_selections, as in the Mixtral MMLU data, or share).
moe::LoadMatrix read_shares_csv(const std::string& path) {
  const auto rows = specs::read_csv(path);
  if (rows.empty()) throw InputError(path, "no rows");
  const std::string col = rows[0].fields.count("mean_fraction_of_routing_selections")
                              ? "mean_fraction_of_routing_selections"
                              : "share";
  moe::LoadMatrix m;
  for (const auto& r : rows) {
    const double l = r.number("layer", path), e = r.number("expert", path), v = r.number(col, path);
    const std::string where = fmt::format("{}:{}", path, r.line);
    if (l < 0 || e < 0 || l > 4096 || e > 32767 || l != std::floor(l) || e != std::floor(e))
      throw InputError(where, "layer and expert must be small non-negative integers");
    if (!(v >= 0)) throw InputError(where, fmt::format("share must be >= 0 (got {})", v));
    if (m.size() <= std::size_t(l)) m.resize(std::size_t(l) + 1);
    if (m[std::size_t(l)].size() <= std::size_t(e))
      m[std::size_t(l)].resize(std::size_t(e) + 1, 0.0);
    m[std::size_t(l)][std::size_t(e)] = v;
  }
  for (std::size_t l = 0; l < m.size(); ++l)
    if (m[l].size() != m[0].size() || m[l].empty())
      throw InputError(path, fmt::format("layer {} has {} experts, layer 0 has {}", l, m[l].size(),
                                         m[0].size()));
  return m;
}

// Grouped shares: one row per (group, layer) with expert0..expertN-1 columns, a group column
// (subject or group) and an optional example count (n_examples).
std::vector<moe::GroupShares> read_groups_csv(const std::string& path) {
  const auto rows = specs::read_csv(path);
  if (rows.empty()) throw InputError(path, "no rows");
  const std::string group_col = rows[0].fields.count("subject") ? "subject" : "group";
  int experts = 0;
  while (rows[0].fields.count("expert" + std::to_string(experts))) ++experts;
  if (experts == 0) throw InputError(path, "no expert0, expert1, ... columns");
  std::vector<moe::GroupShares> groups;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::map<int, std::vector<double>>> layers;
  for (const auto& r : rows) {
    const std::string& g = r.at(group_col, path);
    const double layer = r.number("layer", path);
    if (layer < 0 || layer != std::floor(layer) || layer > 4096)
      throw InputError(fmt::format("{}:{}", path, r.line), "bad layer");
    std::vector<double> sh;
    for (int e = 0; e < experts; ++e) {
      const double v = r.number("expert" + std::to_string(e), path);
      if (!(v >= 0))
        throw InputError(fmt::format("{}:{}", path, r.line),
                         fmt::format("expert{} share must be >= 0", e));
      sh.push_back(v);
    }
    if (!index.count(g)) {
      index[g] = groups.size();
      groups.push_back(moe::GroupShares{
          g, r.fields.count("n_examples") ? r.number("n_examples", path) : 1.0, {}});
    }
    layers[g][int(layer)] = sh;
  }
  for (auto& g : groups) {
    for (const auto& [l, sh] : layers[g.name]) g.shares.push_back(sh);
  }
  return groups;
}

struct AdviseArgs {
  std::string model_ref, system_ref, phase = "prefill", dtype = "fp16", layout = "tp",
                                     algo = "greedy-time";
  std::string error_model = "typical", predictors = "predictors-mixtral-traces", points,
              expert_time = "roofline", error_cap = "on";
  double link_gbps = 0;
  std::int64_t batch = 1, seq = 512;
  int slots_per_gpu = 0, replan_every = 1;
  std::string replan_policy = "when-it-pays";
  std::size_t batch_tokens = 64;
  moe::LoadMatrix shares_for_curve;  // routing the curve's best point is chosen for

  void add(CLI::App* c) {
    c->add_option("--model", model_ref, "MoE model preset or config.json")->required();
    c->add_option("--system", system_ref, "system preset or JSON")->required();
    c->add_option("--link-gbps", link_gbps,
                  "override the intra-node link bandwidth, GB/s per GPU per direction");
    c->add_option("--batch", batch, "sequences")->capture_default_str();
    c->add_option("--seq", seq, "sequence length")->capture_default_str();
    c->add_option("--phase", phase, "prefill|decode")->capture_default_str();
    c->add_option("--dtype", dtype, "fp16|bf16|fp8")->capture_default_str();
    c->add_option("--layout", layout, "attention layout: tp (the paper's) or dp (DeepSeek-style)")
        ->capture_default_str();
    c->add_option("--algo", algo,
                  "replica planner: greedy-time (greedy halving on modelled GPU time, never plans "
                  "a slower layout), greedy (MoE-GPS, on tokens) or eplb")
        ->capture_default_str();
    c->add_option("--error-model", error_model, "optimistic|typical|pessimistic (closed form)")
        ->capture_default_str();
    c->add_option("--expert-time", expert_time,
                  "roofline (each replica's FFN through the cost model) or linear (time "
                  "proportional to tokens, the paper's assumption)")
        ->capture_default_str();
    c->add_option("--error-cap", error_cap,
                  "on: the error models never make the straggler busier than without duplication "
                  "(ours); off: the paper's models as stated")
        ->capture_default_str();
    c->add_option("--slots-per-gpu", slots_per_gpu,
                  "expert slots per GPU (default: what HBM holds, at most 2x the GPU's own)");
    c->add_option("--predictors", predictors, "built-in predictor property set (closed form)")
        ->capture_default_str();
    c->add_option("--points", points,
                  "JSON file of measured Token-to-Expert predictors [{name, accuracy, overhead_s "
                  "per MoE layer}]; two or more also give the fitted curve's best point");
  }
  moe::EpModel build() const {
    ModelSpec m = specs::load_model(model_ref);
    SystemSpec sys = specs::load_system(system_ref);
    if (link_gbps != 0) {
      if (!(link_gbps > 0) || !std::isfinite(link_gbps))
        throw InputError("--link-gbps", fmt::format("must be positive (got {})", link_gbps));
      sys.intra.bw_bytes_per_s = link_gbps * 1e9;
    }
    moe::EpSetup setup;
    setup.step.batch = batch;
    setup.step.seq = seq;
    setup.step.phase = parse_phase(phase, "--phase");
    setup.step.dtype = parse_dtype(dtype, "--dtype");
    setup.layout = moe::parse_layout(layout, "--layout");
    setup.expert_time = moe::parse_expert_time(expert_time, "--expert-time");
    setup.slots_per_gpu = slots_per_gpu;
    if (slots_per_gpu < 0) throw InputError("--slots-per-gpu", "must be positive");
    return moe::EpModel(m, sys, setup);
  }
  moe::AdviceConfig config() const {
    moe::AdviceConfig c;
    c.algo = algo;
    c.error_model = moe::parse_error_model(error_model, "--error-model");
    if (error_cap != "on" && error_cap != "off")
      throw InputError("--error-cap", "must be 'on' or 'off', got '" + error_cap + "'");
    c.error_cap = error_cap == "on";
    c.replan_interval = replan_every;
    if (replan_policy != "when-it-pays" && replan_policy != "always")
      throw InputError("--replan-policy",
                       "must be 'when-it-pays' or 'always', got '" + replan_policy + "'");
    c.replan_only_when_it_pays = replan_policy == "when-it-pays";
    c.trace_batch_tokens = batch_tokens;
    return c;
  }
  report::AdviceContext context(const moe::EpModel& em, const std::string& mode,
                                const std::string& input) const {
    report::AdviceContext c;
    c.model = em.model().name;
    c.system = system_ref;
    c.link_gbps = em.system().intra.bw_bytes_per_s / 1e9;
    c.batch = batch;
    c.seq = seq;
    c.phase = phase;
    c.layout = layout;
    c.algo = algo;
    c.error_model = error_model;
    c.expert_time = moe::expert_time_name(em.expert_time());
    c.predictors = predictors;
    c.error_cap = config().error_cap;
    c.slots_per_gpu = em.slots_per_gpu();
    c.mode = mode;
    c.input = input;
    return c;
  }
  std::vector<moe::Strategy> strategies(const moe::EpModel& em) const {
    auto s = moe::builtin_strategies(em, predictors);
    if (points.empty()) return s;
    const auto pts = moe::strategies_from_points(points);
    for (const auto& p : pts) s.push_back(p);
    std::vector<double> accs;
    for (const auto& p : pts)
      if (std::find(accs.begin(), accs.end(), p.accuracy) == accs.end()) accs.push_back(p.accuracy);
    if (accs.size() >= 2) s.push_back(moe::best_on_curve(em, pts, shares_for_curve, config()));
    return s;
  }
};

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_moe_stats(CLI::App* moe_cmd) {
  static OutputOptions stats_out;
  static std::string stats_trace;
  static std::size_t stats_batch = 64;
  static int stats_experts = 0;
  static bool stats_transitions = false, stats_stream = false;
  auto* stats = moe_cmd->add_subcommand(
      "stats", "expert shares, skew, entropy and per-batch skew of a routing trace");
  stats->add_option("--trace", stats_trace, "routing trace (JSON Lines)")->required();
  stats
      ->add_option("--batch-tokens", stats_batch,
                   "tokens per batch for the per-batch skew (0: whole trace)")
      ->capture_default_str();
  stats->add_option("--experts", stats_experts,
                    "number of experts (default: from a meta record or the largest id + 1)");
  stats->add_flag("--transitions", stats_transitions,
                  "also give layer-to-layer transition matrices (JSON)");
  stats->add_flag(
      "--stream", stats_stream,
      "read in chunks keeping only counts and one bit per record (for traces larger than RAM; the "
      "same statistics as in memory)");
  add_output_options(stats, stats_out, {"table", "json"});
  stats->callback([] {
    if (stats_stream && stats_transitions)
      throw InputError("--transitions", "needs the whole trace in memory; drop --stream");
    if (dry_run()) return;  // options checked; no trace read
    if (stats_stream) {
      const auto st =
          moe::stream_trace_stats(stats_trace, stats_batch, moe::TraceLoadOptions{stats_experts});
      emit_rendered(stats_out, report::trace_stats_json(st),
                    [&] { return report::trace_stats_table(st); });
      return;
    }
    const auto tr = moe::load_trace(stats_trace, moe::TraceLoadOptions{stats_experts});
    const auto st = moe::trace_stats(tr, stats_batch);
    auto j = report::trace_stats_json(st);
    if (stats_transitions) j["transitions"] = moe::layer_transitions(tr);
    emit_rendered(stats_out, j, [&] { return report::trace_stats_table(st); });
  });
}

void register_moe_synth(CLI::App* moe_cmd) {
  static OutputOptions synth_out;
  static moe::SynthConfig synth_cfg;
  static std::string synth_skew = "1.4";
  auto* synth = moe_cmd->add_subcommand(
      "synth", "write a synthetic routing trace (JSON Lines) with a target skew per layer");
  synth->add_option("--layers", synth_cfg.layers, "MoE layers")->capture_default_str();
  synth->add_option("--experts", synth_cfg.experts, "experts per layer")->capture_default_str();
  synth->add_option("--top-k", synth_cfg.top_k, "experts per token")->capture_default_str();
  synth->add_option("--sequences", synth_cfg.sequences, "sequences")->capture_default_str();
  synth->add_option("--tokens", synth_cfg.tokens_per_sequence, "tokens per sequence")
      ->capture_default_str();
  synth
      ->add_option("--skew", synth_skew, "target skew: one value or one per layer, comma-separated")
      ->capture_default_str();
  synth
      ->add_option("--token-correlation", synth_cfg.token_correlation,
                   "P(token repeats its neighbour's experts)")
      ->capture_default_str();
  synth
      ->add_option("--layer-correlation", synth_cfg.layer_correlation,
                   "P(first expert follows the previous layer's)")
      ->capture_default_str();
  synth->add_option("--model-seed", synth_cfg.model_seed, "router seed (which experts are popular)")
      ->capture_default_str();
  synth->add_option("--seed", synth_cfg.seed, "token seed")->capture_default_str();
  synth_out.format = "jsonl";
  synth->add_option("--out", synth_out.out,
                    "write to FILE (atomically) instead of standard output");
  synth->callback([] {
    synth_cfg.skew = parse_list(synth_skew, "--skew");
    if (dry_run()) return;  // options checked; no trace generated
    emit(synth_out, moe::trace_to_jsonl(moe::synthesize_trace(synth_cfg)));
  });
}

void register_moe_predict(CLI::App* moe_cmd) {
  static OutputOptions pred_out;
  static std::string pred_train, pred_test;
  static std::size_t pred_batch = 64;
  auto* predict = moe_cmd->add_subcommand(
      "predict", "train every predictor on one trace and score it on another");
  static std::string pred_groups;
  predict->add_option("--train", pred_train, "training trace");
  predict->add_option("--test", pred_test, "held-out trace");
  predict->add_option("--groups", pred_groups,
                      "grouped shares CSV (subject, n_examples, layer, expert0..): "
                      "Distribution-Only error of each group "
                      "predicted from the others");
  predict
      ->add_option("--batch-tokens", pred_batch,
                   "tokens per batch (distribution history, batch error)")
      ->capture_default_str();
  add_output_options(predict, pred_out, {"table", "json"});
  predict->callback([] {
    if (!pred_groups.empty() && (!pred_train.empty() || !pred_test.empty()))
      throw InputError("--groups", "give either --groups or --train and --test");
    if (pred_groups.empty() && (pred_train.empty() || pred_test.empty()))
      throw InputError("--train/--test", "give both traces (or --groups)");
    if (pred_batch == 0) throw InputError("--batch-tokens", "must be positive");
    if (dry_run()) return;  // options checked; no trace read
    if (!pred_groups.empty()) {
      const auto r = moe::leave_one_group_out(read_groups_csv(pred_groups));
      emit_rendered(pred_out, report::predictors_json({r}, pred_groups, pred_groups, 0),
                    [&] { return report::predictors_table({r}); });
      return;
    }
    const auto train = moe::load_trace(pred_train);
    const auto test = moe::load_trace(pred_test, moe::TraceLoadOptions{train.experts});
    moe::check_compatible(train, test);
    std::vector<moe::PredictorResult> results;
    for (auto& p : moe::distribution_predictors())
      results.push_back(moe::evaluate(*p, train, test, pred_batch));
    for (auto& p : moe::token_predictors())
      results.push_back(moe::evaluate(*p, train, test, pred_batch));
    emit_rendered(pred_out, report::predictors_json(results, pred_train, pred_test, pred_batch),
                  [&] { return report::predictors_table(results); });
  });
}

void register_moe_plan(CLI::App* moe_cmd) {
  static OutputOptions plan_out;
  static std::string plan_trace, plan_loads, plan_algo = "eplb";
  static int plan_gpus = 0, plan_slots = 0, plan_nodes = 1, plan_groups = 1, plan_copies = 0;
  auto* plan = moe_cmd->add_subcommand(
      "plan", "replica placement (EPLB phy2log/log2phy/logcnt) from a trace or loads");
  plan->add_option("--trace", plan_trace, "routing trace: loads are its expert counts per layer");
  plan->add_option("--loads", plan_loads, "JSON {\"loads\": [[per expert], ...per layer]}");
  plan->add_option("--gpus", plan_gpus, "GPUs")->required();
  plan->add_option("--slots-per-gpu", plan_slots, "expert slots per GPU")->required();
  plan->add_option("--nodes", plan_nodes, "nodes (EPLB hierarchical)")->capture_default_str();
  plan->add_option("--groups", plan_groups, "expert groups (EPLB hierarchical)")
      ->capture_default_str();
  plan->add_option("--algo", plan_algo, "eplb|greedy")->capture_default_str();
  plan->add_option("--max-copies", plan_copies,
                   "greedy: replicas per expert at most (0: no limit)");
  add_output_options(plan, plan_out, {"table", "json"});
  plan->callback([] {
    if (plan_trace.empty() == plan_loads.empty())
      throw InputError("--trace/--loads", "give exactly one of them");
    if (dry_run()) return;  // options checked; no file read, no plan made
    const moe::LoadMatrix loads = plan_trace.empty()
                                      ? moe::load_loads_json(plan_loads)
                                      : moe::expert_counts(moe::load_trace(plan_trace));
    moe::ReplicaPlan p;
    if (plan_algo == "eplb")
      p = moe::eplb_plan(
          loads, moe::EplbConfig{plan_gpus * plan_slots, plan_groups, plan_nodes, plan_gpus});
    else if (plan_algo == "greedy")
      p = moe::greedy_plan(loads, moe::GreedyConfig{plan_gpus, plan_slots, plan_copies, 1.0, {}});
    else
      throw InputError("--algo", "must be eplb or greedy, got '" + plan_algo + "'");
    const std::string bad = moe::check_plan(p, int(loads[0].size()));
    if (!bad.empty()) throw std::logic_error("planner produced an invalid plan: " + bad);
    emit_rendered(plan_out, report::plan_json(p, loads, plan_algo),
                  [&] { return report::plan_table(p, loads, plan_algo); });
  });
}

void register_moe_advise(CLI::App* moe_cmd) {
  static OutputOptions adv_out;
  static AdviseArgs adv;
  static std::vector<double> adv_skew;
  static std::string adv_shares, adv_trace, adv_train;
  auto* advise =
      moe_cmd->add_subcommand("advise", "latency of each duplication strategy and the winner");
  adv.add(advise);
  advise->add_option("--skew", adv_skew, "routing skew (max/mean), closed form");
  advise->add_option("--shares", adv_shares,
                     "per-layer expert shares CSV (layer, expert, share), closed form");
  advise->add_option(
      "--trace", adv_trace,
      "routing trace: trace-driven simulation (and the closed form from its shares)");
  advise->add_option("--train", adv_train,
                     "trace to train predictors on (default: the first half of --trace)");
  advise->add_option("--replan-every", adv.replan_every, "trace mode: re-plan every N batches")
      ->capture_default_str();
  advise
      ->add_option("--replan-policy", adv.replan_policy,
                   "trace mode: when-it-pays (adopt a layer's new plan only if its saving over the "
                   "interval beats its exposed copies) or always (the paper's)")
      ->capture_default_str();
  advise
      ->add_option("--batch-tokens", adv.batch_tokens,
                   "trace mode: trace tokens per simulated step")
      ->capture_default_str();
  add_output_options(advise, adv_out, {"table", "json"});
  advise->callback([] {
    const int given = int(!adv_skew.empty()) + int(!adv_shares.empty()) + int(!adv_trace.empty());
    if (given != 1) throw InputError("--skew/--shares/--trace", "give exactly one routing input");
    if (adv_skew.size() > 1)
      throw InputError("--skew", "give one value (use `moe map` for a sweep)");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const moe::EpModel em = adv.build();
    const moe::AdviceConfig cfg = adv.config();
    if (adv_trace.empty()) {
      const moe::LoadMatrix shares =
          adv_skew.empty()
              ? read_shares_csv(adv_shares)
              : moe::LoadMatrix{moe::shares_for_skew(em.experts(), em.model().top_k, adv_skew[0])};
      const std::string input =
          adv_skew.empty() ? "shares " + adv_shares : fmt::format("skew {:g}", adv_skew[0]);
      adv.shares_for_curve = shares;
      const auto a = moe::advise(moe::closed_form(em, adv.strategies(em), shares, cfg));
      const auto ctx = adv.context(em, "closed-form", input);
      emit_rendered(adv_out, report::advice_json(a, ctx),
                    [&] { return report::advice_table(a, ctx); });
      return;
    }
    const auto full = moe::load_trace(adv_trace, moe::TraceLoadOptions{em.experts()});
    moe::RoutingTrace train, test;
    if (adv_train.empty()) {
      const std::size_t half = full.num_tokens() / 2;
      if (half == 0)
        throw InputError(adv_trace, "too few tokens to split into training and test halves");
      train = moe::slice(full, {0, half}, adv_trace + " (first half)");
      test = moe::slice(full, {half, full.num_tokens()}, adv_trace + " (second half)");
    } else {
      train = moe::load_trace(adv_train, moe::TraceLoadOptions{em.experts()});
      test = full;
    }
    const auto traced = moe::advise(moe::trace_driven(em, train, test, cfg));
    // The closed form beside it: the test trace's shares, the predictors' measured properties.
    std::vector<moe::Strategy> measured;
    for (const auto& r : traced.strategies) measured.push_back(r.strategy);
    const auto closed = moe::advise(moe::closed_form(em, measured, moe::expert_counts(test), cfg));
    auto ctx = adv.context(em, "trace", "trace " + adv_trace);
    ctx.predictors = "trained on " + train.source;  // not a built-in set in trace mode
    auto j = report::advice_json(traced, ctx);
    auto cj =
        report::advice_json(closed, adv.context(em, "closed-form", "shares of " + test.source));
    j["closed_form"] = {{"strategies", cj["strategies"]},
                        {"recommended", cj["recommended"]},
                        {"recommended_name", cj["recommended_name"]},
                        {"improvement_vs_best_token", cj["improvement_vs_best_token"]}};
    emit_rendered(adv_out, j, [&] {
      return report::advice_table(traced, ctx) +
             "\nclosed form on the same trace's shares and measured predictor properties:\n\n" +
             report::advice_table(closed,
                                  adv.context(em, "closed-form", "shares of " + test.source));
    });
  });
}

void register_moe_map(CLI::App* moe_cmd) {
  static OutputOptions map_out;
  static AdviseArgs mp;
  static std::string map_skews, map_links, map_batches, map_svg;
  auto* map = moe_cmd->add_subcommand(
      "map", "guideline map: the winning strategy over skew x bandwidth (x batch)");
  mp.add(map);
  map->add_option("--skews", map_skews, "comma-separated skews")->required();
  map->add_option("--link-gbps-list,--links", map_links, "comma-separated link bandwidths, GB/s");
  map->add_option("--batches", map_batches, "comma-separated batch sizes (default: --batch)");
  map->add_option("--svg", map_svg, "also write the map as an SVG image to FILE");
  add_output_options(map, map_out, {"table", "json", "csv"});
  map->callback([] {
    const auto skews = parse_list(map_skews, "--skews");
    std::vector<double> links;
    if (!map_links.empty())
      links = parse_list(map_links, "--link-gbps-list");
    else if (mp.link_gbps > 0)
      links = {mp.link_gbps};
    else
      throw InputError("--link-gbps", "give the bandwidths to sweep (comma-separated GB/s)");
    std::vector<double> batches = map_batches.empty() ? std::vector<double>{double(mp.batch)}
                                                      : parse_list(map_batches, "--batches");
    std::vector<report::MapCell> cells;
    const moe::AdviceConfig cfg = mp.config();
    if (dry_run()) return;  // options checked; no spec file read, no model run
    AdviseArgs a = mp;
    for (double b : batches) {
      if (b < 1 || b != std::floor(b))
        throw InputError("--batches", fmt::format("'{}' is not a positive integer", b));
      for (double link : links) {
        a.batch = std::int64_t(b);
        a.link_gbps = link;
        const moe::EpModel em = a.build();
        for (double k : skews) {
          a.shares_for_curve = {moe::shares_for_skew(em.experts(), em.model().top_k, k)};
          const auto adv_res =
              moe::advise(moe::closed_form(em, a.strategies(em), a.shares_for_curve, cfg));
          report::MapCell c;
          c.skew = k;
          c.link_gbps = link;
          c.batch = a.batch;
          c.winner = adv_res.recommended;
          c.winner_name = adv_res.recommended_name;
          auto best_of = [&](const std::string& kind) {
            double best = 0;
            for (const auto& r : adv_res.strategies)
              if (r.strategy.kind == kind && (best == 0 || r.latency_s < best)) best = r.latency_s;
            return best;
          };
          c.latency_none_s = best_of("none");
          c.latency_distribution_s = best_of("distribution");
          c.latency_token_s = best_of("token");
          cells.push_back(c);
        }
      }
    }
    const moe::EpModel em0 = mp.build();
    const auto ctx = mp.context(em0, "closed-form", "skew sweep");
    if (!map_svg.empty()) report::write_file_atomic(map_svg, report::map_svg(cells, ctx));
    emit_rendered(
        map_out, report::map_json(cells, ctx), [&] { return report::map_table(cells); },
        [&] { return report::map_csv(cells); });
  });
}

}  // namespace

void register_moe(CLI::App& app) {
  auto* moe_cmd = app.add_subcommand(
      "moe", "MoE-GPS: routing traces, predictors, replica plans, strategy advice");
  moe_cmd->require_subcommand(1);

  register_moe_stats(moe_cmd);
  register_moe_synth(moe_cmd);
  register_moe_predict(moe_cmd);
  register_moe_plan(moe_cmd);
  register_moe_advise(moe_cmd);
  register_moe_map(moe_cmd);
}

}  // namespace llmgps::cli
