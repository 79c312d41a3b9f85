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

TEST(Timeline, ChromeTraceHasOneEventPerOpInExecutionOrder) {
  Timeline t;
  t.add("a", "c", 0, 2e-6);
  TimelineOp side;
  side.name = "side";
  side.gpu = 1;
  side.duration_s = 1e-6;
  side.bound = "hbm";
  side.flops = 5;
  side.bytes = 7;
  t.add(side);
  t.add("b", "c", 0, 2e-6);
  t.run();
  auto j = nlohmann::json::parse(t.chrome_trace_json({"stream0"}));
  std::vector<std::string> names;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "X") names.push_back(e["name"]);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "side", "b"}));  // by start time
  int processes = 0;
  for (const auto& e : j["traceEvents"]) processes += e["name"] == "process_name";
  EXPECT_EQ(processes, 2);  // gpu 0 and gpu 1
  for (const auto& e : j["traceEvents"]) {
    if (e["name"] == "side") {
      EXPECT_EQ(e["pid"], 1);
      EXPECT_EQ(e["args"]["bound"], "hbm");
      EXPECT_DOUBLE_EQ(e["args"]["flops"].get<double>(), 5);
      EXPECT_DOUBLE_EQ(e["args"]["bytes"].get<double>(), 7);
    } else if (e["name"] == "b") {
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 2.0);
    }
  }
}

TEST(Timeline, CriticalPathFollowsWhatSetEachStart) {
  Timeline t;
  const int a = t.add("a", "c", 0, 1.0);
  const int b = t.add("b", "c", 1, 3.0);  // the long side branch
  const int c = t.add("c", "c", 0, 1.0);  // after a on its stream
  const int d = t.add("d", "c", 0, 1.0, {b});
  EXPECT_DOUBLE_EQ(t.run(), 4.0);
  EXPECT_EQ(t.critical_path(), (std::vector<int>{b, d}));
  (void)a, (void)c;
  Timeline serial;
  const int x = serial.add("x", "c", 0, 1.0);
  const int y = serial.add("y", "c", 0, 2.0);
  serial.run();
  EXPECT_EQ(serial.critical_path(), (std::vector<int>{x, y}));
}

TEST(Timeline, RejectsForwardDependencies) {
  Timeline t;
  EXPECT_THROW(t.add("a", "c", 0, 1.0, {0}), std::logic_error);
  EXPECT_THROW(t.add("a", "c", 0, -1.0), std::logic_error);
}
