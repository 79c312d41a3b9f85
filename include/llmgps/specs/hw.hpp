#pragma once
// Hardware specs: a GPU, an interconnect link, and a system (GPUs per node, nodes, links).
// Loaded from JSON (data/hw/*.json, or a user's file) and validated; models never read files.
// Units are in names; SI seconds, bytes and hertz inside.
#include <algorithm>
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
  int min_sm_version = 0;                // fa3 needs Hopper (90)
  int block_m = 128;                     // query rows per CTA
  int block_n = 128;                     // key columns per inner iteration
  double tensor_efficiency_fwd = 0;      // fraction of tensor peak the forward main loop reaches
  double tensor_efficiency_fwd_fp8 = 0;  // the FP8 forward's (0: as the 16-bit forward)
  double tensor_efficiency_bwd = 0;      // same for the backward kernel
  double softmax_overlap = 0;  // 0: softmax serialised with the MMAs, 1: fully hidden (ping-pong)
  double cta_overhead_iters = 0;       // per-CTA prologue/epilogue, in units of one inner iteration
  double cta_overhead_iters_fp8 = -1;  // the FP8 forward's (-1: as cta_overhead_iters)
  double softmax_fp32_ops_per_element = 0;  // FMA-pipe ops per score (scale, max, sum, rescale)
  // The forward's online softmax runs its dependent phases one after another (row max on the ALU
  // pipe, exp2 on MUFU, row sum on the FP32 pipe) instead of overlapping them across warps: true
  // where one warp per scheduler is in the softmax at a time (FA3's ping-pong warpgroups).
  bool softmax_phases_serial = false;
  // The library ships an FP8 forward kernel (FlashAttention-3; no FP8 backward anywhere, and
  // FlashAttention-2 none at all): FP8 attention is costed only where this holds.
  bool fp8_forward = false;
};

// One GEMM kernel family a GPU's libraries run: CUTLASS 3 sm90 TMA warp-specialized cooperative,
// ping-pong and basic kernels on Hopper, CUTLASS 2 sm80 multistage kernels on Ampere. It says which
// CTA tiles it builds and, for each, the CTA's threads, registers per thread and shared memory, and
// how it schedules tiles; every number is sourced in the hardware file
// (data/kernels/gemm_cutlass.json holds the CUTLASS builds they come from). The GEMM cost model
// times a GEMM with the family and tile a library heuristic would pick, and the SM model
// co-schedules it with that same footprint (cost/gemm.hpp GemmKernel), so a GEMM's time and its
// footprint belong to one kernel.
struct GemmKernelFamily {
  std::string name;
  std::vector<int> tile_m, tile_n;  // CTA tiles it builds (every pair that passes the checks)
  int threads_per_cta = 0;  // 0: 32 x warps, warps = tile / warp tile within [min_warps, max_warps]
  int accumulator_threads =
      0;                       // threads sharing one tile's accumulators (0: all the CTA's threads)
  int warp_tile_elements = 0;  // tile_m x tile_n one warp holds (threads_per_cta 0 only)
  int min_warps = 0, max_warps = 0;
  // setmaxnreg budgets (Hopper warp-specialized kernels); 0: every thread runs at the compiler's
  // count, accumulators plus overhead (register_overhead_per_thread), at most 255.
  int producer_threads = 0;
  int producer_registers = 0, consumer_registers = 0;
  // Registers a consumer thread needs: registers_per_accumulator x accumulators + this overhead
  // (Ampere's mma.sync fragments grow with the warp tile, so more than one per accumulator).
  int register_overhead_per_thread = 0;
  double registers_per_accumulator = 1;
  int fp8_accumulator_copies = 1;  // FP8 kernels promoting into a second FP32 accumulator set: 2
  int stage_k_bytes = 0;           // K bytes of A and B per pipeline stage (64 x 16-bit, 128 x fp8)
  int stages = 0;                  // 0: as many as fit in smem_capacity_bytes (CUTLASS's auto)
  int min_stages = 2;
  int stage_barrier_bytes = 0;    // per stage (the pipeline's mbarriers)
  int stage_carveout_bytes = 0;   // kept free when counting stages (the epilogue's buffers)
  int smem_extra_bytes = 0;       // what the CTA holds beyond its stages (epilogue, scheduler)
  int smem_capacity_bytes = 0;    // what one CTA may use
  bool persistent = false;        // one CTA per SM walks the tiles (fill paid once)
  bool stream_k = false;          // its scheduler offers stream-K
  bool epilogue_overlap = false;  // a tile's epilogue runs beside the next tile's main loop
};

