// The command-line contract and bad-input behaviour, through the real binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "llmgps/specs/presets.hpp"
#include "test_util.hpp"

using llmgps::test::run_cli;
using nlohmann::json;

namespace {
json run_json(const std::string& args) {
  auto r = run_cli(args + " --format json");
  EXPECT_EQ(r.code, 0) << args << "\n" << r.err;
  return json::parse(r.out);
}
// Bad input: exit code 2 and exactly one line on stderr that mentions `needle`.
void expect_bad(const std::string& args, const std::string& needle) {
  auto r = run_cli(args);
  EXPECT_EQ(r.code, 2) << args << "\n" << r.err;
  EXPECT_EQ(llmgps::test::count_lines(r.err), 1) << args << "\n" << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  EXPECT_TRUE(r.out.empty()) << args;
}
}  // namespace

TEST(Cli, HwListAndShow) {
  auto r = run_cli("hw list");
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("h100-sxm5"), std::string::npos);
  json j = run_json("hw show h200-sxm");
  EXPECT_EQ(j["kind"], "gpu");
  EXPECT_EQ(j["hbm_bw_gb_per_s"]["value"], 4800);
}

TEST(Cli, AValueAndItsListExcludeEachOtherInEverySpelling) {
  // --link-gbps is the old spelling of --link-gb-per-s: it too excludes the sweep list.
  for (const char* one : {"--link-gb-per-s 300", "--link-gbps 300"}) {
    const auto r = run_cli(std::string("moe map --model mixtral-8x7b --system 4x-a100-nvlink3 "
                                       "--skews 1.2 --links-gb-per-s 100,200 ") +
                           one);
    EXPECT_EQ(r.code, 2) << one;
    EXPECT_NE(r.err.find("excludes"), std::string::npos) << r.err;
  }
}

TEST(Cli, ModelShowContract) {
  json j = run_json("model show mixtral-8x7b");
  EXPECT_EQ(j["layers"], 32);
  EXPECT_EQ(j["num_experts"], 8);
  EXPECT_EQ(j["top_k"], 2);
  EXPECT_EQ(j["head_dim"], 128);
  json d = run_json("model show llama2-7b");
  EXPECT_EQ(d["num_experts"], 0);
}

TEST(Cli, CostContract) {
  json g = run_json("cost gemm --hw h100-sxm5 --m 4096 --n 4096 --k 4096 --dtype fp16");
  EXPECT_GT(g["time_s"].get<double>(), 0);
  EXPECT_GT(g["tflops"].get<double>(), 100);
  EXPECT_EQ(g["bound"], "tensor");
  json a = run_json(
      "cost attention --hw h100-sxm5 --batch 4 --heads 16 --seq 4096 --head-dim 128 --dtype bf16 "
      "--causal --pass bwd --impl fa3");
  EXPECT_GT(a["time_s"].get<double>(), 0);
  EXPECT_TRUE(a.contains("tflops"));
  EXPECT_TRUE(a.contains("bound"));
  json ar = run_json("cost allreduce --system 4x-a100-nvlink3 --bytes 1048576");
  EXPECT_GT(ar["time_s"].get<double>(), 0);
  json t1 = run_json("cost alltoall --system 4x-a100-nvlink3 --bytes-per-gpu 1e7");
  json t2 = run_json("cost alltoall --system 4x-a100-nvlink3 --bytes-per-gpu 1e7 --skew 2");
  EXPECT_GT(t2["time_s"].get<double>(), t1["time_s"].get<double>());
  // DeepEP: the BF16 combine moves twice the FP8 dispatch's payload (less the scales), over the
  // same routes; the low-latency mode reaches its own node over NVLink, the rest over RDMA, and
  // deepep-ll-rdma sends everything over RDMA.
  json ep = run_json(
      "cost deepep --system 256x-h800-nvlink4-ndr400 --tokens 4096 --hidden 7168 --top-k 8 "
      "--experts 256 --gpus 16");
  EXPECT_EQ(ep["mode"], "deepep-normal");
  EXPECT_GT(ep["combine_time_s"].get<double>(), ep["dispatch_time_s"].get<double>());
  EXPECT_GT(ep["dispatch_rdma_bytes"].get<double>(), 0);
  EXPECT_GT(ep["distinct_nodes_per_token"].get<double>(), 1);
  json ll = run_json(
      "cost deepep --system 256x-h800-nvlink4-ndr400 --tokens 128 --hidden 7168 --top-k 8 "
      "--experts 256 --gpus 16 --mode deepep-ll");
  EXPECT_EQ(ll["dispatch_bound"], "rdma");
  EXPECT_GT(ll["dispatch_nvlink_bytes"].get<double>(), 0);
  json rdma = run_json(
      "cost deepep --system 256x-h800-nvlink4-ndr400 --tokens 128 --hidden 7168 --top-k 8 "
      "--experts 256 --gpus 16 --mode deepep-ll-rdma");
  EXPECT_EQ(rdma["mode"], "deepep-ll-rdma");
  EXPECT_EQ(rdma["dispatch_nvlink_bytes"].get<double>(), 0);
  EXPECT_GT(rdma["dispatch_time_s"].get<double>(), ll["dispatch_time_s"].get<double>());
}

