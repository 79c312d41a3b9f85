#pragma once
// Hardware specs: a GPU, an interconnect link, and a system (GPUs per node, nodes, links).
// Loaded from JSON (data/hw/*.json, or a user's file) and validated; models never read files.
// Units are in names; SI seconds, bytes and hertz inside.
#include <map>
#include <string>
#include <vector>

#include "llmgps/specs/dtype.hpp"

namespace llmgps {

// How one Flash-Attention implementation uses a GPU (fa2, fa3). Per GPU, because the same code
// reaches very different fractions of peak on different architectures (FA2 on Hopper cannot use
// wgmma). Sources are in the hardware file next to each number.
struct AttentionProfile {
  std::string name;
  int min_sm_version = 0;           // fa3 needs Hopper (90)
  int block_m = 128;                // query rows per CTA
  int block_n = 128;                // key columns per inner iteration
  double tensor_efficiency_fwd = 0; // fraction of tensor peak the forward main loop reaches
  double tensor_efficiency_bwd = 0; // same for the backward kernel
  double softmax_overlap = 0;       // 0: softmax serialised with the MMAs, 1: fully hidden (ping-pong)
  double cta_overhead_iters = 0;    // per-CTA prologue/epilogue, in units of one inner iteration
  double softmax_fp32_ops_per_element = 0;  // FMA-pipe ops per score (scale, max, sum, rescale)
};

struct GpuSpec {
  std::string name;
  std::string arch;
  int sm_version = 0;
  int sm_count = 0;
  double clock_hz = 0;  // sustained clock under tensor load

  // Dense tensor-core FLOP per clock per SM, by format (0 = format not supported).
  double tensor_flops_per_clk_fp16 = 0;
  double tensor_flops_per_clk_bf16 = 0;
  double tensor_flops_per_clk_tf32 = 0;
  double tensor_flops_per_clk_fp8 = 0;
  // Per-SM per-clock pipe throughputs (lanes, i.e. thread-operations per clock).
  double fp32_fma_per_clk = 0;
  double int32_per_clk = 0;   // IMAD-class integer multiply lanes
  double alu_per_clk = 0;     // LOP3/IADD/shift lanes
  double mufu_per_clk = 0;    // special-function (exp2) lanes
  double issue_per_clk = 0;   // warp instructions issued per clock per SM (one per scheduler)

  int registers_per_sm = 0;
  int smem_per_sm_bytes = 0;
  int max_threads_per_sm = 0;
  int max_ctas_per_sm = 0;

  double l2_bytes = 0;
  double l2_bw_bytes_per_s = 0;
  double hbm_bytes = 0;
  double hbm_bw_bytes_per_s = 0;

  // Achievable-efficiency factors and overheads (each documented in the hardware file).
  double gemm_tensor_efficiency = 0;   // fraction of tensor peak a large GEMM's main loop sustains
  double gemm_tile_overhead_cycles = 0;  // per-tile prologue+epilogue (pipeline fill, store)
  double hbm_efficiency = 0;           // fraction of HBM peak a streaming kernel sustains
  double l2_efficiency = 0;            // fraction of L2 peak a GEMM's operand feed sustains
  double gemm_operand_sharing = 1;     // CTAs sharing one L2 read of an operand tile (TMA multicast)
  double launch_overhead_s = 0;        // back-to-back kernel launch gap on one stream
  double elementwise_min_time_s = 0;   // shortest useful elementwise kernel (ramp, tail)

  std::map<std::string, AttentionProfile> attention;  // by implementation name

  // Per-CTA resources of the GEMM kernel the GPU's library runs for large GEMMs: what decides
  // whether another kernel's CTAs can share an SM with it (0 threads: unknown, never shared).
  int gemm_cta_threads = 0;
  int gemm_cta_registers_per_thread = 0;
  int gemm_cta_smem_bytes = 0;

  // Peak dense FLOP/s of the whole GPU in a format (tensor cores; fp32 uses the FMA pipe).
  double peak_flops(DType d) const;
  bool supports(DType d) const { return peak_flops(d) > 0; }
  const AttentionProfile& attention_profile(const std::string& impl) const;  // throws InputError
};

// One NCCL-style transport protocol: the low-latency ones win for small messages, the simple one
// for bandwidth. Time of a step = latency_s + bytes / (link bandwidth * bw_fraction).
struct LinkProtocol {
  std::string name;
  double latency_s = 0;
  double bw_fraction = 0;
};

struct LinkSpec {
  std::string name;
  std::string topology;  // "switch" (any-to-any at full per-GPU bandwidth) or "ring"
  double bw_bytes_per_s = 0;  // per GPU, per direction
  double latency_s = 0;       // one hop
  std::vector<LinkProtocol> protocols;  // at least one
};

struct SystemSpec {
  std::string name;
  GpuSpec gpu;
  int gpus_per_node = 1;
  int nodes = 1;
  LinkSpec intra;  // between GPUs of one node
  LinkSpec inter;  // between nodes (per GPU, i.e. one NIC per GPU); unused when nodes == 1
  int total_gpus() const { return gpus_per_node * nodes; }
};

namespace specs {

// Loading. `ref` is a preset name or a path to a JSON file.
GpuSpec load_gpu(const std::string& ref);
LinkSpec load_link(const std::string& ref);
SystemSpec load_system(const std::string& ref);
// From already-parsed JSON (used by the loaders and by tests); `file` names the source in errors.
GpuSpec gpu_from_json(const std::string& text, const std::string& file);
LinkSpec link_from_json(const std::string& text, const std::string& file);
SystemSpec system_from_json(const std::string& text, const std::string& file);

struct HwEntry {
  std::string name;
  std::string kind;  // gpu, link, system
  std::string description;
};
std::vector<HwEntry> list_hw();
// The JSON text of a hardware preset or file (for `hw show`), validated first.
std::string hw_json_text(const std::string& ref, std::string& kind_out);

}  // namespace specs
}  // namespace llmgps
