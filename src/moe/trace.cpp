#include "llmgps/moe/trace.hpp"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>
#include <simdjson.h>

#include "llmgps/specs/error.hpp"

namespace llmgps::moe {

std::size_t RoutingTrace::records() const {
  std::size_t n = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t)
    for (int l = 0; l < layers; ++l) n += has(t, l) ? 1 : 0;
  return n;
}

namespace {

namespace sj = simdjson;

constexpr int kMaxLayers = 4096;
constexpr int kMaxExpertId = 32767;  // stored as int16
constexpr int kMaxTopK = 64;
constexpr std::int64_t kMaxPos = std::int64_t(1) << 40;

struct Record {
  std::int32_t token;
  std::int32_t layer;
  std::int64_t line;
};

class TraceBuilder {
 public:
  TraceBuilder(const std::string& file, const TraceLoadOptions& opt) : file_(file), num_experts_(opt.num_experts) {}

  [[noreturn]] void fail(std::int64_t line, const std::string& reason) const {
    throw InputError(fmt::format("{}:{}", file_, line), reason);
  }

  // The DOM API dispatches to the best SIMD kernel at run time (On Demand picks at compile time,
  // which would be the portable fallback in a generic x86-64 build).
  void parse_line(sj::dom::parser& parser, const char* data, std::size_t len, std::int64_t line) {
    sj::dom::element doc;
    if (auto err = parser.parse(data, len, false).get(doc))
      fail(line, std::string("not valid JSON: ") + sj::error_message(err));
    sj::dom::object obj;
    if (doc.get_object().get(obj)) fail(line, "a record must be a JSON object");
    std::int64_t layer = -1, pos = -1;
    bool have_experts = false;
    std::string seq_key;
    bool meta = false;
    std::int64_t meta_experts = 0;
    experts_.clear();
    for (sj::dom::key_value_pair kv : obj) {
      const std::string_view key = kv.key;
      const sj::dom::element v = kv.value;
      if (key == "layer") {
        layer = int_field(v, line, "layer");
      } else if (key == "token_idx" || key == "token_pos") {
        pos = int_field(v, line, key);
      } else if (key == "experts" || key == "topk_ids") {
        sj::dom::array arr;
        if (v.get_array().get(arr)) fail(line, fmt::format("field '{}' must be an array of expert ids", key));
        for (sj::dom::element item : arr) {
          std::int64_t id;
          if (item.get_int64().get(id)) fail(line, fmt::format("field '{}' must hold integer expert ids", key));
          if (id < 0 || id > kMaxExpertId || (num_experts_ > 0 && id >= num_experts_))
            fail(line, num_experts_ > 0
                           ? fmt::format("expert id {} out of range [0, {})", id, num_experts_)
                           : fmt::format("expert id {} out of range [0, {}]", id, kMaxExpertId));
          if (experts_.size() >= std::size_t(kMaxTopK)) fail(line, fmt::format("more than {} experts per token", kMaxTopK));
          experts_.push_back(std::int16_t(id));
        }
        have_experts = true;
      } else if (key == "problem_id" || key == "req_id") {
        seq_key = scalar_text(v, line, key);
      } else if (key == "type") {
        std::string_view type;
        if (v.get_string().get(type)) fail(line, "field 'type' must be a string");
        meta = (type == "meta");
      } else if (key == "num_experts") {
        meta_experts = int_field(v, line, "num_experts");
      }
      // Other fields (gating_probs, topk_weights, dataset, ...) are not needed and skipped.
    }
    if (meta) {
      if (meta_experts > 0) {
        if (meta_experts > kMaxExpertId + 1) fail(line, fmt::format("num_experts {} is too large", meta_experts));
        if (max_id_ >= meta_experts)
          fail(line, fmt::format("num_experts {} but expert id {} was already seen", meta_experts, max_id_));
        if (num_experts_ == 0) num_experts_ = int(meta_experts);
      }
      return;
    }
    if (layer < 0) fail(line, "missing field 'layer'");
    if (layer >= kMaxLayers) fail(line, fmt::format("layer {} is out of range [0, {})", layer, kMaxLayers));
    if (pos < 0) fail(line, "missing field 'token_idx' (or 'token_pos')");
    if (pos >= kMaxPos) fail(line, fmt::format("token position {} is too large", pos));
    if (!have_experts) fail(line, "missing field 'experts' (or 'topk_ids')");
    if (experts_.empty()) fail(line, "empty expert list");
    if (top_k_ == 0) top_k_ = int(experts_.size());
    if (int(experts_.size()) != top_k_)
      fail(line, fmt::format("{} experts, but earlier records have {} (top-k must be constant)", experts_.size(), top_k_));
    for (std::size_t i = 0; i < experts_.size(); ++i) {
      max_id_ = std::max<std::int64_t>(max_id_, experts_[i]);
      for (std::size_t j = 0; j < i; ++j)
        if (experts_[i] == experts_[j]) fail(line, fmt::format("expert {} listed twice", experts_[i]));
    }
    // Sequence and token identity.
    auto [sit, new_seq] = seq_index_.try_emplace(seq_key, int(seq_names_.size()));
    if (new_seq) seq_names_.push_back(seq_key);
    const std::uint64_t tkey = (std::uint64_t(sit->second) << 40) | std::uint64_t(pos);
    auto [tit, new_tok] = token_index_.try_emplace(tkey, std::int32_t(tokens_.size()));
    if (new_tok) tokens_.push_back(TraceToken{sit->second, pos});
    records_.push_back(Record{tit->second, std::int32_t(layer), line});
    record_experts_.insert(record_experts_.end(), experts_.begin(), experts_.end());
    max_layer_ = std::max<std::int64_t>(max_layer_, layer);
  }