struct GpuSpec {
  std::string name;
  std::string file;  // the file (or preset) it was read from, for errors found after loading
  std::string arch;
  int sm_version = 0;
  int sm_count = 0;
  double clock_hz = 0;  // boost clock: the clock behind the datasheet peaks
  // Sustained clock under dense tensor load at the board power limit, per format family (0: the
  // GPU holds its boost clock). Dynamic power goes as f^3 (voltage follows frequency), so a kernel
  // keeping the tensor pipes busy a fraction u of its time sustains min(boost, full * u^-1/3);
  // see sustained_clock_hz().
  double full_load_clock_hz_16bit = 0;  // fp16/bf16/tf32 tensor kernels
  double full_load_clock_hz_fp8 = 0;
  double power_limit_w = 0;         // the board power the clocks above are measured at
  double smem_bytes_per_clk = 128;  // shared-memory bandwidth per SM (32 banks x 4 B)

  // Dense tensor-core FLOP per clock per SM, by format (0 = format not supported).
  double tensor_flops_per_clk_fp16 = 0;
  double tensor_flops_per_clk_bf16 = 0;
  double tensor_flops_per_clk_tf32 = 0;
  double tensor_flops_per_clk_fp8 = 0;
  // Per-SM per-clock pipe throughputs (lanes, i.e. thread-operations per clock).
  double fp32_fma_per_clk = 0;
  double int32_per_clk = 0;  // IMAD-class integer multiply lanes
  double alu_per_clk = 0;    // LOP3/IADD/shift lanes
  double mufu_per_clk = 0;   // special-function (exp2) lanes
  double issue_per_clk = 0;  // warp instructions issued per clock per SM (one per scheduler)

  int registers_per_sm = 0;
  int smem_per_sm_bytes = 0;
  int max_threads_per_sm = 0;
  int max_ctas_per_sm = 0;

  double l2_bytes = 0;
  double l2_bw_bytes_per_s = 0;
  double hbm_bytes = 0;  // the datasheet's capacity (decimal GB)
  double hbm_bw_bytes_per_s = 0;
  // Memory a process can allocate from: nvidia-smi's memory.total where the file gives it
  // (memory_total_mib), else hbm_bytes.
  double memory_bytes = 0;

  // Achievable-efficiency factors and overheads (each documented in the hardware file).
  double gemm_tensor_efficiency = 0;  // fraction of tensor peak a large GEMM's main loop sustains
  double gemm_tile_overhead_cycles =
      0;  // pipeline fill: first stages' load latency before the first MMA
  // FP8 MMAs accumulate in reduced precision, so library kernels promote partial sums into FP32
  // registers with CUDA-core FMAs every 128 K (CUTLASS's promotion interval, DeepGEMM's scaling
  // block): tile_m x tile_n FMAs per 128 K. This is the fraction of that work hidden behind the
  // next MMAs.
  double gemm_fp8_promotion_hidden = 1.0;
  double hbm_efficiency = 0;        // fraction of HBM peak a streaming kernel sustains
  double l2_efficiency = 0;         // fraction of L2 peak a GEMM's operand feed sustains
  double gemm_operand_sharing = 1;  // CTAs sharing one L2 read of an operand tile (TMA multicast)
  double launch_overhead_s = 0;     // back-to-back kernel launch gap on one stream
  // The same gap for a kernel replayed from a CUDA graph (the host's launch work done once at
  // instantiation; what is left is the GPU's own start of the next node). -1: the file gives none.
  double graph_launch_overhead_s = -1;
  // How long this GPU's NCCL ring steps take relative to NCCL's tuning-table step latencies,
  // which carry one figure per link type and protocol for every GPU generation. A step is the
  // GPU's kernel storing a chunk and its flag to a peer and the peer polling for it, fencing and
  // reducing on its SMs: GPU work as much as link latency. Applied to every protocol of every
  // link of the system (1: the tables as they are).
  double collective_step_latency_scale = 1;
  double elementwise_min_time_s = 0;  // shortest useful elementwise kernel (ramp, tail)

