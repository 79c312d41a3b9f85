#include "llmgps/specs/hw.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "llmgps/specs/error.hpp"
#include "llmgps/specs/json_fields.hpp"
#include "llmgps/specs/presets.hpp"
#include "llmgps/util/suggest.hpp"

namespace llmgps {

using nlohmann::json;
using specs::JsonContext;

double GpuSpec::peak_flops(DType d) const {
  double per_clk = 0;
  switch (d) {
    case DType::fp16:
      per_clk = tensor_flops_per_clk_fp16;
      break;
    case DType::bf16:
      per_clk = tensor_flops_per_clk_bf16;
      break;
    case DType::tf32:
      per_clk = tensor_flops_per_clk_tf32;
      break;
    case DType::fp8:
      per_clk = tensor_flops_per_clk_fp8;
      break;
    case DType::fp32:
      per_clk = 2 * fp32_fma_per_clk;
      break;
  }
  return per_clk * sm_count * clock_hz;
}

double GpuSpec::sustained_clock_hz(DType d, double tensor_busy) const {
  const double full = d == DType::fp8 ? full_load_clock_hz_fp8
                                      : (d == DType::fp32 ? 0.0 : full_load_clock_hz_16bit);
  if (!(full > 0) || !(tensor_busy > 0)) return clock_hz;
  return std::min(clock_hz, full * std::cbrt(1.0 / std::min(1.0, tensor_busy)));
}

const AttentionProfile& GpuSpec::attention_profile(const std::string& impl) const {
  auto it = attention.find(impl);
  if (it == attention.end())
    throw InputError("attention.impl",
                     "GPU '" + name + "' has no attention profile '" + impl + "'");
  if (sm_version < it->second.min_sm_version)
    throw InputError("attention.impl",
                     impl + " needs sm_" + std::to_string(it->second.min_sm_version) +
                         " or newer; GPU '" + name + "' is sm_" + std::to_string(sm_version));
  return it->second;
}

SystemSpec with_cuda_graphs(const SystemSpec& sys) {
  if (sys.gpu.graph_launch_overhead_s < 0)
    throw InputError(
        JsonContext{sys.gpu.file, "efficiency"}.where("graph_launch_overhead_us") + " (gpu '" +
            sys.gpu.name + "')",
        "missing: CUDA graphs need the per-kernel gap of a graph replay (as in the presets; "
        "scripts/gpu/measure.sh measures it)");
  SystemSpec out = sys;
  out.gpu.launch_overhead_s = sys.gpu.graph_launch_overhead_s;
  return out;
}

LinkSpec SystemSpec::nic_share() const {
  LinkSpec l = inter;
  l.bw_bytes_per_s *= nics_per_gpu();
  return l;
}

DType default_dtype(const GpuSpec& gpu, bool fp8_typical) {
  if (fp8_typical && gpu.supports(DType::fp8)) return DType::fp8;
  return gpu.supports(DType::bf16) ? DType::bf16 : DType::fp16;
}

DType resolve_dtype(const std::string& text, const GpuSpec& gpu, bool fp8_typical,
                    const std::string& where) {
  return text == "auto" ? default_dtype(gpu, fp8_typical) : parse_dtype(text, where);
}

namespace specs {
namespace {

// Returns (text, display name) for a hardware reference.
std::pair<std::string, std::string> resolve_hw(const std::string& ref, const std::string& option) {
  if (!looks_like_path(ref)) {
    if (const char* text = find_preset("hw", ref)) return {text, "preset '" + ref + "'"};
    if (!std::filesystem::exists(ref))
      throw InputError(option, "unknown hardware preset '" + ref + "'" +
                                   util::did_you_mean(ref, preset_names("hw")) +
                                   " (known: " + preset_list("hw") + ")");
  }
  return {read_text_file(ref), ref};
}

void expect_kind(const json& j, const std::string& kind, const std::string& file) {
  JsonContext ctx{file, ""};
  std::string k = string_field(j, "kind", ctx);
  if (k != kind) throw InputError(ctx.where("kind"), "expected '" + kind + "', got '" + k + "'");
}

AttentionProfile profile_from_json(const json& j, const std::string& name, const JsonContext& ctx) {
  AttentionProfile p;
  p.name = name;
  p.min_sm_version = optional_int(j, "min_sm_version", ctx).value_or(0);
  p.block_m = positive_int_field(j, "block_m", ctx);
  p.block_n = positive_int_field(j, "block_n", ctx);
  p.tensor_efficiency_fwd = fraction_field(j, "tensor_efficiency_fwd", ctx);
  if (find_field(j, "tensor_efficiency_fwd_fp8"))
    p.tensor_efficiency_fwd_fp8 = fraction_field(j, "tensor_efficiency_fwd_fp8", ctx);
  p.tensor_efficiency_bwd = fraction_field(j, "tensor_efficiency_bwd", ctx);
  p.softmax_overlap = number_field(j, "softmax_overlap", ctx);
  if (p.softmax_overlap < 0 || p.softmax_overlap > 1)
    throw InputError(ctx.where("softmax_overlap"), "must be in [0, 1]");
  p.cta_overhead_iters = nonnegative_field(j, "cta_overhead_iters", ctx);
  if (find_field(j, "cta_overhead_iters_fp8"))
    p.cta_overhead_iters_fp8 = nonnegative_field(j, "cta_overhead_iters_fp8", ctx);
  p.softmax_fp32_ops_per_element = nonnegative_field(j, "softmax_fp32_ops_per_element", ctx);
  p.softmax_phases_serial = optional_bool(j, "softmax_phases_serial", ctx).value_or(false);
  p.fp8_forward = optional_bool(j, "fp8_forward", ctx).value_or(false);
  if (p.softmax_phases_serial && p.softmax_fp32_ops_per_element < 1)
    throw InputError(ctx.where("softmax_fp32_ops_per_element"),
                     "must be at least 1 with softmax_phases_serial (the row max is one of them, "
                     "counted on the ALU)");
  return p;
}

GemmKernelFamily family_from_json(const json& j, const std::string& name, const GpuSpec& g,
                                  const JsonContext& ctx) {
  if (!j.is_object()) throw InputError(ctx.prefix, "expected an object");
  GemmKernelFamily f;
  f.name = name;
  f.tile_m = positive_int_list_field(j, "tile_m", ctx);
  f.tile_n = positive_int_list_field(j, "tile_n", ctx);
  f.threads_per_cta = optional_int(j, "threads_per_cta", ctx).value_or(0);
  f.accumulator_threads = optional_int(j, "accumulator_threads", ctx).value_or(0);
  f.warp_tile_elements = optional_int(j, "warp_tile_elements", ctx).value_or(0);
  f.min_warps = optional_int(j, "min_warps", ctx).value_or(0);
  f.max_warps = optional_int(j, "max_warps", ctx).value_or(0);
  if (f.threads_per_cta == 0 &&
      (f.warp_tile_elements == 0 || f.min_warps == 0 || f.max_warps < f.min_warps))
    throw InputError(ctx.where("threads_per_cta"),
                     "missing (or give warp_tile_elements, min_warps and max_warps >= min_warps)");
  f.producer_threads = optional_int(j, "producer_threads", ctx).value_or(0);
  f.producer_registers = optional_int(j, "producer_registers", ctx).value_or(0);
  f.consumer_registers = optional_int(j, "consumer_registers", ctx).value_or(0);
  f.register_overhead_per_thread = positive_int_field(j, "register_overhead_per_thread", ctx);
  f.registers_per_accumulator = optional_number(j, "registers_per_accumulator", ctx).value_or(1.0);
  if (!(f.registers_per_accumulator >= 1 && f.registers_per_accumulator <= 3))
    throw InputError(ctx.where("registers_per_accumulator"), "must be in [1, 3]");
  f.fp8_accumulator_copies = optional_int(j, "fp8_accumulator_copies", ctx).value_or(1);
  if (f.fp8_accumulator_copies < 1 || f.fp8_accumulator_copies > 2)
    throw InputError(ctx.where("fp8_accumulator_copies"), "must be 1 or 2");
  f.stage_k_bytes = positive_int_field(j, "stage_k_bytes", ctx);
  f.stages = optional_int(j, "stages", ctx).value_or(0);
  f.min_stages = optional_int(j, "min_stages", ctx).value_or(2);
  f.stage_barrier_bytes = optional_int(j, "stage_barrier_bytes", ctx).value_or(0);
  f.stage_carveout_bytes = optional_int(j, "stage_carveout_bytes", ctx).value_or(0);
  f.smem_extra_bytes = optional_int(j, "smem_extra_bytes", ctx).value_or(0);
  f.smem_capacity_bytes = optional_int(j, "smem_capacity_bytes", ctx).value_or(g.smem_per_sm_bytes);
  if (f.smem_capacity_bytes > g.smem_per_sm_bytes)
    throw InputError(
        ctx.where("smem_capacity_bytes"),
        "exceeds the SM's shared memory (" + std::to_string(g.smem_per_sm_bytes) + " B)");
  f.persistent = optional_int(j, "persistent", ctx).value_or(0) != 0;
  f.stream_k = optional_int(j, "stream_k", ctx).value_or(0) != 0;
  f.epilogue_overlap = optional_int(j, "epilogue_overlap", ctx).value_or(0) != 0;
  const int budget = f.producer_threads * f.producer_registers +
                     (f.threads_per_cta - f.producer_threads) * f.consumer_registers;
  if (f.consumer_registers > 0 && budget > g.registers_per_sm)
    throw InputError(ctx.where("consumer_registers"),
                     "the setmaxnreg budgets exceed the SM's register file (" +
                         std::to_string(budget) + " > " + std::to_string(g.registers_per_sm) + ")");
  return f;
}

// A GPU file without gemm_kernels: one family whose CTA owns a whole SM (so nothing shares an SM
// with a GEMM), power-of-two tiles, non-persistent, three stages.
GemmKernelFamily generic_gemm_family(const GpuSpec& g) {
  GemmKernelFamily f;
  f.name = "generic";
  f.tile_m = {32, 64, 128, 256};
  f.tile_n = {32, 64, 128, 256};
  f.threads_per_cta = g.max_threads_per_sm;
  f.register_overhead_per_thread = 1;
  f.stage_k_bytes = 128;
  f.stages = 3;
  f.min_stages = 1;
  f.smem_capacity_bytes = g.smem_per_sm_bytes;
  return f;
}

LinkSpec link_from_parsed(const json& j, const std::string& file) {
  expect_kind(j, "link", file);
  JsonContext ctx{file, ""};
  LinkSpec l;
  l.name = string_field(j, "name", ctx);
  l.topology = string_field(j, "topology", ctx);
  if (l.topology != "switch" && l.topology != "ring")
    throw InputError(ctx.where("topology"), "must be 'switch' or 'ring', got '" + l.topology + "'");
  l.bw_bytes_per_s = positive_field(j, "bw_gb_per_s", ctx) * 1e9;
  l.latency_s = nonnegative_field(j, "latency_us", ctx) * 1e-6;
  if (auto e = optional_number(j, "bw_efficiency", ctx)) {
    if (!(*e > 0 && *e <= 1)) throw InputError(ctx.where("bw_efficiency"), "must be in (0, 1]");
    l.bw_efficiency = *e;
  }
  if (const json* nv = find_field(j, "nvls")) {
    if (!nv->is_object())
      throw InputError(ctx.where("nvls"), "expected an object with efficiency and latency_us");
    JsonContext nc = ctx.child("nvls");
    l.nvls = true;
    l.nvls_efficiency = fraction_field(*nv, "efficiency", nc);
    l.nvls_latency_s = nonnegative_field(*nv, "latency_us", nc) * 1e-6;
    if (auto ch = optional_int(*nv, "channels", nc)) {
      if (*ch < 1 || *ch > 64) throw InputError(nc.where("channels"), "must be in [1, 64]");
      l.nvls_channels = *ch;
    }
    if (auto kb = optional_number(*nv, "max_chunk_kib", nc)) {
      if (!(*kb >= 16 && *kb <= 65536))
        throw InputError(nc.where("max_chunk_kib"), "must be in [16, 65536]");
      l.nvls_max_chunk_bytes = *kb * 1024;
    }
    l.nvls_chunk_overhead_s = optional_number(*nv, "chunk_overhead_us", nc).value_or(0.0) * 1e-6;
    if (!(l.nvls_chunk_overhead_s >= 0) || !std::isfinite(l.nvls_chunk_overhead_s))
      throw InputError(nc.where("chunk_overhead_us"), "must be a non-negative number");
  }
  if (auto ch = optional_int(j, "ring_channels", ctx)) {
    if (*ch < 1 || *ch > 64) throw InputError(ctx.where("ring_channels"), "must be in [1, 64]");
    l.ring_channels = *ch;
  }
  if (const json* sh = find_field(j, "sharp")) {
    if (!sh->is_object())
      throw InputError(ctx.where("sharp"),
                       "expected an object with direct_latency_us, chain_latency_us and "
                       "nvls_latency_us");
    JsonContext sc = ctx.child("sharp");
    l.sharp_direct_latency_s = nonnegative_field(*sh, "direct_latency_us", sc) * 1e-6;
    l.sharp_chain_latency_s = nonnegative_field(*sh, "chain_latency_us", sc) * 1e-6;
    l.sharp_nvls_latency_s = nonnegative_field(*sh, "nvls_latency_us", sc) * 1e-6;
  }
  if (const json* ch = find_field(j, "collnet_hops")) {
    if (!ch->is_object())
      throw InputError(ctx.where("collnet_hops"),
                       "expected an object with direct_us, direct_arity_us and chain_us");
    JsonContext cc = ctx.child("collnet_hops");
    l.collnet_direct_hop_s = nonnegative_field(*ch, "direct_us", cc) * 1e-6;
    l.collnet_direct_arity_s = nonnegative_field(*ch, "direct_arity_us", cc) * 1e-6;
    l.collnet_chain_hop_s = nonnegative_field(*ch, "chain_us", cc) * 1e-6;
  }
  const json* protos = find_field(j, "protocols");
  if (!protos || !protos->is_array() || protos->empty())
    throw InputError(ctx.where("protocols"), "must be a non-empty array");
  for (size_t i = 0; i < protos->size(); ++i) {
    JsonContext pc = ctx.child("protocols[" + std::to_string(i) + "]");
    const json& pj = (*protos)[i];
    LinkProtocol p;
    p.name = string_field(pj, "name", pc);
    p.payload_fraction = fraction_field(pj, "payload_fraction", pc);
    p.max_busbw_bytes_per_s = optional_number(pj, "max_busbw_gb_per_s", pc).value_or(0.0) * 1e9;
    if (p.max_busbw_bytes_per_s < 0)
      throw InputError(pc.where("max_busbw_gb_per_s"), "must not be negative");
    if (find_field(pj, "max_busbw_many_nodes_gb_per_s")) {
      if (p.max_busbw_bytes_per_s <= 0)
        throw InputError(pc.where("max_busbw_gb_per_s"),
                         "missing: max_busbw_many_nodes_gb_per_s refines it for more nodes");
      p.max_busbw_many_nodes_bytes_per_s =
          positive_field(pj, "max_busbw_many_nodes_gb_per_s", pc) * 1e9;
    }
    p.base_latency_s = nonnegative_field(pj, "base_latency_us", pc) * 1e-6;
    p.step_latency_s = nonnegative_field(pj, "step_latency_us", pc) * 1e-6;
    if (auto t = optional_int(pj, "max_threads", pc)) {
      if (*t < 32 || *t > 1024) throw InputError(pc.where("max_threads"), "must be in [32, 1024]");
      p.max_threads = *t;
    }
    p.thread_threshold_bytes = optional_number(pj, "thread_threshold_bytes", pc).value_or(0.0);
    if (!(p.thread_threshold_bytes >= 0) || !std::isfinite(p.thread_threshold_bytes) ||
        p.thread_threshold_bytes > 1e6)
      throw InputError(pc.where("thread_threshold_bytes"), "must be in [0, 1e6]");
    p.threshold_per_rank = optional_bool(pj, "thread_threshold_per_rank", pc).value_or(false);
    if (find_field(pj, "tree_base_latency_us"))
      p.tree_base_latency_s = nonnegative_field(pj, "tree_base_latency_us", pc) * 1e-6;
    if (find_field(pj, "tree_step_latency_us"))
      p.tree_step_latency_s = nonnegative_field(pj, "tree_step_latency_us", pc) * 1e-6;
    if ((p.tree_base_latency_s >= 0) != (p.tree_step_latency_s >= 0))
      throw InputError(
          pc.where(p.tree_base_latency_s >= 0 ? "tree_step_latency_us" : "tree_base_latency_us"),
          "missing: tree_base_latency_us and tree_step_latency_us go together");
    if (find_field(pj, "nvls_tree_step_latency_us"))
      p.nvls_tree_step_latency_s = nonnegative_field(pj, "nvls_tree_step_latency_us", pc) * 1e-6;
    if (find_field(pj, "net_overhead_us"))
      p.net_overhead_s = nonnegative_field(pj, "net_overhead_us", pc) * 1e-6;
    p.tree_size_factors =
        optional_fraction_list(pj, "tree_size_factors", pc, 64).value_or(std::vector<double>{});
    if (find_field(pj, "tree_bw_factor")) {
      p.tree_bw_factor = fraction_field(pj, "tree_bw_factor", pc);
      if (p.tree_step_latency_s < 0)
        throw InputError(pc.where("tree_step_latency_us"),
                         "missing: a tree_bw_factor needs the tree latencies");
    }
    // NCCL's small-buffer rule needs all three: the link's channels and the protocol's threads
    // and threshold. Half of it would silently mean "every channel at every size".
    const bool threads = p.max_threads > 0, threshold = p.thread_threshold_bytes > 0;
    if (threads != threshold)
      throw InputError(pc.where(threads ? "thread_threshold_bytes" : "max_threads"),
                       "missing: max_threads and thread_threshold_bytes go together");
    if (p.threshold_per_rank && !threshold)
      throw InputError(pc.where("thread_threshold_per_rank"),
                       "needs thread_threshold_bytes and max_threads");
    if (threads != (l.ring_channels > 0))
      throw InputError(threads ? ctx.where("ring_channels") : pc.where("max_threads"),
                       threads ? "missing: a protocol gives max_threads, so the link needs its "
                                 "ring channel count"
                               : "missing: the link gives ring_channels, so every protocol needs "
                                 "max_threads and thread_threshold_bytes");
    l.protocols.push_back(p);
  }
  return l;
}

GpuSpec gpu_from_parsed(const json& j, const std::string& file) {
  expect_kind(j, "gpu", file);
  JsonContext ctx{file, ""};
  GpuSpec g;
  g.file = file;
  g.name = string_field(j, "name", ctx);
  g.arch = string_field(j, "arch", ctx);
  g.sm_version = positive_int_field(j, "sm_version", ctx);
  g.sm_count = positive_int_field(j, "sm_count", ctx);
  g.clock_hz = positive_field(j, "clock_ghz", ctx) * 1e9;
  if (const json* pw = find_field(j, "power")) {
    if (!pw->is_object()) throw InputError(ctx.where("power"), "expected an object");
    JsonContext wc = ctx.child("power");
    g.power_limit_w = positive_field(*pw, "limit_w", wc);
    g.full_load_clock_hz_16bit = positive_field(*pw, "full_load_clock_ghz_16bit", wc) * 1e9;
    g.full_load_clock_hz_fp8 = positive_field(*pw, "full_load_clock_ghz_fp8", wc) * 1e9;
    if (g.full_load_clock_hz_16bit > g.clock_hz || g.full_load_clock_hz_fp8 > g.clock_hz)
      throw InputError(wc.where("full_load_clock_ghz_16bit"),
                       "a full-load clock cannot exceed clock_ghz (the boost clock)");
  }
  g.smem_bytes_per_clk = optional_number(j, "smem_bytes_per_clk", ctx).value_or(128.0);
  if (!(g.smem_bytes_per_clk > 0))
    throw InputError(ctx.where("smem_bytes_per_clk"), "must be positive");

  const json* tensor = find_field(j, "tensor_flops_per_clk_per_sm");
  if (!tensor || !tensor->is_object())
    throw InputError(ctx.where("tensor_flops_per_clk_per_sm"), "missing");
  JsonContext tc = ctx.child("tensor_flops_per_clk_per_sm");
  g.tensor_flops_per_clk_fp16 = positive_field(*tensor, "fp16", tc);
  g.tensor_flops_per_clk_bf16 = positive_field(*tensor, "bf16", tc);
  g.tensor_flops_per_clk_tf32 = positive_field(*tensor, "tf32", tc);
  g.tensor_flops_per_clk_fp8 = nonnegative_field(*tensor, "fp8", tc);

  const json* pipes = find_field(j, "pipes_per_clk_per_sm");
  if (!pipes || !pipes->is_object()) throw InputError(ctx.where("pipes_per_clk_per_sm"), "missing");
  JsonContext pc = ctx.child("pipes_per_clk_per_sm");
  g.fp32_fma_per_clk = positive_field(*pipes, "fp32_fma", pc);
  g.int32_per_clk = positive_field(*pipes, "int32_mul", pc);
  g.alu_per_clk = positive_field(*pipes, "alu", pc);
  g.mufu_per_clk = positive_field(*pipes, "mufu", pc);
  g.issue_per_clk = positive_field(*pipes, "issue_warp_instr", pc);

  g.registers_per_sm = positive_int_field(j, "registers_per_sm", ctx);
  g.smem_per_sm_bytes = positive_int_field(j, "smem_per_sm_bytes", ctx);
  g.max_threads_per_sm = positive_int_field(j, "max_threads_per_sm", ctx);
  g.max_ctas_per_sm = positive_int_field(j, "max_ctas_per_sm", ctx);
  g.l2_bytes = positive_field(j, "l2_mb", ctx) * 1e6;
  g.l2_bw_bytes_per_s = positive_field(j, "l2_bw_gb_per_s", ctx) * 1e9;
  g.hbm_bytes = positive_field(j, "hbm_gb", ctx) * 1e9;
  g.hbm_bw_bytes_per_s = positive_field(j, "hbm_bw_gb_per_s", ctx) * 1e9;
  g.memory_bytes = g.hbm_bytes;
  if (find_field(j, "memory_total_mib"))
    g.memory_bytes = positive_field(j, "memory_total_mib", ctx) * 1048576.0;
  g.gemm_operand_sharing = optional_number(j, "gemm_operand_sharing", ctx).value_or(1.0);
  if (g.gemm_operand_sharing < 1)
    throw InputError(ctx.where("gemm_operand_sharing"), "must be at least 1");

  const json* eff = find_field(j, "efficiency");
  if (!eff || !eff->is_object()) throw InputError(ctx.where("efficiency"), "missing");
  JsonContext ec = ctx.child("efficiency");
  g.gemm_tensor_efficiency = fraction_field(*eff, "gemm_tensor", ec);
  g.gemm_tile_overhead_cycles = nonnegative_field(*eff, "gemm_tile_overhead_cycles", ec);
  if (auto h = optional_number(*eff, "gemm_fp8_promotion_hidden", ec)) {
    if (!(*h >= 0 && *h <= 1))
      throw InputError(ec.where("gemm_fp8_promotion_hidden"), "must be in [0, 1]");
    g.gemm_fp8_promotion_hidden = *h;
  }
  g.hbm_efficiency = fraction_field(*eff, "hbm", ec);
  g.l2_efficiency = fraction_field(*eff, "l2", ec);
  g.launch_overhead_s = nonnegative_field(*eff, "launch_overhead_us", ec) * 1e-6;
  if (find_field(*eff, "graph_launch_overhead_us")) {
    g.graph_launch_overhead_s = nonnegative_field(*eff, "graph_launch_overhead_us", ec) * 1e-6;
    if (g.graph_launch_overhead_s > g.launch_overhead_s)
      throw InputError(ec.where("graph_launch_overhead_us"),
                       "must not exceed launch_overhead_us (a graph replays the same kernels "
                       "without the host's per-launch work)");
  }
  if (auto s = optional_number(*eff, "collective_step_latency_scale", ec)) {
    if (!(*s > 0) || !std::isfinite(*s))
      throw InputError(ec.where("collective_step_latency_scale"), "must be a positive number");
    g.collective_step_latency_scale = *s;
  }
  g.elementwise_min_time_s = nonnegative_field(*eff, "elementwise_min_us", ec) * 1e-6;

  if (find_field(j, "gemm_kernel"))
    throw InputError(ctx.where("gemm_kernel"),
                     "replaced by gemm_kernels: one record per kernel family, as in the presets "
                     "(llmgps hw show h100-sxm5)");
  if (const json* gk = find_field(j, "gemm_kernels")) {
    if (!gk->is_object() || gk->empty())
      throw InputError(ctx.where("gemm_kernels"), "expected an object of kernel families");
    for (auto it = gk->begin(); it != gk->end(); ++it)
      g.gemm_kernels.push_back(
          family_from_json(it.value(), it.key(), g, ctx.child("gemm_kernels." + it.key())));
  } else {
    g.gemm_kernels.push_back(generic_gemm_family(g));
  }
  if (const json* att = find_field(j, "attention")) {
    if (!att->is_object()) throw InputError(ctx.where("attention"), "expected an object");
    for (auto it = att->begin(); it != att->end(); ++it)
      g.attention[it.key()] =
          profile_from_json(it.value(), it.key(), ctx.child("attention." + it.key()));
  }
  return g;
}

// A system's gpu/link member: a preset name, a path, or an inline object.
template <typename T, typename F>
T member(const json& j, const std::string& field, const JsonContext& ctx, F from_parsed) {
  const json* v = find_field(j, field);
  if (!v) throw InputError(ctx.where(field), "missing");
  if (v->is_object()) return from_parsed(*v, ctx.file + " (" + field + ")");
  if (!v->is_string())
    throw InputError(ctx.where(field), "expected a preset name, a path or an object");
  std::string ref = v->get<std::string>();
  // A relative path inside a file is relative to that file (as an #include is), not to the
  // directory llmgps runs in.
  const std::filesystem::path self(ctx.file);
  if (looks_like_path(ref) && std::filesystem::path(ref).is_relative() &&
      ctx.file.rfind("preset '", 0) != 0 && self.has_parent_path())
    ref = (self.parent_path() / ref).lexically_normal().string();
  if (looks_like_path(ref) && !std::filesystem::exists(ref))
    throw InputError(ctx.where(field),
                     "no file '" + ref + "' (paths in " + ctx.file + " are relative to it)");
  auto [text, display] = resolve_hw(ref, ctx.where(field));
  return from_parsed(parse_json_text(text, display), display);
}

SystemSpec system_from_parsed(const json& j, const std::string& file) {
  expect_kind(j, "system", file);
  JsonContext ctx{file, ""};
  SystemSpec s;
  s.name = string_field(j, "name", ctx);
  s.gpu = member<GpuSpec>(j, "gpu", ctx, gpu_from_parsed);
  s.gpus_per_node = positive_int_field(j, "gpus_per_node", ctx);
  s.nodes = positive_int_field(j, "nodes", ctx);
  s.intra = member<LinkSpec>(j, "intra_link", ctx, link_from_parsed);
  if (s.nodes > 1) {
    s.inter = member<LinkSpec>(j, "inter_link", ctx, link_from_parsed);
    s.inter_link_given = true;
    // A tree across nodes needs the inter-node link's bandwidth share as well as its latencies;
    // without it the tree would be silently dropped.
    for (std::size_t i = 0; i < s.inter.protocols.size(); ++i)
      if (s.inter.protocols[i].tree_step_latency_s >= 0 && s.inter.protocols[i].tree_bw_factor <= 0)
        throw InputError(
            ctx.where("inter_link.protocols[" + std::to_string(i) + "].tree_bw_factor"),
            "missing: the inter-node link gives tree latencies, so it needs the tree's bandwidth "
            "share");
  } else if (find_field(j, "inter_link")) {
    s.inter = member<LinkSpec>(j, "inter_link", ctx, link_from_parsed);
    s.inter_link_given = true;
  } else {
    s.inter = s.intra;
  }
  if (auto n = optional_int(j, "nics_per_node", ctx)) {
    if (*n < 1 || *n > s.gpus_per_node)
      throw InputError(ctx.where("nics_per_node"),
                       "must be in [1, gpus_per_node = " + std::to_string(s.gpus_per_node) +
                           "] (a GPU with several NICs is one inter-node link of their summed "
                           "bandwidth)");
    if (!s.inter_link_given)
      throw InputError(ctx.where("nics_per_node"), "needs an inter_link (the NIC it counts)");
    s.nics_per_node = *n;
  }
  s.collnet = optional_bool(j, "collnet", ctx).value_or(false);
  if (s.collnet && !(s.inter_link_given && s.inter.sharp()))
    throw InputError(ctx.where("collnet"),
                     "needs an inter_link that reduces in its network (a 'sharp' block with its "
                     "latencies)");
  return s;
}

}  // namespace

GpuSpec gpu_from_json(const std::string& text, const std::string& file) {
  return gpu_from_parsed(parse_json_text(text, file), file);
}
LinkSpec link_from_json(const std::string& text, const std::string& file) {
  return link_from_parsed(parse_json_text(text, file), file);
}
SystemSpec system_from_json(const std::string& text, const std::string& file) {
  return system_from_parsed(parse_json_text(text, file), file);
}

GpuSpec load_gpu(const std::string& ref) {
  auto [text, display] = resolve_hw(ref, "gpu");
  return gpu_from_json(text, display);
}
LinkSpec load_link(const std::string& ref) {
  auto [text, display] = resolve_hw(ref, "link");
  return link_from_json(text, display);
}

SystemSpec load_system(const std::string& ref) {
  auto [text, display] = resolve_hw(ref, "system");
  json j = parse_json_text(text, display);
  if (j.is_object() && j.value("kind", "") == "link")
    throw InputError(display, "is a link, not a GPU or a system (a system file names its links)");
  // A GPU file stands for a one-GPU system, so single-GPU questions need no system file.
  if (j.is_object() && j.value("kind", "") == "gpu") {
    SystemSpec s;
    s.gpu = gpu_from_parsed(j, display);
    s.name = "1x-" + s.gpu.name;
    s.intra = LinkSpec{};
    s.intra.name = "none";
    s.intra.topology = "switch";
    s.intra.bw_bytes_per_s = 1e12;
    LinkProtocol local;
    local.name = "local";
    s.intra.protocols = {local};
    s.inter = s.intra;
    return s;
  }
  return system_from_parsed(j, display);
}

std::vector<HwEntry> list_hw() {
  std::vector<HwEntry> out;
  for (const auto& p : embedded_presets()) {
    if (std::string(p.kind) != "hw") continue;
    json j = parse_json_text(p.json, p.name);
    out.push_back({p.name, j.value("kind", "?"), j.value("description", "")});
  }
  return out;
}

std::string hw_json_text(const std::string& ref, std::string& kind_out) {
  auto [text, display] = resolve_hw(ref, "NAME");
  json j = parse_json_text(text, display);
  if (!j.is_object()) throw InputError(display, "expected a JSON object");
  kind_out = string_field(j, "kind", JsonContext{display, ""});
  if (kind_out == "gpu")
    gpu_from_parsed(j, display);
  else if (kind_out == "link")
    link_from_parsed(j, display);
  else if (kind_out == "system")
    system_from_parsed(j, display);
  else
    throw InputError(display + ": field 'kind'",
                     "must be gpu, link or system, got '" + kind_out + "'");
  return text;
}

}  // namespace specs
}  // namespace llmgps
