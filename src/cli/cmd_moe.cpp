// `llmgps moe stats|predict|plan|advise|map|synth`: the MoE-GPS application on the command line.
// Each subcommand fills an api request from its options, calls the library and renders.
#include <fmt/format.h>

#include <cmath>

#include "common.hpp"
#include "llmgps/api/moe.hpp"
#include "llmgps/report/api_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

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

// The options advise and map share, bound to one request.
void add_ep_options(CLI::App* c, api::EpRequest& r) {
  c->add_option("--model", r.model, "MoE model preset or config.json")->required();
  c->add_option("--system", r.system, "system preset or JSON")->required();
  c->add_option("--link-gb-per-s", r.link_gbps,
                "override the intra-node link bandwidth, GB/s per GPU per direction");
  add_old_spelling(c, "--link-gbps", "--link-gb-per-s", r.link_gbps);
  c->add_option("--batch", r.batch, "sequences")->capture_default_str();
  c->add_option("--seq", r.seq, "sequence length")->capture_default_str();
  c->add_option("--phase", r.phase, "prefill|decode")->capture_default_str();
  c->add_option("--dtype", r.dtype,
                "fp16|bf16|fp8, or auto: fp8 for an FP8 checkpoint where the GPU has it, else bf16")
      ->capture_default_str();
  c->add_option("--layout", r.layout,
                "vllm-tp (TP attention over every GPU, experts on the replicated tokens, one "
                "all-reduce combine: vLLM), dp-a2a (DP attention, DeepEP dispatch and combine: "
                "SGLang, vLLM with a DeepEP backend), dp-agrs (DP attention, all-gather and "
                "reduce-scatter: vLLM's default EP backend) or paper (MoE-GPS's accounting, a "
                "what-if)")
      ->capture_default_str();
  c->add_option("--algo", r.algo,
                "replica planner: greedy-time (greedy halving on modelled GPU time, never plans "
                "a slower layout), greedy (MoE-GPS, on tokens) or eplb")
      ->capture_default_str();
  c->add_option("--error-model", r.error_model, "optimistic|typical|pessimistic (closed form)")
      ->capture_default_str();
  c->add_option("--expert-time", r.expert_time,
                "roofline (each replica's FFN through the cost model) or linear (time "
                "proportional to tokens, the paper's assumption)")
      ->capture_default_str();
  c->add_option("--error-cap", r.error_cap,
                "on: the error models never give the straggler more tokens than without "
                "duplication (ours; its replicas' extra weight reads still count); off: the "
                "paper's models as stated")
      ->capture_default_str();
  c->add_option("--slots-per-gpu", r.slots_per_gpu,
                "expert slots per GPU (default: what the memory budget holds, at most 2x the "
                "GPU's own)");
  c->add_option("--memory-fraction", r.memory_fraction,
                "share of GPU memory the engine uses for weights, replicas, KV cache and "
                "activations (vLLM's gpu_memory_utilization)")
      ->capture_default_str();
  c->add_flag("--cuda-graphs", r.cuda_graphs,
              "the engine replays the step from CUDA graphs: every kernel (the predictor's "
              "included) pays the GPU's graph launch gap, not an eager launch");
  c->add_option("--predictors", r.predictors,
                "closed form: auto (the built-in set measured on this model, else closed-form), "
                "closed-form (from the shares alone), or a built-in set measured on this model")
      ->capture_default_str();
  c->add_option("--points", r.points,
                "JSON file of measured Token-to-Expert predictors [{name, accuracy, overhead_s "
                "per MoE layer}]; two or more also give the fitted curve's best point");
}

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_moe_stats(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::StatsRequest req;
  auto* stats = moe_cmd->add_subcommand(
      "stats", "expert shares, skew, entropy and per-batch skew of a routing trace");
  stats->add_option("--routing-trace", req.trace, "routing trace (JSON Lines), required");
  add_old_spelling(stats, "--trace", "--routing-trace", req.trace);
  stats
      ->add_option("--batch-tokens", req.batch_tokens,
                   "tokens per batch for the per-batch skew (0: whole trace)")
      ->capture_default_str();
  stats->add_option("--experts", req.experts,
                    "number of experts (default: from a meta record or the largest id + 1)");
  stats->add_flag("--transitions", req.transitions,
                  "also give layer-to-layer transition matrices (JSON)");
  stats->add_flag(
      "--stream", req.stream,
      "read in chunks keeping only counts and one bit per record (for traces larger than RAM; the "
      "same statistics as in memory)");
  stats->add_flag(
      "--keep-warmup", req.keep_warmup,
      "keep runs of identical warm-up records, wherever they are (excluded by default)");
  add_output_options(stats, out, {"table", "json", "csv"});
  stats->callback([] {
    req.validate();
    if (dry_run()) return;  // options checked; no trace read
    const auto r = api::moe_stats(req);
    emit_records(
        out, report::json(r), [&] { return report::table(r); }, "per_layer");
  });
}

