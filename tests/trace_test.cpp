#include "llmgps/moe/trace.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

using namespace llmgps::moe;

namespace {
std::string where_of(const std::string& text, const TraceLoadOptions& opt = {}) {
  try {
    parse_trace(text, "t.jsonl", opt);
  } catch (const llmgps::InputError& e) {
    return std::string(e.what());
  }
  return "no error";
}
}  // namespace

TEST(Trace, ReadsMixtralShapeAndKeepsTokensBySequenceAndPosition) {
  const std::string text =
      "{\"dataset\": \"g\", \"problem_id\": 0, \"layer\": 0, \"experts\": [7, 0], "
      "\"gating_probs\": [0.8, 0.2], \"token_idx\": 0}\n"
      "{\"problem_id\": 0, \"layer\": 1, \"experts\": [1, 2], \"token_idx\": 0}\n"
      "{\"problem_id\": 1, \"layer\": 0, \"experts\": [3, 4], \"token_idx\": 0}\n"
      "\n"
      "{\"problem_id\": 0, \"layer\": 0, \"experts\": [5, 6], \"token_idx\": 1}\n";
  const RoutingTrace tr = parse_trace(text, "t.jsonl");
  EXPECT_EQ(tr.layers, 2);
  EXPECT_EQ(tr.experts, 8);
  EXPECT_EQ(tr.top_k, 2);
  ASSERT_EQ(tr.num_tokens(), 3u);
  EXPECT_EQ(tr.records(), 4u);
  EXPECT_EQ(tr.route(0, 0)[0], 7);
  EXPECT_EQ(tr.route(0, 1)[1], 2);
  EXPECT_EQ(tr.tokens[1].seq, 1);
  EXPECT_FALSE(tr.has(1, 1));  // missing record stays absent
  EXPECT_EQ(tr.route(2, 0)[0], 5);
}

TEST(Trace, ReadsVllmLoggerShapeWithMetaRecord) {
  const std::string text =
      "{\"type\": \"meta\", \"num_experts\": 16, \"model\": \"x\"}\n"
      "{\"req_id\": \"a\", \"layer\": 0, \"token_pos\": 0, \"topk_ids\": [1, 2], \"topk_weights\": "
      "[0.6, 0.4]}\n"
      "{\"req_id\": \"b\", \"layer\": 0, \"token_pos\": 0, \"topk_ids\": [3, 4]}\n";
  const RoutingTrace tr = parse_trace(text, "v.jsonl");
  EXPECT_EQ(tr.experts, 16);  // from the meta record, not the largest id
  EXPECT_EQ(tr.num_tokens(), 2u);
  EXPECT_EQ(tr.seq_names[1], "b");
}

