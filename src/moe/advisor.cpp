#include "llmgps/moe/advisor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"

namespace llmgps::moe {

namespace {
std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}
using Matrix = std::vector<std::vector<double>>;

DType act_dtype(const EpModel&) {
  return DType::fp16;
}

double predictor_layer_s(const EpModel& em, const Strategy& s) {
  if (s.kind != StrategyKind::token) return 0.0;
  return s.overhead_s >= 0 ? s.overhead_s : em.ops_s(s.ops);
}

// Slot -> tokens of one layer, grouped per GPU.
std::vector<std::vector<double>> per_gpu_slots(const ReplicaPlan& plan, int layer,
                                               const std::vector<double>& slot_tokens) {
  std::vector<std::vector<double>> g(sz(plan.gpus));
  for (std::size_t s = 0; s < slot_tokens.size(); ++s)
    if (plan.phy2log[sz(layer)][s] >= 0) g[sz(plan.gpu_of_slot(int(s)))].push_back(slot_tokens[s]);
  return g;
}

// Tokens each slot of layer l serves when the experts receive `loads` (split by the plan's shares).
std::vector<double> slot_tokens_of(const ReplicaPlan& plan, int l,
                                   const std::vector<double>& loads) {
  std::vector<double> t(plan.phy2log[sz(l)].size(), 0.0);
  for (std::size_t s = 0; s < t.size(); ++s) {
    const int e = plan.phy2log[sz(l)][s];
    if (e >= 0) t[s] = loads[sz(e)] * plan.slot_share[sz(l)][s];
  }
  return t;
}

// The straggler GPU's expert time in layer l for the given slot tokens.
// expected: the slot tokens are expectations (a closed form, a prediction), not a routed batch.
double straggler_expert_s(const EpModel& em, const ReplicaPlan& plan, int l,
                          const std::vector<double>& slot_tokens, bool expected) {
  double worst = 0;
  for (const auto& g : per_gpu_slots(plan, l, slot_tokens))
    worst = std::max(worst, expected ? em.expected_gpu_expert_s(g) : em.gpu_expert_s(g));
  return worst;
}

double mean_over_max(const std::vector<double>& loads) {
  const double mx = *std::max_element(loads.begin(), loads.end());
  return mx > 0 ? std::accumulate(loads.begin(), loads.end(), 0.0) / double(loads.size()) / mx
                : 1.0;
}

struct Residency {
  // per layer, per GPU: extra experts resident, most recently used last
  std::vector<std::vector<std::vector<int>>> extra;
  int capacity = 0;
};

// The one walk over layer l of `plan` against the residency: the bytes each GPU must receive for
// its replicas of other GPUs' experts that are not resident yet, and how many such copies. With
// `commit`, the residency follows the plan (least recently used extra expert evicted first);
// without, it is only read (a plan being considered).
struct CopyNeed {
  std::vector<double> bytes;  // per GPU
  int copies = 0;
};
CopyNeed walk_residency(const EpModel& em, const ReplicaPlan& plan, int l, Residency& resid,
                        bool commit) {
  const HomePlacement home{em.experts(), em.gpus()};
  CopyNeed need{std::vector<double>(sz(em.gpus()), 0.0), 0};
  for (std::size_t s = 0; s < plan.phy2log[sz(l)].size(); ++s) {
    const int e = plan.phy2log[sz(l)][s];
    const int g = plan.gpu_of_slot(int(s));
    if (e < 0 || home.gpu_of(e) == g) continue;
    auto& res_list = resid.extra[sz(l)][sz(g)];
    const auto it = std::find(res_list.begin(), res_list.end(), e);
    const bool resident = it != res_list.end();
    if (!resident) {
      need.bytes[sz(g)] += em.expert_weight_bytes();
      ++need.copies;
    }
    if (!commit) continue;
    if (resident)
      res_list.erase(it);
    else if (int(res_list.size()) >= resid.capacity && !res_list.empty())
      res_list.erase(res_list.begin());
    res_list.push_back(e);
  }
  return need;
}

// Replicas each GPU must receive to hold `plan` (beyond its own experts), per layer: the walk
// against an empty residency.
std::vector<std::vector<double>> warmup_bytes(const EpModel& em, const ReplicaPlan& plan) {
  Residency none;
  none.extra.assign(sz(plan.layers()), std::vector<std::vector<int>>(sz(em.gpus())));
  std::vector<std::vector<double>> bytes;
  for (int l = 0; l < plan.layers(); ++l)
    bytes.push_back(walk_residency(em, plan, l, none, false).bytes);
  return bytes;
}

}  // namespace