void register_moe_synth(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::SynthRequest req;
  static std::string skew = "1.4";
  auto& cfg = req.config;
  auto* synth = moe_cmd->add_subcommand(
      "synth", "write a synthetic routing trace (JSON Lines) with a target skew per layer");
  synth->add_option("--layers", cfg.layers, "MoE layers")->capture_default_str();
  synth->add_option("--experts", cfg.experts, "experts per layer")->capture_default_str();
  synth->add_option("--top-k", cfg.top_k, "experts per token")->capture_default_str();
  synth->add_option("--sequences", cfg.sequences, "sequences")->capture_default_str();
  synth->add_option("--tokens", cfg.tokens_per_sequence, "tokens per sequence")
      ->capture_default_str();
  synth->add_option("--skew", skew, "target skew: one value or one per layer, comma-separated")
      ->capture_default_str();
  synth
      ->add_option("--token-correlation", cfg.token_correlation,
                   "P(token repeats its neighbour's experts)")
      ->capture_default_str();
  synth
      ->add_option("--layer-correlation", cfg.layer_correlation,
                   "P(first expert follows the previous layer's)")
      ->capture_default_str();
  synth->add_option("--model-seed", cfg.model_seed, "router seed (which experts are popular)")
      ->capture_default_str();
  synth->add_option("--seed", cfg.seed, "token seed")->capture_default_str();
  out.format = "jsonl";
  synth->add_option("--out", out.out, "write to FILE (atomically) instead of standard output");
  synth->callback([] {
    req.config.skew = parse_list(skew, "--skew");
    req.validate();
    if (dry_run()) return;  // options checked; no trace generated
    api::SynthResult r;
    {
      TerminalProgress progress("synthesizing sequences");
      req.config.progress = progress.fn();
      r = api::moe_synth(req);
      req.config.progress = {};  // the reporter goes with this block
    }
    if (!r.warning.empty()) warn("synth: " + r.warning);
    emit(out, report::jsonl(r));
  });
}

void register_moe_predict(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::PredictRequest req;
  auto* predict = moe_cmd->add_subcommand(
      "predict", "train every predictor on one trace and score it on another");
  predict->add_option("--train", req.train, "training trace");
  predict->add_option("--test", req.test, "held-out trace");
  predict->add_option("--groups", req.groups,
                      "grouped shares CSV (subject, n_examples, layer, expert0..): "
                      "Distribution-Only error of each group "
                      "predicted from the others");
  predict
      ->add_option("--batch-tokens", req.batch_tokens,
                   "tokens per batch (distribution history, batch error)")
      ->capture_default_str();
  predict->add_flag(
      "--keep-warmup", req.keep_warmup,
      "keep runs of identical warm-up records, wherever they are (excluded by default)");
  add_output_options(predict, out, {"table", "json", "csv"});
  predict->callback([] {
    req.validate();
    if (dry_run()) return;  // options checked; no trace read
    const auto r = api::moe_predict(req);
    emit_records(
        out, report::json(r), [&] { return report::table(r); }, "predictors");
  });
}

