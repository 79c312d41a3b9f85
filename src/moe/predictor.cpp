#include "llmgps/moe/predictor.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <numeric>

#include "llmgps/common/splitmix64.hpp"
#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

const char* strategy_kind_name(StrategyKind k) {
  switch (k) {
    case StrategyKind::none:
      return "none";
    case StrategyKind::distribution:
      return "distribution";
    case StrategyKind::token:
      return "token";
  }
  return "?";
}

StrategyKind parse_strategy_kind(const std::string& s, const std::string& where) {
  for (StrategyKind k : {StrategyKind::none, StrategyKind::distribution, StrategyKind::token})
    if (s == strategy_kind_name(k)) return k;
  throw InputError(where, "must be none, distribution or token, got '" + s + "'");
}

namespace {

std::size_t sz(int n) {
  return static_cast<std::size_t>(n);
}

LoadMatrix zeros(int layers, int experts) {
  return LoadMatrix(sz(layers), std::vector<double>(sz(experts), 0.0));
}

LoadMatrix normalised(const LoadMatrix& counts) {
  LoadMatrix out;
  out.reserve(counts.size());
  for (const auto& row : counts) out.push_back(shares_of(row));
  return out;
}

// The k largest entries of `score` (ties to the lower expert id), best first.
void top_k_of(const std::vector<double>& score, int k, std::int16_t* out) {
  std::vector<int> idx(score.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), [&](int a, int b) {
    return score[sz(a)] != score[sz(b)] ? score[sz(a)] > score[sz(b)] : a < b;
  });
  for (int j = 0; j < k; ++j) out[j] = std::int16_t(idx[sz(j)]);
}

// --- Distribution-Only ---------------------------------------------------------------------

class MlePredictor : public DistributionPredictor {
 public:
  std::string name() const override { return "mle"; }
  void reset(int layers, int experts) override { sum_ = zeros(layers, experts); }
  void observe(const LoadMatrix& c) override {
    for (std::size_t l = 0; l < c.size(); ++l)
      for (std::size_t e = 0; e < c[l].size(); ++e) sum_[l][e] += c[l][e];
  }
  LoadMatrix predict() const override { return normalised(sum_); }

 private:
  LoadMatrix sum_;
};

class EmaPredictor : public DistributionPredictor {
 public:
  explicit EmaPredictor(double alpha) : alpha_(alpha) {
    if (!(alpha > 0 && alpha <= 1))
      throw InputError("predictor.ema_alpha", fmt::format("must be in (0, 1] (got {})", alpha));
  }
  std::string name() const override { return fmt::format("ema"); }
  void reset(int layers, int experts) override {
    est_ = zeros(layers, experts);
    started_ = false;
  }
  void observe(const LoadMatrix& c) override {
    const LoadMatrix s = normalised(c);
    for (std::size_t l = 0; l < s.size(); ++l)
      for (std::size_t e = 0; e < s[l].size(); ++e)
        est_[l][e] = started_ ? (1 - alpha_) * est_[l][e] + alpha_ * s[l][e] : s[l][e];
    started_ = true;
  }
  LoadMatrix predict() const override { return normalised(est_); }

 private:
  double alpha_;
  LoadMatrix est_;
  bool started_ = false;
};

class WindowPredictor : public DistributionPredictor {
 public:
  explicit WindowPredictor(int n) : n_(n) {
    if (n <= 0)
      throw InputError("predictor.window",
                       fmt::format("must be a positive number of batches (got {})", n));
  }
  std::string name() const override { return "window"; }
  void reset(int layers, int experts) override {
    window_.clear();
    layers_ = layers;
    experts_ = experts;
  }
  void observe(const LoadMatrix& c) override {
    window_.push_back(c);
    if (int(window_.size()) > n_) window_.pop_front();
  }
  LoadMatrix predict() const override {
    LoadMatrix sum = zeros(layers_, experts_);
    for (const auto& c : window_)
      for (std::size_t l = 0; l < c.size(); ++l)
        for (std::size_t e = 0; e < c[l].size(); ++e) sum[l][e] += c[l][e];
    return normalised(sum);
  }

 private:
  int n_;
  int layers_ = 0, experts_ = 0;
  std::deque<LoadMatrix> window_;
};

// --- Token-to-Expert -------------------------------------------------------------------------

