// The command-line contract and bad-input behaviour, through the real binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

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
  // same routes; the low-latency mode is pure RDMA.
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
  EXPECT_EQ(ll["dispatch_nvlink_bytes"].get<double>(), 0);
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
