// Guards the model's error on the measured A100 data set (../shared/data/calibration-a100).
// The bounds are the acceptance limits; the current errors are in docs/calibration.md.
#include "llmgps/calib/calibration.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "test_util.hpp"

using namespace llmgps;

namespace {
std::map<std::string, calib::ClassSummary> summary() {
  const std::string dir = test::shared_dir() + "/data/calibration-a100";
  if (!std::filesystem::exists(dir)) throw std::runtime_error("calibration data missing: " + dir);
  auto s = calib::summarise(calib::run_a100_calibration(dir, specs::load_system("4x-a100-nvlink3")));
  std::map<std::string, calib::ClassSummary> by;
  for (const auto& c : s) by[c.kernel_class] = c;
  return by;
}

double median_over(const std::vector<calib::Sample>& all, std::initializer_list<const char*> classes) {
  std::vector<double> e;
  for (const auto& s : all)
    for (const char* c : classes)
      if (s.kernel_class == c) e.push_back(std::fabs(s.rel_error()));
  std::sort(e.begin(), e.end());
  return e.size() % 2 ? e[e.size() / 2] : 0.5 * (e[e.size() / 2 - 1] + e[e.size() / 2]);
}
}  // namespace

TEST(Calibration, GemmMedianErrorAtMostTenPercent) {
  auto s = summary();
  EXPECT_EQ(s["gemm"].samples, 20);
  EXPECT_LE(s["gemm"].median_abs_error, 0.10);
}

TEST(Calibration, ElementwiseMedianErrorAtMostTwentyPercent) {
  const std::string dir = test::shared_dir() + "/data/calibration-a100";
  auto all = calib::run_a100_calibration(dir, specs::load_system("4x-a100-nvlink3"));
  EXPECT_LE(median_over(all, {"softmax", "layernorm", "gelu"}), 0.20);
  auto s = summary();
  for (const char* c : {"softmax", "layernorm", "gelu"}) EXPECT_LE(s[c].median_abs_error, 0.20) << c;
}

TEST(Calibration, AllreduceMedianErrorAtMostTwentyPercent) {
  auto s = summary();
  EXPECT_EQ(s["allreduce"].samples, 32);
  EXPECT_LE(s["allreduce"].median_abs_error, 0.20);
}

TEST(Calibration, Gpt3LayerOperatorsStayClose) {
  auto s = summary();
  EXPECT_LE(s["gpt3-layer-prefill"].median_abs_error, 0.15);
  EXPECT_LE(s["gpt3-layer-decode"].median_abs_error, 0.25);
}

TEST(Calibration, HarnessFloorsAreHostScale) {
  // The fitted floors are host overheads of tens of microseconds, not a hidden fudge of the GPU model.
  auto s = summary();
  for (const char* c : {"gemm", "softmax", "layernorm", "gelu"}) {
    EXPECT_GT(s[c].harness_floor_s, 1e-6) << c;
    EXPECT_LT(s[c].harness_floor_s, 100e-6) << c;
  }
  EXPECT_EQ(s["allreduce"].harness_floor_s, 0);
}
