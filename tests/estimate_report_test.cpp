#include "llmgps/report/estimate_report.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

#include "test_util.hpp"

using namespace llmgps;

namespace {
// Compares `text` with a golden file; LLMGPS_UPDATE_GOLDEN=1 rewrites it instead.
void expect_golden(const std::string& name, const std::string& text) {
  const std::string path = test::source_dir() + "/tests/golden/" + name;
  if (std::getenv("LLMGPS_UPDATE_GOLDEN")) {
    test::write_file(path, text);
    return;
  }
  EXPECT_EQ(text, test::slurp(path))
      << "golden " << name << " differs; rerun with LLMGPS_UPDATE_GOLDEN=1 if intended";
}

struct Case {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  StepConfig cfg{1, 512, Phase::prefill, DType::fp16, "", 0, 0};
  StepEstimate e = estimate_step(m, s, cfg);
};
}  // namespace

TEST(EstimateReport, JsonGolden) {
  Case c;
  expect_golden("estimate_mixtral_4xa100.json",
                report::estimate_json(c.e, c.m, c.s, c.cfg).dump(2) + "\n");
}

TEST(EstimateReport, TableGolden) {
  Case c;
  expect_golden("estimate_mixtral_4xa100.txt", report::estimate_table(c.e, c.m, c.s, c.cfg));
}

TEST(EstimateReport, CsvHasOneRowPerOpPlusTotal) {
  Case c;
  std::string csv = report::estimate_csv(c.e);
  EXPECT_EQ(test::count_lines(csv), int(c.e.ops.size()) + 2);
  EXPECT_EQ(csv.rfind("name,stage,count,each_s,time_s,bound", 0), 0u);
}

TEST(EstimateReport, JsonContractFields) {
  Case c;
  auto j = report::estimate_json(c.e, c.m, c.s, c.cfg);
  EXPECT_DOUBLE_EQ(j["total_s"].get<double>(), c.e.total_s);
  for (const auto& op : j["ops"]) {
    EXPECT_TRUE(op.contains("name"));
    EXPECT_TRUE(op.contains("time_s"));
    EXPECT_TRUE(op.contains("bound"));
  }
  auto mj = report::model_json(c.m);
  for (const char* f : {"layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim", "ffn_dim",
                        "num_experts", "top_k"})
    EXPECT_TRUE(mj.contains(f)) << f;
}