// A file that logs some model layers (meta layers_logged): the trace's layers are those, in
// order, and trace_to_jsonl writes them back as the model's layer ids.
TEST(Trace, LayersLoggedMapsModelLayersAndRoundTrips) {
  const std::string text =
      "{\"type\": \"meta\", \"layers_logged\": [7, 3], \"top_k\": 2}\n"
      "{\"req_id\": \"r1\", \"layer\": 3, \"token_idx\": 0, \"topk_ids\": [1, 2]}\n"
      "{\"req_id\": \"r1\", \"layer\": 7, \"token_idx\": 0, \"topk_ids\": [0, 2]}\n"
      "{\"req_id\": \"r1\", \"layer\": 3, \"token_idx\": 0, \"topk_ids\": [2, 1]}\n"
      "{\"req_id\": \"r1\", \"layer\": 7, \"token_idx\": 0, \"topk_ids\": [3, 1]}\n";
  const RoutingTrace tr = parse_trace(text, "p.jsonl");
  EXPECT_EQ(tr.layers, 2);
  EXPECT_EQ(tr.layer_ids, (std::vector<int>{3, 7}));
  EXPECT_EQ(tr.passes, 2);
  EXPECT_EQ(tr.route(0, 1)[0], 0);  // model layer 7 is trace layer 1
  const RoutingTrace back = parse_trace(trace_to_jsonl(tr), "back.jsonl");
  EXPECT_EQ(back.layer_ids, tr.layer_ids);
  EXPECT_EQ(back.routes, tr.routes);
  EXPECT_NE(where_of("{\"type\": \"meta\", \"layers_logged\": [3]}\n"
                     "{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n")
                .find("t.jsonl:2: field 'layer': layer 0 is not among the meta record's "
                      "layers_logged [3]"),
            std::string::npos);
  EXPECT_NE(where_of("{\"type\": \"meta\", \"layers_logged\": [3, 4]}\n"
                     "{\"layer\":3,\"experts\":[1,2],\"token_idx\":0}\n")
                .find("layer 4 is in layers_logged but has no records"),
            std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n"
                     "{\"type\": \"meta\", \"layers_logged\": [0]}\n")
                .find("t.jsonl:2: field 'layers_logged' comes after routing records"),
            std::string::npos);
  // A logger that repeats its meta record (each restart) may: the same layers change nothing.
  const RoutingTrace again = parse_trace(
      "{\"type\": \"meta\", \"layers_logged\": [3]}\n"
      "{\"req_id\": \"r1\", \"layer\": 3, \"token_idx\": 0, \"topk_ids\": [1, 2]}\n"
      "{\"type\": \"meta\", \"layers_logged\": [3]}\n"
      "{\"req_id\": \"r1\", \"layer\": 3, \"token_idx\": 0, \"topk_ids\": [2, 0]}\n",
      "again.jsonl");
  EXPECT_EQ(again.passes, 2);
  EXPECT_NE(where_of("{\"type\": \"meta\", \"layers_logged\": [3]}\n"
                     "{\"layer\":3,\"experts\":[1,2],\"token_idx\":0}\n"
                     "{\"type\": \"meta\", \"layers_logged\": [4]}\n")
                .find("t.jsonl:3: field 'layers_logged' differs"),
            std::string::npos);
  EXPECT_NE(where_of("{\"type\": \"meta\", \"top_k\": 3}\n"
                     "{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n")
                .find("t.jsonl:2: field 'experts': 2 experts, but the meta record or earlier "
                      "records have 3"),
            std::string::npos);
}

TEST(Trace, BadLinesNameFileLineAndReason) {
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n{\"layer\":0,\"experts\":[1,"
                     "2],\"token_idx\":\n")
                .find("t.jsonl:2: not valid JSON"),
            std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,9],\"token_idx\":0}\n", {8})
                .find("t.jsonl:1: expert id 9 out of range [0, 8)"),
            std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,-1],\"token_idx\":0}\n")
                .find("t.jsonl:1: expert id -1"),
            std::string::npos);
  EXPECT_NE(
      where_of("{\"layer\":1,\"experts\":[1,2],\"token_idx\":0}\n").find("layer 0 has no records"),
      std::string::npos);
  EXPECT_NE(
      where_of("{\"experts\":[1,2],\"token_idx\":0}\n").find("t.jsonl:1: missing field 'layer'"),
      std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n{\"layer\":0,\"experts\":[1]"
                     ",\"token_idx\":1}\n")
                .find("t.jsonl:2"),
            std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,2],\"token_idx\":0,\"step\":1}\n{\"layer\":0,"
                     "\"experts\":[3,2],\"token_idx\":0,\"step\":1}\n")
                .find("t.jsonl:2: duplicate"),
            std::string::npos);
  EXPECT_NE(where_of("{\"layer\":\"0\",\"experts\":[1,2],\"token_idx\":0}\n")
                .find("'layer' must be an integer"),
            std::string::npos);
  EXPECT_NE(where_of("[1,2]\n").find("must be a JSON object"), std::string::npos);
  EXPECT_NE(where_of("").find("no routing records"), std::string::npos);
  EXPECT_NE(where_of("{\"layer\":0,\"experts\":[1,1],\"token_idx\":0}\n").find("listed twice"),
            std::string::npos);
}