ErrorModel parse_error_model(const std::string& s, const std::string& where) {
  if (s == "optimistic") return ErrorModel::optimistic;
  if (s == "typical") return ErrorModel::typical;
  if (s == "pessimistic") return ErrorModel::pessimistic;
  throw InputError(where, "must be optimistic, typical or pessimistic, got '" + s + "'");
}

const char* error_model_name(ErrorModel e) {
  return e == ErrorModel::optimistic ? "optimistic"
         : e == ErrorModel::typical  ? "typical"
                                     : "pessimistic";
}

std::vector<double> shares_for_skew(int experts, int top_k, double skew) {
  const double max_skew = double(experts) / top_k;
  if (!(skew >= 1.0 && skew <= max_skew))
    throw InputError(
        "advice.skew",
        fmt::format("must be in [1, {:.4g}] for {} experts and top-{} (an expert takes at most "
                    "one selection per token), got {}",
                    max_skew, experts, top_k, skew));
  std::vector<double> s(sz(experts), 0.0);
  s[0] = skew / experts;
  for (int e = 1; e < experts; ++e) s[sz(e)] = (1.0 - s[0]) / (experts - 1);
  return s;
}

std::vector<Strategy> builtin_strategies(const EpModel& em, const std::string& set_name) {
  const char* text = specs::find_preset("moe", set_name);
  if (!text)
    throw InputError("advice.predictors", fmt::format("unknown predictor set '{}' (known: {})",
                                                      set_name, specs::preset_list("moe")));
  const auto j = nlohmann::json::parse(text);
  const ModelSpec& m = em.model();
  // Another model's routing predicts nothing about this one's.
  const std::string measured_on = j.value("model", std::string());
  if (!measured_on.empty() && measured_on != m.name)
    throw InputError(
        "advice.predictors",
        fmt::format("set '{}' was measured on {} routing, not {}'s: give this model's "
                    "routing trace (--routing-trace), measured points (--points), or leave "
                    "--predictors auto for the closed form",
                    set_name, measured_on, m.name));
  std::vector<Strategy> out;
  out.push_back(no_duplication());
  // A set may take its Token-to-Expert predictors from another set (one source of truth for
  // measured properties).
  std::vector<std::pair<nlohmann::json, std::string>> entries;
  for (const auto& p : j.at("predictors"))
    entries.emplace_back(p, j.at("source").get<std::string>());
  if (j.contains("token_predictors_from")) {
    const std::string from = j.at("token_predictors_from").get<std::string>();
    const char* other = specs::find_preset("moe", from);
    if (!other)
      throw InputError(
          "advice.predictors",
          fmt::format("set '{}' takes token predictors from unknown set '{}'", set_name, from));
    const auto k = nlohmann::json::parse(other);
    for (const auto& p : k.at("predictors"))
      if (p.at("kind") == "token") entries.emplace_back(p, k.at("source").get<std::string>());
  }
  for (const auto& [p, source] : entries) {
    Strategy s;
    s.name = p.at("name").get<std::string>();
    s.kind = parse_strategy_kind(p.at("kind").get<std::string>(), "advice.predictors");
    s.error = p.at("error").get<double>();
    s.accuracy = s.kind == StrategyKind::token ? p.at("accuracy").get<double>() : 0.0;
    s.source = source;

    if (s.kind == StrategyKind::token)
      s.ops =
          make_token_predictor(s.name, "advice.predictors")
              ->ops(em.predictor_tokens(), m.num_experts, em.moe_layers(), m.top_k, act_dtype(em));
    out.push_back(std::move(s));
  }
  return out;
}

Strategy no_duplication() {
  return Strategy{
      "none", StrategyKind::none, 0, 0, {}, -1, "no duplication: contiguous experts per GPU"};
}

std::string builtin_set_for(const std::string& model) {
  for (const std::string& name : specs::preset_names("moe")) {
    if (name.rfind("predictors-", 0) != 0) continue;
    const auto j = nlohmann::json::parse(specs::find_preset("moe", name));
    // The set of the model's own traces; a paper-figure set is only chosen by name.
    if (j.value("model", std::string()) == model && !j.contains("token_predictors_from"))
      return name;
  }
  return {};
}

