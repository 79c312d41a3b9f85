#pragma once
// The MoE-GPS advisor: end-to-end step latency of no duplication, Distribution-Only prediction
// and Token-to-Expert prediction on the user's model and system, the winner and its margin.
// Two modes:
//  - closed form: per-layer expert shares (from --skew, or measured shares) and the paper's
//    error models; a predictor is its measured properties (error, accuracy) and its own ops;
//  - trace-driven: plan from each predictor's prediction, route the true tokens batch after
//    batch, measure each GPU's real load and traffic; replicas persist while slots allow.
#include <string>
#include <vector>

#include "llmgps/moe/ep_model.hpp"
#include "llmgps/moe/predictor.hpp"
#include "llmgps/moe/trace.hpp"
#include "llmgps/util/progress.hpp"

namespace llmgps::moe {

enum class ErrorModel { optimistic, typical, pessimistic };
ErrorModel parse_error_model(const std::string& s, const std::string& where);
const char* error_model_name(ErrorModel e);

// A strategy as the closed form sees it.
struct Strategy {
  std::string name;
  StrategyKind kind = StrategyKind::none;
  double error = 0;        // distribution error |p_hat - p| / (1/E), mean (the paper's metric)
  double accuracy = 0;     // token: top-k hit rate
  std::vector<Op> ops;     // predictor ops per MoE layer (token predictors)
  double overhead_s = -1;  // measured overhead per layer (user points); < 0: cost the ops
  std::string source;      // where the properties come from
};

// Built-in predictor properties (data/moe/predictors-*.json, measured by `llmgps moe predict`),
// with each token predictor's ops for `em`. Throws InputError for an unknown set name.
std::vector<Strategy> builtin_strategies(const EpModel& em, const std::string& set_name);
// No duplication: every expert on its home GPU (the baseline every strategy set starts with).
Strategy no_duplication();
// The set measured on `model` among the built-in ones ("" when there is none).
std::string builtin_set_for(const std::string& model);
// For a model with no measured predictors: the properties that follow from the expert shares
// alone under stationary routing, the closed form's own inputs, never another model's numbers.
//  - mle (Distribution-Only): a batch of n selections deviates from the stationary shares by its
//    sampling noise, E|p_hat - p| = sqrt(2 p (1 - p) / (pi n)) per expert (normal approximation),
//    with the history long enough that the estimate itself is exact: a lower bound on the error;
//  - most-frequent (Token-to-Expert): every token predicted to the k most popular experts, hit
//    rate = their share of the selections; its ops are its own.
// Shares: one row per layer (or one for all); the properties are averaged over the rows.
std::vector<Strategy> closed_form_predictors(const EpModel& em, const LoadMatrix& shares);

// User-measured predictors: [{"name", "accuracy", "overhead_s" | "arch"[, "error"]}], a JSON
// file. "arch" instead of a measured overhead costs the predictor's own ops on this step.
std::vector<Strategy> strategies_from_points(const std::string& path, const EpModel& em);
// Token-to-Expert predictors that read the hidden state, as the paper studies them, by their ops
// at the batch's token count on one GPU: "paper-mlp" (hidden -> 128 -> 64 -> E, ReLU, top-k) and
// "paper-lstm" (two LSTM layers of hidden 64, SiDA-style, the recurrence step by step, then a
// head to E and top-k). Their accuracy needs hidden states, so it comes with the points.
std::vector<Op> hidden_state_predictor_ops(const EpModel& em, const std::string& arch,
                                           const std::string& where);

struct StrategyResult {
  Strategy strategy;
  std::string mode;             // closed-form or trace
  double latency_s = 0;         // whole step, steady state
  double band_s = 0;            // the model's measured error on it: latency_s +- band_s
  double common_band_s = 0;     // the part of band_s every strategy shares (EpModel::common_band_s)
  double overhead_s = 0;        // predictor time in the step
  LayerBreakdown layer;         // mean per MoE layer
  double balancedness = 1;      // mean GPU expert load / max
  double warmup_copy_s = 0;     // first plan's weight copies (once, not in latency)
  double copies_per_batch = 0;  // replicas copied per batch after warm-up (all layers)
};

struct AdviceConfig {
  // Replica planner: greedy-time (default), greedy (the paper's, on tokens) or eplb.
  Planner algo = Planner::greedy_time;
  ErrorModel error_model = ErrorModel::typical;
  // Cap the error models' straggler at the busiest GPU without duplication (ours: a plan from a
  // wrong estimate still keeps every expert's own replica). Off: the paper's models as stated.
  bool error_cap = true;
  int replan_interval = 1;  // trace mode: re-plan every N batches
  // Trace mode: adopt a layer's new plan only when its modelled expert-time saving over the
  // re-plan interval exceeds the exposed time of the weight copies it needs (false: always adopt,
  // as the paper re-plans every batch).
  bool replan_only_when_it_pays = true;
  std::size_t trace_batch_tokens =
      64;                     // trace tokens per simulated step (scaled to the step's tokens)
  util::ProgressFn progress;  // trace mode: (simulated batches, all of them over all strategies)
};

// Expert shares with one hot expert at `skew` x the mean and the rest even (skew in [1, E/top_k]).
std::vector<double> shares_for_skew(int experts, int top_k, double skew);

// How the rows of expert shares cover the model's MoE layers: per_layer, one row (every layer
// alike) or one per MoE layer; sample, any number of rows from logged layers (a partial trace),
// each standing for the same number of MoE layers (the step charges their mean layer per layer).
enum class ShareRows { per_layer, sample };
std::vector<StrategyResult> closed_form(const EpModel& em, const std::vector<Strategy>& strategies,
                                        const LoadMatrix& shares, const AdviceConfig& cfg,
                                        ShareRows rows = ShareRows::per_layer);
// A routing trace the step model can replay: its experts and top-k are the model's, and it has
// every MoE layer or (partial, layers_logged) only layers the model has. InputError otherwise.
void check_trace_fits(const EpModel& em, const RoutingTrace& tr);
// For a partial trace, the assumption the advice rests on, as a sentence; empty otherwise.
std::string layer_sample_note(const EpModel& em, const RoutingTrace& tr);
// A partial test trace (layers_logged) is simulated on its layers and stands for all MoE layers.
std::vector<StrategyResult> trace_driven(const EpModel& em, const RoutingTrace& train,
                                         const RoutingTrace& test, const AdviceConfig& cfg);

struct Advice {
  std::vector<StrategyResult> strategies;
  StrategyKind recommended = StrategyKind::none;  // kind of the fastest strategy
  std::string recommended_name;
  // The verdict: the fastest strategy against the fastest of another kind. A tie when their
  // bands overlap (the gap is no more than the two bands together): the model cannot tell them
  // apart, and both are named.
  bool tie = false;
  std::size_t fastest = 0;                  // index into strategies
  std::size_t runner_up = std::size_t(-1);  // the fastest of another kind (-1: none)
  double margin = 0;                        // (runner-up - fastest) / fastest latency
  // The bands of the parts in which the two differ (their shared part's error moves both alike):
  // what the gap would need to exceed if the errors of one kernel class are fully correlated.
  // Reported beside the verdict; the verdict itself uses the two whole bands (conservative).
  double difference_band_s = 0;
  // (best token - recommended) / best token; when a token predictor is recommended, the best
  // other strategy's margin instead, which is negative.
  double improvement_vs_best_token = 0;
};
Advice advise(std::vector<StrategyResult> results);

// Fit overhead = a * exp(b * accuracy) to (accuracy, overhead) points (least squares in log
// space; needs two distinct accuracies).
struct ExpFit {
  double a = 0, b = 0;
  double at(double accuracy) const;
};
ExpFit fit_exponential(const std::vector<std::pair<double, double>>& points);

// The best Token-to-Expert point on the curve fitted to user points (kind token, overhead_s set):
// closed-form latency scanned over accuracies within the points' range (no extrapolation), the
// fastest one returned as a strategy named "curve-best". Needs two distinct accuracies.
Strategy best_on_curve(const EpModel& em, const std::vector<Strategy>& points,
                       const LoadMatrix& shares, const AdviceConfig& cfg);

// What an advice was computed for, as its reports describe it.
struct AdviceContext {
  std::string model, system, mode, input;  // input: "skew 1.39", "shares FILE", "trace FILE"
  double link_gbps = 0;
  std::int64_t batch = 0, seq = 0;
  std::string phase, dtype, layout, algo, error_model;
  std::string dispatch, combine;         // how the layout exchanges tokens (EpModel::*_kind)
  std::string expert_time = "roofline";  // roofline or linear (the paper's assumption)
  bool error_cap = true;                 // error models capped at the no-duplication straggler
  std::string predictors;                // built-in predictor property set (closed form)
  int slots_per_gpu = 0;
  bool cuda_graphs = false;        // kernels replayed from CUDA graphs (the predictor's included)
  std::size_t warmup_records = 0;  // trace mode: leading warm-up records excluded
  std::vector<std::string> notes;  // assumptions the answer rests on (printed, in the JSON)
  std::string model_error;         // the error family the bands come from (specs/model_error.hpp)
  // The fullest GPU's memory with its replica slots filled, the largest batch and context that
  // fit, and the warning ("" when it fits).
  MemoryUse memory;
  MemoryLimits memory_limits;
  StepConfig memory_step;
  std::string memory_warning;
};

// One cell of the guideline map: the winner at one skew, link bandwidth and batch, and the best
// latency of each strategy kind there.
struct MapCell {
  double skew = 1, link_gbps = 0;
  std::int64_t batch = 1;
  StrategyKind winner = StrategyKind::none;  // the fastest strategy's kind
  std::string winner_name;
  bool tie = false;  // the fastest of another kind is within the two bands (Advice::tie)
  StrategyKind runner_up = StrategyKind::none;
  std::string runner_up_name;
  double latency_none_s = 0, latency_distribution_s = 0, latency_token_s = 0;
};

}  // namespace llmgps::moe
