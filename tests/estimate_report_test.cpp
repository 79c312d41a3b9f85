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

// Tidy: the header, then one row per op and nothing else (the old CSV ended with a "total" row
// and had no configuration columns); every row carries the step's configuration.
TEST(EstimateReport, CsvHasOneRowPerOpWithTheConfiguration) {
  Case c;
  std::string csv = report::estimate_csv(c.e, c.m, c.s, c.cfg);
  EXPECT_EQ(test::count_lines(csv), int(c.e.ops.size()) + 1);
  EXPECT_EQ(csv.rfind("model,system,gpu,gpus,phase,batch,seq,dtype,tp,dp,ep,layout,cuda_graphs,op,"
                      "stage,count,each_s,total_s,share,bound,flops_total,hbm_bytes_total,"
                      "comm_bytes_total\n",
                      0),
            0u);
  EXPECT_EQ(csv.find("\ntotal,"), std::string::npos);
  EXPECT_EQ(csv.find(",total,"), std::string::npos);
  std::size_t rows = 0;
  for (std::size_t at = csv.find('\n'); at + 1 < csv.size(); at = csv.find('\n', at + 1))
    rows += csv.compare(at + 1, c.m.name.size() + 1, c.m.name + ",") == 0;
  EXPECT_EQ(rows, c.e.ops.size());
}

// Every resource a cost model can name appears in time_by_bound_s, zero where nothing binds.
TEST(EstimateReport, TimeByBoundKeepsZeroKeys) {
  Case c;
  auto j = report::estimate_json(c.e, c.m, c.s, c.cfg);
  for (const std::string& r : binding_resources())
    EXPECT_TRUE(j["time_by_bound_s"].contains(r)) << r;
  EXPECT_EQ(j["time_by_bound_s"]["rdma"].get<double>(), 0.0);
  for (const auto& op : c.e.ops)
    EXPECT_NE(std::find(binding_resources().begin(), binding_resources().end(), op.each.bound),
              binding_resources().end())
        << op.name << " bound " << op.each.bound;
}

TEST(EstimateReport, JsonContractFields) {
  Case c;
  auto j = report::estimate_json(c.e, c.m, c.s, c.cfg);
  EXPECT_DOUBLE_EQ(j["total_s"].get<double>(), c.e.total_s);
  for (const auto& op : j["ops"]) {
    EXPECT_TRUE(op.contains("name"));
    EXPECT_TRUE(op.contains("total_s"));
    EXPECT_TRUE(op.contains("flops_total"));
    EXPECT_FALSE(op.contains("flops"));  // a total over count is named a total
    EXPECT_TRUE(op.contains("bound"));
  }
  auto mj = report::model_json(c.m);
  for (const char* f : {"layers", "hidden_size", "num_heads", "num_kv_heads", "head_dim", "ffn_dim",
                        "num_experts", "top_k"})
    EXPECT_TRUE(mj.contains(f)) << f;
}