TEST(Cli, EstimateContractAndFormats) {
  const std::string args =
      "estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 1 --seq 512 --phase prefill "
      "--dtype fp16";
  json j = run_json(args);
  EXPECT_GT(j["total_s"].get<double>(), 0);
  ASSERT_TRUE(j["ops"].is_array());
  for (const auto& op : j["ops"]) {
    EXPECT_TRUE(op["name"].is_string());
    EXPECT_TRUE(op["total_s"].is_number());
    EXPECT_TRUE(op["bound"].is_string());
  }
  EXPECT_TRUE(j["memory"]["fits"].get<bool>());
  auto table = run_cli(args);
  EXPECT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("total"), std::string::npos);
  EXPECT_NE(table.out.find("memory per GPU"), std::string::npos);
  auto csv = run_cli(args + " --format csv");
  EXPECT_EQ(csv.out.rfind("model,system,gpu,gpus,phase,batch,seq,dtype", 0), 0u);
}

// The memory cases of issue 15: what cannot fit warns (stderr, JSON) and --strict exits 2.
TEST(Cli, EstimateWarnsWhenTheStepDoesNotFitAndStrictRefuses) {
  const std::string llama =
      "estimate --model llama3-70b --system h100-sxm5 --batch 512 --seq 131072 --phase decode";
  auto r = run_cli(llama);
  EXPECT_EQ(r.code, 0);
  EXPECT_NE(r.err.find("llmgps: warning: memory: needs"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("DOES NOT FIT"), std::string::npos);
  json j = run_json(llama);
  EXPECT_FALSE(j["memory"]["fits"].get<bool>());
  EXPECT_GT(j["memory"]["kv_cache_bytes"].get<double>(), 2e13);  // ~22 TB of KV cache
  EXPECT_NEAR(j["memory"]["weights_bytes"].get<double>(), 141e9, 2e9);
  EXPECT_EQ(j["memory"]["max_batch"].get<std::int64_t>(), 0);  // the weights alone do not fit
  auto strict = run_cli(llama + " --strict");
  EXPECT_EQ(strict.code, 2);
  EXPECT_NE(strict.err.find("llmgps: error: memory: needs"), std::string::npos) << strict.err;
  EXPECT_TRUE(strict.out.empty());

  auto ds = run_cli("estimate --model deepseek-v3 --system 8x-h100-nvlink4 --dtype bf16 --strict");
  EXPECT_EQ(ds.code, 2);
  EXPECT_NE(ds.err.find("memory"), std::string::npos);

  // Mixtral-8x7B in fp16 fits on 4x A100 80GB, not on one; the largest batch is reported.
  json four = run_json("estimate --model mixtral-8x7b --system 4x-a100-nvlink3");
  EXPECT_TRUE(four["memory"]["fits"].get<bool>());
  EXPECT_GT(four["memory"]["max_batch"].get<std::int64_t>(), 1);
  auto one = run_cli("estimate --model mixtral-8x7b --system a100-sxm4-80g --strict");
  EXPECT_EQ(one.code, 2);
  // The same for advice.
  auto advise = run_cli(
      "moe advise --model deepseek-v3 --system 8x-h100-nvlink4 --dtype bf16 --skew 1.5 --strict");
  EXPECT_EQ(advise.code, 2);
  EXPECT_NE(advise.err.find("memory"), std::string::npos);
}

TEST(Cli, EstimateServeNeedsAnOutputLength) {
  auto r = run_cli("estimate --model llama3-8b --system h100-sxm5 --phase serve --prompt 128");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--output"), std::string::npos) << r.err;
  auto s = run_cli("estimate --model llama3-8b --system h100-sxm5 --prompt 128");
  EXPECT_EQ(s.code, 2);
  EXPECT_NE(s.err.find("--prompt"), std::string::npos) << s.err;
}

TEST(Cli, EstimateWritesOutputAndTraceAtomically) {
  llmgps::test::TempDir d;
  auto r = run_cli("estimate --model llama3-8b --system h100-sxm5 --out " + d.file("e.json") +
                   " --format json --trace " + d.file("t.json"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_NO_THROW(json::parse(llmgps::test::slurp(d.file("e.json"))));
  EXPECT_NO_THROW(json::parse(llmgps::test::slurp(d.file("t.json"))));
}

TEST(Cli, HelpEverywhere) {
  for (const char* cmd :
       {"", "hw", "hw list", "hw show", "model show", "cost gemm", "cost attention",
        "cost allreduce", "cost deepep", "cost alltoall", "estimate", "calibrate"}) {
    auto r = run_cli(std::string(cmd) + " --help");
    EXPECT_EQ(r.code, 0) << cmd;
    EXPECT_NE(r.out.find("--help"), std::string::npos) << cmd;
  }
}

TEST(Cli, BadInputOneLineExitTwo) {
  expect_bad("hw show tpu-v9", "tpu-v9");
  expect_bad("model show gpt-9", "gpt-9");
  expect_bad("estimate --model mixtral-8x7b --system nosuch", "--system");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 0", "--batch");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --seq -4", "--seq");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --phase train", "--phase");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --ep 9", "--ep");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --dtype fp8", "fp8");
  expect_bad("cost gemm --hw h100-sxm5 --m 0 --n 1 --k 1", "--m");
  expect_bad("cost gemm --hw h100-sxm5 --m 1 --n 1", "--k");
  expect_bad("cost gemm --hw h100-sxm5 --m x --n 1 --k 1", "--m");
  expect_bad("cost attention --hw a100-sxm4-80g --batch 1 --heads 8 --seq 128 --impl fa3", "fa3");
  expect_bad("cost allreduce --system 4x-a100-nvlink3 --bytes -1", "--bytes");
  expect_bad("cost alltoall --system 4x-a100-nvlink3 --bytes-per-gpu 100 --skew 9", "--skew");
  expect_bad("cost deepep --system 8x-h100-nvlink4 --tokens 8 --hidden 64 --top-k 2 --experts 6",
             "--experts");
  expect_bad(
      "cost deepep --system 8x-h100-nvlink4 --tokens 8 --hidden 64 --top-k 2 --experts 8 "
      "--payload fp16",
      "--payload");
  expect_bad("cost deepep --system 8x-h100-nvlink4 --tokens 0 --hidden 64 --top-k 2 --experts 8",
             "--tokens");
  expect_bad("cost gemm --hw h100-sxm5 --m 1 --n 1 --k 1 --format xml", "--format");
  // Library fields mapped to the options of the command that filled them.
  expect_bad("cost attention --hw h100-sxm5 --batch 1 --heads 8 --kv-heads 3 --seq 128",
             "--kv-heads");
  expect_bad("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --tp 3", "--tp");
  expect_bad("frobnicate", "frobnicate");
}

TEST(Cli, BadFilesNameTheFileAndField) {
  llmgps::test::TempDir d;
  llmgps::test::write_file(d.file("trunc.json"), "{\"kind\": \"gpu\", ");
  expect_bad("hw show " + d.file("trunc.json"), "trunc.json");
  json gpu = json::parse(run_cli("hw show a100-sxm4-80g --format json").out);
  gpu["efficiency"].erase("hbm");
  llmgps::test::write_file(d.file("nohbm.json"), gpu.dump());
  expect_bad("cost gemm --hw " + d.file("nohbm.json") + " --m 1 --n 1 --k 1", "efficiency.hbm");
  llmgps::test::write_file(d.file("config.json"), "{\"hidden_size\": 64}");
  expect_bad("model show " + d.file("config.json"), "num_hidden_layers");
  expect_bad("model show " + d.file("missing.json"), "missing.json");
}

TEST(Cli, FailedRunDoesNotClobberExistingOutput) {
  llmgps::test::TempDir d;
  llmgps::test::write_file(d.file("keep.json"), "precious");
  auto r = run_cli("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --batch 0 --out " +
                   d.file("keep.json"));
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(llmgps::test::slurp(d.file("keep.json")), "precious");
}

TEST(Cli, CalibrateReportsEveryClass) {
  json j = run_json("calibrate --data " + llmgps::test::shared_dir() + "/data/calibration-a100");
  EXPECT_EQ(j["classes"].size(), 7u);
}

TEST(Cli, ValidateLeaveOneSourceOut) {
  const std::string table =
      std::string(LLMGPS_SOURCE_DIR) + "/data/measurements/public-collectives.csv";
  json j = run_json("validate --measurements " + table + " --loso nvls");
  EXPECT_EQ(j["fit"], "nvls");
  EXPECT_EQ(j["fields"].size(), 2u);
  ASSERT_GE(j["held_out"].size(), 2u);
  for (const auto& h : j["held_out"]) {
    EXPECT_GT(h["held_rows"].get<int>(), 0);
    EXPECT_LT(h["held_out_median_abs_error"].get<double>(), 0.5);
  }
  expect_bad("validate --measurements " + table + " --loso everything", "--loso");
}

namespace {

// The section of a help text under `title` ("Options:", "Subcommands:"): its lines' first words
// and second words (an option's type).
std::vector<std::pair<std::string, std::string>> help_entries(const std::string& help,
                                                              const std::string& title) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(help);
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line == title) {
      inside = true;
      continue;
    }
    if (!inside) continue;
    if (line.empty() || line[0] != ' ') {
      inside = false;
      continue;
    }
    std::istringstream words(line);
    std::string first, second;
    words >> first >> second;
    if (!first.empty()) out.emplace_back(first, second);
  }
  return out;
}

