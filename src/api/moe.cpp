#include "llmgps/api/moe.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "llmgps/moe/ep_model.hpp"
#include "llmgps/moe/loads_file.hpp"
#include "llmgps/moe/shares_csv.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/hw.hpp"
#include "llmgps/specs/model.hpp"
#include "sweep_lists.hpp"

namespace llmgps::api {

void StatsRequest::validate() const {
  if (trace.empty()) throw InputError("stats.trace", "is required: the routing trace to read");
  if (stream && transitions)
    throw InputError("stats.transitions", "needs the whole trace in memory; drop --stream");
}

StatsResult moe_stats(const StatsRequest& r) {
  r.validate();
  const moe::TraceLoadOptions opt{r.experts, r.keep_warmup};
  if (r.stream) return {moe::stream_trace_stats(r.trace, r.batch_tokens, opt), std::nullopt};
  const auto tr = moe::load_trace(r.trace, opt);
  StatsResult out{moe::trace_stats(tr, r.batch_tokens), std::nullopt};
  if (r.transitions) out.transitions = moe::layer_transitions(tr);
  return out;
}

SynthResult moe_synth(const SynthRequest& r) {
  r.validate();
  SynthResult out{moe::synthesize_trace(r.config), ""};
  // The trace's own skew per layer against the target: with few selections per expert the
  // busiest expert's count is mostly sampling noise (and the max of noisy counts runs high).
  const moe::TraceStats st = moe::trace_stats(out.trace, 0);
  const auto& c = r.config;
  int worst = -1;
  double worst_dev = 0.10;
  for (int l = 0; l < int(st.per_layer.size()); ++l) {
    const double target = c.skew.size() == 1 ? c.skew[0] : c.skew[std::size_t(l)];
    const double dev = std::abs(st.per_layer[std::size_t(l)].skew / target - 1);
    if (dev > worst_dev) worst = l, worst_dev = dev;
  }
  if (worst >= 0) {
    const double target = c.skew.size() == 1 ? c.skew[0] : c.skew[std::size_t(worst)];
    const double selections = double(c.sequences) * double(c.tokens_per_sequence) * double(c.top_k);
    const double per_expert = selections / c.experts;
    out.warning = fmt::format(
        "layer {}: measured skew {:.2f} misses the target {:g} by {:.0f}%; {:.0f} selections "
        "over {} experts ({:.1f} per expert){}",
        worst, st.per_layer[std::size_t(worst)].skew, target, 100 * worst_dev, selections,
        c.experts, per_expert,
        per_expert < 100 ? ": at so few tokens the busiest expert's count is sampling noise "
                           "(more --tokens or --sequences bring it to the target)"
                         : ": token and layer correlation bunch the selections (lower "
                           "--token-correlation brings it to the target)");
  }
  return out;
}

void PredictRequest::validate() const {
  if (!groups.empty() && (!train.empty() || !test.empty()))
    throw InputError("predict.groups", "give either --groups or --train and --test");
  if (groups.empty() && (train.empty() || test.empty()))
    throw InputError("predict.traces", "give both traces (or --groups)");
  if (batch_tokens == 0) throw InputError("predict.batch_tokens", "must be positive");
}

PredictResult moe_predict(const PredictRequest& r) {
  r.validate();
  if (!r.groups.empty())
    return {{moe::leave_one_group_out(moe::read_groups_csv(r.groups))}, r.groups, r.groups, 0};
  const auto train = moe::load_trace(r.train, moe::TraceLoadOptions{0, r.keep_warmup});
  const auto test = moe::load_trace(r.test, moe::TraceLoadOptions{train.experts, r.keep_warmup});
  moe::check_compatible(train, test);
  PredictResult out{{}, r.train, r.test, r.batch_tokens, train.warmup_records, test.warmup_records};
  for (auto& p : moe::distribution_predictors())
    out.results.push_back(moe::evaluate(*p, train, test, r.batch_tokens));
  for (auto& p : moe::token_predictors())
    out.results.push_back(moe::evaluate(*p, train, test, r.batch_tokens));
  return out;
}

void PlanRequest::validate() const {
  if (int(!trace.empty()) + int(!loads.empty()) + int(load_matrix.has_value()) != 1)
    throw InputError("plan.input", "give exactly one of them");
  if (algo != "eplb" && algo != "greedy")
    throw InputError("plan.algo", "must be eplb or greedy, got '" + algo + "'");
}

PlanResult moe_plan(const PlanRequest& r) {
  r.validate();
  PlanResult out;
  out.algo = r.algo;
  if (r.load_matrix) {
    if (r.load_matrix->empty() || r.load_matrix->front().empty())
      throw InputError("plan.loads", "the load matrix has no layers or no experts");
    out.loads = *r.load_matrix;
  } else if (r.trace.empty()) {
    out.loads = moe::load_loads_json(r.loads);
  } else {
    const auto tr = moe::load_trace(r.trace, moe::TraceLoadOptions{0, r.keep_warmup});
    out.loads = moe::expert_counts(tr);
    out.warmup_records = tr.warmup_records;
    out.layer_ids = tr.layer_ids;
  }
  if (!r.model.empty()) {
    const ModelSpec m = specs::load_model(r.model);
    const std::string what = !r.trace.empty() ? r.trace : r.load_matrix ? "plan.loads" : r.loads;
    const int layers = m.moe_layer_count();
    if (out.loads[0].size() != std::size_t(m.num_experts))
      throw InputError(what, fmt::format("has {} experts per layer; model '{}' has {}",
                                         out.loads[0].size(), m.name, m.num_experts));
    // One row per MoE layer, or one per layer (SGLang's expert-distribution record keeps a row
    // for every layer, the dense ones empty).
    const bool moe_rows = out.loads.size() == std::size_t(layers);
    if (out.layer_ids.empty() && !moe_rows && out.loads.size() != std::size_t(m.layers))
      throw InputError(what, fmt::format("has {} layers; model '{}' has {} MoE layers (or give "
                                         "all {} layers)",
                                         out.loads.size(), m.name, layers, m.layers));
    if (out.layer_ids.empty() && moe_rows && layers != m.layers) {
      out.model_layers = m.layers;
      for (int l = 0; l < m.layers; ++l)
        if (m.is_moe_layer(l)) out.moe_layer_ids.push_back(l);
    }
    if (!out.layer_ids.empty() && out.layer_ids.back() >= layers)
      throw InputError(what, fmt::format("layers_logged names layer {}; model '{}' has {} MoE "
                                         "layers",
                                         out.layer_ids.back(), m.name, layers));
  }
  if (r.algo == "eplb") {
    const moe::EplbConfig cfg{r.gpus * r.slots_per_gpu, r.groups, r.nodes, r.gpus};
    out.plan = moe::eplb_plan(out.loads, cfg);
    out.eplb_policy = moe::eplb_hierarchical(cfg) ? "hierarchical" : "global";
  } else
    out.plan = moe::greedy_plan(out.loads,
                                moe::GreedyConfig{r.gpus, r.slots_per_gpu, r.max_copies, 1.0, {}});
  const std::string bad = moe::check_plan(out.plan, int(out.loads[0].size()));
  if (!bad.empty()) throw std::logic_error("planner produced an invalid plan: " + bad);
  return out;
}

namespace {

// The advisor's knobs from a request (the parse_* calls name their fields).
moe::AdviceConfig advice_config(const EpRequest& r) {
  moe::AdviceConfig c;
  c.progress = r.progress;
  c.algo = moe::parse_planner(r.algo, "plan.algo");
  c.error_model = moe::parse_error_model(r.error_model, "advice.error_model");
  if (r.error_cap != "on" && r.error_cap != "off")
    throw InputError("advice.error_cap", "must be 'on' or 'off', got '" + r.error_cap + "'");
  c.error_cap = r.error_cap == "on";
  c.replan_interval = r.replan_every;
  if (r.replan_policy != "when-it-pays" && r.replan_policy != "always")
    throw InputError("advice.replan_policy",
                     "must be 'when-it-pays' or 'always', got '" + r.replan_policy + "'");
  c.replan_only_when_it_pays = r.replan_policy == "when-it-pays";
  c.trace_batch_tokens = r.batch_tokens;
  return c;
}

moe::EpSetup ep_setup(const EpRequest& r) {
  moe::EpSetup setup;
  setup.step.batch = r.batch;
  setup.step.seq = r.seq;
  setup.step.phase = parse_phase(r.phase, "step.phase");
  // "auto" needs the model and GPU: build_model resolves it.
  if (r.dtype != "auto") setup.step.dtype = parse_dtype(r.dtype, "step.dtype");
  setup.layout = parse_moe_layout(r.layout, "ep.layout");
  setup.expert_time = moe::parse_expert_time(r.expert_time, "ep.expert_time");
  if (r.slots_per_gpu < 0) throw InputError("ep.slots_per_gpu", "must be positive");
  setup.slots_per_gpu = r.slots_per_gpu;
  check_memory_fraction(r.memory_fraction);
  setup.step.memory_fraction = r.memory_fraction;
  setup.step.cuda_graphs = r.cuda_graphs;
  return setup;
}

void check_link(std::optional<double> link_gbps) {
  if (link_gbps && (!(*link_gbps > 0) || !std::isfinite(*link_gbps)))
    throw InputError("ep.link_gbps", fmt::format("must be positive (got {})", *link_gbps));
}

// The step model on specs already loaded (a map sweep loads them once for all its cells).
moe::EpModel build_model(const EpRequest& r, const ModelSpec& m, SystemSpec sys) {
  check_link(r.link_gbps);
  if (r.link_gbps) sys.intra.bw_bytes_per_s = *r.link_gbps * 1e9;
  moe::EpSetup setup = ep_setup(r);
  setup.step.dtype = resolve_dtype(r.dtype, sys.gpu, m.fp8_checkpoint, "step.dtype");
  return moe::EpModel(m, sys, setup);
}

moe::AdviceContext context(const EpRequest& r, const moe::AdviceConfig& cfg, const moe::EpModel& em,
                           const std::string& mode, const std::string& input) {
  moe::AdviceContext c;
  c.model = em.model().name;
  c.system = r.system;
  c.link_gbps = em.system().intra.bw_bytes_per_s / 1e9;
  c.batch = r.batch;
  c.seq = r.seq;
  c.phase = r.phase;
  c.dtype = std::string(dtype_name(em.step().dtype));
  c.layout = moe_layout_name(em.layout());
  c.cuda_graphs = em.step().cuda_graphs;
  c.dispatch = em.dispatch_kind();
  c.combine = em.combine_kind();
  c.model_error = em.model_error().family;
  c.algo = r.algo;
  c.error_model = r.error_model;
  c.expert_time = moe::expert_time_name(em.expert_time());
  c.predictors = r.predictors;
  c.error_cap = cfg.error_cap;
  c.slots_per_gpu = em.slots_per_gpu();
  c.mode = mode;
  c.input = input;
  c.memory = em.memory();
  c.memory_step = em.memory_step();
  c.memory_limits = memory_limits(em.model(), em.system(), {em.memory_step()}, em.extra_slots());
  c.memory_warning = memory_warning(c.memory, c.memory_limits, c.memory_step);
  if (r.strict && !c.memory_warning.empty()) throw InputError("memory", c.memory_warning);
  return c;
}

// The predictor properties the closed form uses: a built-in set measured on this model, the
// closed form's own (closed_form_predictors) when there is none, and the user's points.
struct StrategySet {
  std::vector<moe::Strategy> fixed, points;
  bool curve = false;        // the points span two accuracies: a fitted curve has a best point
  bool from_shares = false;  // no measured set: the predictors follow from each cell's shares
  std::string name;          // the set used
};

StrategySet strategy_set(const EpRequest& r, const moe::EpModel& em) {
  StrategySet set;
  set.name = r.predictors;
  if (set.name == "auto") {
    set.name = moe::builtin_set_for(em.model().name);
    if (set.name.empty()) set.name = "closed-form";
  }
  if (set.name == "closed-form") {
    set.from_shares = true;
    set.fixed.push_back(moe::no_duplication());
  } else {
    set.fixed = moe::builtin_strategies(em, set.name);
  }
  if (r.points.empty()) return set;
  set.points = moe::strategies_from_points(r.points, em);
  for (const auto& p : set.points) set.fixed.push_back(p);
  std::vector<double> accs;
  for (const auto& p : set.points)
    if (std::find(accs.begin(), accs.end(), p.accuracy) == accs.end()) accs.push_back(p.accuracy);
  set.curve = accs.size() >= 2;
  return set;
}

// The note a closed-form answer carries when no predictor was measured for the model.
std::string closed_form_note(const StrategySet& set, const moe::EpModel& em) {
  if (!set.from_shares) return {};
  return fmt::format(
      "no predictors measured for {}: Distribution-Only (mle) and the most-frequent "
      "Token-to-Expert predictor follow from the shares under stationary routing (closed form); "
      "the other predictors need this model's routing: --trace or --points",
      em.model().name);
}

// The set, the closed form's own predictors for `shares` when the set has no measurements, and
// the curve's best point for `shares` when there is a curve.
std::vector<moe::Strategy> strategies(const StrategySet& set, const moe::EpModel& em,
                                      const moe::LoadMatrix& shares, const moe::AdviceConfig& cfg) {
  std::vector<moe::Strategy> s = set.fixed;
  if (set.from_shares) {
    const auto own = moe::closed_form_predictors(em, shares);
    s.insert(s.begin() + 1, own.begin(), own.end());
  }
  if (set.curve) s.push_back(moe::best_on_curve(em, set.points, shares, cfg));
  return s;
}

// Trace mode: train on --train, or on the first half of the trace and test on the second.
std::pair<moe::RoutingTrace, moe::RoutingTrace> train_test(const AdviseRequest& r, int experts) {
  const moe::TraceLoadOptions opt{experts, r.keep_warmup};
  const auto full = moe::load_trace(r.trace, opt);
  if (!r.train.empty()) return {moe::load_trace(r.train, opt), full};
  // Split by forward pass where there are several (a pass's tokens are routed together, so a
  // pass split down the middle would let the predictors see part of the batch they predict).
  std::size_t half = full.num_tokens() / 2;
  std::string first = "first half", second = "second half";
  if (full.passes > 1) {
    const std::int32_t mid = full.passes / 2;
    half = std::size_t(std::find_if(full.tokens.begin(), full.tokens.end(),
                                    [&](const moe::TraceToken& t) { return t.pass >= mid; }) -
                       full.tokens.begin());
    first = fmt::format("first {} of {} passes", mid, full.passes);
    second = fmt::format("last {} of {} passes", full.passes - mid, full.passes);
  }
  if (half == 0 || half == full.num_tokens())
    throw InputError(r.trace, "too few tokens to split into training and test halves");
  return {moe::slice(full, {0, half}, fmt::format("{} ({})", r.trace, first)),
          moe::slice(full, {half, full.num_tokens()}, fmt::format("{} ({})", r.trace, second))};
}

}  // namespace

void EpRequest::validate() const {
  check_link(link_gbps);
  (void)ep_setup(*this);
  (void)advice_config(*this);
}

void AdviseRequest::validate() const {
  const int given = int(skew.has_value()) + int(!shares.empty()) + int(!trace.empty());
  if (given != 1) throw InputError("advice.routing", "give exactly one routing input");
  EpRequest::validate();
}

namespace {

using TracePair = std::pair<moe::RoutingTrace, moe::RoutingTrace>;  // train, test

// moe_advise on specs already loaded; in trace mode the traces are read into `traces` on first
// use (after the step model is checked, as before) and reused: a sweep reads everything once.
AdviseResult advise_on(const AdviseRequest& r, const ModelSpec& m, const SystemSpec& sys,
                       std::optional<TracePair>& traces) {
  const moe::EpModel em = build_model(r, m, sys);
  const moe::AdviceConfig cfg = advice_config(r);
  AdviseResult out;
  if (r.trace.empty()) {
    const moe::LoadMatrix shares =
        r.skew ? moe::LoadMatrix{moe::shares_for_skew(em.experts(), em.model().top_k, *r.skew)}
               : moe::read_shares_csv(r.shares);
    const std::string input = r.skew ? fmt::format("skew {:g}", *r.skew) : "shares " + r.shares;
    const StrategySet set = strategy_set(r, em);
    out.advice = moe::advise(moe::closed_form(em, strategies(set, em, shares, cfg), shares, cfg));
    out.context = context(r, cfg, em, "closed-form", input);
    out.context.predictors = set.name;
    if (const std::string note = closed_form_note(set, em); !note.empty())
      out.context.notes.push_back(note);
    return out;
  }
  if (!traces) traces = train_test(r, em.experts());
  const auto& [train, test] = *traces;
  moe::check_trace_fits(em, test);
  // Decode: a step routes one token per sequence, so a simulated step takes the batch's worth of
  // trace tokens as they are (scaling a larger slice would turn its counts into fractions).
  moe::AdviceConfig run = cfg;
  if (em.step().phase == Phase::decode) run.trace_batch_tokens = std::size_t(em.tokens());
  out.advice = moe::advise(moe::trace_driven(em, train, test, run));
  out.context = context(r, cfg, em, "trace", "trace " + r.trace);
  out.context.predictors = "trained on " + train.source;  // not a built-in set in trace mode
  out.context.warmup_records = test.warmup_records + (r.train.empty() ? 0 : train.warmup_records);
  const std::string sample = moe::layer_sample_note(em, test);
  if (!sample.empty()) out.context.notes.push_back(sample);
  if (em.step().phase == Phase::decode)
    out.context.notes.push_back(fmt::format(
        "decode: each simulated step routes {} trace tokens, one per sequence", em.tokens()));
  // The closed form beside it: the test trace's shares, the predictors' measured properties.
  std::vector<moe::Strategy> measured;
  for (const auto& s : out.advice.strategies) measured.push_back(s.strategy);
  out.closed_form = moe::advise(
      moe::closed_form(em, measured, moe::expert_counts(test), cfg,
                       test.partial() ? moe::ShareRows::sample : moe::ShareRows::per_layer));
  out.closed_form_context = context(r, cfg, em, "closed-form", "shares of " + test.source);
  out.closed_form_context.notes = out.context.notes;
  return out;
}

}  // namespace

AdviseResult moe_advise(const AdviseRequest& r) {
  r.validate();
  const ModelSpec m = specs::load_model(r.model);  // the model's errors first, as always
  const SystemSpec sys = specs::load_system(r.system);
  std::optional<TracePair> traces;
  return advise_on(r, m, sys, traces);
}

void AdviseSweepRequest::validate() const {
  detail::require_positive(batches, "sweep.batches");
  detail::require_positive(seqs, "sweep.seqs");
  detail::require_phases(phases);
  base.validate();
}

AdviseSweepResult moe_advise_sweep(const AdviseSweepRequest& r) {
  r.validate();
  const std::vector<std::string> phases =
      r.phases.empty() ? std::vector<std::string>{r.base.phase} : r.phases;
  const std::vector<std::int64_t> batches =
      r.batches.empty() ? std::vector<std::int64_t>{r.base.batch} : r.batches;
  const std::vector<std::int64_t> seqs =
      r.seqs.empty() ? std::vector<std::int64_t>{r.base.seq} : r.seqs;
  const std::size_t n = phases.size() * batches.size() * seqs.size();
  // The specs and traces once for every point.
  const ModelSpec m = specs::load_model(r.base.model);
  const SystemSpec sys = specs::load_system(r.base.system);
  std::optional<TracePair> traces;  // read by the first point that needs them
  AdviseSweepResult out;
  for (const std::string& phase : phases)
    for (std::int64_t b : batches)
      for (std::int64_t q : seqs) {
        AdviseRequest p = r.base;
        p.phase = phase, p.batch = b, p.seq = q;
        if (r.base.progress) {
          // The whole sweep's progress: points done, then this point's share.
          const std::size_t at = out.points.size();
          p.progress = [&r, at, n](std::size_t done, std::size_t total) {
            r.base.progress(at * 1000 + (total ? 1000 * done / total : 0), n * 1000);
          };
        }
        p.validate();
        out.points.push_back(advise_on(p, m, sys, traces));
      }
  return out;
}

void MapRequest::validate() const {
  if (links.empty() && !link_gbps)
    throw InputError("ep.link_gbps", "give the bandwidths to sweep (comma-separated GB/s)");
  if (!links.empty() && link_gbps)
    throw InputError("map.links", "give one link bandwidth or a list to sweep, not both");
  for (double l : links)
    if (!(l > 0) || !std::isfinite(l))
      throw InputError("map.links", fmt::format("must be positive GB/s (got {})", l));
  for (double b : batches)
    if (!(b >= 1) || b != std::floor(b) || b > double(std::int64_t(1) << 50))
      throw InputError("map.batches", fmt::format("'{}' is not a positive integer up to 2^50", b));
  EpRequest::validate();
}

MapResult moe_map(const MapRequest& r) {
  r.validate();
  const moe::AdviceConfig cfg = advice_config(r);
  const std::vector<double> links = r.links.empty() ? std::vector<double>{*r.link_gbps} : r.links;
  const std::vector<double> batches =
      r.batches.empty() ? std::vector<double>{double(r.batch)} : r.batches;
  MapResult out;
  const ModelSpec model = specs::load_model(r.model);
  const SystemSpec system = specs::load_system(r.system);
  EpRequest cell_request = r;
  for (double b : batches) {
    for (double link : links) {
      cell_request.batch = std::int64_t(b);
      cell_request.link_gbps = link;
      const moe::EpModel em = build_model(cell_request, model, system);
      const StrategySet set = strategy_set(cell_request, em);
      for (double k : r.skews) {
        const moe::LoadMatrix shares = {moe::shares_for_skew(em.experts(), em.model().top_k, k)};
        const auto advice =
            moe::advise(moe::closed_form(em, strategies(set, em, shares, cfg), shares, cfg));
        moe::MapCell c;
        c.skew = k;
        c.link_gbps = link;
        c.batch = cell_request.batch;
        c.winner = advice.recommended;
        c.winner_name = advice.recommended_name;
        c.tie = advice.tie;
        if (advice.runner_up < advice.strategies.size()) {
          c.runner_up = advice.strategies[advice.runner_up].strategy.kind;
          c.runner_up_name = advice.strategies[advice.runner_up].strategy.name;
        }
        auto best_of = [&](moe::StrategyKind kind) {
          double best = 0;
          for (const auto& s : advice.strategies)
            if (s.strategy.kind == kind && (best == 0 || s.latency_s < best)) best = s.latency_s;
          return best;
        };
        c.latency_none_s = best_of(moe::StrategyKind::none);
        c.latency_distribution_s = best_of(moe::StrategyKind::distribution);
        c.latency_token_s = best_of(moe::StrategyKind::token);
        out.cells.push_back(c);
      }
    }
  }
  const moe::EpModel em = build_model(r, model, system);
  out.context = context(r, cfg, em, "closed-form", "skew sweep");
  const StrategySet set = strategy_set(r, em);
  out.context.predictors = set.name;
  if (const std::string note = closed_form_note(set, em); !note.empty())
    out.context.notes.push_back(note);
  return out;
}

}  // namespace llmgps::api