  RoutingTrace finish() {
    if (records_.empty()) throw InputError(file_, "no routing records (expected JSON Lines with 'layer' and 'experts')");
    RoutingTrace tr;
    tr.source = file_;
    tr.layers = int(max_layer_ + 1);
    tr.top_k = top_k_;
    tr.experts = num_experts_ > 0 ? num_experts_ : int(max_id_ + 1);
    if (tr.top_k > tr.experts)
      throw InputError(file_, fmt::format("top-k {} exceeds the {} experts", tr.top_k, tr.experts));
    tr.seq_names = std::move(seq_names_);
    tr.tokens = std::move(tokens_);
    tr.routes.assign(tr.tokens.size() * std::size_t(tr.layers) * std::size_t(tr.top_k), std::int16_t(-1));
    std::vector<std::uint8_t> layer_seen(static_cast<std::size_t>(tr.layers), 0);
    for (std::size_t i = 0; i < records_.size(); ++i) {
      const Record& r = records_[i];
      std::int16_t* dst = tr.routes.data() + (std::size_t(r.token) * std::size_t(tr.layers) + std::size_t(r.layer)) * std::size_t(tr.top_k);
      if (dst[0] >= 0)
        throw InputError(fmt::format("{}:{}", file_, r.line),
                         fmt::format("duplicate record for token {} of sequence '{}' in layer {}",
                                     tr.tokens[std::size_t(r.token)].pos,
                                     tr.seq_names[std::size_t(tr.tokens[std::size_t(r.token)].seq)], r.layer));
      std::memcpy(dst, record_experts_.data() + i * std::size_t(tr.top_k), sizeof(std::int16_t) * std::size_t(tr.top_k));
      layer_seen[std::size_t(r.layer)] = 1;
    }
    for (int l = 0; l < tr.layers; ++l)
      if (!layer_seen[std::size_t(l)])
        throw InputError(file_, fmt::format("layer {} has no records (layers 0..{} must all appear)", l, tr.layers - 1));
    return tr;
  }

 private:
  std::int64_t int_field(const sj::dom::element& v, std::int64_t line, std::string_view name) {
    std::int64_t x;
    if (v.get_int64().get(x)) fail(line, fmt::format("field '{}' must be an integer", name));
    if (x < 0) fail(line, fmt::format("field '{}' must not be negative (got {})", name, x));
    return x;
  }
  std::string scalar_text(const sj::dom::element& v, std::int64_t line, std::string_view name) {
    if (v.is_string()) return std::string(v.get_string().value_unsafe());
    if (v.is_int64()) return std::to_string(v.get_int64().value_unsafe());
    if (v.is_uint64()) return std::to_string(v.get_uint64().value_unsafe());
    fail(line, fmt::format("field '{}' must be a string or an integer", name));
  }