// Every leaf command (path of subcommand names) and its numeric options, from the help texts.
void numeric_options(const std::string& path,
                     std::vector<std::pair<std::string, std::string>>& found) {
  const std::string help = run_cli(path + " --help").out;
  const auto subs = help_entries(help, "Subcommands:");
  for (const auto& [name, desc] : subs)
    numeric_options(path.empty() ? name : path + " " + name, found);
  if (!subs.empty()) return;
  for (const auto& [names, type] : help_entries(help, "Options:")) {
    if (type.rfind("INT", 0) != 0 && type.rfind("UINT", 0) != 0 && type.rfind("FLOAT", 0) != 0)
      continue;
    const std::string opt =
        names.substr(names.rfind(',') == std::string::npos ? 0 : names.rfind(',') + 1);
    found.emplace_back(path, opt + (type.rfind("FLOAT", 0) == 0 ? " FLOAT" : " INT"));
  }
}

}  // namespace

// Issue 11: every numeric option of every command rejects overflow, 1e400, nan, inf, trailing
// garbage (and 3.5 for an integer) with exit 2 and one line naming the option.
TEST(Cli, EveryNumericOptionRejectsNonNumbers) {
  std::vector<std::pair<std::string, std::string>> options;
  numeric_options("", options);
  ASSERT_GE(options.size(), 40u);  // cost, estimate, moe, dropout, philox, validate, ...
  for (const auto& [command, spec] : options) {
    const std::string opt = spec.substr(0, spec.find(' '));
    const bool integer = spec.find(" INT") != std::string::npos;
    std::vector<std::string> bad = {"1e400", "nan", "inf", "-inf", "12abc", ""};
    if (integer) {
      bad.push_back("3.5");
      bad.push_back("99999999999999999999999");  // a fine real, an overflowing integer
    }
    for (const auto& value : bad) {
      const auto r = run_cli(command + " " + opt + "='" + value + "'");
      EXPECT_EQ(r.code, 2) << command << " " << opt << " " << value;
      EXPECT_EQ(llmgps::test::count_lines(r.err), 1) << command << " " << opt << " " << value;
      EXPECT_NE(r.err.find(opt), std::string::npos)
          << command << " " << opt << " " << value << ": " << r.err;
    }
  }
}