  std::map<std::string, AttentionProfile> attention;  // by implementation name

  // The GEMM kernel families the GPU's libraries run (gemm_kernels in the hardware file; one
  // generic family that owns a whole SM when the file has none).
  std::vector<GemmKernelFamily> gemm_kernels;

  // Peak dense FLOP/s of the whole GPU in a format (tensor cores; fp32 uses the FMA pipe).
  double peak_flops(DType d) const;
  // Clock of a kernel in format d whose tensor pipes are busy a fraction `tensor_busy` (0..1] of
  // its time at the boost clock. Never above the boost clock.
  double sustained_clock_hz(DType d, double tensor_busy) const;
  bool supports(DType d) const { return peak_flops(d) > 0; }
  const AttentionProfile& attention_profile(const std::string& impl) const;  // throws InputError
};

// One NCCL transport protocol. Its payload fraction follows from its wire format (LL: 8-byte
// stores of 4 data bytes and a 4-byte flag, 1/2; LL128: 128-byte lines with an 8-byte flag,
// 120/128; Simple: whole buffers, 1). Time of an algorithm = base latency + steps x step latency
// + bus bytes / (link bandwidth x link efficiency x payload fraction, capped at max_busbw).
struct LinkProtocol {
  std::string name;
  double payload_fraction = 1;
  double max_busbw_bytes_per_s = 0;  // 0: no cap (NCCL caps LL per architecture)
  // On an inter-node link NCCL's LL cap depends on the node count (tuning.cc llMaxBws: N2 for
  // two nodes, N4 beyond); this is the N4 value (0: max_busbw_bytes_per_s at any node count).
  double max_busbw_many_nodes_bytes_per_s = 0;
  double base_latency_s = 0;  // once per collective (kernel launch, setup)
  double step_latency_s = 0;  // per ring step over this link
  // NCCL's threads per channel and per-thread work threshold for this protocol (comm.h
  // NCCL_*_MAX_NTHREADS, NCCL_*_THREAD_THRESHOLD; LL's threshold is multiplied by the ranks on a
  // ring): with the link's ring_channels they set how many channels and threads a small ring
  // collective runs on (0: not given, the whole bandwidth at every size).
  int max_threads = 0;
  double thread_threshold_bytes = 0;
  bool threshold_per_rank = false;
  // NCCL's tree (tuning.cc): once-per-collective and per-hop latencies of the tree algorithm over
  // this link (-1: not given, no tree over it), and on an inter-node link the share of the link's
  // bandwidth a tree all-reduce's protocol sustains (LL 1/3.8, LL128 120/128, Simple 1).
  double tree_base_latency_s = -1;
  double tree_step_latency_s = -1;
  double tree_bw_factor = 0;
  // NCCL's NVLS-tree hop between nodes (tuning.cc hwLatencies[NET][NVLSTree]; -1: not given, the
  // tree's hop is taken).
  double nvls_tree_step_latency_s = -1;
  // On an inter-node link: the host's cost of posting a network step, the least a step of a ring
  // that spans nodes takes even inside a node (tuning.cc getNetOverhead: 1 us on Intel hosts,
  // 2 us on AMD, three times that for Simple; "inter-node rings still have to launch nsteps *
  // net overhead"). 0: not given.
  double net_overhead_s = 0;
  // NCCL's static correction of a tree all-reduce's bandwidth by size (tuning.cc
  // treeCorrectionFactor): entry i for buffers of 64 x 2^i bytes up to 64 x 2^(i+1) (empty: 1).
  std::vector<double> tree_size_factors;
};

