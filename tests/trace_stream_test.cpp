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

TEST(TraceStream, SameStatisticsAsTheInMemoryReader) {
  const TraceStats a = trace_stats(load_trace(kGsm), 64);
  const TraceStats b = stream_trace_stats(kGsm, 64);
  EXPECT_EQ(a.layers, b.layers);
  EXPECT_EQ(a.experts, b.experts);
  EXPECT_EQ(a.top_k, b.top_k);
  EXPECT_EQ(a.records, b.records);
  EXPECT_EQ(a.sequences, b.sequences);
  EXPECT_DOUBLE_EQ(a.skew_mean, b.skew_mean);
  for (int l = 0; l < a.layers; ++l)
    EXPECT_EQ(a.per_layer[std::size_t(l)].shares, b.per_layer[std::size_t(l)].shares);
  // This file lists each layer's records in token order, so the batches coincide but for the few
  // tokens missing a record (a token batch then holds one record less than a record batch).
  EXPECT_NEAR(a.batch_skew_mean, b.batch_skew_mean, 1e-4);
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