// ---- One command-line vocabulary (issue 15): each test fails on the behaviour before it ----

TEST(CliVocabulary, ChromeTraceWritesAndRoutingTraceReads) {
  llmgps::test::TempDir d;
  auto e = run_cli("estimate --model llama3-8b --system h100-sxm5 --chrome-trace " +
                   d.file("step.json"));
  EXPECT_EQ(e.code, 0) << e.err;
  EXPECT_TRUE(std::filesystem::exists(d.file("step.json")));
  const std::string trace =
      std::string(LLMGPS_SHARED_DIR) + "/data/traces/mixtral-8x7b-gsm8k-2problems.jsonl";
  auto s = run_cli("moe stats --routing-trace " + trace);
  EXPECT_EQ(s.code, 0) << s.err;
  // The old spelling still works for one release, with a warning naming the new one.
  auto old = run_cli("moe stats --trace " + trace);
  EXPECT_EQ(old.code, 0);
  EXPECT_NE(old.err.find("--trace is now --routing-trace"), std::string::npos) << old.err;
  EXPECT_EQ(old.out, s.out);
  auto missing = run_cli("moe stats");
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("--routing-trace"), std::string::npos) << missing.err;
}

TEST(CliVocabulary, DropoutMaskWritesToOut) {
  llmgps::test::TempDir d;
  auto r = run_cli("dropout mask --seed 1 --batch 1 --heads 2 --seq 64 --p 0.1 --out " +
                   d.file("mask.bin"));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::filesystem::file_size(d.file("mask.bin")), 2u * 64 * 64 / 8);
  auto none = run_cli("dropout mask --seed 1 --batch 1 --heads 2 --seq 64 --p 0.1");
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("--out"), std::string::npos) << none.err;
}