struct LinkSpec {
  std::string name;
  std::string topology;       // "switch" (any-to-any at full per-GPU bandwidth) or "ring"
  double bw_bytes_per_s = 0;  // per GPU, per direction (nominal)
  double bw_efficiency = 1;   // fraction of nominal a bulk collective sustains
  double latency_s = 0;       // one hop (point-to-point copies, all-to-all)
  // NVLink SHARP (NVSwitch gen3+): the switch reduces and multicasts, so an all-reduce moves
  // (n+1)/n of the buffer per GPU and direction instead of the ring's 2(n-1)/n.
  bool nvls = false;
  double nvls_efficiency = 0;  // fraction of the link's sustained bandwidth NVLS reaches
  double nvls_latency_s = 0;   // per NVLS collective
  int nvls_channels = 16;      // CTAs NCCL runs an NVLS collective on (NCCL_NVLS_NCHANNELS)
  double nvls_max_chunk_bytes = 131072;  // NCCL's NVLS chunk before its small-message halving
  double nvls_chunk_overhead_s = 0;      // per chunk per channel: multimem round and flag sync
  std::vector<LinkProtocol> protocols;   // at least one
  int ring_channels = 0;  // channels NCCL runs ring collectives on over this link (0: not given)
  // In-network reduction between nodes (InfiniBand SHARP in the fabric's switches, which NCCL
  // reaches through its CollNet algorithms and the SHARP plugin): latencies once per all-reduce
  // through the switch tree, for CollNet-direct, CollNet-chain and NVLS across nodes (tuning.cc
  // hwLatencies[NET]; -1: the link gives none, so nothing reduces in its network).
  double sharp_direct_latency_s = -1;
  double sharp_chain_latency_s = -1;
  double sharp_nvls_latency_s = -1;
  bool sharp() const { return sharp_direct_latency_s >= 0; }
  // CollNet's hops inside a node over this link (tuning.cc hwLatencies[NVLINK]): direct, where
  // every GPU reaches the node's NIC heads at once (plus a per-peer serialisation), and chain,
  // a hop per GPU (-1: not given; the link's tree hop, else its ring step, stands in).
  double collnet_direct_hop_s = -1;
  double collnet_direct_arity_s = 0;
  double collnet_chain_hop_s = -1;
};

struct SystemSpec {
  std::string name;
  GpuSpec gpu;
  int gpus_per_node = 1;
  int nodes = 1;
  LinkSpec intra;  // between GPUs of one node
  LinkSpec inter;  // between nodes: one NIC; unused when nodes == 1
  // NICs of a node, at most one per GPU (0: one per GPU, as in DGX/HGX systems; a GPU with
  // several NICs is one inter-node link of their summed bandwidth). A node's GPUs share its NICs
  // evenly: all of them at once get nics_per_node / gpus_per_node NICs each, and g of them
  // reach at most min(g, nics_per_node) NICs.
  int nics_per_node = 0;
  double nics_per_gpu() const {
    return nics_per_node > 0 ? double(nics_per_node) / gpus_per_node : 1.0;
  }
  double nics_for(int gpus_in_node) const {
    return nics_per_node > 0 ? double(std::min(gpus_in_node, nics_per_node)) : gpus_in_node;
  }
  // The inter-node link as one GPU sees it while every GPU of its node sends: a NIC's bandwidth
  // times nics_per_gpu().
  LinkSpec nic_share() const;
  bool inter_link_given = false;  // the file names an inter-node (NIC) link (else inter = intra)
  // NCCL's CollNet is on (NCCL_COLLNET_ENABLE=1 with the SHARP plugin) and the inter-node link
  // reduces in its network: all-reduces across nodes may run CollNet-direct, CollNet-chain or
  // NVLS through the switch. Off by default, as in NCCL.
  bool collnet = false;
  int total_gpus() const { return gpus_per_node * nodes; }
};

// The system as an engine that replays its step from CUDA graphs runs it: every kernel's launch
// gap is the GPU's graph_launch_overhead_s (InputError naming the field when the GPU's file gives
// none). Collective latencies stay as they are: NCCL's tables and the fitted NVLS latency come
// from eager launches, and a captured collective is not modelled separately.
SystemSpec with_cuda_graphs(const SystemSpec& sys);

// The one default-dtype rule every command follows: FP8 where the GPU has it and the workload
// is FP8-typical (a model shipped as an FP8 checkpoint; FP8 training, the dropout paper's
// setting), else BF16 where the GPU has it, else FP16.
DType default_dtype(const GpuSpec& gpu, bool fp8_typical);
// `text` as a dtype: "auto" applies default_dtype, anything else parse_dtype (errors name `where`).
DType resolve_dtype(const std::string& text, const GpuSpec& gpu, bool fp8_typical,
                    const std::string& where);

namespace specs {

// Loading. `ref` is a preset name or a path to a JSON file.
GpuSpec load_gpu(const std::string& ref);
LinkSpec load_link(const std::string& ref);
SystemSpec load_system(const std::string& ref);
// From JSON text (used by the loaders and by tests): parsed here; `file` names the source in
// errors.
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