std::vector<Strategy> closed_form_predictors(const EpModel& em, const LoadMatrix& shares) {
  const int E = em.experts(), K = em.model().top_k;
  const double n = em.selections();
  double mle_error = 0, acc = 0;
  LoadMatrix most_frequent;  // its predicted shares: 1/K on each layer's top-k experts
  for (const auto& row : shares) {
    if (int(row.size()) != E)
      throw InputError("advice.shares",
                       fmt::format("{} shares, model has {} experts", row.size(), E));
    const std::vector<double> p = shares_of(row);
    for (double pe : p) mle_error += std::sqrt(2 * pe * (1 - pe) / (M_PI * n));
    std::vector<std::size_t> order(p.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p[a] > p[b]; });
    std::vector<double> guess(sz(E), 0.0);
    for (int j = 0; j < K; ++j) {
      guess[order[sz(j)]] = 1.0 / K;
      acc += p[order[sz(j)]];
    }
    most_frequent.push_back(std::move(guess));
  }
  const double rows = double(shares.size());
  Strategy mle{"mle",
               StrategyKind::distribution,
               mle_error / rows,
               0,
               {},
               -1,
               fmt::format("closed form: the sampling noise of a batch of {:.0f} selections around "
                           "stationary shares (a lower bound: no distribution shift)",
                           n)};
  Strategy mf{"most-frequent",
              StrategyKind::token,
              distribution_error(most_frequent, shares).mean,
              acc / rows,
              {},
              -1,
              "closed form: every token to the top-k experts by share"};
  mf.ops = make_token_predictor("most-frequent", "advice.predictors")
               ->ops(em.predictor_tokens(), E, em.moe_layers(), K, act_dtype(em));
  return {mle, mf};
}

std::vector<Op> hidden_state_predictor_ops(const EpModel& em, const std::string& arch,
                                           const std::string& where) {
  const ModelSpec& m = em.model();
  const std::int64_t T = em.predictor_tokens(), h = m.hidden_size, E = m.num_experts;
  const DType act = act_dtype(em);
  if (arch == "paper-mlp")
    return {gemm_op("predict_fc1", "predictor", 1, T, 128, h, act),
            elem_op("predict_relu1", "predictor", 1, ElementwiseKind::activation, T, 128, act),
            gemm_op("predict_fc2", "predictor", 1, T, 64, 128, act),
            elem_op("predict_relu2", "predictor", 1, ElementwiseKind::activation, T, 64, act),
            gemm_op("predict_fc3", "predictor", 1, T, E, 64, act),
            elem_op("predict_topk", "predictor", 1, ElementwiseKind::topk, T, E, act)};
  if (arch == "paper-lstm") {
    // Two layers of hidden 64: each layer's input projection for every token at once, then the
    // recurrence one position after another (prefill: seq steps; decode: one), each step a GEMM
    // over the GPU's sequences and the gate arithmetic, launched step by step.
    const bool decode = em.step().phase == Phase::decode;
    const std::int64_t steps = decode ? 1 : em.step().seq;
    const std::int64_t rows = std::max<std::int64_t>(1, T / steps);
    std::vector<Op> ops;
    for (int layer = 0; layer < 2; ++layer) {
      ops.push_back(gemm_op(fmt::format("predict_lstm{}_input", layer), "predictor", 1, T, 4 * 64,
                            layer == 0 ? h : 64, act));
      ops.push_back(gemm_op(fmt::format("predict_lstm{}_step", layer), "predictor", int(steps),
                            rows, 4 * 64, 64, act));
      ops.push_back(elem_op(fmt::format("predict_lstm{}_gates", layer), "predictor", int(steps),
                            ElementwiseKind::gated_activation, rows, 4 * 64, act));
    }
    ops.push_back(gemm_op("predict_lstm_head", "predictor", 1, T, E, 64, act));
    ops.push_back(elem_op("predict_topk", "predictor", 1, ElementwiseKind::topk, T, E, act));
    return ops;
  }
  throw InputError(where, fmt::format("unknown predictor architecture '{}' (known: paper-mlp, "
                                      "paper-lstm)",
                                      arch));
}