TEST(CliVocabulary, UnitsInOptionNamesAndIntegerRounds) {
  const std::string advise = "moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --skew 1.4";
  json a = run_json(advise + " --link-gb-per-s 50");
  EXPECT_DOUBLE_EQ(a["link_gbps"].get<double>(), 50);
  auto old = run_cli(advise + " --link-gbps 50 --format json");
  EXPECT_EQ(old.code, 0);
  EXPECT_NE(old.err.find("--link-gbps is now --link-gb-per-s"), std::string::npos) << old.err;
  auto map = run_cli(
      "moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2 --links-gb-per-s 50");
  EXPECT_EQ(map.code, 0) << map.err;
  // --rounds is an integer option in philox as in dropout mask.
  for (const char* cmd : {"philox --help", "dropout mask --help"}) {
    auto h = run_cli(cmd);
    const std::size_t at = h.out.find("--rounds");
    ASSERT_NE(at, std::string::npos) << cmd;
    EXPECT_NE(h.out.substr(at, 20).find("INT"), std::string::npos) << cmd << h.out;
  }
}

// One dtype rule (fp8 for FP8-typical work where the GPU has it, else bf16) and one attention
// implementation rule (estimate's).
TEST(CliVocabulary, DefaultsFollowOneRulePerGpu) {
  auto a100 = run_cli("dropout block --model llama3-8b --hw a100-sxm4-80g --format json");
  ASSERT_EQ(a100.code, 0) << a100.err;  // failed on its fp8 default before
  EXPECT_EQ(json::parse(a100.out)["dtype"], "bf16");
  EXPECT_EQ(run_json("dropout block --model llama3-8b --hw h100-sxm5")["dtype"], "fp8");
  EXPECT_EQ(run_json("estimate --model llama3-8b --system h100-sxm5")["dtype"], "bf16");
  EXPECT_EQ(run_json("estimate --model deepseek-v3 --system 32x-h100-nvlink4-ndr400")["dtype"],
            "fp8");
  EXPECT_EQ(run_json("estimate --model deepseek-v3 --system 8x-a100-nvlink3")["dtype"], "bf16");
  EXPECT_EQ(run_json("cost gemm --hw h100-sxm5 --m 64 --n 64 --k 64")["dtype"], "bf16");
  json att = run_json("cost attention --hw h100-sxm5 --batch 1 --heads 8 --seq 1024");
  EXPECT_EQ(att["impl"], "fa3");  // as estimate runs on Hopper
  EXPECT_EQ(att["dtype"], "bf16");
  EXPECT_EQ(run_json("cost attention --hw a100-sxm4-80g --batch 1 --heads 8 --seq 1024")["impl"],
            "fa2");
  // calibrate's data set is built in: it runs from any directory.
  llmgps::test::TempDir d;
  auto cal = llmgps::test::run_cli_in(d.path.string(), "calibrate --format json");
  EXPECT_EQ(cal.code, 0) << cal.err;
  // A system file given on the command line is the working directory's, though the rows it
  // becomes are read from the built-in set.
  llmgps::test::write_file(d.file("s4.json"), llmgps::specs::find_preset("hw", "4x-a100-nvlink3"));
  auto own = llmgps::test::run_cli_in(d.path.string(), "calibrate --system s4.json --format json");
  EXPECT_EQ(own.code, 0) << own.err;
  const json mine = json::parse(own.out)["classes"], preset = json::parse(cal.out)["classes"];
  ASSERT_EQ(mine.size(), preset.size());
  for (std::size_t i = 0; i < mine.size(); ++i)
    EXPECT_EQ(mine[i]["median_abs_error"], preset[i]["median_abs_error"]) << mine[i]["class"];
}

