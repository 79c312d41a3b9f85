#include "llmgps/cost/op_cost.hpp"

namespace llmgps {

const std::vector<std::string>& binding_resources() {
  // Compute pipes, memory, launch, communication; then the SM model's two verdicts for kernels
  // that share SMs (dropout's RNG beside a GEMM): its own estimate, or the partition that binds.
  static const std::vector<std::string> all = {
      "tensor", "fp32",   "fma",  "mufu",   "imad", "alu",   "issue",    "hbm",
      "l2",     "launch", "link", "nvlink", "rdma", "local", "modelled", "sm-partition"};
  return all;
}

}  // namespace llmgps
