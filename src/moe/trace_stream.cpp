#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"
#include "trace_reader.hpp"

namespace llmgps::moe {
namespace {

// The positions of one (sequence, layer) seen so far: one bit each while they stay near the range
// already seen (token positions are dense in real traces), a hash set beyond that, so a stray huge
// position costs one entry rather than a huge bitset.
struct SeenPositions {
  std::vector<std::uint64_t> dense;
  std::unordered_set<std::int64_t> sparse;

  // False if `pos` was already there.
  bool insert(std::int64_t pos) {
    const std::size_t w = std::size_t(pos) / 64;
    if (w < dense.size() + 1024) {
      if (w >= dense.size()) dense.resize(w + 1, 0);
      const std::uint64_t bit = std::uint64_t(1) << (std::size_t(pos) % 64);
      if (dense[w] & bit) return false;
      dense[w] |= bit;
      return !sparse.count(pos);  // seen before the dense range reached it
    }
    return sparse.insert(pos).second;
  }
};

// Distinct positions over all layers of one sequence.
std::size_t distinct_positions(const std::vector<SeenPositions>& layers) {
  std::vector<std::uint64_t> any;
  std::unordered_set<std::int64_t> far;
  for (const auto& s : layers) {
    if (any.size() < s.dense.size()) any.resize(s.dense.size(), 0);
    for (std::size_t w = 0; w < s.dense.size(); ++w) any[w] |= s.dense[w];
    far.insert(s.sparse.begin(), s.sparse.end());
  }
  std::size_t n = 0;
  for (std::uint64_t w : any) n += std::size_t(__builtin_popcountll(w));
  for (std::int64_t p : far) {
    const std::size_t w = std::size_t(p) / 64;
    if (w >= any.size() || !(any[w] & (std::uint64_t(1) << (std::size_t(p) % 64)))) ++n;
  }
  return n;
}

}  // namespace

struct TraceStatsStream::Impl {
  detail::RecordReader reader;
  std::size_t batch_tokens;
  simdjson::dom::parser parser;
  std::string carry;           // a line split across feed() calls
  std::vector<char> line_buf;  // one line plus simdjson's padding
  std::int64_t line = 0;
  std::size_t bytes = 0;
  std::size_t records = 0;
  std::vector<std::vector<double>> counts, batch;  // [layer][expert]
  std::vector<std::size_t> layer_records, batch_records;
  // Each closed batch's largest expert count and its selections, per layer: its skew needs the
  // final expert count (a trace without a meta record reveals it only at the end).
  std::vector<std::vector<std::pair<double, double>>> closed;
  // Which (sequence, layer, position) records were seen: one bit each, for the duplicate check
  // the in-memory reader makes and the count of distinct tokens.
  // Both are per forward pass (see trace.hpp): a new pass starts when a record names another
  // "step"/"pass", or (without one) when its (sequence, layer) already reached its position.
  std::unordered_map<std::string, std::vector<SeenPositions>> seen;
  std::string last_seq;
  std::vector<SeenPositions>* last_bits = nullptr;
  std::unordered_map<std::string, std::vector<std::int64_t>> last_pos;  // per sequence, layer
  std::vector<std::int64_t>* last_lanes = nullptr;
  std::string last_lanes_seq;
  std::int64_t explicit_pass = -1;
  std::size_t closed_tokens = 0;  // distinct tokens of the passes already closed
  std::int32_t pass_index = 0;    // the current pass, counted from 0
  std::unordered_set<std::string> sequences;
  std::string last_counted_seq;
  bool counted_any = false;

  void close_pass() {
    for (const auto& [name, layers] : seen) closed_tokens += distinct_positions(layers);
    seen.clear();
    last_pos.clear();
    last_bits = nullptr;
    last_lanes = nullptr;
  }

  // One routing record, as the reader parsed it (kept while a leading warm-up run is undecided).
  struct Rec {
    std::string seq;
    std::size_t layer;
    std::int64_t pos, pass;
    std::array<std::int16_t, detail::kMaxTopK> experts;  // the first k are the record's
    int k;
    bool same_choice(const Rec& o) const {
      return layer == o.layer && k == o.k &&
             std::equal(experts.begin(), experts.begin() + k, o.experts.begin());
    }
  };

  void track_pass(const Rec& r) {
    const std::size_t l = r.layer;
    const std::int64_t pos = r.pos;
    if (r.pass >= 0) {
      if (r.pass != explicit_pass) {
        if (explicit_pass >= 0) close_pass(), ++pass_index;
        explicit_pass = r.pass;
      }
      return;
    }
    // The previous record's sequence is the likely one (records come in runs of a sequence).
    if (!last_lanes || r.seq != last_lanes_seq) {
      last_lanes_seq = r.seq;
      last_lanes = &last_pos[r.seq];
    }
    auto& lanes = *last_lanes;
    if (lanes.size() > l && lanes[l] >= pos) {
      close_pass();
      ++pass_index;
      track_pass(r);
      return;
    }
    if (lanes.size() <= l) lanes.resize(l + 1, -1);
    lanes[l] = pos;
  }