TEST(CliVocabulary, UnknownNamesGetASuggestionAndTheSubcommandsHelp) {
  auto opt = run_cli("estimate --model llama3-8b --sytem h100-sxm5");
  EXPECT_EQ(opt.code, 2);
  EXPECT_NE(opt.err.find("unknown option '--sytem' (did you mean '--system'?)"), std::string::npos)
      << opt.err;
  EXPECT_NE(opt.err.find("see llmgps estimate --help"), std::string::npos) << opt.err;
  auto sub = run_cli("moe plna");
  EXPECT_EQ(sub.code, 2);
  EXPECT_NE(sub.err.find("did you mean 'plan'?"), std::string::npos) << sub.err;
  EXPECT_NE(sub.err.find("see llmgps moe --help"), std::string::npos) << sub.err;
  auto preset = run_cli("estimate --model llama3-8b --system h100");
  EXPECT_EQ(preset.code, 2);
  EXPECT_NE(preset.err.find("did you mean 'h100-sxm5'?"), std::string::npos) << preset.err;
  auto model = run_cli("estimate --model mixtral-8x7 --system h100-sxm5");
  EXPECT_NE(model.err.find("did you mean 'mixtral-8x7b'?"), std::string::npos) << model.err;
  auto parse = run_cli("estimate --model llama3-8b --system h100-sxm5 --batch");
  EXPECT_EQ(parse.code, 2);
  EXPECT_NE(parse.err.find("see llmgps estimate --help"), std::string::npos) << parse.err;
  EXPECT_EQ(parse.err.find("see llmgps --help"), std::string::npos) << parse.err;
}

