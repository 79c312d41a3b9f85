#include "llmgps/moe/trace.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include "llmgps/specs/error.hpp"
#include "trace_reader.hpp"

namespace llmgps::moe {

std::size_t RoutingTrace::records() const {
  std::size_t n = 0;
  for (std::size_t t = 0; t < tokens.size(); ++t)
    for (int l = 0; l < layers; ++l) n += has(t, l) ? 1 : 0;
  return n;
}

namespace {

namespace sj = simdjson;

struct Record {
  std::int32_t token;
  std::int32_t layer;
  std::int64_t line;
};

class TraceBuilder : public detail::RecordReader {
 public:
  TraceBuilder(const std::string& file, const TraceLoadOptions& opt)
      : RecordReader(file, opt), keep_warmup_(opt.keep_warmup) {}

  void parse_line(sj::dom::parser& parser, const char* data, std::size_t len, std::int64_t line) {
    if (read(parser, data, len, line)) add_record(line);
  }

 private:
  void add_record(std::int64_t line) {
    // Sequence and token identity.
    auto [sit, new_seq] = seq_index_.try_emplace(seq_key(), int(seq_names_.size()));
    if (new_seq) seq_names_.push_back(seq_key());
    const std::uint64_t lane = (std::uint64_t(sit->second) << 16) | std::uint64_t(layer());
    // The forward pass: named by the record, or the next one when this (sequence, layer) has
    // already reached this position in the current pass.
    if (pass_field() >= 0) {
      if (pass_field() != explicit_pass_) {
        if (explicit_pass_ >= 0) ++pass_;
        explicit_pass_ = pass_field();
      }
    } else {
      const auto last = last_pos_.find(lane);
      if (last != last_pos_.end() && pos() <= last->second) {
        ++pass_;
        last_pos_.clear();
      }
      last_pos_[lane] = pos();
    }
    const TokenKey tkey{pass_, sit->second, pos()};
    auto [tit, new_tok] = token_index_.try_emplace(tkey, std::int32_t(tokens_.size()));
    if (new_tok) tokens_.push_back(TraceToken{sit->second, pos(), pass_});
    records_.push_back(Record{tit->second, std::int32_t(layer()), line});
    record_experts_.insert(record_experts_.end(), experts().begin(), experts().end());
    max_layer_ = std::max<std::int64_t>(max_layer_, layer());
  }

 public:
  RoutingTrace finish() {
    if (records_.empty())
      throw InputError(file(),
                       "no routing records (expected JSON Lines with 'layer' and 'experts')");
    RoutingTrace tr;
    tr.source = file();
    tr.layer_ids = layers_logged();
    tr.layers = tr.partial() ? int(tr.layer_ids.size()) : int(max_layer_ + 1);
    tr.top_k = top_k();
    tr.experts = num_experts() > 0 ? num_experts() : int(max_id() + 1);
    if (tr.top_k > tr.experts)
      throw InputError(file(),
                       fmt::format("top-k {} exceeds the {} experts", tr.top_k, tr.experts));
    tr.seq_names = std::move(seq_names_);
    tr.tokens = std::move(tokens_);
    tr.passes = pass_ + 1;
    std::vector<std::uint8_t> skip;
    const std::size_t warm = keep_warmup_ ? 0 : mark_warmup(tr.top_k, skip);
    if (warm == records_.size())
      throw InputError(file(),
                       "every record is warm-up (runs of identical records); --keep-warmup keeps "
                       "them");
    tr.warmup_records = warm;
    tr.routes.assign(tr.tokens.size() * std::size_t(tr.layers) * std::size_t(tr.top_k),
                     std::int16_t(-1));
    std::vector<std::uint8_t> layer_seen(static_cast<std::size_t>(tr.layers), 0);
    for (std::size_t i = 0; i < records_.size(); ++i) {
      if (warm > 0 && skip[i]) continue;
      const Record& r = records_[i];
      std::int16_t* dst = tr.routes.data() +
                          (std::size_t(r.token) * std::size_t(tr.layers) + std::size_t(r.layer)) *
                              std::size_t(tr.top_k);
      if (dst[0] >= 0)
        throw InputError(
            fmt::format("{}:{}", file(), r.line),
            fmt::format("duplicate record for token {} of sequence '{}' in layer {} (pass {})",
                        tr.tokens[std::size_t(r.token)].pos,
                        tr.seq_names[std::size_t(tr.tokens[std::size_t(r.token)].seq)], r.layer,
                        tr.tokens[std::size_t(r.token)].pass));
      std::memcpy(dst, record_experts_.data() + i * std::size_t(tr.top_k),
                  sizeof(std::int16_t) * std::size_t(tr.top_k));
      layer_seen[std::size_t(r.layer)] = 1;
    }
    for (int l = 0; l < tr.layers; ++l)
      if (!layer_seen[std::size_t(l)])
        throw InputError(file(), detail::missing_layer_reason(tr.layer_ids, l, tr.layers));
    if (warm > 0) drop_absent_tokens(tr);
    return tr;
  }