  bool keep_warmup = false, run_dropping = false;
  std::vector<Rec> run;  // the current run of identical records, while undecided
  Rec run_key{};         // the layer and experts of the current run
  std::size_t warmup_records = 0;

  Impl(std::string file, std::size_t bt, const TraceLoadOptions& opt)
      : reader(std::move(file), opt), batch_tokens(bt), keep_warmup(opt.keep_warmup) {}

  void close_batch(std::size_t l) {
    double mx = 0, sum = 0;
    for (double c : batch[l]) mx = std::max(mx, c), sum += c;
    closed[l].emplace_back(mx, sum);
    std::fill(batch[l].begin(), batch[l].end(), 0.0);
    batch_records[l] = 0;
  }

  void mark_seen(const std::string& seq, std::size_t l, std::int64_t pos) {
    if (!last_bits || seq != last_seq) {
      last_seq = seq;
      last_bits = &seen[last_seq];
    }
    auto& layers = *last_bits;
    if (layers.size() <= l) layers.resize(l + 1);
    if (!layers[l].insert(pos))
      throw InputError(fmt::format("{}:{}", reader.file(), line),
                       fmt::format("duplicate record for token {} of sequence '{}' in layer {} "
                                   "(pass {})",
                                   pos, last_seq, l, pass_index));
  }

  void on_line(const char* data, std::size_t len) {
    ++line;
    if (line == 1 && detail::starts_with_bom(data, len)) data += 3, len -= 3;
    if (detail::blank_line(data, len)) return;
    bool record = false;
    if (!reader.read_fast(data, len, line, record)) {
      // simdjson needs padding after the line: a copy, only for lines the fast path declines.
      line_buf.resize(len + simdjson::SIMDJSON_PADDING);
      std::copy(data, data + len, line_buf.begin());
      record = reader.read(parser, line_buf.data(), len, line);
    }
    if (!record) return;
    Rec r;
    r.seq = reader.seq_key();
    r.layer = std::size_t(reader.layer());
    r.pos = reader.pos();
    r.pass = reader.pass_field();
    r.k = int(reader.experts().size());
    std::copy(reader.experts().begin(), reader.experts().end(), r.experts.begin());
    // Warm-up (moe/trace.hpp): the current run of identical records is held until it either
    // reaches kWarmupMinRecords (then it and the rest of it are dropped) or breaks (then it is
    // counted, in its order: nothing else came between).
    if (keep_warmup) return count(r);
    const bool same = !run.empty() && run_key.same_choice(r);
    if (same && run_dropping) {
      ++warmup_records;
      return;
    }
    if (!same) {
      flush_run();
      run_key.layer = r.layer;
      run_key.k = r.k;
      run_key.experts = r.experts;
    }
    run.push_back(std::move(r));
    if (run.size() >= kWarmupMinRecords) {
      run_dropping = true;
      warmup_records += run.size();
      run.resize(1);  // keeps the run going; its records are gone
    }
  }

  // The held run broke or the trace ended: a short run is counted after all.
  void flush_run() {
    if (!run_dropping)
      for (const Rec& w : run) count(w);
    run.clear();
    run_dropping = false;
  }

  // Room for layers 0 .. n-1 in every per-layer table.
  void ensure_layers(std::size_t n) {
    if (counts.size() >= n) return;
    counts.resize(n), batch.resize(n), layer_records.resize(n, 0), batch_records.resize(n, 0),
        closed.resize(n);
  }