// A per-layer table of expert counts, indexed by some key of the token; falls back to the
// layer's overall counts when the key was never seen in training.
class MostFrequentPredictor : public TokenPredictor {
 public:
  std::string name() const override { return "most-frequent"; }
  void train(const RoutingTrace& tr) override {
    counts_ = expert_counts(tr);
    top_k_ = tr.top_k;
  }
  void predict(const RoutingTrace&, std::size_t, int layer, std::int16_t* out) const override {
    top_k_of(counts_[sz(layer)], top_k_, out);
  }
  // A constant prediction: one kernel writes the batch's predicted ids.
  std::vector<Op> ops(std::int64_t tokens, int, int, int top_k, DType act) const override {
    return {elem_op("predict_lookup", "predictor", 1, ElementwiseKind::copy, tokens, top_k, act)};
  }

 protected:
  LoadMatrix counts_;
  int top_k_ = 1;
};

class PositionPredictor : public MostFrequentPredictor {
 public:
  std::string name() const override { return "position"; }
  void train(const RoutingTrace& tr) override {
    MostFrequentPredictor::train(tr);
    experts_ = tr.experts;
    layers_ = tr.layers;
    by_pos_.clear();
    for (std::size_t t = 0; t < tr.num_tokens(); ++t) {
      const std::size_t p = std::size_t(tr.tokens[t].pos);
      if (p >= kMaxPositions) continue;
      if (by_pos_.size() <= p) by_pos_.resize(p + 1);
      auto& table = by_pos_[p];
      if (table.empty()) table = zeros(layers_, experts_);
      for (int l = 0; l < tr.layers; ++l) {
        const std::int16_t* e = tr.route(t, l);
        if (e[0] < 0) continue;
        for (int j = 0; j < tr.top_k; ++j) table[sz(l)][std::size_t(e[j])] += 1;
      }
    }
  }
  void predict(const RoutingTrace& tr, std::size_t t, int layer, std::int16_t* out) const override {
    const std::size_t p = std::size_t(tr.tokens[t].pos);
    if (p < by_pos_.size() && !by_pos_[p].empty()) {
      const auto& row = by_pos_[p][sz(layer)];
      if (std::accumulate(row.begin(), row.end(), 0.0) > 0) return top_k_of(row, top_k_, out);
    }
    MostFrequentPredictor::predict(tr, t, layer, out);
  }
  // A gather from the position table: tokens x top_k ids read and written.
  std::vector<Op> ops(std::int64_t tokens, int, int, int top_k, DType act) const override {
    return {elem_op("predict_position_gather", "predictor", 1, ElementwiseKind::copy, tokens,
                    2 * top_k, act)};
  }

 private:
  static constexpr std::size_t kMaxPositions = 1 << 16;
  int experts_ = 0, layers_ = 0;
  std::vector<LoadMatrix> by_pos_;  // [position][layer][expert]
};

class PrevLayerPredictor : public MostFrequentPredictor {
 public:
  std::string name() const override { return "prev-layer"; }
  void train(const RoutingTrace& tr) override {
    MostFrequentPredictor::train(tr);
    trans_ = layer_transitions(tr);
    experts_ = tr.experts;
  }
  void predict(const RoutingTrace& tr, std::size_t t, int layer, std::int16_t* out) const override {
    if (layer == 0 || !tr.has(t, layer - 1))
      return MostFrequentPredictor::predict(tr, t, layer, out);
    std::vector<double> score(sz(experts_), 0.0);
    const std::int16_t* prev = tr.route(t, layer - 1);
    for (int j = 0; j < tr.top_k; ++j) {
      const auto& row = trans_[sz(layer - 1)][std::size_t(prev[j])];
      // The gate's first choice counts double: it carries more of the token's routing signal.
      const double w = j == 0 ? 2.0 : 1.0;
      for (int e = 0; e < experts_; ++e) score[sz(e)] += w * row[sz(e)];
    }
    // Break ties toward the layer's popular experts.
    for (int e = 0; e < experts_; ++e) score[sz(e)] += 1e-6 * counts_[sz(layer)][sz(e)];
    top_k_of(score, top_k_, out);
  }
  // Gather each token's transition rows (top_k x E) and take the top-k of their sum.
  std::vector<Op> ops(std::int64_t tokens, int experts, int, int top_k, DType act) const override {
    return {elem_op("predict_transition_gather", "predictor", 1, ElementwiseKind::add, tokens,
                    std::int64_t(top_k) * experts, act),
            elem_op("predict_topk", "predictor", 1, ElementwiseKind::topk, tokens, experts, act)};
  }

