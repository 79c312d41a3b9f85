#include "llmgps/schedule/timeline.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

using namespace llmgps;

TEST(Timeline, StreamsOverlapAndDependenciesWait) {
  Timeline t;
  int a = t.add("gemm", "compute", 0, 3.0);
  int b = t.add("rng", "compute", 1, 2.0);  // concurrent with gemm
  int c = t.add("attention", "compute", 0, 1.0, {a, b});
  EXPECT_DOUBLE_EQ(t.run(), 4.0);
  EXPECT_DOUBLE_EQ(t.ops()[size_t(b)].start_s, 0.0);
  EXPECT_DOUBLE_EQ(t.ops()[size_t(c)].start_s, 3.0);
}

TEST(Timeline, DependencyOnOtherStreamDelays) {
  Timeline t;
  int a = t.add("long", "x", 1, 5.0);
  t.add("after", "x", 0, 1.0, {a});
  EXPECT_DOUBLE_EQ(t.run(), 6.0);
}

TEST(Timeline, ChromeTraceHasOneEventPerOp) {
  Timeline t;
  t.add("a", "c", 0, 1e-6);
  t.add("b", "c", 0, 2e-6);
  t.run();
  auto j = nlohmann::json::parse(t.chrome_trace_json({"stream0"}));
  int complete = 0;
  for (const auto& e : j["traceEvents"]) complete += e["ph"] == "X";
  EXPECT_EQ(complete, 2);
  EXPECT_DOUBLE_EQ(j["traceEvents"][2]["ts"].get<double>(), 1.0);
}

TEST(Timeline, RejectsForwardDependencies) {
  Timeline t;
  EXPECT_THROW(t.add("a", "c", 0, 1.0, {0}), std::logic_error);
  EXPECT_THROW(t.add("a", "c", 0, -1.0), std::logic_error);
}
