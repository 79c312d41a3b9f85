#pragma once
// What every cost model answers: the time of one operation and which resource binds it.
#include <string>

namespace llmgps {

struct OpCost {
  double time_s = 0;
  double flops = 0;       // useful floating-point work
  double hbm_bytes = 0;   // DRAM traffic
  double comm_bytes = 0;  // bytes over links (collectives), per GPU
  std::string bound;  // binding resource: tensor, fp32, mufu, issue, hbm, l2, launch, latency, link
  std::string detail;  // how the model got there (tile, waves, protocol, ...)

  double achieved_flops_per_s() const { return time_s > 0 ? flops / time_s : 0; }
};

}  // namespace llmgps