 private:
  int experts_ = 0;
  std::vector<std::vector<std::vector<double>>> trans_;
};

// A small MLP trained in C++ (Adam, softmax cross-entropy against the top-k target) on the
// features a trace provides before layer l runs: the token's experts in layer l-1 (multi-hot,
// first choice weighted 1, others 0.5), the layer (one-hot) and log-position.
class MlpPredictor : public TokenPredictor {
 public:
  explicit MlpPredictor(MlpConfig c) : c_(c) {
    if (c.hidden <= 0 || c.epochs <= 0 || !(c.learning_rate > 0))
      throw InputError("mlp", "hidden, epochs and learning rate must be positive");
  }
  std::string name() const override { return "mlp"; }

  void train(const RoutingTrace& tr) override {
    E_ = tr.experts;
    L_ = tr.layers;
    K_ = tr.top_k;
    D_ = E_ + L_ + 1;
    H_ = c_.hidden;
    SplitMix64 gen{c_.seed};
    auto rnd = [&]() { return 2.0 * gen.uniform() - 1.0; };  // uniform [-1, 1)
    w1_.resize(sz(D_ * H_));
    w2_.resize(sz(H_ * E_));
    b1_.assign(sz(H_), 0.0);
    b2_.assign(sz(E_), 0.0);
    const double s1 = std::sqrt(6.0 / (D_ + H_)), s2 = std::sqrt(6.0 / (H_ + E_));
    for (double& w : w1_) w = rnd() * s1;
    for (double& w : w2_) w = rnd() * s2;
    // Samples: every (token, layer) with a record.
    std::vector<std::pair<std::uint32_t, std::int32_t>> samples;
    for (std::size_t t = 0; t < tr.num_tokens(); ++t)
      for (int l = 0; l < tr.layers; ++l)
        if (tr.has(t, l)) samples.emplace_back(std::uint32_t(t), l);
    if (samples.size() > c_.max_samples) {
      const double stride = double(samples.size()) / double(c_.max_samples);
      std::vector<std::pair<std::uint32_t, std::int32_t>> kept;
      for (std::size_t i = 0; i < c_.max_samples; ++i)
        kept.push_back(samples[std::size_t(double(i) * stride)]);
      samples.swap(kept);
    }
    Adam a1(w1_.size()), a2(w2_.size()), ab1(b1_.size()), ab2(b2_.size());
    std::vector<double> x(sz(D_)), h(sz(H_)), z(sz(E_)), gz(sz(E_)), gh(sz(H_));
    std::vector<double> g1(w1_.size()), g2(w2_.size()), gb1(b1_.size()), gb2(b2_.size());
    const std::size_t mb = 64;
    for (int epoch = 0; epoch < c_.epochs; ++epoch) {
      for (std::size_t i = samples.size(); i > 1; --i) {
        const std::size_t j = std::size_t((rnd() + 1.0) * 0.5 * double(i)) % i;
        std::swap(samples[i - 1], samples[j]);
      }
      for (std::size_t b0 = 0; b0 < samples.size(); b0 += mb) {
        std::fill(g1.begin(), g1.end(), 0.0);
        std::fill(g2.begin(), g2.end(), 0.0);
        std::fill(gb1.begin(), gb1.end(), 0.0);
        std::fill(gb2.begin(), gb2.end(), 0.0);
        const std::size_t b1 = std::min(samples.size(), b0 + mb);
        for (std::size_t i = b0; i < b1; ++i) {
          const auto [t, l] = samples[i];
          features(tr, t, l, x);
          forward(x, h, z);
          // softmax cross-entropy against the uniform distribution over the true top-k
          const double mx = *std::max_element(z.begin(), z.end());
          double sum = 0;
          for (double& v : z) sum += (v = std::exp(v - mx));
          for (int e = 0; e < E_; ++e) gz[sz(e)] = z[sz(e)] / sum;
          const std::int16_t* truth = tr.route(t, l);
          for (int j = 0; j < K_; ++j) gz[std::size_t(truth[j])] -= 1.0 / K_;
          std::fill(gh.begin(), gh.end(), 0.0);
          for (int k = 0; k < H_; ++k)
            for (int e = 0; e < E_; ++e) {
              g2[sz(k * E_ + e)] += h[sz(k)] * gz[sz(e)];
              gh[sz(k)] += w2_[sz(k * E_ + e)] * gz[sz(e)];
            }
          for (int e = 0; e < E_; ++e) gb2[sz(e)] += gz[sz(e)];
          for (int k = 0; k < H_; ++k) {
            if (h[sz(k)] <= 0) continue;
            gb1[sz(k)] += gh[sz(k)];
            for (int d = 0; d < D_; ++d)
              if (x[sz(d)] != 0) g1[sz(d * H_ + k)] += x[sz(d)] * gh[sz(k)];
          }
        }
        const double scale = 1.0 / double(b1 - b0);
        a1.step(w1_, g1, scale, c_.learning_rate);
        a2.step(w2_, g2, scale, c_.learning_rate);
        ab1.step(b1_, gb1, scale, c_.learning_rate);
        ab2.step(b2_, gb2, scale, c_.learning_rate);
      }
    }
  }

