#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "llmgps/moe/trace_stats.hpp"
#include "llmgps/specs/error.hpp"

using namespace llmgps::moe;

namespace {
const std::string kGsm =
    std::string(LLMGPS_SHARED_DIR) + "/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl";

long max_rss_kb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}
}  // namespace

namespace {
void expect_same(const TraceStats& a, const TraceStats& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.layers, b.layers);
  EXPECT_EQ(a.experts, b.experts);
  EXPECT_EQ(a.top_k, b.top_k);
  EXPECT_EQ(a.records, b.records);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_EQ(a.sequences, b.sequences);
  EXPECT_EQ(a.warmup_records, b.warmup_records);
  EXPECT_EQ(a.layers_logged, b.layers_logged);
  EXPECT_EQ(a.batch_tokens, b.batch_tokens);
  EXPECT_EQ(a.batches, b.batches);
  EXPECT_DOUBLE_EQ(a.skew_mean, b.skew_mean);
  EXPECT_DOUBLE_EQ(a.batch_skew_mean, b.batch_skew_mean);
  EXPECT_DOUBLE_EQ(a.entropy_mean_bits, b.entropy_mean_bits);
  ASSERT_EQ(a.per_layer.size(), b.per_layer.size());
  for (std::size_t l = 0; l < a.per_layer.size(); ++l) {
    EXPECT_EQ(a.per_layer[l].layer, b.per_layer[l].layer);
    EXPECT_EQ(a.per_layer[l].shares, b.per_layer[l].shares);
    EXPECT_DOUBLE_EQ(a.per_layer[l].batch_skew_mean, b.per_layer[l].batch_skew_mean);
    EXPECT_DOUBLE_EQ(a.per_layer[l].batch_skew_max, b.per_layer[l].batch_skew_max);
  }
}
}  // namespace

// Issue 11: the streaming and in-memory readers give the same statistics on every real trace,
// for several batch sizes (each layer's records in token order, cut into batches).
TEST(TraceStream, SameStatisticsAsTheInMemoryReader) {
  const std::string dir = std::string(LLMGPS_SHARED_DIR) + "/data/traces/";
  for (const char* name :
       {"mixtral-8x7b-gsm8k-2problems.jsonl", "mixtral-8x7b-humaneval-2problems.jsonl"}) {
    const RoutingTrace tr = load_trace(dir + name);
    for (std::size_t batch : {std::size_t(0), std::size_t(1), std::size_t(64), std::size_t(500)})
      expect_same(trace_stats(tr, batch), stream_trace_stats(dir + name, batch),
                  std::string(name) + " batch " + std::to_string(batch));
  }
  // The vLLM-logger file restarts token_idx at every forward pass under one req_id: both readers
  // split it into passes and agree; its tokens are (pass, request, index) triples.
  const std::string vllm = dir + "qwen1.5-moe-a2.7b-vllm-logger-layer0.jsonl";
  const RoutingTrace v = load_trace(vllm);
  EXPECT_GT(v.passes, 1);
  EXPECT_EQ(v.num_tokens(), v.records());  // one layer logged: one record per token
  for (std::size_t batch : {std::size_t(0), std::size_t(64)})
    expect_same(trace_stats(v, batch), stream_trace_stats(vllm, batch),
                "vllm logger batch " + std::to_string(batch));
  // Two runs of 8,192 records are warm-up ([43, 5, 7, 58] over and over): excluded by both readers,
  // kept on request; the skew the warm-up inflated falls.
  EXPECT_EQ(v.warmup_records, 16384u);  // two runs: at the start and before the second engine start
  EXPECT_EQ(stream_trace_stats(vllm, 64).warmup_records, 16384u);
  TraceLoadOptions keep;
  keep.keep_warmup = true;
  const RoutingTrace all = load_trace(vllm, keep);
  EXPECT_EQ(all.warmup_records, 0u);
  EXPECT_EQ(all.records(), v.records() + 16384);
  expect_same(trace_stats(all, 64), stream_trace_stats(vllm, 64, keep), "vllm logger kept");
  EXPECT_LT(trace_stats(v, 64).skew_mean, 0.5 * trace_stats(all, 64).skew_mean);
}