  std::string file_;
  int num_experts_ = 0;
  int top_k_ = 0;
  std::int64_t max_id_ = -1;
  std::int64_t max_layer_ = -1;
  std::vector<std::int16_t> experts_;
  std::vector<Record> records_;
  std::vector<std::int16_t> record_experts_;
  std::unordered_map<std::string, int> seq_index_;
  std::vector<std::string> seq_names_;
  std::unordered_map<std::uint64_t, std::int32_t> token_index_;
  std::vector<TraceToken> tokens_;
};

bool blank(const char* p, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  return true;
}

RoutingTrace parse_padded(const char* data, std::size_t size, const std::string& file,
                          const TraceLoadOptions& opt) {
  if (opt.num_experts < 0 || opt.num_experts > kMaxExpertId + 1)
    throw InputError("--experts", fmt::format("must be in [1, {}] (got {})", kMaxExpertId + 1, opt.num_experts));
  TraceBuilder builder(file, opt);
  sj::dom::parser parser;
  std::size_t at = 0;
  std::int64_t line = 0;
  while (at < size) {
    ++line;
    const char* start = data + at;
    const void* nl = std::memchr(start, '\n', size - at);
    const std::size_t len = nl ? std::size_t(static_cast<const char*>(nl) - start) : size - at;
    if (!blank(start, len)) builder.parse_line(parser, start, len, line);
    at += len + 1;
  }
  return builder.finish();
}

}  // namespace

RoutingTrace parse_trace(std::string_view text, const std::string& file, const TraceLoadOptions& opt) {
  sj::padded_string padded(text);
  return parse_padded(padded.data(), padded.size(), file, opt);
}

RoutingTrace load_trace(const std::string& path, const TraceLoadOptions& opt) {
  sj::padded_string padded;
  if (auto err = sj::padded_string::load(path).get(padded))
    throw InputError(path, std::string("cannot read routing trace: ") + sj::error_message(err));
  return parse_padded(padded.data(), padded.size(), path, opt);
}

std::vector<TokenRange> batches_of(const RoutingTrace& tr, std::size_t batch_tokens) {
  std::vector<TokenRange> out;
  const std::size_t n = tr.num_tokens();
  const std::size_t step = batch_tokens == 0 ? std::max<std::size_t>(n, 1) : batch_tokens;
  for (std::size_t b = 0; b < n; b += step) out.push_back(TokenRange{b, std::min(n, b + step)});
  return out;
}

std::string trace_to_jsonl(const RoutingTrace& tr) {
  std::string out = fmt::format("{{\"type\": \"meta\", \"num_experts\": {}, \"layers\": {}, \"top_k\": {}}}\n", tr.experts,
                                tr.layers, tr.top_k);
  for (std::size_t t = 0; t < tr.num_tokens(); ++t)
    for (int l = 0; l < tr.layers; ++l) {
      const std::int16_t* e = tr.route(t, l);
      if (e[0] < 0) continue;
      out += fmt::format("{{\"req_id\": \"{}\", \"token_idx\": {}, \"layer\": {}, \"experts\": [", tr.seq_names[std::size_t(tr.tokens[t].seq)],
                         tr.tokens[t].pos, l);
      for (int j = 0; j < tr.top_k; ++j) out += fmt::format("{}{}", j ? ", " : "", e[j]);
      out += "]}\n";
    }
  return out;
}

RoutingTrace slice(const RoutingTrace& tr, TokenRange r, const std::string& source) {
  RoutingTrace out;
  out.source = source;
  out.layers = tr.layers;
  out.experts = tr.experts;
  out.top_k = tr.top_k;
  out.seq_names = tr.seq_names;
  out.tokens.assign(tr.tokens.begin() + std::ptrdiff_t(r.begin), tr.tokens.begin() + std::ptrdiff_t(r.end));
  const std::size_t row = std::size_t(tr.layers) * std::size_t(tr.top_k);
  out.routes.assign(tr.routes.begin() + std::ptrdiff_t(r.begin * row), tr.routes.begin() + std::ptrdiff_t(r.end * row));
  return out;
}

std::vector<std::vector<double>> expert_counts(const RoutingTrace& tr, TokenRange r) {
  std::vector<std::vector<double>> c(static_cast<std::size_t>(tr.layers), std::vector<double>(std::size_t(tr.experts), 0.0));
  for (std::size_t t = r.begin; t < r.end; ++t)
    for (int l = 0; l < tr.layers; ++l) {
      const std::int16_t* e = tr.route(t, l);
      if (e[0] < 0) continue;
      for (int j = 0; j < tr.top_k; ++j) c[std::size_t(l)][std::size_t(e[j])] += 1.0;
    }
  return c;
}

std::vector<std::vector<double>> expert_counts(const RoutingTrace& tr) {
  return expert_counts(tr, TokenRange{0, tr.num_tokens()});
}

}  // namespace llmgps::moe
