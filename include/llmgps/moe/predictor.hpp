#pragma once
// Routing predictors behind two interfaces, as MoE-GPS distinguishes them:
//  - Distribution-Only: predict each layer's expert shares for the next batch from history
//    (maximum likelihood over all history, exponential moving average, sliding window).
//  - Token-to-Expert: predict each token's top-k experts in a layer before the layer runs, from
//    what is known by then: the token's position and its routing in earlier layers (most
//    frequent, conditioned on position, conditioned on the previous layer, a small MLP).
// Each predictor also says which GPU operations it runs per layer and batch (its architecture),
// so its overhead comes from the cost models on the target hardware, not from a guess.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "llmgps/moe/planner.hpp"
#include "llmgps/moe/trace.hpp"
#include "llmgps/workload/step.hpp"

namespace llmgps::moe {

// What a strategy predicts: nothing (no duplication), the distribution of tokens over experts
// (Distribution-Only), or each token's experts (Token-to-Expert).
enum class StrategyKind { none, distribution, token };
const char* strategy_kind_name(StrategyKind k);
StrategyKind parse_strategy_kind(const std::string& s, const std::string& where);

class DistributionPredictor {
 public:
  virtual ~DistributionPredictor() = default;
  virtual std::string name() const = 0;
  virtual void reset(int layers, int experts) = 0;
  virtual void observe(const LoadMatrix& counts) = 0;  // one batch's selections [layer][expert]
  virtual LoadMatrix predict() const = 0;              // shares [layer][expert], rows sum to 1
};

// Resets `p` to the trace's shape and feeds it the trace in batches of batch_tokens (history).
void train_on(DistributionPredictor& p, const RoutingTrace& tr, std::size_t batch_tokens);

std::unique_ptr<DistributionPredictor> make_mle_predictor();
std::unique_ptr<DistributionPredictor> make_ema_predictor(
    double alpha);  // weight of the newest batch
std::unique_ptr<DistributionPredictor> make_window_predictor(int batches);  // last N batches

class TokenPredictor {
 public:
  virtual ~TokenPredictor() = default;
  virtual std::string name() const = 0;
  virtual void train(const RoutingTrace& tr) = 0;
  // top_k predicted experts (best first) of token t in `layer`, written to out[0..top_k).
  virtual void predict(const RoutingTrace& tr, std::size_t t, int layer,
                       std::int16_t* out) const = 0;
  // GPU operations run per MoE layer for a batch of `tokens` tokens (for the overhead model); a
  // function of the routing shape only, so an untrained predictor can be costed too.
  virtual std::vector<Op> ops(std::int64_t tokens, int experts, int layers, int top_k,
                              DType act) const = 0;
};

std::unique_ptr<TokenPredictor> make_most_frequent_predictor();
std::unique_ptr<TokenPredictor> make_position_predictor();
std::unique_ptr<TokenPredictor> make_prev_layer_predictor();
struct MlpConfig {
  int hidden = 64;
  int epochs = 8;
  double learning_rate = 0.01;  // Adam
  std::uint64_t seed = 1;
  std::size_t max_samples = 200000;
};
std::unique_ptr<TokenPredictor> make_mlp_predictor(const MlpConfig& cfg = {});

// The built-in set, by name: mle, ema, window / most-frequent, position, prev-layer, mlp.
std::vector<std::unique_ptr<DistributionPredictor>> distribution_predictors();
std::vector<std::unique_ptr<TokenPredictor>> token_predictors();
// A built-in predictor by name (InputError naming `where` when unknown).
std::unique_ptr<TokenPredictor> make_token_predictor(const std::string& name,
                                                     const std::string& where);
std::unique_ptr<DistributionPredictor> make_distribution_predictor(const std::string& name,
                                                                   const std::string& where);

// The paper's error: |p_hat - p| / (1/E) per (layer, expert); mean and max.
struct DistributionError {
  double mean = 0, max = 0;
};
DistributionError distribution_error(const LoadMatrix& predicted_shares,
                                     const LoadMatrix& true_counts);

struct PredictorResult {
  std::string name;
  StrategyKind kind = StrategyKind::distribution;
  DistributionError error;  // vs the test trace's shares (history -> the dataset's distribution)
  DistributionError batch_error;  // online, batch by batch over the test trace (then learning it)
  double accuracy = 0;            // token: top-k hit rate |predicted ∩ true| / k
  double top1_accuracy = 0;       // token: predicted first expert == true first expert
  std::size_t samples = 0;        // (token, layer) pairs scored, or batches x layers
};

// Train on `train` (fed to distribution predictors in batches of batch_tokens) and score on `test`.
PredictorResult evaluate(DistributionPredictor& p, const RoutingTrace& train,
                         const RoutingTrace& test, std::size_t batch_tokens);
PredictorResult evaluate(TokenPredictor& p, const RoutingTrace& train, const RoutingTrace& test,
                         std::size_t batch_tokens);

// Distribution-Only from grouped shares (e.g. MMLU subjects): each group's per-layer shares are
// predicted by the example-weighted mean of every other group (maximum likelihood from the rest
// of the history), and scored with the paper's error.
struct GroupShares {
  std::string name;
  double weight = 1;                        // examples in the group
  std::vector<std::vector<double>> shares;  // [layer][expert]
};
PredictorResult leave_one_group_out(const std::vector<GroupShares>& groups);

// Same experts and top-k in both traces, else InputError naming the test file.
void check_compatible(const RoutingTrace& train, const RoutingTrace& test);

}  // namespace llmgps::moe