TEST(Trace, LoadsTheRealMixtralTraces) {
  const RoutingTrace tr = load_trace(std::string(LLMGPS_SHARED_DIR) +
                                     "/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl");
  EXPECT_EQ(tr.layers, 32);
  EXPECT_EQ(tr.experts, 8);
  EXPECT_EQ(tr.top_k, 2);
  EXPECT_EQ(tr.records(), 7889u);
  EXPECT_THROW(load_trace("/nonexistent/trace.jsonl"), llmgps::InputError);
}

TEST(Trace, BatchesSliceAndCountsConserveSelections) {
  const RoutingTrace tr = load_trace(std::string(LLMGPS_SHARED_DIR) +
                                     "/data/traces/mixtral-8x7b-humaneval-2problems.jsonl");
  const auto whole = expert_counts(tr);
  std::vector<std::vector<double>> sum(whole.size(), std::vector<double>(whole[0].size(), 0.0));
  for (const TokenRange& r : batches_of(tr, 50)) {
    EXPECT_LE(r.end - r.begin, 50u);
    const auto c = expert_counts(tr, r);
    const RoutingTrace s = slice(tr, r, "part");
    EXPECT_EQ(expert_counts(s), c);
    for (std::size_t l = 0; l < c.size(); ++l)
      for (std::size_t e = 0; e < c[l].size(); ++e) sum[l][e] += c[l][e];
  }
  EXPECT_EQ(sum, whole);  // tokens are conserved across batches
}

TEST(Trace, JsonlWriterRoundTrips) {
  const RoutingTrace tr = load_trace(std::string(LLMGPS_SHARED_DIR) +
                                     "/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl");
  const RoutingTrace back = parse_trace(trace_to_jsonl(tr), "back.jsonl");
  EXPECT_EQ(back.routes, tr.routes);
  EXPECT_EQ(back.experts, tr.experts);
  EXPECT_EQ(back.num_tokens(), tr.num_tokens());
}

// The reader takes records from a simdjson document stream while each sits alone on its line and
// falls back to line-by-line parsing at the first anomaly. Corrupting one line of a real trace
// (1.6 MB: more than one stream batch) in each way must name exactly that line, wherever it is;
// blank and whitespace-only lines change nothing.
TEST(Trace, StreamFastPathNamesTheCorruptedLine) {
  std::ifstream in(std::string(LLMGPS_SHARED_DIR) +
                   "/data/traces/mixtral-8x7b-humaneval-2problems.jsonl");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  ASSERT_GT(lines.size(), 5000u);
  auto join = [](const std::vector<std::string>& v) {
    std::string t;
    for (const auto& l : v) t += l + "\n";
    return t;
  };
  const RoutingTrace clean = parse_trace(join(lines), "t.jsonl");
  const std::vector<std::size_t> at = {
      0, 1, 777, 6000, lines.size() / 2, lines.size() - 2, lines.size() - 1};
  for (std::size_t k : at) {
    const std::string expect = "t.jsonl:" + std::to_string(k + 1) + ":";
    const std::string& line = lines[k];
    const std::string unique =
        "{\"problem_id\": 99, \"layer\": 0, \"experts\": [1, 2], \"token_idx\": 123456}";
    const std::vector<std::pair<const char*, std::string>> bad = {
        {"truncated", line.substr(0, line.size() / 2)},
        {"trailing garbage", line + " x"},
        // A second, otherwise valid record (a token no other line has) on the same line.
        {"two records", line + unique},
        {"two records, space", line + " " + unique},
        {"not an object", "[1, 2]"},
        {"split over two lines",
         line.substr(0, line.find(',') + 1) + "\n" + line.substr(line.find(',') + 1)},
    };
    for (const auto& [what, text] : bad) {
      auto v = lines;
      v[k] = text;
      EXPECT_EQ(where_of(join(v)).rfind(expect, 0), 0u)
          << what << " at line " << k + 1 << ": " << where_of(join(v));
    }
    auto v = lines;
    v.insert(v.begin() + std::ptrdiff_t(k), {"", "   \t"});
    const RoutingTrace spaced = parse_trace(join(v), "t.jsonl");
    EXPECT_EQ(spaced.routes, clean.routes) << k;
  }
}
