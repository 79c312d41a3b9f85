#include "llmgps/schedule/estimate.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

using namespace llmgps;

TEST(Estimate, TotalIsSumOfOps) {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec s = specs::load_system("4x-a100-nvlink3");
  StepEstimate e = estimate_step(m, s, {1, 512, Phase::prefill, DType::fp16, "", 0, 0});
  double sum = 0;
  for (const auto& op : e.ops) sum += op.time_s;
  EXPECT_NEAR(e.total_s, sum, 1e-12);
  double by_bound = 0;
  for (const auto& [b, t] : e.time_by_bound) by_bound += t;
  EXPECT_NEAR(by_bound, sum, 1e-12);
  EXPECT_GT(e.total_s, 1e-3);
  EXPECT_LT(e.total_s, 1.0);
}

TEST(Estimate, PropertyNoNanAndMonotoneInWork) {
  for (const char* model :
       {"llama2-7b", "llama3-70b", "mixtral-8x7b", "qwen1.5-moe-a2.7b", "olmoe-1b-7b"})
    for (const char* sys : {"4x-a100-nvlink3", "8x-h100-nvlink4", "8x-h200-nvlink4"})
      for (Phase ph : {Phase::prefill, Phase::decode}) {
        ModelSpec m = specs::load_model(model);
        SystemSpec s = specs::load_system(sys);
        if (m.num_experts > 0 && m.num_experts % s.total_gpus() != 0) continue;
        double prev = 0;
        for (std::int64_t seq : {128, 1024, 8192}) {
          StepEstimate e = estimate_step(m, s, {4, seq, ph, DType::bf16, "", 0, 0});
          EXPECT_TRUE(std::isfinite(e.total_s));
          EXPECT_GE(e.total_s, prev) << model << " " << sys << " " << seq;
          prev = e.total_s;
        }
      }
}

TEST(Estimate, FasterInterconnectNeverSlower) {
  ModelSpec m = specs::load_model("mixtral-8x7b");
  SystemSpec nv = specs::load_system("4x-a100-nvlink3");
  SystemSpec pcie = specs::load_system("4x-a100-pcie4");
  for (std::int64_t seq : {128, 512, 4096})
    EXPECT_LT(estimate_step(m, nv, {1, seq, Phase::prefill, DType::fp16, "", 0, 0}).total_s,
              estimate_step(m, pcie, {1, seq, Phase::prefill, DType::fp16, "", 0, 0}).total_s);
}

TEST(Estimate, ChromeTraceCoversEveryLayerOnEveryGpuOfTheGroup) {
  ModelSpec m = specs::load_model("llama2-7b");
  SystemSpec s = specs::load_system("8x-h100-nvlink4");
  StepEstimate e = estimate_step(m, s, {1, 1024, Phase::prefill, DType::bf16, "", 0, 0});
  auto j = nlohmann::json::parse(step_chrome_trace(e, m));
  std::map<int, int> attention;  // per GPU
  std::set<std::pair<int, int>> tracks;
  double end = 0, last_ts = -1;
  bool ordered = true;
  for (const auto& ev : j["traceEvents"])
    if (ev["ph"] == "X") {
      const std::string name = ev["name"];
      attention[ev["pid"].get<int>()] +=
          name.size() > 10 && name.substr(name.size() - 10) == " attention";
      tracks.insert({ev["pid"].get<int>(), ev["tid"].get<int>()});
      end = std::max(end, ev["ts"].get<double>() + ev["dur"].get<double>());
      ordered = ordered && ev["ts"].get<double>() >= last_ts;
      last_ts = ev["ts"].get<double>();
      EXPECT_TRUE(ev["args"].contains("bound"));
      EXPECT_TRUE(ev["args"].contains("flops"));
    }
  ASSERT_EQ(attention.size(), std::size_t(e.plan.tp));  // one process per GPU of the TP group
  for (const auto& [gpu, n] : attention) EXPECT_EQ(n, m.layers) << "gpu " << gpu;
  EXPECT_EQ(tracks.size(), std::size_t(2 * e.plan.tp));  // compute and communication each
  EXPECT_TRUE(ordered);                                  // events in execution order
  EXPECT_EQ(j["traceEvents"][0]["name"], "process_name");
  // Every GPU runs its ops in order and the collectives wait for all: the trace ends at the
  // step's total.
  EXPECT_NEAR(end * 1e-6, e.total_s, e.total_s * 1e-9);
}

// CUDA graphs change one thing: each kernel's launch gap is the graph replay's. Every kernel op is
// faster by exactly (eager gap - graph gap) per occurrence, collectives are unchanged, and the step
// is never slower.
TEST(Estimate, CudaGraphsSaveTheEagerGapOnEveryKernel) {
  for (const char* model : {"llama3-8b", "mixtral-8x7b", "deepseek-v3"})
    for (const char* sys : {"4x-a100-nvlink3", "8x-h100-nvlink4"})
      for (Phase ph : {Phase::prefill, Phase::decode}) {
        const ModelSpec m = specs::load_model(model);
        const SystemSpec s = specs::load_system(sys);
        StepConfig cfg{4, 1024, ph, DType::bf16, "", 0, 0};
        const StepEstimate eager = estimate_step(m, s, cfg);
        cfg.cuda_graphs = true;
        const StepEstimate graphed = estimate_step(m, s, cfg);
        const double gap = s.gpu.launch_overhead_s - s.gpu.graph_launch_overhead_s;
        ASSERT_GT(gap, 0);
        ASSERT_EQ(eager.ops.size(), graphed.ops.size());
        double kernels = 0;
        for (std::size_t i = 0; i < eager.ops.size(); ++i) {
          const OpKind k = eager.plan.ops[i].kind;
          const bool collective =
              k == OpKind::allreduce || k == OpKind::alltoall || k == OpKind::ep_alltoall;
          const double saved = eager.ops[i].time_s - graphed.ops[i].time_s;
          const double want = collective ? 0.0 : gap * eager.ops[i].count;
          EXPECT_NEAR(saved, want, 1e-12 + 1e-9 * eager.ops[i].time_s)
              << model << " " << sys << " " << eager.ops[i].name;
          if (!collective) kernels += eager.ops[i].count;
        }
        EXPECT_GT(kernels, m.layers);
        EXPECT_NEAR(eager.total_s - graphed.total_s, kernels * gap, 1e-9 * eager.total_s);
      }
}
