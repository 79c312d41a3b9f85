// Guards the model's error on the measured A100 data set (../shared/data/calibration-a100),
// scored through the same path as `llmgps validate`. Bounds: the calibration issue's acceptance
// limits; the current errors are in docs/calibration.md.
#include "llmgps/calib/calibration.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "llmgps/calib/validate.hpp"
#include "llmgps/specs/error.hpp"
#include "test_util.hpp"

using namespace llmgps;

namespace {
const std::vector<calib::Measurement>& rows() {
  static const std::vector<calib::Measurement> r = [] {
    const std::string dir = test::shared_dir() + "/data/calibration-a100";
    if (!std::filesystem::exists(dir)) throw std::runtime_error("calibration data missing: " + dir);
    return calib::llmcompass_a100_measurements(dir, "4x-a100-nvlink3");
  }();
  return r;
}
std::map<std::string, calib::ClassScore> summary() {
  static const auto scored = calib::score(rows());
  std::map<std::string, calib::ClassScore> by;
  for (const auto& c : calib::summarise(scored)) by[c.cls] = c;
  return by;
}
const calib::ClassScore& cls(const std::map<std::string, calib::ClassScore>& s,
                             const std::string& c) {
  auto it = s.find(c);
  if (it == s.end()) throw std::runtime_error("class missing from the calibration set: " + c);
  return it->second;
}
}  // namespace

TEST(Calibration, EveryClassIsPresentWithItsSampleCount) {
  auto s = summary();
  const std::map<std::string, int> expected = {{"gemm", 20},
                                               {"softmax", 22},
                                               {"layernorm", 22},
                                               {"gelu", 20},
                                               {"allreduce", 32},
                                               {"gpt3-layer-prefill", 12},
                                               {"gpt3-layer-decode", 12}};
  EXPECT_EQ(s.size(), expected.size());
  for (const auto& [c, n] : expected) EXPECT_EQ(cls(s, c).n, n) << c;
}

TEST(Calibration, GemmMedianErrorAtMostTenPercent) {
  EXPECT_LE(cls(summary(), "gemm").median_abs_error, 0.10);
}

TEST(Calibration, ElementwiseMedianErrorAtMostTwentyPercent) {
  auto s = summary();
  for (const char* c : {"softmax", "layernorm", "gelu"})
    EXPECT_LE(cls(s, c).median_abs_error, 0.20) << c;
}

TEST(Calibration, AllreduceMedianErrorAtMostTwentyPercent) {
  EXPECT_LE(cls(summary(), "allreduce").median_abs_error, 0.20);
}

TEST(Calibration, Gpt3LayerOperatorsStayClose) {
  auto s = summary();
  EXPECT_LE(cls(s, "gpt3-layer-prefill").median_abs_error, 0.15);
  EXPECT_LE(cls(s, "gpt3-layer-decode").median_abs_error, 0.25);
}

TEST(Calibration, HarnessFloorsAreHostScale) {
  // The floors are host overheads of tens of microseconds, not a hidden fudge of the GPU model.
  auto s = summary();
  for (const char* c : {"gemm", "softmax", "layernorm", "gelu"}) {
    EXPECT_GT(cls(s, c).harness_floor_s, 1e-6) << c;
    EXPECT_LT(cls(s, c).harness_floor_s, 100e-6) << c;
  }
  // LLMCompass's all-reduce sits about 2 us above the model's ring latency at its smallest sizes
  // (12.4 us against 10.2): none of its smallest rows is launch-dominated, so it gets no floor.
  EXPECT_EQ(cls(s, "allreduce").harness_floor_s, 0.0);
}

TEST(Calibration, ABadCellOfAUsersSetNamesFileLineAndColumn) {
  // A copy of the set with one cell changed: every such change is refused, not scored.
  const std::filesystem::path src =
      std::filesystem::path(test::shared_dir()) / "data/calibration-a100";
  struct Edit {
    const char* file;
    std::string from, to, column;
  };
  const std::vector<Edit> edits = {
      {"llmcompass_elementwise_measured.csv", ",softmax,", ",softmaxx,", "column 'kernel'"},
      {"llmcompass_gpt3_layer_breakdown_A100.csv", "\"prefill", "\"training", "column 'phase'"},
      {"llmcompass_gpt3_layer_breakdown_A100.csv", ",Q_mul_K,", ",Q_mul_X,", "column 'component'"},
      {"llmcompass_allreduce_A100_4gpu.csv", ",8,12.52,", ",8,-12.52,", "column 'latency_us'"},
  };
  for (const Edit& e : edits) {
    test::TempDir d;
    for (const auto& f : std::filesystem::directory_iterator(src))
      std::filesystem::copy_file(f.path(), d.path / f.path().filename());
    const std::string path = (d.path / e.file).string();
    std::string text = test::slurp(path);
    const std::size_t at = text.find(e.from);
    ASSERT_NE(at, std::string::npos) << e.from;
    text.replace(at, e.from.size(), e.to);
    std::ofstream(path, std::ios::binary) << text;
    try {
      calib::llmcompass_a100_measurements(d.path.string(), "4x-a100-nvlink3");
      FAIL() << e.column;
    } catch (const InputError& err) {
      EXPECT_NE(std::string(err.what()).find(std::string(e.file) + ":"), std::string::npos)
          << err.what();
      EXPECT_NE(std::string(err.what()).find(e.column), std::string::npos) << err.what();
    }
  }
}

TEST(Calibration, ExportedSetRoundTripsThroughTheSchema) {
  // `llmgps calibrate --export` writes what `llmgps validate` reads back: same rows, same scores.
  const std::string text = calib::write_measurements(rows());
  const auto back = calib::parse_measurements(text, "exported.csv");
  ASSERT_EQ(back.size(), rows().size());
  const auto a = calib::summarise(calib::score(rows())), b = calib::summarise(calib::score(back));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].cls, b[i].cls);
    EXPECT_EQ(a[i].n, b[i].n);
    EXPECT_NEAR(a[i].median_abs_error, b[i].median_abs_error, 1e-9) << a[i].cls;
    EXPECT_NEAR(a[i].mean_signed_error, b[i].mean_signed_error, 1e-9) << a[i].cls;
  }
}
