#pragma once
// What every cost model answers: the time of one operation and which resource binds it.
#include <string>
#include <vector>

namespace llmgps {

// Every binding resource the cost models name in OpCost::bound: compute pipes (tensor cores,
// FP32, FMA, MUFU, IMAD, ALU, instruction issue), memory (HBM, L2), kernel launch, and
// communication (a link, NVLink and RDMA within DeepEP, a GPU-local copy). Reports list all of
// them, zero where no op binds there (tests check the models name no other).
const std::vector<std::string>& binding_resources();

struct OpCost {
  double time_s = 0;
  double flops = 0;       // useful floating-point work
  double hbm_bytes = 0;   // DRAM traffic
  double comm_bytes = 0;  // bytes over links (collectives), per GPU
  std::string bound;      // binding resource: one of binding_resources()
  std::string detail;     // how the model got there (tile, waves, protocol, ...)

  double achieved_flops_per_s() const { return time_s > 0 ? flops / time_s : 0; }
};

}  // namespace llmgps