  void predict(const RoutingTrace& tr, std::size_t t, int layer, std::int16_t* out) const override {
    std::vector<double> x(sz(D_)), h(sz(H_)), z(sz(E_));
    features(tr, t, layer, x);
    forward(x, h, z);
    top_k_of(z, K_, out);
  }

  // Its own layers as GEMMs on the GPU, then a top-k.
  std::vector<Op> ops(std::int64_t tokens, int experts, int layers, int, DType act) const override {
    const int in = experts + layers + 1;
    return {gemm_op("predict_mlp_fc1", "predictor", 1, tokens, c_.hidden, in, act),
            elem_op("predict_mlp_relu", "predictor", 1, ElementwiseKind::activation, tokens,
                    c_.hidden, act),
            gemm_op("predict_mlp_fc2", "predictor", 1, tokens, experts, c_.hidden, act),
            elem_op("predict_topk", "predictor", 1, ElementwiseKind::topk, tokens, experts, act)};
  }

 private:
  struct Adam {
    std::vector<double> m, v;
    long step_n = 0;
    explicit Adam(std::size_t n) : m(n, 0.0), v(n, 0.0) {}
    void step(std::vector<double>& w, const std::vector<double>& g, double scale, double lr) {
      ++step_n;
      const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
      const double c1 = 1 - std::pow(b1, double(step_n)), c2 = 1 - std::pow(b2, double(step_n));
      for (std::size_t i = 0; i < w.size(); ++i) {
        const double gi = g[i] * scale;
        m[i] = b1 * m[i] + (1 - b1) * gi;
        v[i] = b2 * v[i] + (1 - b2) * gi * gi;
        w[i] -= lr * (m[i] / c1) / (std::sqrt(v[i] / c2) + eps);
      }
    }
  };

  void features(const RoutingTrace& tr, std::size_t t, int layer, std::vector<double>& x) const {
    std::fill(x.begin(), x.end(), 0.0);
    if (layer > 0 && tr.has(t, layer - 1)) {
      const std::int16_t* prev = tr.route(t, layer - 1);
      for (int j = 0; j < tr.top_k; ++j)
        if (prev[j] < E_) x[std::size_t(prev[j])] = j == 0 ? 1.0 : 0.5;
    }
    if (layer < L_) x[sz(E_ + layer)] = 1.0;
    x[sz(E_ + L_)] = std::log1p(double(tr.tokens[t].pos)) / 8.0;
  }
  void forward(const std::vector<double>& x, std::vector<double>& h, std::vector<double>& z) const {
    for (int k = 0; k < H_; ++k) h[sz(k)] = b1_[sz(k)];
    for (int d = 0; d < D_; ++d) {
      if (x[sz(d)] == 0) continue;
      for (int k = 0; k < H_; ++k) h[sz(k)] += x[sz(d)] * w1_[sz(d * H_ + k)];
    }
    for (double& v : h) v = std::max(0.0, v);
    for (int e = 0; e < E_; ++e) z[sz(e)] = b2_[sz(e)];
    for (int k = 0; k < H_; ++k)
      for (int e = 0; e < E_; ++e) z[sz(e)] += h[sz(k)] * w2_[sz(k * E_ + e)];
  }

  MlpConfig c_;
  int E_ = 0, L_ = 0, K_ = 1, D_ = 0, H_ = 0;
  std::vector<double> w1_, w2_, b1_, b2_;
};

}  // namespace

