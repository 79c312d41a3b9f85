// `llmgps validate`: the measurement schema's reader (bad rows name line and column) and scoring.
#include "llmgps/calib/validate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/gemm.hpp"
#include "llmgps/specs/error.hpp"
#include "llmgps/specs/presets.hpp"
#include "test_util.hpp"

using namespace llmgps;

namespace {
const char* kHeader = "kind,hw,dtype,m,n,k,value,unit,source\n";
std::string where_of(const std::string& text) {
  try {
    calib::parse_measurements(text, "t.csv");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(Measurement, BadRowsNameLineAndColumn) {
  EXPECT_NE(
      where_of(
          std::string(kHeader) +
          "gemm,h100-sxm5,bf16,4096,4096,4096,700,tflops,x\ngemm,h100-sxm5,bf16,-1,8,8,1,us,x\n")
          .find("t.csv:3: column 'm' (column 4)"),
      std::string::npos);
  EXPECT_NE(where_of(std::string(kHeader) + "gemm,h100-sxm5,bf16,8,8,8,abc,us,x\n")
                .find("t.csv:2: column 'value' (column 7)"),
            std::string::npos);
  EXPECT_NE(where_of(std::string(kHeader) + "gemm,h100-sxm5,bf16,8,8,8,1,furlongs,x\n")
                .find("column 'unit'"),
            std::string::npos);
  EXPECT_NE(where_of(std::string(kHeader) + "warp,h100-sxm5,bf16,8,8,8,1,us,x\n")
                .find("unknown kind 'warp'"),
            std::string::npos);
  EXPECT_NE(where_of("kind,hw,colour,value,unit,source\ngemm,x,red,1,us,y\n")
                .find("column 'colour' (column 3)"),
            std::string::npos);
  EXPECT_NE(where_of(std::string(kHeader) + "gemm,h100-sxm5,bf16,8,,8,1,us,x\n").find("column 'n'"),
            std::string::npos);
  EXPECT_NE(where_of(std::string(kHeader) + "gemm,h100-sxm5,bf16,99999999999999999999,8,8,1,us,x\n")
                .find("out of range"),
            std::string::npos);
}

TEST(Validate, ScoresAgainstTheModelAndConvertsUnits) {
  // A measurement equal to the model's own answer scores zero; one twice as fast scores +100%.
  GemmCost c = gemm_cost(specs::load_gpu("h100-sxm5"), {4096, 4096, 4096, 1, DType::bf16});
  const double tflops = c.flops / c.time_s / 1e12;
  const std::string text = std::string(kHeader) + "gemm,h100-sxm5,bf16,4096,4096,4096," +
                           std::to_string(tflops) +
                           ",tflops,self\ngemm,h100-sxm5,bf16,4096,4096,4096," +
                           std::to_string(c.time_s * 0.5e6) + ",us,half\n";
  const auto scored = calib::score(calib::parse_measurements(text, "t.csv"));
  ASSERT_EQ(scored.size(), 2u);
  EXPECT_NEAR(scored[0].rel_error(), 0.0, 1e-5);
  EXPECT_NEAR(scored[1].rel_error(), 1.0, 1e-5);
  const auto classes = calib::summarise(scored, 1);
  ASSERT_EQ(classes.size(), 1u);
  EXPECT_EQ(classes[0].n, 2);
  EXPECT_NEAR(classes[0].mean_signed_error, 0.5, 1e-5);
  ASSERT_EQ(classes[0].worst.size(), 1u);
  EXPECT_EQ(classes[0].worst[0]->m.source, "half");
}

TEST(Validate, UnevaluableRowNamesItsLine) {
  const std::string text = std::string(kHeader) + "gemm,a100-sxm4-80g,fp8,8,8,8,1,us,x\n";
  try {
    calib::score(calib::parse_measurements(text, "t.csv"));
    FAIL() << "A100 has no fp8";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("t.csv:2"), std::string::npos);
  }
}

TEST(Validate, PublicTablesScoreEveryRow) {
  for (const char* f : {"public-gemm.csv", "public-attention-h100.csv", "public-collectives.csv"}) {
    const auto rows =
        calib::read_measurements(std::string(LLMGPS_SOURCE_DIR) + "/data/measurements/" + f);
    const auto scored = calib::score(rows);
    EXPECT_EQ(scored.size(), rows.size()) << f;
    for (const auto& s : scored)
      EXPECT_TRUE(std::isfinite(s.rel_error()) && s.predicted_s > 0) << f << ":" << s.m.line;
  }
}

// A python-sync floor is the constant the smallest measurements sit on: taken from the rows the
// model is under half of, among those within twice the group's smallest measurement. A large row
// the model is far under (its own shortfall) does not move it.
TEST(Validate, HarnessFloorComesFromTheSmallestRows) {
  const std::string head = "kind,hw,dtype,m,n,k,value,unit,harness,source\n";
  const std::string small =
      "gemm,h100-sxm5,bf16,64,64,64,30,us,python-sync,x\n"
      "gemm,h100-sxm5,bf16,128,128,128,31,us,python-sync,x\n"
      "gemm,h100-sxm5,bf16,256,256,256,32,us,python-sync,x\n";
  const auto base = calib::score(calib::parse_measurements(head + small, "t.csv"));
  ASSERT_EQ(base.size(), 3u);
  std::vector<double> gaps;
  for (const auto& s : base) {
    ASSERT_LT(s.predicted_s, 0.5 * s.measured_s);
    gaps.push_back(s.measured_s - s.predicted_s);
  }
  std::sort(gaps.begin(), gaps.end());
  EXPECT_NEAR(base[0].harness_floor_s, gaps[1], 1e-12);
  EXPECT_GT(base[0].harness_floor_s, 20e-6);
  // 10 ms for a GEMM the model puts near 0.15 ms: far under, but not a floor row.
  const auto with_big = calib::score(calib::parse_measurements(
      head + small + "gemm,h100-sxm5,bf16,4096,4096,4096,10000,us,python-sync,x\n", "t.csv"));
  ASSERT_EQ(with_big.size(), 4u);
  ASSERT_LT(with_big[3].predicted_s, 0.5 * with_big[3].measured_s);
  for (const auto& s : with_big) EXPECT_NEAR(s.harness_floor_s, gaps[1], 1e-12);
}

// A hardware file a table names by a relative path is found beside the table, wherever llmgps
// runs (as paths inside a system file are relative to that file).
TEST(Validate, RelativeHardwarePathsAreRelativeToTheTable) {
  test::TempDir d;
  std::filesystem::create_directories(d.path / "systems");
  test::write_file(d.file("systems/two.json"),
                   R"({"kind": "system", "name": "two", "gpu": "a100-sxm4-80g",
                       "gpus_per_node": 8, "nodes": 2, "intra_link": "nvlink3",
                       "inter_link": "ib-hdr200", "nics_per_node": 4})");
  test::write_file(d.file("t.csv"),
                   "kind,hw,bytes,gpus,value,unit,source\n"
                   "allreduce,systems/two.json,1073741824,16,12000,us,x\n"
                   "allreduce,32x-a100-nvlink3-hdr200,1073741824,16,12000,us,x\n");
  const auto scored = calib::score(calib::read_measurements(d.file("t.csv")));
  ASSERT_EQ(scored.size(), 2u);
  // The file beside the table was read (half the NICs of the preset: slower).
  EXPECT_DOUBLE_EQ(
      scored[0].predicted_s,
      allreduce_cost(specs::load_system(d.file("systems/two.json")), 1073741824, 16).time_s);
  EXPECT_GT(scored[0].predicted_s, 1.2 * scored[1].predicted_s);
  test::write_file(
      d.file("bad.csv"),
      "kind,hw,bytes,gpus,value,unit,source\nallreduce,missing.json,1024,16,10,us,x\n");
  try {
    calib::score(calib::read_measurements(d.file("bad.csv")));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.csv:2: column 'hw'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing.json"), std::string::npos) << e.what();
  }
}