  void count(const Rec& r) {
    const std::size_t l = r.layer;
    ensure_layers(l + 1);
    track_pass(r);
    mark_seen(r.seq, l, r.pos);
    if (!counted_any || r.seq != last_counted_seq) {
      sequences.insert(r.seq);
      last_counted_seq = r.seq;
      counted_any = true;
    }
    const std::size_t need =
        std::size_t(std::max<std::int64_t>(reader.max_id() + 1, reader.num_experts()));
    if (counts[l].size() < need) counts[l].resize(need, 0.0), batch[l].resize(need, 0.0);
    for (int i = 0; i < r.k; ++i) {
      const std::size_t e = std::size_t(r.experts[std::size_t(i)]);
      counts[l][e] += 1, batch[l][e] += 1;
    }
    ++layer_records[l];
    ++records;
    if (batch_tokens > 0 && ++batch_records[l] == batch_tokens) close_batch(l);
  }
};

TraceStatsStream::TraceStatsStream(std::string file, std::size_t batch_tokens,
                                   const TraceLoadOptions& opt)
    : impl_(std::make_unique<Impl>(std::move(file), batch_tokens, opt)) {}
TraceStatsStream::~TraceStatsStream() = default;
std::size_t TraceStatsStream::bytes() const {
  return impl_->bytes;
}

void TraceStatsStream::feed(const char* data, std::size_t size) {
  Impl& s = *impl_;
  s.bytes += size;
  std::size_t at = 0;
  if (!s.carry.empty()) {
    const void* nl = std::memchr(data, '\n', size);
    if (!nl) {
      s.carry.append(data, size);
      return;
    }
    const std::size_t len = std::size_t(static_cast<const char*>(nl) - data);
    s.carry.append(data, len);
    s.on_line(s.carry.data(), s.carry.size());
    s.carry.clear();
    at = len + 1;
  }
  while (at < size) {
    const void* nl = std::memchr(data + at, '\n', size - at);
    if (!nl) {
      s.carry.assign(data + at, size - at);
      return;
    }
    const std::size_t len = std::size_t(static_cast<const char*>(nl) - (data + at));
    s.on_line(data + at, len);
    at += len + 1;
  }
}

TraceStats TraceStatsStream::finish() {
  Impl& s = *impl_;
  if (!s.carry.empty()) {
    s.on_line(s.carry.data(), s.carry.size());
    s.carry.clear();
  }
  s.flush_run();
  const std::string& file = s.reader.file();
  if (s.records == 0 && s.warmup_records > 0)
    throw InputError(file,
                     "every record is warm-up (runs of identical records); --keep-warmup keeps "
                     "them");
  if (s.records == 0)
    throw InputError(file, "no routing records (expected JSON Lines with 'layer' and 'experts')");
  TraceStats st;
  st.layers_logged = s.reader.layers_logged();
  st.layers = st.layers_logged.empty() ? int(s.counts.size()) : int(st.layers_logged.size());
  s.ensure_layers(std::size_t(st.layers));  // logged layers without records are reported below
  st.top_k = s.reader.top_k();
  st.experts = s.reader.num_experts() > 0 ? s.reader.num_experts() : int(s.reader.max_id() + 1);
  if (st.top_k > st.experts)
    throw InputError(file, fmt::format("top-k {} exceeds the {} experts", st.top_k, st.experts));
  st.records = s.records;
  st.warmup_records = s.warmup_records;
  // Distinct tokens: a position is a token of its sequence if any layer has a record for it.
  s.close_pass();
  st.tokens = s.closed_tokens;
  st.sequences = s.sequences.size();
  st.batch_tokens = s.batch_tokens == 0 ? st.tokens : std::min(s.batch_tokens, st.tokens);
  double skew_sum = 0, batch_sum = 0, ent_sum = 0;
  std::size_t most_batches = 0;
  for (int l = 0; l < st.layers; ++l) {
    const std::size_t li = std::size_t(l);
    if (s.layer_records[li] == 0)
      throw InputError(file, detail::missing_layer_reason(st.layers_logged, l, st.layers));
    s.counts[li].resize(std::size_t(st.experts), 0.0);
    s.batch[li].resize(std::size_t(st.experts), 0.0);
    if (s.batch_tokens == 0 || s.batch_records[li] > 0 || s.closed[li].empty())
      s.close_batch(li);  // the last (partial) batch
    // Each batch's skew as skew_of computes it over all the trace's experts.
    double batch_skew_sum = 0, batch_skew_max = 0;
    for (const auto& [mx, sum] : s.closed[li]) {
      const double k = sum > 0 ? mx / (sum / double(st.experts)) : 1.0;
      batch_skew_sum += k;
      batch_skew_max = std::max(batch_skew_max, k);
    }
    LayerStats ls;
    ls.layer = st.layers_logged.empty() ? l : st.layers_logged[li];
    ls.shares = shares_of(s.counts[li]);
    ls.skew = skew_of(s.counts[li]);
    ls.entropy_bits = entropy_bits(s.counts[li]);
    ls.batch_skew_mean = batch_skew_sum / double(s.closed[li].size());
    ls.batch_skew_max = batch_skew_max;
    skew_sum += ls.skew, batch_sum += ls.batch_skew_mean, ent_sum += ls.entropy_bits;
    most_batches = std::max(most_batches, s.closed[li].size());
    st.per_layer.push_back(std::move(ls));
  }
  st.batches = most_batches;
  st.skew_mean = skew_sum / st.layers;
  st.batch_skew_mean = batch_sum / st.layers;
  st.entropy_mean_bits = ent_sum / st.layers;
  return st;
}

TraceStats stream_trace_stats(const std::string& path, std::size_t batch_tokens,
                              const TraceLoadOptions& opt) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw InputError(path, "cannot open routing trace");
  TraceStatsStream stream(path, batch_tokens, opt);
  std::vector<char> buf(std::size_t(16) << 20);
  while (true) {
    const std::size_t n = std::fread(buf.data(), 1, buf.size(), f.get());
    if (n > 0) stream.feed(buf.data(), n);
    if (n < buf.size()) {
      if (std::ferror(f.get())) throw InputError(path, "read error");
      break;
    }
  }
  return stream.finish();
}

}  // namespace llmgps::moe
