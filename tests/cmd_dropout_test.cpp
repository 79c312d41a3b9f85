// `llmgps philox` and `llmgps dropout mask` through the binary.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "llmgps/dropout/mask.hpp"
#include "test_util.hpp"

using namespace llmgps::test;

TEST(CmdDropout, PhiloxPrintsRandom123KnownAnswers) {
  // Random123's published known answers for philox4x32_10 (kat_vectors).
  auto r = run_cli("philox --rounds 10 --key 0,0 --counter 0,0,0,0");
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "6627e8d5 e169c58d bc57ac4c 9b00dbd8\n");
  r = run_cli(
      "philox --rounds 10 --key 0xa4093822,0x299f31d0 --counter "
      "0x243f6a88,0x85a308d3,0x13198a2e,0x03707344");
  EXPECT_EQ(r.out, "d16cfe09 94fdcceb 5001e420 24126ea1\n");
  r = run_cli(
      "philox --rounds 10 --key 0xffffffff,0xffffffff --counter "
      "0xffffffff,0xffffffff,0xffffffff,0xffffffff");
  EXPECT_EQ(r.out, "408f276d 41c83b0e a20bc7c6 6d5451fd\n");
}

TEST(CmdDropout, PhiloxCountIncrementsTheCounterWithCarry) {
  const auto a = run_cli("philox --rounds 7 --key 1,2 --counter 0xffffffff,0,0,0 --count 2");
  const auto b = run_cli("philox --rounds 7 --key 1,2 --counter 0,1,0,0");
  ASSERT_EQ(a.code, 0);
  EXPECT_EQ(a.out.substr(36), b.out);  // line 2 of a = counter (0, 1, 0, 0)
  const auto many = run_cli("philox --rounds 10 --key 5,6 --counter 7,0,0,0 --count 100");
  EXPECT_EQ(std::count(many.out.begin(), many.out.end(), '\n'), 100);
}

TEST(CmdDropout, MaskFileMatchesTheLibraryAndReportsKeepFraction) {
  TempDir d;
  const auto r = run_cli(
      "dropout mask --seed 0x2a --offset 3 --batch 2 --heads 3 --seq 100 --seq-k 70 --p 0.25 "
      "--bits 32 --rounds 10 "
      "--file " +
      d.file("m.bin") + " --format json");
  ASSERT_EQ(r.code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["elements"], 2 * 3 * 100 * 70);
  EXPECT_NEAR(j["keep_fraction"].get<double>(), 0.75, 0.02);
  const std::string bytes = slurp(d.file("m.bin"));
  const llmgps::dropout::MaskShape s{2, 3, 100, 70};
  const auto want = llmgps::dropout::generate_mask(s, {42, 3, 0.25, 32, 10}, 1);
  ASSERT_EQ(bytes.size(), want.size() * 4);
  EXPECT_EQ(0, std::memcmp(bytes.data(), want.data(), bytes.size()));
}

TEST(CmdDropout, BadInputOneLineExitTwo) {
  TempDir d;
  write_file(d.file("keep.bin"), "old");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"philox --rounds 0", "--rounds"},
      {"philox --key 1", "--key"},
      {"philox --counter 1,2,3,0x1ffffffff", "--counter"},
      {"philox --key 1,zz", "--key"},
      {"philox --count 0", "--count"},
      {"dropout mask --batch 1 --heads 1 --seq 8 --p 1 --out " + d.file("keep.bin"), "--p"},
      {"dropout mask --batch 1 --heads 1 --seq 8 --p -0.5 --out " + d.file("keep.bin"), "--p"},
      {"dropout mask --batch 0 --heads 1 --seq 8 --p 0.1 --out " + d.file("keep.bin"), "--batch"},
      {"dropout mask --batch 1 --heads 1 --seq 8 --p 0.1 --bits 16 --out " + d.file("keep.bin"),
       "--bits"},
      {"dropout mask --batch 1 --heads 1 --seq 8 --p 0.1 --rounds 0 --out " + d.file("keep.bin"),
       "--rounds"},
      {"dropout mask --batch 1 --heads 1 --seq 8 --p 0.1 --seed 0x --out " + d.file("keep.bin"),
       "--seed"},
  };
  for (const auto& [args, needle] : cases) {
    const RunResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  }
  EXPECT_EQ(slurp(d.file("keep.bin")), "old");  // never clobbered by a failed run
}

TEST(CmdDropout, BlockAndSweepContracts) {
  TempDir d;
  auto r = run_cli(
      "dropout block --model llama3-8b --hw h100-sxm5 --dtype fp8 --batch 1 --seq 4096 --p 0.1 "
      "--format json --trace " +
      d.file("t.json"));
  ASSERT_EQ(r.code, 0) << r.err;
  auto j = nlohmann::json::parse(r.out);
  for (const char* s : {"none", "fused", "sequential", "overlapped"})
    EXPECT_GT(j["strategies"][s]["time_s"].get<double>(), 0) << s;
  for (const char* k : {"speedup_vs_sequential", "speedup_vs_fused", "host_gemm", "summary"})
    EXPECT_TRUE(j.contains(k)) << k;
  EXPECT_NE(slurp(d.file("t.json")).find("traceEvents"), std::string::npos);
  r = run_cli(
      "dropout sweep --model llama2-7b --hw h100-sxm5 --seqs 1024,2048 --batches 1,2 --scope fwd "
      "--format json");
  ASSERT_EQ(r.code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 4u);
  for (const char* k : {"batch", "seq", "none_s", "fused_s", "sequential_s", "overlapped_s",
                        "speedup_vs_sequential", "speedup_vs_fused"})
    EXPECT_TRUE(j["rows"][0].contains(k)) << k;
  r = run_cli(
      "dropout sweep --model llama2-7b --hw h100-sxm5 --seqs 1024 --batches 1 --format csv");
  // The configuration leads every row (the sweep's CSV had only batch and seq before).
  const std::string header = r.out.substr(0, r.out.find('\n'));
  for (const char* col : {"model", "hw", "dtype", "scope", "batch", "seq", "speedup_vs_fused"})
    EXPECT_NE(("," + header + ",").find(std::string(",") + col + ","), std::string::npos) << col;
  EXPECT_NE(r.out.find("\nh100-sxm5,train,llama2-7b,"), std::string::npos) << r.out;
}

TEST(CmdDropout, BlockBadInput) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"dropout block --model nope --hw h100-sxm5", "nope"},
      {"dropout block --model llama3-8b --hw h100-sxm5 --p 1.5", "--p"},
      {"dropout block --model llama3-8b --hw h100-sxm5 --seq 0", "--seq"},
      {"dropout block --model llama3-8b --hw h100-sxm5 --rounds 0", "--rounds"},
      {"dropout block --model llama3-8b --hw h100-sxm5 --scope all", "--scope"},
      {"dropout sweep --model llama3-8b --hw h100-sxm5 --seqs 1024,0", "--seqs"},
      {"dropout block --model llama3-8b --hw a100-sxm4-80g --dtype fp8", "--dtype"},
  };
  for (const auto& [args, needle] : cases) {
    const RunResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << args << "\n" << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << args << "\n" << r.err;
  }
}
