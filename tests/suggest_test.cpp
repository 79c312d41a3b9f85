#include "llmgps/util/suggest.hpp"

#include <gtest/gtest.h>

using namespace llmgps::util;

TEST(Suggest, EditDistanceCountsTranspositionsOnce) {
  EXPECT_EQ(edit_distance("system", "system"), 0);
  EXPECT_EQ(edit_distance("sytem", "system"), 1);
  EXPECT_EQ(edit_distance("plna", "plan"), 1);  // two neighbours swapped
  EXPECT_EQ(edit_distance("", "abc"), 3);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3);
}

TEST(Suggest, ClosestOnlyWhenNearEnough) {
  const std::vector<std::string> opts = {"--system", "--seq", "--model", "--batch"};
  EXPECT_EQ(closest("--sytem", opts), "--system");
  EXPECT_EQ(closest("--sequence", opts), "");
  EXPECT_EQ(closest("plna", {"stats", "synth", "predict", "plan", "advise", "map"}), "plan");
  EXPECT_EQ(closest("h100", {"h100-sxm5", "h200-sxm", "a100-sxm4-80g"}), "h100-sxm5");
  EXPECT_EQ(closest("llama3-8", {"llama3-8b", "llama3-70b"}), "llama3-8b");
  EXPECT_EQ(closest("zzzz", {"h100-sxm5"}), "");
  EXPECT_EQ(did_you_mean("--sytem", opts), " (did you mean '--system'?)");
  EXPECT_EQ(did_you_mean("qqq", opts), "");
}