TEST(CliVocabulary, IndivisibleHeadsOfferATensorParallelismThatWorks) {
  llmgps::test::TempDir d;
  json cfg =
      json::parse(llmgps::test::slurp(llmgps::test::source_dir() + "/data/models/llama3-8b.json"));
  cfg["num_attention_heads"] = 28;
  cfg["num_key_value_heads"] = 4;
  cfg["hidden_size"] = 3584;
  llmgps::test::write_file(d.file("q28.json"), cfg.dump());
  auto r = run_cli("estimate --model " + d.file("q28.json") + " --system 8x-h100-nvlink4");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("try --tp 4"), std::string::npos) << r.err;
}

// Model names: _name_or_path, else a config.json's folder, else the file's stem; a Hugging Face
// model folder is read through its config.json; paths in a system file are relative to it.
TEST(CliVocabulary, FilesAreNamedAndResolvedAsUsersExpect) {
  llmgps::test::TempDir d;
  const std::string llama =
      llmgps::test::slurp(llmgps::test::source_dir() + "/data/models/llama3-8b.json");
  std::filesystem::create_directories(d.path / "models");
  std::filesystem::create_directories(d.path / "Tiny-Llama");
  llmgps::test::write_file(d.file("models/deepseek-v2-lite.json"), llama);
  llmgps::test::write_file(d.file("Tiny-Llama/config.json"), llama);
  json named = json::parse(llama);
  named["_name_or_path"] = "meta-llama/Meta-Llama-3-8B";
  llmgps::test::write_file(d.file("named.json"), named.dump());
  EXPECT_EQ(run_json("model show " + d.file("models/deepseek-v2-lite.json"))["name"],
            "deepseek-v2-lite");
  EXPECT_EQ(run_json("model show " + d.file("Tiny-Llama"))["name"], "Tiny-Llama");
  EXPECT_EQ(run_json("model show " + d.file("Tiny-Llama/config.json"))["name"], "Tiny-Llama");
  EXPECT_EQ(run_json("model show " + d.file("named.json"))["name"], "Meta-Llama-3-8B");
  // A system file that names its GPU by a path next to it, run from elsewhere.
  std::filesystem::create_directories(d.path / "cluster");
  llmgps::test::write_file(
      d.file("cluster/gpu.json"),
      llmgps::test::slurp(llmgps::test::source_dir() + "/data/hw/h100-sxm5.json"));
  json sys = json::parse(
      llmgps::test::slurp(llmgps::test::source_dir() + "/data/hw/8x-h100-nvlink4.json"));
  sys["gpu"] = "gpu.json";
  llmgps::test::write_file(d.file("cluster/sys.json"), sys.dump());
  auto ok = run_cli("estimate --model llama3-8b --system " + d.file("cluster/sys.json"));
  EXPECT_EQ(ok.code, 0) << ok.err;
  sys["gpu"] = "missing-gpu.json";
  llmgps::test::write_file(d.file("cluster/bad.json"), sys.dump());
  auto bad = run_cli("estimate --model llama3-8b --system " + d.file("cluster/bad.json"));
  EXPECT_EQ(bad.code, 2);
  EXPECT_NE(bad.err.find("bad.json"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("missing-gpu.json"), std::string::npos) << bad.err;
}

// One number format per quantity: the sweep's times read like block's (ms), the parameter count
// in billions (they printed 0.00245096 s and 4.67025e+10).
TEST(CliVocabulary, OneNumberFormatPerQuantity) {
  auto sweep = run_cli("dropout sweep --model llama2-7b --hw h100-sxm5 --seqs 1024 --batches 1");
  ASSERT_EQ(sweep.code, 0) << sweep.err;
  EXPECT_NE(sweep.out.find(" ms"), std::string::npos) << sweep.out;
  EXPECT_EQ(sweep.out.find("0.00"), std::string::npos) << sweep.out;
  auto block = run_cli("dropout block --model llama2-7b --hw h100-sxm5 --seq 1024");
  EXPECT_NE(block.out.find(" ms"), std::string::npos);
  auto model = run_cli("model show mixtral-8x7b");
  EXPECT_NE(model.out.find("46.70 B"), std::string::npos) << model.out;
  EXPECT_EQ(model.out.find("e+10"), std::string::npos) << model.out;
}