std::vector<Strategy> strategies_from_points(const std::string& path, const EpModel& em) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError(path, "cannot open predictor points file");
  std::ostringstream ss;
  ss << in.rdbuf();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ss.str());
  } catch (const nlohmann::json::parse_error& e) {
    throw InputError(path, fmt::format("not valid JSON (byte {})", e.byte));
  } catch (const nlohmann::json::exception& e) {  // e.g. a number out of range (1e400)
    throw InputError(path, std::string("not valid JSON: ") + e.what());
  }
  if (!j.is_array() || j.empty())
    throw InputError(path,
                     "expected a non-empty array of {\"name\", \"accuracy\", \"overhead_s\" or "
                     "\"arch\"}");
  std::vector<Strategy> out;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const auto& p = j[i];
    const std::string where = fmt::format("{}: [{}]", path, i);
    auto num = [&](const char* k) {
      if (!p.is_object() || !p.contains(k) || !p[k].is_number())
        throw InputError(where, fmt::format("missing number '{}'", k));
      const double v = p[k].get<double>();
      if (!std::isfinite(v) || v < 0)
        throw InputError(where + "." + k, fmt::format("must be finite and >= 0 (got {})", v));
      return v;
    };
    Strategy s;
    s.kind = StrategyKind::token;
    s.name = p.contains("name") && p["name"].is_string() ? p["name"].get<std::string>()
                                                         : fmt::format("point{}", i);
    s.accuracy = num("accuracy");
    if (s.accuracy > 1) throw InputError(where + ".accuracy", "must be in [0, 1]");
    // A measured overhead, or the predictor's own ops on this step (its architecture named).
    if (p.is_object() && p.contains("arch") && p.contains("overhead_s"))
      throw InputError(where, "give 'overhead_s' (measured) or 'arch' (costed), not both");
    if (p.is_object() && p.contains("arch")) {
      if (!p["arch"].is_string()) throw InputError(where + ".arch", "must be a string");
      s.ops = hidden_state_predictor_ops(em, p["arch"].get<std::string>(), where + ".arch");
      s.overhead_s = -1;
    } else {
      s.overhead_s = num("overhead_s");
    }
    // Without a measured distribution error, mispredicted selections are taken to unbalance the
    // plan by their share (half the worst case, where every miss moves load onto one expert).
    s.error = p.contains("error") ? num("error") : 1.0 - s.accuracy;
    s.source = path;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<StrategyResult> closed_form(const EpModel& em, const std::vector<Strategy>& strategies,
                                        const LoadMatrix& shares, const AdviceConfig& cfg,
                                        ShareRows rows) {
  const int model_layers = em.moe_layers();
  const int G = em.gpus();
  if (rows == ShareRows::per_layer && shares.size() != 1 && int(shares.size()) != model_layers)
    throw InputError("advice.shares",
                     fmt::format("{} rows of expert shares; give one or one per MoE layer ({})",
                                 shares.size(), model_layers));
  if (shares.empty()) throw InputError("advice.shares", "no rows of expert shares");
  // The layers evaluated: every MoE layer, or (a sample) the rows given, each standing for the
  // same number of the model's layers.
  const int L = rows == ShareRows::sample ? int(shares.size()) : model_layers;
  LoadMatrix loads;
  for (int l = 0; l < L; ++l) {
    const auto& row = shares[shares.size() == 1 ? 0 : sz(l)];
    if (int(row.size()) != em.experts())
      throw InputError("advice.shares",
                       fmt::format("{} shares, model has {} experts", row.size(), em.experts()));
    const auto s = shares_of(row);
    std::vector<double> r(s.size());
    for (std::size_t e = 0; e < s.size(); ++e) r[e] = s[e] * em.selections();
    loads.push_back(std::move(r));
  }
  const ReplicaPlan none_plan = contiguous_plan(L, em.experts(), G);
  const auto none_loads = gpu_loads(none_plan, loads);
  std::vector<StrategyResult> out;
  for (const Strategy& st : strategies) {
    StrategyResult res;
    res.strategy = st;
    res.mode = "closed-form";
    const ReplicaPlan plan = st.kind == StrategyKind::none ? none_plan : em.plan(loads, cfg.algo);
    const auto gl = gpu_loads(plan, loads);
    const double eps = st.kind == StrategyKind::none ? 0.0 : st.error;
    double bal = 0;
    for (int l = 0; l < L; ++l) {
      std::vector<double> slot_tokens = slot_tokens_of(plan, l, loads[sz(l)]);
      std::vector<double> g = gl[sz(l)];
      const int hot = int(std::max_element(g.begin(), g.end()) - g.begin());
      const double mean = em.selections() / G;
      // The paper's error models raise the straggler's load; a plan made from a wrong estimate
      // still leaves every expert its own replica, so the straggler never carries more tokens
      // than the busiest GPU without duplication does (that bound is ours; the paper is silent;
      // cfg.error_cap = false, --error-cap off, removes it).
      const auto& g0 = none_loads[sz(l)];
      const double none_max = cfg.error_cap ? *std::max_element(g0.begin(), g0.end())
                                            : std::numeric_limits<double>::infinity();
      double target = g[sz(hot)];
      if (cfg.error_model == ErrorModel::typical)
        target = std::max(target, std::min(none_max, mean * (1 + eps)));
      if (cfg.error_model == ErrorModel::pessimistic)
        target = std::max(target, std::min(none_max, g[sz(hot)] + eps / 2 * em.selections()));
      const double scale = g[sz(hot)] > 0 ? target / g[sz(hot)] : 1.0;
      for (std::size_t s = 0; s < slot_tokens.size(); ++s)
        if (plan.gpu_of_slot(int(s)) == hot) slot_tokens[s] *= scale;
      g[sz(hot)] = target;
      bal += mean_over_max(g);
      LayerBreakdown b;
      b.attention_s = em.attention_s();
      b.gate_s = em.gate_s();
      b.predictor_s = predictor_layer_s(em, st);
      b.experts_s = straggler_expert_s(em, plan, l, slot_tokens, true);
      // Every source GPU holds 1/G of the tokens and sends each GPU its share of that GPU's load.
      Matrix v(sz(G), std::vector<double>(sz(G), 0.0));
      for (int i = 0; i < G; ++i)
        for (int j = 0; j < G; ++j) v[sz(i)][sz(j)] = g[sz(j)] / G * em.token_bytes();
      // The paper's accounting: correctly predicted tokens went to their expert's GPU early.
      Matrix d = v, early = v;
      for (auto& row : early)
        for (double& x : row) x *= st.kind == StrategyKind::token ? st.accuracy : 0.0;
      if (st.kind == StrategyKind::token && em.prediction_skips_dispatch())
        for (auto& row : d)
          for (double& x : row) x *= (1 - st.accuracy);
      b.dispatch_s = em.dispatch_s(d);
      b.early_dispatch_s = em.early_dispatch_exposed_s(early, 0.0);
      b.combine_s = em.combine_s(v);
      res.layer.add(b, 1.0 / L);
    }
    res.balancedness = bal / L;
    // The replica set is the same batch after batch (same shares), so copies happen once.
    for (const auto& row : warmup_bytes(em, plan)) res.warmup_copy_s += em.copy_s(row);
    res.warmup_copy_s *= double(model_layers) / L;  // a sample's rows stand for all layers
    res.overhead_s = res.layer.predictor_s * model_layers;
    res.latency_s = res.layer.total() * model_layers + em.other_s();
    res.band_s = em.band_s(res.layer);
    res.common_band_s = em.common_band_s();
    out.push_back(std::move(res));
  }
  return out;
}