 private:
  // Marks the warm-up records (runs of at least kWarmupMinRecords consecutive records with the
  // same layer and experts) and returns how many there are.
  std::size_t mark_warmup(int top_k, std::vector<std::uint8_t>& skip) const {
    const std::size_t k = std::size_t(top_k);
    skip.assign(records_.size(), 0);
    std::size_t marked = 0;
    for (std::size_t i = 0; i < records_.size();) {
      std::size_t j = i + 1;
      while (j < records_.size() && records_[j].layer == records_[i].layer &&
             std::equal(record_experts_.begin() + std::ptrdiff_t(j * k),
                        record_experts_.begin() + std::ptrdiff_t((j + 1) * k),
                        record_experts_.begin() + std::ptrdiff_t(i * k)))
        ++j;
      if (j - i >= kWarmupMinRecords) {
        std::fill(skip.begin() + std::ptrdiff_t(i), skip.begin() + std::ptrdiff_t(j), 1);
        marked += j - i;
      }
      i = j;
    }
    return marked;
  }

  // Tokens all of whose records were warm-up go (their slots stay in order).
  static void drop_absent_tokens(RoutingTrace& tr) {
    const std::size_t row = std::size_t(tr.layers) * std::size_t(tr.top_k);
    std::size_t out = 0;
    for (std::size_t t = 0; t < tr.tokens.size(); ++t) {
      bool any = false;
      for (int l = 0; l < tr.layers && !any; ++l) any = tr.has(t, l);
      if (!any) continue;
      if (out != t) {
        tr.tokens[out] = tr.tokens[t];
        std::copy_n(tr.routes.begin() + std::ptrdiff_t(t * row), row,
                    tr.routes.begin() + std::ptrdiff_t(out * row));
      }
      ++out;
    }
    tr.tokens.resize(out);
    tr.routes.resize(out * row);
    // Passes left empty (warm-up passes) go too: pass ids stay dense, in order.
    std::int32_t next = -1, last = -1;
    for (TraceToken& t : tr.tokens) {
      if (t.pass != last) last = t.pass, ++next;
      t.pass = next;
    }
    tr.passes = next + 1;
  }

 public:
 private:
  std::int64_t max_layer_ = -1;
  std::vector<Record> records_;
  std::vector<std::int16_t> record_experts_;
  std::unordered_map<std::string, int> seq_index_;
  std::vector<std::string> seq_names_;
  struct TokenKey {
    std::int32_t pass, seq;
    std::int64_t pos;
    bool operator==(const TokenKey& o) const {
      return pass == o.pass && seq == o.seq && pos == o.pos;
    }
  };
  struct TokenKeyHash {
    std::size_t operator()(const TokenKey& k) const {
      return std::hash<std::uint64_t>{}((std::uint64_t(k.seq) << 40) ^ std::uint64_t(k.pos) ^
                                        (std::uint64_t(k.pass) * 0x9E3779B97F4A7C15ull));
    }
  };
  std::unordered_map<TokenKey, std::int32_t, TokenKeyHash> token_index_;
  std::unordered_map<std::uint64_t, std::int64_t> last_pos_;  // per (sequence, layer), this pass
  std::int32_t pass_ = 0;
  std::int64_t explicit_pass_ = -1;
  bool keep_warmup_ = false;
  std::vector<TraceToken> tokens_;
};

// Records are read line by line: the flat-record scanner first (the reader's fast path), simdjson
// for any line it declines (which also names the exact line and reason of a bad one). A document
// stream over the whole text was slower than the scanner for records this small.
RoutingTrace parse_padded(const char* data, std::size_t size, const std::string& file,
                          const TraceLoadOptions& opt) {
  if (detail::starts_with_bom(data, size)) data += 3, size -= 3;
  TraceBuilder builder(file, opt);
  sj::dom::parser parser;
  detail::for_each_line(data, size, 1, [&](const char* line_data, std::size_t len, std::int64_t n) {
    builder.parse_line(parser, line_data, len, n);
  });
  return builder.finish();
}

}  // namespace

RoutingTrace parse_trace(std::string_view text, const std::string& file,
                         const TraceLoadOptions& opt) {
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
  std::string out = fmt::format(R"({{"type": "meta", "num_experts": {}, "layers": {}, "top_k": {})",
                                tr.experts, tr.layers, tr.top_k);
  if (tr.partial()) out += fmt::format(R"(, "layers_logged": [{}])", fmt::join(tr.layer_ids, ", "));
  out += "}\n";
  for (std::size_t t = 0; t < tr.num_tokens(); ++t)
    for (int l = 0; l < tr.layers; ++l) {
      const std::int16_t* e = tr.route(t, l);
      if (e[0] < 0) continue;
      out += fmt::format("{{\"req_id\": \"{}\", \"token_idx\": {}, \"layer\": {}, ",
                         tr.seq_names[std::size_t(tr.tokens[t].seq)], tr.tokens[t].pos,
                         tr.layer_id(l));
      // The pass only where there is more than one (a one-pass trace reads back the same).
      if (tr.passes > 1) out += fmt::format("\"pass\": {}, ", tr.tokens[t].pass);
      out += "\"experts\": [";
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
  out.tokens.assign(tr.tokens.begin() + std::ptrdiff_t(r.begin),
                    tr.tokens.begin() + std::ptrdiff_t(r.end));
  out.passes = tr.passes;
  out.layer_ids = tr.layer_ids;
  out.warmup_records = tr.warmup_records;  // of the file it came from
  const std::size_t row = std::size_t(tr.layers) * std::size_t(tr.top_k);
  out.routes.assign(tr.routes.begin() + std::ptrdiff_t(r.begin * row),
                    tr.routes.begin() + std::ptrdiff_t(r.end * row));
  return out;
}

std::vector<std::vector<double>> expert_counts(const RoutingTrace& tr, TokenRange r) {
  std::vector<std::vector<double>> c(static_cast<std::size_t>(tr.layers),
                                     std::vector<double>(std::size_t(tr.experts), 0.0));
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
