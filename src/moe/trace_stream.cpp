#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <numeric>
#include <set>

#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"
#include "trace_reader.hpp"

namespace llmgps::moe {

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
  std::vector<double> batch_skew_sum, batch_skew_max;
  std::vector<std::size_t> batches;
  std::set<std::string> sequences;
  std::string last_seq;
  bool have_seq = false;

  Impl(std::string file, std::size_t bt, const TraceLoadOptions& opt)
      : reader(std::move(file), opt), batch_tokens(bt) {}

  void close_batch(std::size_t l) {
    const double k = skew_of(batch[l]);
    batch_skew_sum[l] += k;
    batch_skew_max[l] = std::max(batch_skew_max[l], k);
    ++batches[l];
    std::fill(batch[l].begin(), batch[l].end(), 0.0);
    batch_records[l] = 0;
  }

  void on_line(const char* data, std::size_t len) {
    ++line;
    if (detail::blank_line(data, len)) return;
    line_buf.resize(len + simdjson::SIMDJSON_PADDING);
    std::copy(data, data + len, line_buf.begin());
    if (!reader.read(parser, line_buf.data(), len, line)) return;
    const std::size_t l = std::size_t(reader.layer());
    if (l >= counts.size()) {
      counts.resize(l + 1), batch.resize(l + 1), layer_records.resize(l + 1, 0),
          batch_records.resize(l + 1, 0);
      batch_skew_sum.resize(l + 1, 0.0), batch_skew_max.resize(l + 1, 1.0),
          batches.resize(l + 1, 0);
    }
    const std::size_t need =
        std::size_t(std::max<std::int64_t>(reader.max_id() + 1, reader.num_experts()));
    if (counts[l].size() < need) counts[l].resize(need, 0.0), batch[l].resize(need, 0.0);
    for (std::int16_t e : reader.experts())
      counts[l][std::size_t(e)] += 1, batch[l][std::size_t(e)] += 1;
    ++layer_records[l];
    ++records;
    // Distinct sequence names (records of one sequence usually come together: skip the set then).
    if (!have_seq || reader.seq_key() != last_seq) {
      last_seq = reader.seq_key();
      have_seq = true;
      if (sequences.size() < 10'000'000) sequences.insert(last_seq);
    }
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
  const std::string& file = s.reader.file();
  if (s.records == 0)
    throw InputError(file, "no routing records (expected JSON Lines with 'layer' and 'experts')");
  TraceStats st;
  st.layers = int(s.counts.size());
  st.top_k = s.reader.top_k();
  st.experts = s.reader.num_experts() > 0 ? s.reader.num_experts() : int(s.reader.max_id() + 1);
  if (st.top_k > st.experts)
    throw InputError(file, fmt::format("top-k {} exceeds the {} experts", st.top_k, st.experts));
  st.records = s.records;
  st.tokens = *std::max_element(s.layer_records.begin(), s.layer_records.end());
  st.sequences = s.sequences.size();
  st.batch_tokens = s.batch_tokens == 0 ? st.tokens : std::min(s.batch_tokens, st.tokens);
  double skew_sum = 0, batch_sum = 0, ent_sum = 0;
  std::size_t most_batches = 0;
  for (int l = 0; l < st.layers; ++l) {
    const std::size_t li = std::size_t(l);
    if (s.layer_records[li] == 0)
      throw InputError(file, fmt::format("layer {} has no records (layers 0..{} must all appear)",
                                         l, st.layers - 1));
    s.counts[li].resize(std::size_t(st.experts), 0.0);
    s.batch[li].resize(std::size_t(st.experts), 0.0);
    if (s.batch_tokens == 0 || s.batch_records[li] > 0 || s.batches[li] == 0)
      s.close_batch(li);  // the last (partial) batch
    LayerStats ls;
    ls.layer = l;
    ls.shares = shares_of(s.counts[li]);
    ls.skew = skew_of(s.counts[li]);
    ls.entropy_bits = entropy_bits(s.counts[li]);
    ls.batch_skew_mean = s.batch_skew_sum[li] / double(s.batches[li]);
    ls.batch_skew_max = s.batch_skew_max[li];
    skew_sum += ls.skew, batch_sum += ls.batch_skew_mean, ent_sum += ls.entropy_bits;
    most_batches = std::max(most_batches, s.batches[li]);
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