namespace {

// The straggler GPU's expert time for layer l of `plan` when its experts receive `loads`.
double expert_time_on(const EpModel& em, const ReplicaPlan& plan, int l,
                      const std::vector<double>& loads) {
  return straggler_expert_s(em, plan, l, slot_tokens_of(plan, l, loads), true);
}

}  // namespace

std::vector<StrategyResult> trace_driven(const EpModel& em, const RoutingTrace& train,
                                         const RoutingTrace& test, const AdviceConfig& cfg) {
  check_compatible(train, test);
  // The simulated layers are the trace's; a partial trace (layers_logged) stands for all the
  // model's MoE layers: the step charges the mean simulated layer once per MoE layer.
  const int L = test.layers;
  const int model_layers = em.moe_layers();
  const int G = em.gpus();
  const int E = em.experts();
  const int K = test.top_k;
  check_trace_fits(em, test);
  if (cfg.replan_interval <= 0)
    throw InputError("advice.replan_every", "must be a positive number of batches");
  if (cfg.trace_batch_tokens == 0) throw InputError("advice.batch_tokens", "must be positive");
  const auto batches = batches_of(test, cfg.trace_batch_tokens);
  const int home = HomePlacement{E, G}.most();

  struct Entry {
    Strategy s;
    std::unique_ptr<DistributionPredictor> dist;
    std::unique_ptr<TokenPredictor> tok;
  };
  std::vector<Entry> entries;
  entries.push_back(Entry{Strategy{"none", StrategyKind::none, 0, 0, {}, -1, "no duplication"},
                          nullptr, nullptr});
  for (auto& d : distribution_predictors()) {
    train_on(*d, train, cfg.trace_batch_tokens);
    Strategy s{d->name(), StrategyKind::distribution, 0, 0, {}, -1, "trained on " + train.source};
    entries.push_back(Entry{s, std::move(d), nullptr});
  }
  for (auto& t : token_predictors()) {
    t->train(train);
    Strategy s{t->name(),
               StrategyKind::token,
               0,
               0,
               t->ops(em.predictor_tokens(), E, L, K, act_dtype(em)),  // L: its trained one-hot
               -1,
               "trained on " + train.source};
    entries.push_back(Entry{s, nullptr, std::move(t)});
  }

  std::vector<StrategyResult> out;
  std::vector<std::int16_t> pred;
  std::size_t done = 0;
  for (Entry& en : entries) {
    StrategyResult res;
    res.mode = "trace";
    Residency resid;
    resid.capacity = em.slots_per_gpu() - home;
    resid.extra.assign(sz(L), std::vector<std::vector<int>>(sz(G)));
    ReplicaPlan plan = contiguous_plan(L, E, G);
    const double predictor_s = predictor_layer_s(em, en.s);  // the same ops every batch and layer
    double bal = 0, hits = 0, picks = 0, err_sum = 0;
    double copies_after_warmup = 0;
    std::size_t nb = 0;
    for (std::size_t bi = 0; bi < batches.size(); ++bi) {
      if (cfg.progress) cfg.progress(done++, entries.size() * batches.size());
      const TokenRange& br = batches[bi];
      const std::size_t n = br.end - br.begin;
      const double scale = double(em.tokens()) / double(n);
      const LoadMatrix counts = expert_counts(test, br);
      // Predictions for this batch.
      LoadMatrix pred_loads(sz(L), std::vector<double>(sz(E), 0.0));
      pred.assign(n * sz(L) * sz(K), std::int16_t(-1));
      if (en.dist) {
        const LoadMatrix p = en.dist->predict();
        for (int l = 0; l < L; ++l) {
          const double sel =
              std::accumulate(counts[sz(l)].begin(), counts[sz(l)].end(), 0.0) * scale;
          for (int e = 0; e < E; ++e) pred_loads[sz(l)][sz(e)] = p[sz(l)][sz(e)] * sel;
        }
      } else if (en.tok) {
        for (std::size_t t = br.begin; t < br.end; ++t)
          for (int l = 0; l < L; ++l) {
            if (!test.has(t, l)) continue;
            std::int16_t* out_p = pred.data() + ((t - br.begin) * sz(L) + sz(l)) * sz(K);
            en.tok->predict(test, t, l, out_p);
            for (int j = 0; j < K; ++j) pred_loads[sz(l)][sz(out_p[j])] += scale;
          }
      }
      if (en.s.kind != StrategyKind::none) {
        LoadMatrix truth_scaled = counts;
        for (auto& row : truth_scaled)
          for (double& x : row) x *= scale;
        err_sum += distribution_error(
                       [&] {
                         LoadMatrix s;
                         for (const auto& row : pred_loads) s.push_back(shares_of(row));
                         return s;
                       }(),
                       truth_scaled)
                       .mean;
        if (bi % sz(cfg.replan_interval) == 0) {
          const ReplicaPlan fresh = em.plan(pred_loads, cfg.algo);
          if (!cfg.replan_only_when_it_pays || bi == 0) {
            plan = fresh;
          } else {
            for (int l = 0; l < L; ++l) {
              const double saving = expert_time_on(em, plan, l, pred_loads[sz(l)]) -
                                    expert_time_on(em, fresh, l, pred_loads[sz(l)]);
              const double copies =
                  em.copy_exposed_s(walk_residency(em, fresh, l, resid, false).bytes);
              if (saving * double(cfg.replan_interval) > copies) copy_layer(plan, fresh, l);
            }
          }
        }
      }
      LayerBreakdown batch_sum;
      double warm = 0;
      for (int l = 0; l < L; ++l) {
        // Weight copies for replicas not resident yet.
        const CopyNeed need = walk_residency(em, plan, l, resid, true);
        const std::vector<double>& bytes_in = need.bytes;
        if (bi > 0) copies_after_warmup += need.copies;
        // Route the true tokens: each selection to a replica of its expert, local first, then
        // the replica with the most quota left (quota = the plan's share of the expert's tokens).
        const auto& p2l = plan.phy2log[sz(l)];
        std::vector<double> quota(p2l.size(), 0.0), slot_tokens(p2l.size(), 0.0);
        for (std::size_t s = 0; s < p2l.size(); ++s)
          if (p2l[s] >= 0) quota[s] = plan.slot_share[sz(l)][s] * counts[sz(l)][sz(p2l[s])];
        Matrix v(sz(G), std::vector<double>(sz(G), 0.0)),
            skipped(sz(G), std::vector<double>(sz(G), 0.0));
        std::vector<double> gpu_load(sz(G), 0.0);
        for (std::size_t t = br.begin; t < br.end; ++t) {
          if (!test.has(t, l)) continue;
          const int src = int((t - br.begin) * sz(G) / n);
          const std::int16_t* truth = test.route(t, l);
          const std::int16_t* guess = pred.data() + ((t - br.begin) * sz(L) + sz(l)) * sz(K);
          for (int j = 0; j < K; ++j) {
            const int e = truth[j];
            int best = -1;
            for (int rank = 0; rank < plan.logcnt[sz(l)][sz(e)]; ++rank) {
              const int r = plan.log2phy(l, e, rank);
              if (r < 0) continue;
              auto key = [&](int x) {
                return std::make_pair(quota[sz(x)] > 0 && plan.gpu_of_slot(x) == src, quota[sz(x)]);
              };
              if (best < 0 || key(r) > key(best)) best = r;
            }
            quota[sz(best)] -= 1;
            slot_tokens[sz(best)] += scale;
            const int dst = plan.gpu_of_slot(best);
            gpu_load[sz(dst)] += scale;
            v[sz(src)][sz(dst)] += scale * em.token_bytes();
            if (en.tok) {
              bool predicted = false;
              for (int q = 0; q < K; ++q) predicted = predicted || guess[q] == e;
              if (predicted) skipped[sz(src)][sz(dst)] += scale * em.token_bytes();
              hits += predicted;
              picks += 1;
            }
          }
        }
        Matrix d = v;
        if (em.prediction_skips_dispatch())
          for (int i = 0; i < G; ++i)
            for (int j = 0; j < G; ++j) d[sz(i)][sz(j)] -= skipped[sz(i)][sz(j)];
        LayerBreakdown b;
        b.attention_s = em.attention_s();
        b.gate_s = em.gate_s();
        b.predictor_s = predictor_s;
        b.experts_s = straggler_expert_s(em, plan, l, slot_tokens, false);
        b.dispatch_s = em.dispatch_s(d);
        b.combine_s = em.combine_s(v);
        if (bi == 0)
          warm += em.copy_s(bytes_in);
        else
          b.copy_s = em.copy_exposed_s(bytes_in);
        b.early_dispatch_s =
            em.early_dispatch_exposed_s(skipped, bi == 0 ? 0.0 : em.copy_s(bytes_in));
        bal += mean_over_max(gpu_load);
        batch_sum.add(b);
      }
      if (en.dist) en.dist->observe(counts);
      res.layer.add(batch_sum, 1.0 / double(L));
      res.warmup_copy_s += warm;
      ++nb;
    }
    res.layer = [&] {
      LayerBreakdown m;
      m.add(res.layer, 1.0 / double(nb));
      return m;
    }();
    res.balancedness = bal / double(nb * sz(L));
    res.copies_per_batch =
        batches.size() > 1 ? copies_after_warmup / double(batches.size() - 1) : 0.0;
    // A partial trace's layers stand for all the model's MoE layers (its copies too).
    res.copies_per_batch *= double(model_layers) / L;
    res.warmup_copy_s *= double(model_layers) / L;
    res.strategy = en.s;
    if (en.tok) res.strategy.accuracy = picks > 0 ? hits / picks : 0.0;
    if (en.s.kind != StrategyKind::none) res.strategy.error = err_sum / double(nb);
    res.strategy.source = en.s.source;
    res.overhead_s = res.layer.predictor_s * model_layers;
    res.latency_s = res.layer.total() * model_layers + em.other_s();
    res.band_s = em.band_s(res.layer);
    res.common_band_s = em.common_band_s();
    out.push_back(std::move(res));
  }
  return out;
}

