// The flat-record fast path against simdjson: what the scanner accepts, simdjson reads the same;
// what it must not judge (escapes, nesting, non-ASCII, signs, fractions, repeats, trailing text)
// it declines, so simdjson's path reads it and names any error.
#include "../src/moe/trace_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

using namespace llmgps::moe::detail;

TEST(TraceReader, FlatScannerReadsTheRecordShapesLoggersWrite) {
  RawRecord r;
  const std::string vllm =
      R"({"type": "route", "req_id": "r1", "token_idx": 17, "layer": 0, "topk_ids": [43, 5, 7, 58], "topk_weights": [0.0967, 0.0518, 0.0391, 3.67e-2]})";
  ASSERT_TRUE(scan_flat_record(vllm.data(), vllm.size(), r));
  EXPECT_EQ(r.layer, 0);
  EXPECT_EQ(r.pos, 17);
  EXPECT_EQ(r.seq, "r1");
  EXPECT_EQ(r.ids, (std::vector<std::int64_t>{43, 5, 7, 58}));
  EXPECT_STREQ(r.experts_key, "topk_ids");
  EXPECT_FALSE(r.meta);
  const std::string mixtral =
      R"({"dataset": "gsm8k", "problem_id": 0, "layer": 31, "experts": [7, 0], "gating_probs": [0.8, -1E+2], "token_idx": 0, "ok": true, "none": null})";
  ASSERT_TRUE(scan_flat_record(mixtral.data(), mixtral.size(), r));
  EXPECT_EQ(r.seq, "0");  // an integer id is its text
  EXPECT_EQ(r.layer, 31);
  const std::string meta =
      R"(  {"type":"meta","num_experts":60,"layers_logged":[0,3],"top_k":4}  )";
  ASSERT_TRUE(scan_flat_record(meta.data(), meta.size(), r));
  EXPECT_TRUE(r.meta);
  EXPECT_EQ(r.meta_experts, 60);
  EXPECT_EQ(r.logged, (std::vector<std::int64_t>{0, 3}));
}

TEST(TraceReader, FlatScannerDeclinesWhatItMustNotJudge) {
  RawRecord r;
  for (const std::string line : {
           R"({"layer": -1, "experts": [1, 2], "token_idx": 0})",   // a sign: simdjson's error
           R"({"layer": 1.0, "experts": [1, 2], "token_idx": 0})",  // a fraction
           R"({"layer": 01, "experts": [1, 2], "token_idx": 0})",   // a leading zero (invalid)
           R"({"layer": 1, "layer": 2, "experts": [1], "token_idx": 0})",        // a repeated field
           R"({"req_id": "a\"b", "layer": 0, "experts": [1], "token_idx": 0})",  // an escape
           "{\"req_id\": \"\xc3\xa9\", \"layer\": 0, \"experts\": [1], \"token_idx\": 0}",  // UTF-8
           R"({"layer": 0, "experts": [1], "token_idx": 0, "x": {"y": 1}})",  // nesting
           R"({"layer": 0, "experts": [1], "token_idx": 0, "x": [[1]]})",
           R"({"layer": 0, "experts": [1], "token_idx": 0} {"layer": 1})",  // trailing text
           R"({"layer": 0, "experts": [1], "token_idx": 0,})",              // a trailing comma
           R"({"layer": 0, "experts": [1,], "token_idx": 0})",
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": 1.})",  // bad numbers
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": .5})",
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": 1e})",
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": tru})",
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": 0.811E759657859802})",  // overflow
           R"({"layer": 0, "experts": [1], "token_idx": 0, "p": 123456789012345678901234})",
           R"({"layer": 0, "experts": [1], "token_idx": 1234567890123456789})",  // 19 digits
           R"([1, 2])",
           R"({"layer": 0, "experts": [1], "token_idx": 0)",
       }) {
    EXPECT_FALSE(scan_flat_record(line.data(), line.size(), r)) << line;
  }
}