// Without a meta record the expert count is only known at the end; early batches are still scored
// over all experts. A position repeated without a pass field starts a new pass; repeated within a
// named pass it is a duplicate, an error in both readers naming its line.
TEST(TraceStream, AgreesWithoutAMetaRecordAndRejectsDuplicates) {
  const std::string text =
      "{\"layer\":0,\"experts\":[0,1],\"token_idx\":0,\"req_id\":\"a\"}\n"
      "{\"layer\":0,\"experts\":[1,0],\"token_idx\":1,\"req_id\":\"a\"}\n"
      "{\"layer\":0,\"experts\":[5,7],\"token_idx\":2,\"req_id\":\"a\"}\n"
      "{\"layer\":0,\"experts\":[7,6],\"token_idx\":0,\"req_id\":\"b\"}\n";
  TraceStatsStream s("inline", 2);
  s.feed(text.data(), text.size());
  expect_same(trace_stats(parse_trace(text, "inline"), 2), s.finish(), "no meta");
  const std::string again =
      text + "{\"layer\":0,\"experts\":[2,3],\"token_idx\":1,\"req_id\":\"a\"}\n";
  TraceStatsStream a2("inline", 2);
  a2.feed(again.data(), again.size());
  expect_same(trace_stats(parse_trace(again, "inline"), 2), a2.finish(), "second pass");
  EXPECT_EQ(parse_trace(again, "inline").passes, 2);
  const std::string dup =
      "{\"layer\":0,\"experts\":[0,1],\"token_idx\":0,\"pass\":3}\n"
      "{\"layer\":0,\"experts\":[1,0],\"token_idx\":1,\"pass\":3}\n"
      "{\"layer\":0,\"experts\":[5,7],\"token_idx\":2,\"pass\":4}\n"
      "{\"layer\":0,\"experts\":[7,6],\"token_idx\":0,\"pass\":5}\n"
      "{\"layer\":0,\"experts\":[2,3],\"token_idx\":0,\"pass\":5}\n";
  for (int reader = 0; reader < 2; ++reader) {
    try {
      if (reader == 0) {
        (void)parse_trace(dup, "inline");
      } else {
        TraceStatsStream d("inline", 2);
        d.feed(dup.data(), dup.size());
        (void)d.finish();
      }
      ADD_FAILURE() << "duplicate accepted by reader " << reader;
    } catch (const llmgps::InputError& e) {
      EXPECT_EQ(e.where(), "inline:5") << reader;
      EXPECT_NE(std::string(e.what()).find(
                    "duplicate record for token 0 of sequence '' in layer 0 (pass 2)"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(TraceStream, ChunkBoundariesDoNotMatter) {
  const std::string text =
      "{\"type\":\"meta\",\"num_experts\":4}\n{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n\n"
      "{\"layer\":1,\"experts\":[3,0],\"token_idx\":0}\n{\"layer\":0,\"experts\":[1,3],\"token_"
      "idx\":1}";
  TraceStatsStream whole("t", 1);
  whole.feed(text.data(), text.size());
  const TraceStats w = whole.finish();
  for (std::size_t step : {1u, 2u, 7u, 33u}) {
    TraceStatsStream parts("t", 1);
    for (std::size_t at = 0; at < text.size(); at += step)
      parts.feed(text.data() + at, std::min(step, text.size() - at));
    const TraceStats p = parts.finish();
    EXPECT_EQ(p.records, 3u);
    EXPECT_EQ(p.experts, 4);
    EXPECT_DOUBLE_EQ(p.batch_skew_mean, w.batch_skew_mean) << step;
    EXPECT_EQ(p.per_layer[0].shares, w.per_layer[0].shares);
  }
}

TEST(TraceStream, AByteOrderMarkIsNotPartOfTheFirstRecord) {
  const std::string text =
      "\xEF\xBB\xBF{\"type\":\"meta\",\"num_experts\":4}\n{\"layer\":0,\"experts\":[1,2],"
      "\"token_idx\":0}\n";
  for (std::size_t step : {1u, 64u}) {  // the mark split over chunks, and whole
    TraceStatsStream s("bom.jsonl", 1);
    for (std::size_t at = 0; at < text.size(); at += step)
      s.feed(text.data() + at, std::min(step, text.size() - at));
    EXPECT_EQ(s.finish().experts, 4) << step;
  }
  EXPECT_EQ(parse_trace(text, "bom.jsonl").experts, 4);  // the in-memory reader too
}

TEST(TraceStream, BadLinesNameTheLineAcrossChunks) {
  const std::string text =
      "{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n{\"layer\":0,\"experts\":[1,2],\"tok";
  TraceStatsStream s("big.jsonl", 8);
  s.feed(text.data(), 50);
  s.feed(text.data() + 50, text.size() - 50);
  try {
    s.finish();
    FAIL() << "no error";
  } catch (const llmgps::InputError& e) {
    EXPECT_EQ(e.where(), "big.jsonl:2");
  }
  EXPECT_THROW(stream_trace_stats("/nonexistent.jsonl", 8), llmgps::InputError);
}

// A gigabyte of routing records streamed from a generator (128 MB under the sanitizers, which
// slow generation tenfold): memory stays bounded by the counts.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::size_t kStreamBytes = std::size_t(1) << 27;
#else
constexpr std::size_t kStreamBytes = std::size_t(1) << 30;
#endif
TEST(TraceStream, GigabyteFromAGeneratorInBoundedMemory) {
  TraceStatsStream s("generated", 512);
  std::string chunk;
  std::uint64_t x = 1;
  const long rss_before = max_rss_kb();
  std::size_t token = 0;
  while (s.bytes() < kStreamBytes) {
    chunk.clear();
    for (int i = 0; i < 20000; ++i, ++token)
      for (int l = 0; l < 4; ++l) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        const int a = int(x >> 61), b = (a + 1 + int((x >> 40) % 7)) % 8;
        fmt::format_to(std::back_inserter(chunk),
                       "{{\"req_id\": \"r{}\", \"layer\": {}, \"token_idx\": {}, \"experts\": [{}, "
                       "{}], \"gating_probs\": [0.6, 0.4]}}\n",
                       token / 4096, l, token % 4096, a, b);
      }
    s.feed(chunk.data(), chunk.size());
  }
  const TraceStats st = s.finish();
  const long growth_mb = (max_rss_kb() - rss_before) / 1024;
  EXPECT_EQ(st.layers, 4);
  EXPECT_EQ(st.experts, 8);
  EXPECT_GT(st.records, kStreamBytes / 128);
  EXPECT_LT(growth_mb, 64) << "peak RSS grew by " << growth_mb << " MB for "
                           << s.bytes() / (1 << 20) << " MB of trace";
}