void check_trace_fits(const EpModel& em, const RoutingTrace& tr) {
  const int L = em.moe_layers();
  // Name only what differs: a trace read for this model takes its expert count when the ids fit.
  std::vector<std::string> trace_has, model_has;
  auto differ = [&](bool differs, std::string in_trace, std::string in_model) {
    if (!differs) return;
    trace_has.push_back(std::move(in_trace));
    model_has.push_back(std::move(in_model));
  };
  differ(!tr.partial() && tr.layers != L, fmt::format("{} layers", tr.layers),
         fmt::format("{} MoE layers", L));
  differ(tr.experts != em.experts(), fmt::format("{} experts", tr.experts),
         fmt::format("{} experts", em.experts()));
  differ(tr.top_k != em.model().top_k, fmt::format("top-{}", tr.top_k),
         fmt::format("top-{}", em.model().top_k));
  if (!trace_has.empty())
    throw InputError(tr.source,
                     fmt::format("trace has {}; model '{}' has {}", fmt::join(trace_has, ", "),
                                 em.model().name, fmt::join(model_has, ", ")));
  if (tr.partial() && tr.layer_ids.back() >= L)
    throw InputError(tr.source, fmt::format("layers_logged names layer {} but model '{}' has {} "
                                            "MoE layers",
                                            tr.layer_ids.back(), em.model().name, L));
}