void register_moe_plan(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::PlanRequest req;
  auto* plan = moe_cmd->add_subcommand(
      "plan", "replica placement (EPLB phy2log/log2phy/logcnt) from a trace or loads");
  plan->add_option("--routing-trace", req.trace,
                   "routing trace: loads are its expert counts per layer");
  add_old_spelling(plan, "--trace", "--routing-trace", req.trace);
  plan->add_option("--loads", req.loads,
                   "JSON {\"loads\": [[per expert], ...per layer]} or SGLang's {\"logical_count\": "
                   "...} ([layer][expert], or [pass][layer][expert], summed over passes)");
  plan->add_option("--model", req.model,
                   "MoE model preset or config.json: the loads must have its MoE layers and "
                   "experts (an engine's plan covers every layer)");
  plan->add_option("--gpus", req.gpus, "GPUs")->required();
  plan->add_option("--slots-per-gpu", req.slots_per_gpu, "expert slots per GPU")->required();
  plan->add_option("--nodes", req.nodes, "nodes (EPLB hierarchical)")->capture_default_str();
  plan->add_option("--groups", req.groups, "expert groups (EPLB hierarchical)")
      ->capture_default_str();
  plan->add_option("--algo", req.algo, "eplb|greedy")->capture_default_str();
  plan->add_option("--max-copies", req.max_copies,
                   "greedy: replicas per expert at most (0: no limit)");
  plan->add_flag("--keep-warmup", req.keep_warmup,
                 "keep runs of identical warm-up records, wherever they are (excluded by default)");
  add_output_options(plan, out, {"table", "json", "csv", "sglang"});
  plan->callback([] {
    req.validate();
    if (dry_run()) return;  // options checked; no file read, no plan made
    const auto r = api::moe_plan(req);
    if (r.eplb_policy == "global" && req.nodes > 1)
      warn(
          fmt::format("--nodes {}: {} expert group(s) do not divide over {} nodes, so EPLB "
                      "balances globally and the nodes are not used (as DeepSeek's "
                      "rebalance_experts does)",
                      req.nodes, req.groups, req.nodes));
    if (out.format == "sglang") return emit(out, report::json_text(report::sglang_json(r)));
    emit_rendered(
        out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); });
  });
}

