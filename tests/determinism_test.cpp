// The same inputs give byte-identical output, run to run and whatever the thread count.
#include <gtest/gtest.h>

#include "llmgps/moe/planner.hpp"
#include "test_util.hpp"

using namespace llmgps::test;

namespace {
const std::string kTraces = std::string(LLMGPS_SHARED_DIR) + "/data/traces/";

void same_twice(const std::string& args) {
  const RunResult a = run_cli(args), b = run_cli(args);
  ASSERT_EQ(a.code, 0) << args << "\n" << a.err;
  EXPECT_EQ(a.out, b.out) << args;
  EXPECT_FALSE(a.out.empty()) << args;
}
}  // namespace

TEST(Determinism, CommandsGiveByteIdenticalOutput) {
  same_twice("estimate --model mixtral-8x7b --system 4x-a100-nvlink3 --format json");
  same_twice("moe stats --routing-trace " + kTraces +
             "mixtral-8x7b-gsm8k-2problems.jsonl --format json");
  same_twice("moe predict --train " + kTraces + "mixtral-8x7b-gsm8k-2problems.jsonl --test " +
             kTraces + "mixtral-8x7b-humaneval-2problems.jsonl --format json");
  same_twice("moe plan --routing-trace " + kTraces +
             "mixtral-8x7b-gsm8k-2problems.jsonl --gpus 4 --slots-per-gpu 3 --format json");
  same_twice("moe advise --model mixtral-8x7b --system 4x-a100-nvlink3 --routing-trace " + kTraces +
             "mixtral-8x7b-humaneval-2problems.jsonl --format json");
  same_twice(
      "moe map --model mixtral-8x7b --system 4x-a100-nvlink3 --skews 1.2,2 --links-gb-per-s 32,600 "
      "--format "
      "csv");
  same_twice(
      "dropout sweep --model llama2-7b --hw h100-sxm5 --seqs 1024,4096 --batches 1 --format csv");
  same_twice("philox --rounds 7 --key 3,4 --counter 5,6,7,8 --count 50");
}

TEST(Determinism, MaskFilesDoNotDependOnThreads) {
  TempDir d;
  const std::string base =
      "dropout mask --seed 9 --batch 2 --heads 8 --seq 700 --p 0.2 --bits 8 --rounds 7 --out ";
  ASSERT_EQ(run_cli(base + d.file("a.bin") + " --threads 1").code, 0);
  ASSERT_EQ(run_cli(base + d.file("b.bin") + " --threads 3").code, 0);
  ASSERT_EQ(run_cli(base + d.file("c.bin") + " --threads 0").code, 0);
  EXPECT_EQ(slurp(d.file("a.bin")), slurp(d.file("b.bin")));
  EXPECT_EQ(slurp(d.file("a.bin")), slurp(d.file("c.bin")));
}

TEST(Determinism, EplbPlanDoesNotDependOnThreads) {
  llmgps::moe::LoadMatrix w(58, std::vector<double>(256));
  std::uint64_t s = 5;
  for (auto& row : w)
    for (double& x : row)
      x = double((s = s * 6364136223846793005ull + 1442695040888963407ull) >> 50);
  const auto one = llmgps::moe::eplb_plan(w, {288, 8, 4, 32, 1});
  for (int t : {2, 3, 8}) {
    const auto many = llmgps::moe::eplb_plan(w, {288, 8, 4, 32, t});
    EXPECT_EQ(one.phy2log, many.phy2log) << t;
    EXPECT_EQ(one.log2phy_nested(), many.log2phy_nested()) << t;
    EXPECT_EQ(one.logcnt, many.logcnt) << t;
  }
}