std::string layer_sample_note(const EpModel& em, const RoutingTrace& tr) {
  if (!tr.partial()) return {};
  const int L = em.moe_layers();
  return fmt::format(
      "the trace logs {} of the model's {} MoE layers ({}); the other {} are "
      "assumed to route like them: the step charges the mean logged layer {} times",
      tr.layers, L, fmt::join(tr.layer_ids, ", "), L - tr.layers, L);
}

Advice advise(std::vector<StrategyResult> results) {
  Advice a;
  a.strategies = std::move(results);
  if (a.strategies.empty()) return a;
  const StrategyResult* best = &a.strategies[0];
  const StrategyResult* best_token = nullptr;
  for (const auto& r : a.strategies) {
    if (r.latency_s < best->latency_s) best = &r;
    if (r.strategy.kind == StrategyKind::token &&
        (!best_token || r.latency_s < best_token->latency_s))
      best_token = &r;
  }
  a.recommended = best->strategy.kind;
  a.recommended_name = best->strategy.name;
  a.fastest = std::size_t(best - a.strategies.data());
  for (std::size_t i = 0; i < a.strategies.size(); ++i) {
    const auto& r = a.strategies[i];
    if (r.strategy.kind == best->strategy.kind) continue;
    if (a.runner_up == std::size_t(-1) || r.latency_s < a.strategies[a.runner_up].latency_s)
      a.runner_up = i;
  }
  if (a.runner_up != std::size_t(-1)) {
    const StrategyResult& second = a.strategies[a.runner_up];
    a.margin = best->latency_s > 0 ? (second.latency_s - best->latency_s) / best->latency_s : 0;
    a.tie = second.latency_s - best->latency_s <= best->band_s + second.band_s;
    a.difference_band_s = std::max(0.0, best->band_s - best->common_band_s) +
                          std::max(0.0, second.band_s - second.common_band_s);
  }
  // When Token-to-Expert wins, the margin is that of the best other strategy (none or
  // Distribution-Only) against it: negative, as the contract asks.
  const StrategyResult* versus = best;
  if (best->strategy.kind == StrategyKind::token) {
    versus = nullptr;
    for (const auto& r : a.strategies)
      if (r.strategy.kind != StrategyKind::token && (!versus || r.latency_s < versus->latency_s))
        versus = &r;
  }
  if (best_token && versus && best_token->latency_s > 0)
    a.improvement_vs_best_token =
        (best_token->latency_s - versus->latency_s) / best_token->latency_s;
  return a;
}