void train_on(DistributionPredictor& p, const RoutingTrace& tr, std::size_t batch_tokens) {
  p.reset(tr.layers, tr.experts);
  for (const TokenRange& r : batches_of(tr, batch_tokens)) p.observe(expert_counts(tr, r));
}

std::unique_ptr<DistributionPredictor> make_mle_predictor() {
  return std::make_unique<MlePredictor>();
}
std::unique_ptr<DistributionPredictor> make_ema_predictor(double alpha) {
  return std::make_unique<EmaPredictor>(alpha);
}
std::unique_ptr<DistributionPredictor> make_window_predictor(int n) {
  return std::make_unique<WindowPredictor>(n);
}
std::unique_ptr<TokenPredictor> make_most_frequent_predictor() {
  return std::make_unique<MostFrequentPredictor>();
}
std::unique_ptr<TokenPredictor> make_position_predictor() {
  return std::make_unique<PositionPredictor>();
}
std::unique_ptr<TokenPredictor> make_prev_layer_predictor() {
  return std::make_unique<PrevLayerPredictor>();
}
std::unique_ptr<TokenPredictor> make_mlp_predictor(const MlpConfig& c) {
  return std::make_unique<MlpPredictor>(c);
}

std::vector<std::unique_ptr<DistributionPredictor>> distribution_predictors() {
  std::vector<std::unique_ptr<DistributionPredictor>> v;
  v.push_back(make_mle_predictor());
  // EMA weight 0.1 and a 16-batch window: vLLM's EPLB keeps a sliding window of recent steps;
  // both are parameters (--ema-alpha, --window).
  v.push_back(make_ema_predictor(0.1));
  v.push_back(make_window_predictor(16));
  return v;
}

std::vector<std::unique_ptr<TokenPredictor>> token_predictors() {
  std::vector<std::unique_ptr<TokenPredictor>> v;
  v.push_back(make_most_frequent_predictor());
  v.push_back(make_position_predictor());
  v.push_back(make_prev_layer_predictor());
  v.push_back(make_mlp_predictor());
  return v;
}

std::unique_ptr<TokenPredictor> make_token_predictor(const std::string& name,
                                                     const std::string& where) {
  for (auto& p : token_predictors())
    if (p->name() == name) return std::move(p);
  throw InputError(
      where,
      fmt::format("unknown token predictor '{}' (known: most-frequent, position, prev-layer, mlp)",
                  name));
}

std::unique_ptr<DistributionPredictor> make_distribution_predictor(const std::string& name,
                                                                   const std::string& where) {
  for (auto& p : distribution_predictors())
    if (p->name() == name) return std::move(p);
  throw InputError(
      where, fmt::format("unknown distribution predictor '{}' (known: mle, ema, window)", name));
}

DistributionError distribution_error(const LoadMatrix& pred, const LoadMatrix& counts) {
  DistributionError err;
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t l = 0; l < counts.size(); ++l) {
    const auto p = shares_of(counts[l]);
    const double E = double(p.size());
    for (std::size_t e = 0; e < p.size(); ++e) {
      const double x = std::abs(pred[l][e] - p[e]) * E;
      sum += x;
      err.max = std::max(err.max, x);
      ++n;
    }
  }
  err.mean = n ? sum / double(n) : 0.0;
  return err;
}

void check_compatible(const RoutingTrace& train, const RoutingTrace& test) {
  if (train.experts != test.experts || train.top_k != test.top_k || train.layers != test.layers)
    throw InputError(
        test.source,
        fmt::format("{} layers, {} experts, top-{} but the training trace '{}' has {}, {}, top-{}",
                    test.layers, test.experts, test.top_k, train.source, train.layers,
                    train.experts, train.top_k));
  if (train.layer_ids != test.layer_ids)
    throw InputError(test.source, fmt::format("logs model layers [{}] but the training trace '{}' "
                                              "logs [{}]",
                                              fmt::join(test.layer_ids, ", "), train.source,
                                              fmt::join(train.layer_ids, ", ")));
}

