// The `llmgps moe` command-line contract, end to end through the binary.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

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
  const auto j = run_json("moe stats --routing-trace " + kGsm + " --batch-tokens 64");
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
  const auto g =
      run_json("moe plan --routing-trace " + kGsm + " --gpus 4 --slots-per-gpu 3 --algo greedy");
  EXPECT_GE(g["balancedness"].get<double>(), g["balancedness_without_replicas"].get<double>());
}

TEST(CmdMoe, AdviseAndMapContracts) {
  const auto j = run_json(
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --skew 1.39");
  for (const char* k : {"strategies", "recommended", "improvement_vs_best_token"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const auto& s : j["strategies"]) {
    for (const char* k : {"name", "kind", "latency_s", "band_s", "overhead_s"})
      EXPECT_TRUE(s.contains(k)) << k;
    const std::string kind = s["kind"];
    EXPECT_TRUE(kind == "none" || kind == "distribution" || kind == "token") << kind;
    EXPECT_GT(s["band_s"].get<double>(), 0.0);
  }
  // The paper's setting under the default model: a tie, or a winner whose margin exceeds both
  // bands; the JSON says which.
  auto check_verdict = [](const nlohmann::json& v) {
    const double gap =
        v["runner_up"]["latency_s"].get<double>() - v["fastest"]["latency_s"].get<double>();
    const double bands =
        v["fastest"]["band_s"].get<double>() + v["runner_up"]["band_s"].get<double>();
    if (v["recommended"] == "tie") {
      EXPECT_LE(gap, bands);
      EXPECT_EQ(v["tied"].size(), 2u);
      EXPECT_NE(v["verdict_basis"].get<std::string>().find("tie"), std::string::npos);
    } else {
      EXPECT_GT(gap, bands);
      EXPECT_EQ(v["tied"].size(), 0u);
      EXPECT_EQ(v["recommended"], v["fastest"]["kind"]);
      EXPECT_NE(v["verdict_basis"].get<std::string>().find("margin exceeds"), std::string::npos);
    }
  };
  check_verdict(j);
  EXPECT_EQ(j["recommended"], "tie");  // none and Distribution-Only: no replica pays here
  // Under the paper's assumptions Distribution-Only is fastest, 10.6% ahead of no duplication:
  // within the two bands (about 6% each on A100, whose all-reduce model is 36% off), so a tie.
  const auto p = run_json(
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --skew 1.39 "
      "--layout paper --expert-time linear --error-cap off --predictors predictors-paper-mmlu");
  check_verdict(p);
  EXPECT_EQ(p["fastest"]["kind"], "distribution");
  // Trace mode: one answer (the trace-driven one); the closed form is a labelled cross-check.
  const std::string trace_args =
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 "
      "--routing-trace " +
      kHeval + " --train " + kGsm + " --replan-every 4";
  const auto t = run_json(trace_args);
  EXPECT_EQ(t["mode"], "trace");
  check_verdict(t);
  ASSERT_TRUE(t.contains("cross_check"));
  EXPECT_FALSE(t.contains("closed_form"));
  EXPECT_NE(t["cross_check"]["role"].get<std::string>().find("cross-check"), std::string::npos);
  const std::string table = run_cli(trace_args).out;
  std::size_t recommended = 0;
  for (std::size_t at = table.find("\nrecommended:"); at != std::string::npos;
       at = table.find("\nrecommended:", at + 1))
    ++recommended;
  EXPECT_EQ(recommended, 1u) << table;
  EXPECT_NE(table.find("cross-check verdict:"), std::string::npos);
  TempDir d;
  const auto m = run_json(
      "moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,2.0 --links-gb-per-s "
      "600,32 "
      "--svg " +
      d.file("m.svg"));
  EXPECT_EQ(m["cells"].size(), 4u);
  const std::string svg = slurp(d.file("m.svg"));
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  // Ties are drawn (split cells labelled "tie: a/b") and named in the JSON.
  int ties = 0;
  for (const auto& c : m["cells"])
    if (c["winner"] == "tie") {
      ++ties;
      EXPECT_FALSE(c["tied_with"].get<std::string>().empty());
    }
  EXPECT_GT(ties, 0);
  // Ties hatched (a pattern over the fastest kind's fill) and labelled; the paper's names in the
  // legend; the settings in the title; a viewBox; dark text (no white text on light fills).
  EXPECT_NE(svg.find(">tie<"), std::string::npos);
  EXPECT_NE(svg.find("url(#tie-"), std::string::npos);
  for (const char* name : {"No duplication", "Distribution-Only", "Token-to-Expert"})
    EXPECT_NE(svg.find(name), std::string::npos) << name;
  EXPECT_NE(svg.find("viewBox=\"0 0 "), std::string::npos);
  EXPECT_NE(svg.find("layout vllm-tp"), std::string::npos);
  EXPECT_EQ(svg.find("fill=\"white\">"), std::string::npos);
}

TEST(CmdMoe, SynthWritesATraceThatStatsReads) {
  TempDir d;
  const RunResult w =
      run_cli("moe synth --layers 4 --sequences 2 --tokens 500 --skew 1.2,1.5,2,2.5 --out " +
              d.file("s.jsonl"));
  ASSERT_EQ(w.code, 0) << w.err;
  const auto j = run_json("moe stats --routing-trace " + d.file("s.jsonl") +
                          " --batch-tokens 0 --transitions");
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
      {"moe stats --routing-trace " + d.file("bad.jsonl"), "bad.jsonl:2"},
      {"moe stats --routing-trace " + d.file("gap.jsonl"), "layer 0 has no records"},
      {"moe stats --routing-trace " + d.file("range.jsonl") + " --experts 8",
       "range.jsonl:1: expert id 20"},
      {"moe stats --routing-trace /nonexistent.jsonl", "/nonexistent.jsonl"},
      {"moe plan --routing-trace " + kGsm + " --gpus 9 --slots-per-gpu 3 --algo greedy", "--gpus"},
      {"moe plan --routing-trace " + kGsm + " --gpus 4 --slots-per-gpu 1", "--slots-per-gpu"},
      {"moe plan --gpus 4 --slots-per-gpu 2", "--routing-trace/--loads"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 9", "--skew"},
      {"moe advise --model llama2-7b --system 4x-a100-nvlink3 --skew 1.4", "--model"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --link-gb-per-s -5",
       "--link-gb-per-s"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --layout pp",
       "--layout"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3",
       "--skew/--shares/--routing-trace"},
      {"moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4 --predictors nope",
       "--predictors"},
      {"moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,x --links-gb-per-s 32",
       "--skews"},
      {"moe predict --train " + kGsm + " --test " + d.file("range.jsonl"), "range.jsonl"},
  };
  for (const auto& [args, needle] : cases) {
    const RunResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(lines(r.err), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  }
}

namespace {
// A reader of SGLang's --init-expert-location JSON written from its format
// (sgl-project/sglang python/sglang/srt/eplb/expert_location.py): the only key is
// physical_to_logical_map, [layer][physical slot] -> logical expert, every slot filled, the slot
// count divisible by the EP size; SGLang then lists each logical expert's physical slots in slot
// order (logical_to_all_physical_map).
struct SglangLocation {
  std::vector<std::vector<std::vector<int>>> logical_to_all_physical;
};
SglangLocation read_sglang(const nlohmann::json& j, int experts, int ep_size) {
  SglangLocation loc;
  EXPECT_EQ(j.size(), 1u);
  const auto& map = j.at("physical_to_logical_map");
  for (const auto& layer : map) {
    EXPECT_EQ(layer.size() % std::size_t(ep_size), 0u);
    std::vector<std::vector<int>> all(static_cast<std::size_t>(experts));
    for (std::size_t s = 0; s < layer.size(); ++s) {
      const int e = layer[s];
      EXPECT_GE(e, 0);
      EXPECT_LT(e, experts);
      if (e >= 0 && e < experts) all[std::size_t(e)].push_back(int(s));
    }
    for (const auto& slots : all) EXPECT_FALSE(slots.empty());
    loc.logical_to_all_physical.push_back(all);
  }
  return loc;
}
}  // namespace

// A DeepSeek-V3-shaped plan (58 layers, 256 experts, 288 slots, 32 GPUs, 4 nodes, 8 groups) goes
// to SGLang and back: same placement, every expert's slots as the plan lists them; both files stay
// small (matrices one row per line).
TEST(CmdMoe, PlanForSglangRoundTripsAndStaysSmall) {
  TempDir d;
  std::mt19937 mt(7);
  std::lognormal_distribution<double> lognormal(0.0, 1.0);
  nlohmann::json loads = nlohmann::json::array();
  for (int l = 0; l < 58; ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (int e = 0; e < 256; ++e) row.push_back(std::round(1000 * lognormal(mt)));
    loads.push_back(row);
  }
  write_file(d.file("l.json"), nlohmann::json({{"loads", loads}}).dump());
  const std::string args =
      "moe plan --loads " + d.file("l.json") + " --gpus 32 --slots-per-gpu 9 --nodes 4 --groups 8";
  const RunResult js = run_cli(args + " --format json --out " + d.file("plan.json"));
  const RunResult sg = run_cli(args + " --format sglang --out " + d.file("sglang.json"));
  ASSERT_EQ(js.code, 0) << js.err;
  ASSERT_EQ(sg.code, 0) << sg.err;
  const std::string plan_text = slurp(d.file("plan.json")),
                    sglang_text = slurp(d.file("sglang.json"));
  EXPECT_LT(plan_text.size(), 1500000u);
  EXPECT_LT(sglang_text.size(), 1500000u);
  EXPECT_EQ(count_lines(sglang_text), 58 + 4);  // {, key, one line per layer, ], }
  const auto plan = nlohmann::json::parse(plan_text);
  const SglangLocation loc = read_sglang(nlohmann::json::parse(sglang_text), 256, 32);
  ASSERT_EQ(loc.logical_to_all_physical.size(), 58u);
  for (std::size_t l = 0; l < 58; ++l)
    for (std::size_t e = 0; e < 256; ++e) {
      std::vector<int> ours = plan["log2phy"][l][e];
      std::sort(ours.begin(), ours.end());
      EXPECT_EQ(ours, loc.logical_to_all_physical[l][e]) << l << " " << e;
      EXPECT_EQ(int(plan["logcnt"][l][e]), int(ours.size()));
    }
}

TEST(CmdMoe, SglangPlanOfAModelWithDenseLayersHasARowPerLayer) {
  // SGLang's DeepSeek-V3 location has num_hidden_layers (61) rows, indexed by layer id: the 58
  // MoE layers' plans land on layers 3-60, and a 61-row expert-distribution record is taken.
  TempDir d;
  nlohmann::json moe_rows = nlohmann::json::array(), all_rows = nlohmann::json::array();
  for (int l = 0; l < 61; ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (int e = 0; e < 256; ++e) row.push_back(l < 3 ? 0 : 1 + (e * 7 + l) % 13);
    all_rows.push_back(row);
    if (l >= 3) moe_rows.push_back(row);
  }
  write_file(d.file("moe.json"), nlohmann::json({{"loads", moe_rows}}).dump());
  write_file(d.file("all.json"), nlohmann::json({{"logical_count", all_rows}}).dump());
  const std::string tail = " --gpus 32 --slots-per-gpu 9 --nodes 4 --groups 8 --model deepseek-v3";
  const RunResult js = run_cli("moe plan --loads " + d.file("moe.json") + tail + " --format json");
  const RunResult sg =
      run_cli("moe plan --loads " + d.file("moe.json") + tail + " --format sglang");
  const RunResult all =
      run_cli("moe plan --loads " + d.file("all.json") + tail + " --format sglang");
  ASSERT_EQ(js.code, 0) << js.err;
  ASSERT_EQ(sg.code, 0) << sg.err;
  ASSERT_EQ(all.code, 0) << all.err;
  const auto plan = nlohmann::json::parse(js.out)["phy2log"];
  const auto map = nlohmann::json::parse(sg.out)["physical_to_logical_map"];
  ASSERT_EQ(plan.size(), 58u);
  ASSERT_EQ(map.size(), 61u);
  for (std::size_t l = 0; l < 58; ++l) EXPECT_EQ(map[l + 3], plan[l]) << l;
  for (std::size_t s = 0; s < 288; ++s) EXPECT_EQ(int(map[0][s]), int(s % 256));  // dense
  EXPECT_EQ(nlohmann::json::parse(all.out)["physical_to_logical_map"].size(), 61u);
  EXPECT_EQ(read_sglang(nlohmann::json::parse(sg.out), 256, 32).logical_to_all_physical.size(),
            61u);
}

// SGLang's expert-distribution record as loads: logical_count [layer][expert], or per pass
// [pass][layer][expert] summed over the passes.
TEST(CmdMoe, PlanTakesSglangLogicalCount) {
  TempDir d;
  write_file(d.file("sum.json"), "{\"loads\": [[3, 1, 4, 1], [5, 9, 2, 6]]}");
  write_file(d.file("count.json"),
             "{\"logical_count\": [[[1, 1, 4, 0], [5, 0, 2, 6]], [[2, 0, 0, 1], [0, 9, 0, 0]]]}");
  write_file(d.file("count2.json"), "{\"logical_count\": [[3, 1, 4, 1], [5, 9, 2, 6]]}");
  const std::string opts = " --gpus 2 --slots-per-gpu 3";
  const auto a = run_json("moe plan --loads " + d.file("sum.json") + opts);
  EXPECT_EQ(a, run_json("moe plan --loads " + d.file("count.json") + opts));
  EXPECT_EQ(a, run_json("moe plan --loads " + d.file("count2.json") + opts));
  write_file(d.file("bad.json"),
             "{\"logical_count\": [[[1, 1, 4, 0], [5, 0, 2, 6]], [[2, 0, 0, 1]]]}");
  const RunResult r = run_cli("moe plan --loads " + d.file("bad.json") + opts);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("logical_count[1]"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("has 1 layers"), std::string::npos) << r.err;
}

// Experts that do not divide the GPUs (Qwen1.5-MoE's 60 on 8): advise places them contiguously,
// four GPUs holding 8 and four holding 7, like estimate; its no-duplication strategy matches the
// estimate within 1%; the greedy planner starts from the same placement.
TEST(CmdMoe, AdviseAndPlanTakeExpertsThatDoNotDivideTheGpus) {
  const std::string setup =
      " --model qwen1.5-moe-a2.7b --system 8x-h100-nvlink4 --batch 1 --seq 512";
  const auto adv = run_json("moe advise" + setup + " --skew 1.0");
  // No predictor set was measured on Qwen routing: the closed form's own, said so.
  EXPECT_EQ(adv["predictors"], "closed-form");
  ASSERT_EQ(adv["notes"].size(), 1u);
  EXPECT_NE(adv["notes"][0].get<std::string>().find("no predictors measured for qwen1.5-moe-a2.7b"),
            std::string::npos);
  const auto est = run_json("estimate" + setup);
  double none = -1;
  for (const auto& s : adv["strategies"])
    if (s["name"] == "none") none = s["latency_s"];
  ASSERT_GT(none, 0);
  EXPECT_NEAR(none / est["total_s"].get<double>(), 1.0, 0.01);
  TempDir d;
  nlohmann::json loads = nlohmann::json::array();
  for (int l = 0; l < 2; ++l) {
    nlohmann::json row = nlohmann::json::array();
    for (int e = 0; e < 60; ++e) row.push_back(e == 3 ? 500 : 10 + e % 7);
    loads.push_back(row);
  }
  write_file(d.file("l.json"), nlohmann::json({{"loads", loads}}).dump());
  const auto g = run_json("moe plan --loads " + d.file("l.json") +
                          " --gpus 8 --slots-per-gpu 9 --algo greedy");
  EXPECT_GT(g["balancedness"].get<double>(), g["balancedness_without_replicas"].get<double>());
  for (const auto& row : g["logcnt"])
    for (const auto& c : row) EXPECT_GE(c.get<int>(), 1);
}

namespace {
// A trace of the exact shape vLLM's expert logger writes: a meta record (model, layers_logged,
// top_k), req_id "r1" on every record, token_idx restarting at every forward pass, and a profiling
// warm-up of `warmup` identical records first. Routing after it: top-4 of 60 with a few popular
// experts, from a fixed seed.
std::string vllm_logger_trace(int warmup, int passes, int tokens_per_pass, int layer) {
  std::string out =
      "{\"type\": \"meta\", \"model_id\": \"Qwen/Qwen1.5-MoE-A2.7B-Chat\", \"vllm_version\": "
      "\"0.16.0\", \"layers_logged\": [" +
      std::to_string(layer) + "], \"top_k\": 4}\n";
  auto record = [&](int idx, const std::vector<int>& ids) {
    out += "{\"type\": \"route\", \"req_id\": \"r1\", \"token_idx\": " + std::to_string(idx) +
           ", \"layer\": " + std::to_string(layer) + ", \"topk_ids\": [" + std::to_string(ids[0]) +
           ", " + std::to_string(ids[1]) + ", " + std::to_string(ids[2]) + ", " +
           std::to_string(ids[3]) + "], \"topk_weights\": [0.1, 0.05, 0.04, 0.03]}\n";
  };
  for (int i = 0; i < warmup; ++i) record(i, {43, 5, 7, 58});
  std::mt19937 rng(7);
  std::vector<double> w(60, 1.0);
  w[3] = 6, w[17] = 4, w[42] = 3;
  std::discrete_distribution<int> pick(w.begin(), w.end());
  for (int p = 0; p < passes; ++p)
    for (int t = 0; t < tokens_per_pass; ++t) {
      std::vector<int> ids;
      while (ids.size() < 4) {
        const int e = pick(rng);
        if (std::find(ids.begin(), ids.end(), e) == ids.end()) ids.push_back(e);
      }
      record(t, ids);
    }
  return out;
}
}  // namespace

TEST(CmdMoe, VllmLoggerShapedTracePassesThroughEveryCommand) {
  TempDir d;
  const std::string f = d.file("vllm.jsonl");
  write_file(f, vllm_logger_trace(4000, 48, 96, 5));
  for (const char* mode : {"", " --stream"}) {
    const auto s = run_json("moe stats --routing-trace " + f + mode);
    EXPECT_EQ(s["warmup_records"], 4000) << mode;
    EXPECT_EQ(s["records"], 48 * 96) << mode;
    EXPECT_EQ(s["tokens"], 48 * 96) << mode;
    EXPECT_EQ(s["layers"], 1) << mode;
    EXPECT_EQ(s["layers_logged"], nlohmann::json::array({5})) << mode;
    EXPECT_EQ(s["per_layer"][0]["layer"], 5) << mode;
    EXPECT_LT(s["skew_mean"].get<double>(), 5.0) << mode;  // the warm-up alone would give 15
  }
  const auto kept = run_json("moe stats --keep-warmup --routing-trace " + f);
  EXPECT_EQ(kept["warmup_records"], 0);
  EXPECT_EQ(kept["records"], 4000 + 48 * 96);

  const auto pr = run_json("moe predict --train " + f + " --test " + f);
  EXPECT_EQ(pr["train_warmup_records"], 4000);
  EXPECT_EQ(pr["test_warmup_records"], 4000);
  EXPECT_EQ(pr["predictors"].size(), 7u);

  const auto pl =
      run_json("moe plan --routing-trace " + f + " --gpus 8 --slots-per-gpu 9 --algo greedy");
  EXPECT_EQ(pl["warmup_records"], 4000);
  EXPECT_EQ(pl["layers"], nlohmann::json::array({5}));
  EXPECT_EQ(pl["phy2log"].size(), 1u);
  const RunResult sg =
      run_cli("moe plan --routing-trace " + f + " --gpus 8 --slots-per-gpu 9 --format sglang");
  EXPECT_EQ(sg.code, 2);
  EXPECT_NE(sg.err.find("layers_logged"), std::string::npos) << sg.err;

  const auto adv = run_json(
      "moe advise --model qwen1.5-moe-a2.7b --system 8x-h100-nvlink4 "
      "--batch 4 --seq 512 --trace " +
      f);
  EXPECT_EQ(adv["warmup_records"], 4000);
  // Trained on the first half of the forward passes, scored on the rest.
  EXPECT_NE(adv["predictors"].get<std::string>().find("first 24 of 48 passes"), std::string::npos)
      << adv["predictors"];
  ASSERT_EQ(adv["notes"].size(), 1u);
  EXPECT_NE(adv["notes"][0].get<std::string>().find("1 of the model's 24 MoE layers"),
            std::string::npos)
      << adv["notes"][0];
  // The step charges the mean logged layer once per MoE layer: latency = 24 x per-layer total
  // + the step's other layers, for every strategy.
  for (const auto& s : adv["strategies"]) {
    EXPECT_GT(s["latency_s"].get<double>(), 24 * s["per_layer"]["total_s"].get<double>());
  }
  EXPECT_TRUE(adv.contains("cross_check"));
}

TEST(CmdMoe, PartialTraceBadInputsNameLineAndField) {
  TempDir d;
  // A layer id beyond layers_logged.
  std::string t = vllm_logger_trace(0, 2, 8, 0);
  t += "{\"req_id\": \"r1\", \"token_idx\": 8, \"layer\": 3, \"topk_ids\": [1, 2, 3, 4]}\n";
  write_file(d.file("a.jsonl"), t);
  RunResult r = run_cli("moe stats --routing-trace " + d.file("a.jsonl"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("a.jsonl:18"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field 'layer'"), std::string::npos) << r.err;
  r = run_cli("moe stats --stream --routing-trace " + d.file("a.jsonl"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("a.jsonl:18"), std::string::npos) << r.err;
  // Passes that disagree on top-k: the second pass logs three experts per token.
  std::string u = vllm_logger_trace(0, 1, 8, 0);
  u += "{\"req_id\": \"r1\", \"token_idx\": 0, \"layer\": 0, \"topk_ids\": [1, 2, 3]}\n";
  write_file(d.file("b.jsonl"), u);
  r = run_cli("moe stats --routing-trace " + d.file("b.jsonl"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("b.jsonl:10"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("field 'topk_ids'"), std::string::npos) << r.err;
  // A logged layer the model does not have.
  write_file(d.file("c.jsonl"), vllm_logger_trace(0, 4, 32, 30));
  r = run_cli("moe advise --model qwen1.5-moe-a2.7b --system 8x-h100-nvlink4 --routing-trace " +
              d.file("c.jsonl"));
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("layers_logged names layer 30"), std::string::npos) << r.err;
}

// Issue 15: a synthetic trace whose measured skew misses the target says so and why (few
// selections per expert), instead of running silently.
TEST(CmdMoe, SynthWarnsWhenTheMeasuredSkewMissesTheTarget) {
  TempDir d;
  const RunResult few =
      run_cli("moe synth --layers 1 --experts 256 --top-k 8 --tokens 64 --skew 2 --out " +
              d.file("f.jsonl"));
  ASSERT_EQ(few.code, 0) << few.err;
  EXPECT_NE(few.err.find("llmgps: warning: synth: layer 0: measured skew"), std::string::npos)
      << few.err;
  EXPECT_NE(few.err.find("sampling noise"), std::string::npos) << few.err;
  const RunResult many =
      run_cli("moe synth --layers 2 --tokens 5000 --skew 1.5 --out " + d.file("m.jsonl"));
  ASSERT_EQ(many.code, 0);
  EXPECT_EQ(many.err, "");  // on target: nothing to say
}

// moe advise takes lists (issue 15): one row per point, each the single advice's verdict.
TEST(CmdMoe, AdviseSweepsPhasesBatchesAndSeqs) {
  const std::string base = "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.6";
  const nlohmann::json sweep =
      run_json(base + " --phases prefill,decode --batches 1,16 --seqs 1024");
  ASSERT_EQ(sweep["rows"].size(), 4u);
  const nlohmann::json& last = sweep["rows"][3];
  EXPECT_EQ(last["phase"], "decode");
  EXPECT_EQ(last["batch"], 16);
  const nlohmann::json single = run_json(base + " --phase decode --batch 16 --seq 1024");
  EXPECT_EQ(last["recommended"], single["recommended"]);
  EXPECT_DOUBLE_EQ(last["margin"].get<double>(), single["margin"].get<double>());
  const RunResult csv = run_cli(base + " --batches 1,16 --format csv");
  EXPECT_EQ(csv.code, 0);
  EXPECT_EQ(std::count(csv.out.begin(), csv.out.end(), '\n'), 3);
}

// --cuda-graphs: the step (the predictor's kernels included) is modelled as replayed from CUDA
// graphs; the table says so and the JSON carries it; every strategy gets faster.
TEST(CmdMoe, AdviseWithCudaGraphs) {
  const std::string args =
      "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --skew 1.39";
  const auto eager = run_json(args);
  const auto graphed = run_json(args + " --cuda-graphs");
  EXPECT_EQ(eager["cuda_graphs"], false);
  EXPECT_EQ(graphed["cuda_graphs"], true);
  ASSERT_EQ(eager["strategies"].size(), graphed["strategies"].size());
  for (std::size_t i = 0; i < eager["strategies"].size(); ++i) {
    EXPECT_EQ(eager["strategies"][i]["name"], graphed["strategies"][i]["name"]);
    EXPECT_LT(graphed["strategies"][i]["latency_s"].get<double>(),
              eager["strategies"][i]["latency_s"].get<double>());
  }
  const RunResult table = run_cli(args + " --cuda-graphs");
  EXPECT_NE(table.out.find("launch: CUDA graphs"), std::string::npos) << table.out;
  EXPECT_EQ(run_cli(args).out.find("CUDA graphs"), std::string::npos);
}