double ExpFit::at(double accuracy) const {
  return a * std::exp(b * accuracy);
}

ExpFit fit_exponential(const std::vector<std::pair<double, double>>& pts) {
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int n = 0;
  for (const auto& [x, y] : pts) {
    if (!(y > 0)) throw InputError("overhead_s", "an exponential fit needs positive overheads");
    const double ly = std::log(y);
    sx += x, sy += ly, sxx += x * x, sxy += x * ly;
    ++n;
  }
  const double den = n * sxx - sx * sx;
  if (n < 2 || std::abs(den) < 1e-12)
    throw InputError("predictor points",
                     "an exponential fit needs at least two distinct accuracies");
  ExpFit f;
  f.b = (n * sxy - sx * sy) / den;
  f.a = std::exp((sy - f.b * sx) / n);
  return f;
}

Strategy best_on_curve(const EpModel& em, const std::vector<Strategy>& points,
                       const LoadMatrix& shares, const AdviceConfig& cfg) {
  std::vector<std::pair<double, double>> xy;
  double lo = 1, hi = 0;
  for (const Strategy& p : points) {
    if (p.kind != StrategyKind::token) continue;
    xy.emplace_back(p.accuracy, std::max(predictor_layer_s(em, p), 1e-12));
    lo = std::min(lo, p.accuracy);
    hi = std::max(hi, p.accuracy);
  }
  const ExpFit fit = fit_exponential(xy);
  std::vector<Strategy> grid;
  const int steps = 50;
  for (int i = 0; i <= steps; ++i) {
    const double a = lo + (hi - lo) * i / steps;
    Strategy s;
    s.kind = StrategyKind::token;
    s.accuracy = a;
    s.overhead_s = fit.at(a);  // per MoE layer, like the points
    s.error = 1.0 - a;
    grid.push_back(s);
  }
  const auto r = closed_form(em, grid, shares, cfg);
  std::size_t best = 0;
  for (std::size_t i = 1; i < r.size(); ++i)
    if (r[i].latency_s < r[best].latency_s) best = i;
  Strategy out = grid[best];
  out.name = "curve-best";
  out.source = fmt::format(
      "overhead = {:.4g} s x exp({:.4g} x accuracy) fitted to {} points; best at accuracy {:.3f}",
      fit.a, fit.b, xy.size(), out.accuracy);
  return out;
}

}  // namespace llmgps::moe