PredictorResult leave_one_group_out(const std::vector<GroupShares>& groups) {
  if (groups.size() < 2)
    throw InputError("groups", "need at least two groups to predict one from the others");
  const std::size_t L = groups[0].shares.size();
  const std::size_t E = L ? groups[0].shares[0].size() : 0;
  for (const auto& g : groups) {
    if (g.shares.size() != L)
      throw InputError(g.name,
                       fmt::format("{} layers, the first group has {}", g.shares.size(), L));
    for (const auto& row : g.shares)
      if (row.size() != E)
        throw InputError(g.name, fmt::format("{} experts, the first group has {}", row.size(), E));
    if (!(g.weight > 0)) throw InputError(g.name, "weight (examples) must be positive");
  }
  PredictorResult r;
  r.name = "mle (leave one group out)";
  r.kind = StrategyKind::distribution;
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t gi = 0; gi < groups.size(); ++gi) {
    LoadMatrix history(L, std::vector<double>(E, 0.0));
    for (std::size_t o = 0; o < groups.size(); ++o) {
      if (o == gi) continue;
      for (std::size_t l = 0; l < L; ++l) {
        const auto s = shares_of(groups[o].shares[l]);
        for (std::size_t e = 0; e < E; ++e) history[l][e] += groups[o].weight * s[e];
      }
    }
    const DistributionError err = distribution_error(normalised(history), groups[gi].shares);
    sum += err.mean;
    r.error.max = std::max(r.error.max, err.max);
    ++n;
  }
  r.error.mean = sum / double(n);
  r.batch_error = r.error;
  r.samples = n * L * E;
  return r;
}

PredictorResult evaluate(DistributionPredictor& p, const RoutingTrace& train,
                         const RoutingTrace& test, std::size_t batch_tokens) {
  check_compatible(train, test);
  PredictorResult r;
  r.name = p.name();
  r.kind = StrategyKind::distribution;
  train_on(p, train, batch_tokens);
  r.error = distribution_error(p.predict(), expert_counts(test));
  double sum = 0;
  std::size_t n = 0;
  for (const TokenRange& b : batches_of(test, batch_tokens)) {
    const auto c = expert_counts(test, b);
    const DistributionError e = distribution_error(p.predict(), c);
    sum += e.mean;
    r.batch_error.max = std::max(r.batch_error.max, e.max);
    ++n;
    p.observe(c);
  }
  r.batch_error.mean = n ? sum / double(n) : 0.0;
  r.samples = n * std::size_t(test.layers);
  return r;
}

PredictorResult evaluate(TokenPredictor& p, const RoutingTrace& train, const RoutingTrace& test,
                         std::size_t batch_tokens) {
  check_compatible(train, test);
  PredictorResult r;
  r.name = p.name();
  r.kind = StrategyKind::token;
  p.train(train);
  const int K = test.top_k;
  std::vector<std::int16_t> pred(static_cast<std::size_t>(K));
  double hits = 0, top1 = 0;
  std::size_t n = 0;
  LoadMatrix pred_counts = zeros(test.layers, test.experts);
  double batch_sum = 0;
  std::size_t batches = 0;
  for (const TokenRange& b : batches_of(test, batch_tokens)) {
    LoadMatrix bc = zeros(test.layers, test.experts);
    for (std::size_t t = b.begin; t < b.end; ++t)
      for (int l = 0; l < test.layers; ++l) {
        if (!test.has(t, l)) continue;
        p.predict(test, t, l, pred.data());
        const std::int16_t* truth = test.route(t, l);
        int h = 0;
        for (int i = 0; i < K; ++i) {
          bc[sz(l)][std::size_t(pred[std::size_t(i)])] += 1;
          for (int j = 0; j < K; ++j) h += pred[std::size_t(i)] == truth[j];
        }
        hits += double(h) / K;
        top1 += pred[0] == truth[0];
        ++n;
      }
    const DistributionError e = distribution_error(normalised(bc), expert_counts(test, b));
    batch_sum += e.mean;
    r.batch_error.max = std::max(r.batch_error.max, e.max);
    ++batches;
    for (std::size_t l = 0; l < bc.size(); ++l)
      for (std::size_t e2 = 0; e2 < bc[l].size(); ++e2) pred_counts[l][e2] += bc[l][e2];
  }
  r.accuracy = n ? hits / double(n) : 0.0;
  r.top1_accuracy = n ? top1 / double(n) : 0.0;
  r.samples = n;
  r.error = distribution_error(normalised(pred_counts), expert_counts(test));
  r.batch_error.mean = batches ? batch_sum / double(batches) : 0.0;
  return r;
}

}  // namespace llmgps::moe
