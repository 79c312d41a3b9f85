// The `llmgps moe` command-line contract, end to end through the binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

using namespace llmgps::test;

namespace {
const std::string kTraces = std::string(LLMGPS_SHARED_DIR) + "/data/traces/";
const std::string kGsm = kTraces + "mixtral-8x7b-gsm8k-2problems.jsonl";
const std::string kHeval = kTraces + "mixtral-8x7b-humaneval-2problems.jsonl";

nlohmann::json run_json(const std::string& args) {
  const RunResult r = run_cli(args + " --format json");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
  return nlohmann::json::parse(r.out);
}
int lines(const std::string& s) {
  return int(std::count(s.begin(), s.end(), '\n'));
}
}  // namespace

TEST(CmdMoe, StatsContract) {
  const auto j = run_json("moe stats --trace " + kGsm + " --batch-tokens 64");
  for (const char* k : {"layers", "experts", "top_k", "tokens", "skew_mean", "per_layer"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_EQ(j["layers"], 32);
  EXPECT_NEAR(j["skew_mean"].get<double>(), 1.5175, 1e-4);
  for (const char* k : {"layer", "skew", "shares"}) EXPECT_TRUE(j["per_layer"][0].contains(k)) << k;
}

TEST(CmdMoe, PredictContract) {
  const auto j = run_json("moe predict --train " + kGsm + " --test " + kHeval);
  ASSERT_EQ(j["predictors"].size(), 7u);
  for (const auto& p : j["predictors"]) {
    EXPECT_TRUE(p.contains("name"));
    if (p["kind"] == "distribution")
      EXPECT_TRUE(p.contains("error"));
    else
      EXPECT_TRUE(p.contains("accuracy"));
  }
}

TEST(CmdMoe, PredictFromGroupedSharesOfMmluSubjects) {
  const auto j = run_json("moe predict --groups " + std::string(LLMGPS_SHARED_DIR) +
                          "/data/moe/mixtral_mmlu_expert_share_by_subject_layers0_15_31.csv");
  ASSERT_EQ(j["predictors"].size(), 1u);
  EXPECT_NEAR(j["predictors"][0]["error"].get<double>(), 0.1284, 0.0005);
}

TEST(CmdMoe, PlanContractFromLoadsAndTrace) {
  TempDir d;
  write_file(d.file("l.json"),
             "{\"loads\": [[90, 132, 40, 61, 104, 165, 39, 4, 73, 56, 183, 86], "
             "[20, 107, 104, 64, 19, 197, 187, 157, 172, 86, 16, 27]]}");
  const auto j = run_json("moe plan --loads " + d.file("l.json") +
                          " --gpus 8 --slots-per-gpu 2 --nodes 2 --groups 4");
  EXPECT_EQ(j["phy2log"][0], nlohmann::json({5, 6, 5, 7, 8, 4, 3, 4, 10, 9, 10, 2, 0, 1, 11, 1}));
  for (const char* k : {"phy2log", "log2phy", "logcnt", "balancedness"})
    EXPECT_TRUE(j.contains(k)) << k;
  const auto g = run_json("moe plan --trace " + kGsm + " --gpus 4 --slots-per-gpu 3 --algo greedy");
  EXPECT_GE(g["balancedness"].get<double>(), g["balancedness_without_replicas"].get<double>());
}

TEST(CmdMoe, AdviseAndMapContracts) {
  const auto j = run_json(
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --skew 1.39");
  for (const char* k : {"strategies", "recommended", "improvement_vs_best_token"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const auto& s : j["strategies"]) {
    for (const char* k : {"name", "kind", "latency_s", "overhead_s"})
      EXPECT_TRUE(s.contains(k)) << k;
    const std::string kind = s["kind"];
    EXPECT_TRUE(kind == "none" || kind == "distribution" || kind == "token") << kind;
  }
  const auto t = run_json(
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --trace " +
      kHeval + " --train " + kGsm + " --replan-every 4");
  EXPECT_EQ(t["mode"], "trace");
  EXPECT_TRUE(t.contains("closed_form"));
  TempDir d;
  const auto m = run_json(
      "moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,2.0 --links 600,32 "
      "--svg " +
      d.file("m.svg"));
  EXPECT_EQ(m["cells"].size(), 4u);
  const std::string svg = slurp(d.file("m.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
}

TEST(CmdMoe, SynthWritesATraceThatStatsReads) {
  TempDir d;
  const RunResult w =
      run_cli("moe synth --layers 4 --sequences 2 --tokens 500 --skew 1.2,1.5,2,2.5 --out " +
              d.file("s.jsonl"));
  ASSERT_EQ(w.code, 0) << w.err;
  const auto j =
      run_json("moe stats --trace " + d.file("s.jsonl") + " --batch-tokens 0 --transitions");
  EXPECT_EQ(j["layers"], 4);
  EXPECT_NEAR(j["per_layer"][3]["skew"].get<double>(), 2.5, 0.15);
  EXPECT_EQ(j["transitions"].size(), 3u);
  const RunResult bad = run_cli("moe synth --skew 9 --out " + d.file("x.jsonl"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_FALSE(std::filesystem::exists(d.file("x.jsonl")));
}

TEST(CmdMoe, BadInputOneLineExitTwo) {
  TempDir d;
  write_file(d.file("bad.jsonl"),
             "{\"layer\":0,\"experts\":[1,2],\"token_idx\":0}\n{\"layer\":0,\"experts\":[1,2],"
             "\"token_idx\"\n");
  write_file(d.file("range.jsonl"), "{\"layer\":0,\"experts\":[1,20],\"token_idx\":0}\n");
  write_file(d.file("gap.jsonl"), "{\"layer\":1,\"experts\":[1,2],\"token_idx\":0}\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"moe stats --trace " + d.file("bad.jsonl"), "bad.jsonl:2"},
      {"moe stats --trace " + d.file("gap.jsonl"), "layer 0 has no records"},
      {"moe stats --trace " + d.file("range.jsonl") + " --experts 8",
       "range.jsonl:1: expert id 20"},
      {"moe stats --trace /nonexistent.jsonl", "/nonexistent.jsonl"},
      {"moe plan --trace " + kGsm + " --gpus 3 --slots-per-gpu 3 --algo greedy", "--gpus"},
      {"moe plan --trace " + kGsm + " --gpus 4 --slots-per-gpu 1", "--slots-per-gpu"},
      {"moe plan --gpus 4 --slots-per-gpu 2", "--trace/--loads"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 9", "--skew"},
      {"moe advise --model llama2-7b --system 4x-a100-nvlink3 --skew 1.4", "--model"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --link-gbps -5",
       "--link-gbps"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --layout pp",
       "--layout"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3", "--skew/--shares/--trace"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --predictors nope",
       "--predictors"},
      {"moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,x --links 32", "--skews"},
      {"moe predict --train " + kGsm + " --test " + d.file("range.jsonl"), "range.jsonl"},
  };
  for (const auto& [args, needle] : cases) {
    const RunResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  }
}