void register_moe_advise(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::AdviseRequest req;
  static std::vector<double> skew;
  static std::string phases, batches, seqs;
  auto* advise =
      moe_cmd->add_subcommand("advise", "latency of each duplication strategy and the winner");
  add_ep_options(advise, req);
  advise->add_option("--phases", phases, "sweep: comma-separated phases (prefill, decode)");
  advise->add_option("--batches", batches, "sweep: comma-separated batch sizes");
  advise->add_option("--seqs", seqs, "sweep: comma-separated sequence lengths");
  advise->add_option("--skew", skew, "routing skew (max/mean), closed form");
  advise->add_option("--shares", req.shares,
                     "per-layer expert shares CSV (layer, expert, share), closed form");
  advise->add_option(
      "--routing-trace", req.trace,
      "routing trace: trace-driven simulation (and the closed form from its shares)");
  add_old_spelling(advise, "--trace", "--routing-trace", req.trace);
  advise->add_option("--train", req.train,
                     "routing trace to train predictors on (default: the first half of "
                     "--routing-trace)");
  advise->add_option("--replan-every", req.replan_every, "trace mode: re-plan every N batches")
      ->capture_default_str();
  advise
      ->add_option("--replan-policy", req.replan_policy,
                   "trace mode: when-it-pays (adopt a layer's new plan only if its saving over the "
                   "interval beats its exposed copies) or always (the paper's)")
      ->capture_default_str();
  advise
      ->add_option("--batch-tokens", req.batch_tokens,
                   "trace mode: trace tokens per simulated step")
      ->capture_default_str();
  advise->add_flag(
      "--keep-warmup", req.keep_warmup,
      "keep runs of identical warm-up records, wherever they are (excluded by default)");
  advise->add_flag("--strict", req.strict,
                   "exit with status 2 when the step does not fit in memory");
  add_output_options(advise, out, {"table", "json", "csv"});
  one_or_the_list(advise, {{"--phase", "--phases"}, {"--batch", "--batches"}, {"--seq", "--seqs"}});
  advise->callback([] {
    req.skew = skew.empty() ? std::nullopt : std::optional<double>(skew.front());
    req.validate();
    if (skew.size() > 1) throw InputError("--skew", "give one value (use `moe map` for a sweep)");
    if (!phases.empty() || !batches.empty() || !seqs.empty()) {
      api::AdviseSweepRequest sw;
      sw.base = req;
      if (!phases.empty()) sw.phases = split_commas(phases);
      if (!batches.empty()) sw.batches = parse_int_list(batches, "--batches");
      if (!seqs.empty()) sw.seqs = parse_int_list(seqs, "--seqs");
      sw.validate();
      if (dry_run()) return;
      api::AdviseSweepResult r;
      {
        TerminalProgress progress("advising sweep points");
        sw.base.progress = progress.fn();
        r = api::moe_advise_sweep(sw);
      }
      for (const auto& p : r.points)
        if (!p.context.memory_warning.empty())
          warn(fmt::format("memory at {} batch {} seq {}: {}", p.context.phase, p.context.batch,
                           p.context.seq, p.context.memory_warning));
      emit_rendered(
          out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); });
      return;
    }
    if (dry_run()) return;  // options checked; no spec file read, no model run
    api::AdviseResult r;
    {
      TerminalProgress progress("simulating the trace");
      req.progress = progress.fn();
      r = api::moe_advise(req);
      req.progress = {};  // the reporter goes with this block
    }
    if (!r.context.memory_warning.empty()) warn("memory: " + r.context.memory_warning);
    emit_records(
        out, report::json(r), [&] { return report::table(r); }, "strategies");
  });
}

void register_moe_map(CLI::App* moe_cmd) {
  static OutputOptions out;
  static api::MapRequest req;
  static std::string skews, links, batches, svg;
  auto* map = moe_cmd->add_subcommand(
      "map", "guideline map: the winning strategy over skew x bandwidth (x batch)");
  add_ep_options(map, req);
  map->add_option("--skews", skews, "comma-separated skews")->required();
  map->add_option("--links-gb-per-s", links,
                  "comma-separated link bandwidths, GB/s per GPU per direction");
  add_old_spelling(map, "--links", "--links-gb-per-s", links);
  add_old_spelling(map, "--link-gbps-list", "--links-gb-per-s", links);
  map->add_option("--batches", batches, "comma-separated batch sizes (default: --batch)");
  map->add_option("--svg", svg, "also write the map as an SVG image to FILE");
  add_output_options(map, out, {"table", "json", "csv"});
  one_or_the_list(map, {{"--batch", "--batches"}, {"--link-gb-per-s", "--links-gb-per-s"}});
  map->callback([] {
    req.skews = parse_list(skews, "--skews");
    req.links = links.empty() ? std::vector<double>{} : parse_list(links, "--links-gb-per-s");
    req.batches.clear();
    if (!batches.empty())
      for (std::int64_t b : parse_int_list(batches, "--batches")) req.batches.push_back(double(b));
    req.validate();
    if (dry_run()) return;  // options checked; no spec file read, no model run
    const auto r = api::moe_map(req);
    report::FileSet side;
    if (!svg.empty()) side.add(svg, report::svg(r));
    emit_rendered(
        out, report::json(r), [&] { return report::table(r); }, [&] { return report::csv(r); },
        &side);
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
