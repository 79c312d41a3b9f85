// `llmgps cost gemm|attention|elementwise|allreduce|alltoall|deepep|p2p`: one operation's cost.
#include <fmt/format.h>

#include <cmath>

#include "common.hpp"
#include "llmgps/cost/collective.hpp"
#include "llmgps/cost/elementwise.hpp"
#include "llmgps/report/estimate_report.hpp"
#include "llmgps/report/output.hpp"
#include "llmgps/specs/error.hpp"

namespace llmgps::cli {

namespace {
// The command line's own checks, so an error names the option the user typed (the library names
// its fields, since it is also called from places with no such option).
template <typename T>
void require_positive(T v, const char* option) {
  if (!(v > 0)) throw InputError(option, "must be positive (got " + fmt::format("{}", v) + ")");
}

void emit_cost(const OutputOptions& o, const nlohmann::ordered_json& j) {
  emit_rendered(o, j, [&] { return report::kv_table(j); });
}

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_cost_gemm(CLI::App* cost) {
  static OutputOptions out;
  static std::string hw, dtype = "fp16";
  static GemmShape s;
  auto* c = cost->add_subcommand("gemm", "GEMM C[m,n] = A[m,k] B[k,n] on one GPU");
  c->add_option("--hw", hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--m", s.m, "rows of A and C")->required();
  c->add_option("--n", s.n, "columns of B and C")->required();
  c->add_option("--k", s.k, "inner dimension")->required();
  c->add_option("--batch", s.batch, "independent GEMMs of this shape")->capture_default_str();
  c->add_option("--dtype", dtype, "fp32|tf32|fp16|bf16|fp8")->capture_default_str();
  add_output_options(c, out);
  c->callback([] {
    require_positive(s.m, "--m");
    require_positive(s.n, "--n");
    require_positive(s.k, "--k");
    require_positive(s.batch, "--batch");
    s.dtype = parse_dtype(dtype, "--dtype");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(hw);
    if (!sys.gpu.supports(s.dtype))
      throw InputError("--dtype", "GPU '" + sys.gpu.name + "' has no " + dtype + " support");
    GemmCost r = gemm_cost(sys.gpu, s);
    emit_cost(out, report::gemm_json(s, r, sys.gpu));
  });
}

void register_cost_attention(CLI::App* cost) {
  static OutputOptions out;
  static std::string hw, dtype = "bf16", pass = "fwd";
  static AttentionShape s;
  auto* c = cost->add_subcommand("attention", "Flash-Attention forward or backward on one GPU");
  c->add_option("--hw", hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--batch", s.batch, "sequences")->required();
  c->add_option("--heads", s.heads, "query heads")->required();
  c->add_option("--kv-heads", s.kv_heads, "key/value heads (default: --heads)");
  c->add_option("--seq", s.seq_q, "sequence length (queries)")->required();
  c->add_option("--seq-k", s.seq_k, "key length (default: --seq)");
  c->add_option("--head-dim", s.head_dim, "head dimension")->capture_default_str();
  c->add_option("--dtype", dtype, "fp16|bf16|fp8")->capture_default_str();
  c->add_flag("--causal", s.causal, "causal mask");
  c->add_option("--pass", pass, "fwd|bwd")
      ->check(CLI::IsMember({"fwd", "bwd"}))
      ->capture_default_str();
  c->add_option("--impl", s.impl, "implementation profile: fa2|fa3")->capture_default_str();
  add_output_options(c, out);
  c->callback([] {
    s.dtype = parse_dtype(dtype, "--dtype");
    s.pass = pass == "bwd" ? AttnPass::bwd : AttnPass::fwd;
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(hw);
    AttentionCost r = attention_cost(sys.gpu, s);
    emit_cost(out, report::attention_json(s, r, sys.gpu));
  });
}

void register_cost_elementwise(CLI::App* cost) {
  static OutputOptions out;
  static std::string hw, dtype = "fp16", kind;
  static ElementwiseShape s;
  auto* c =
      cost->add_subcommand("elementwise", "memory-bound kernel (norm, softmax, activation, ...)");
  c->add_option("--hw", hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--kind", kind,
                "copy|add|activation|gated_activation|rmsnorm|layernorm|softmax|rope|topk")
      ->required();
  c->add_option("--rows", s.rows, "rows (tokens)")->required();
  c->add_option("--cols", s.cols, "columns (features)")->required();
  c->add_option("--dtype", dtype, "fp32|fp16|bf16")->capture_default_str();
  add_output_options(c, out);
  c->callback([] {
    s.kind = parse_elementwise_kind(kind, "--kind");
    s.dtype = parse_dtype(dtype, "--dtype");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(hw);
    auto j = report::op_cost_json(elementwise_cost(sys.gpu, s));
    j["gpu"] = sys.gpu.name;
    emit_cost(out, j);
  });
}

void register_cost_allreduce(CLI::App* cost) {
  static OutputOptions out;
  static std::string system, algo = "auto";
  static double bytes = 0;
  static int gpus = 0;
  auto* c = cost->add_subcommand("allreduce",
                                 "NCCL all-reduce: ring, NVLS or hierarchical, fastest protocol");
  c->add_option("--system", system, "system preset or JSON file")->required();
  c->add_option("--bytes", bytes, "bytes per GPU")->required();
  c->add_option("--gpus", gpus, "GPUs taking part (default: all)");
  c->add_option("--algo", algo, "auto|ring|hierarchical|nvls (NCCL_ALGO)")->capture_default_str();
  add_output_options(c, out);
  c->callback([] {
    if (!(bytes > 0) || !std::isfinite(bytes))
      throw InputError("--bytes", "must be a positive number of bytes");
    const CollectiveAlgo a = parse_collective_algo(algo, "--algo");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(system);
    if (gpus > sys.total_gpus())
      throw InputError("--gpus", "system '" + sys.name + "' has only " +
                                     std::to_string(sys.total_gpus()) + " GPUs");
    const CollectiveCost r = allreduce_cost(sys, bytes, gpus, a);
    auto j = report::op_cost_json(r);
    j["algorithm"] = r.algorithm;
    j["protocol"] = r.protocol;
    j["system"] = sys.name;
    j["bytes"] = bytes;
    j["algbw_gb_per_s"] =
        j["time_s"].get<double>() > 0 ? bytes / j["time_s"].get<double>() / 1e9 : 0.0;
    emit_cost(out, j);
  });
}

void register_cost_alltoall(CLI::App* cost) {
  static OutputOptions out;
  static std::string system;
  static double bytes = 0, skew = 1.0;
  static int gpus = 0;
  auto* c = cost->add_subcommand("alltoall", "all-to-all; --skew makes one receiver hotter");
  c->add_option("--system", system, "system preset or JSON file")->required();
  c->add_option("--bytes-per-gpu", bytes, "bytes each GPU sends in total")->required();
  c->add_option("--skew", skew, "max/mean received share, in [1, GPUs]")->capture_default_str();
  c->add_option("--gpus", gpus, "GPUs taking part (default: all)");
  add_output_options(c, out);
  c->callback([] {
    if (!(bytes > 0) || !std::isfinite(bytes))
      throw InputError("--bytes-per-gpu", "must be a positive number of bytes");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(system);
    int g = gpus > 0 ? gpus : sys.total_gpus();
    if (!(skew >= 1.0) || skew > g)
      throw InputError(
          "--skew",
          fmt::format("must be in [1, {}] (max/mean share over {} GPUs), got {}", g, g, skew));
    auto j = report::op_cost_json(alltoall_cost(sys, skewed_alltoall_volume(g, bytes, skew)));
    j["system"] = sys.name;
    j["gpus"] = g;
    j["skew"] = skew;
    emit_cost(out, j);
  });
}

void register_cost_deepep(CLI::App* cost) {
  static OutputOptions out;
  static std::string system, mode = "deepep-normal", payload = "fp8";
  static std::int64_t tokens = 0, hidden = 0;
  static int top_k = 0, experts = 0, gpus = 0, max_nodes = 4;
  auto* c = cost->add_subcommand(
      "deepep", "DeepEP expert-parallel dispatch and combine (normal or low-latency mode)");
  c->add_option("--system", system, "system preset or JSON file")->required();
  c->add_option("--tokens", tokens, "tokens per GPU")->required();
  c->add_option("--hidden", hidden, "hidden size of a token")->required();
  c->add_option("--top-k", top_k, "experts per token")->required();
  c->add_option("--experts", experts, "routed experts (divisible by the GPUs)")->required();
  c->add_option("--gpus", gpus, "expert-parallel GPUs (default: all)");
  c->add_option("--mode", mode, "deepep-normal|deepep-ll")->capture_default_str();
  c->add_option("--payload", payload, "dispatch payload: fp8|bf16 (the combine is BF16)")
      ->capture_default_str();
  c->add_option("--max-nodes-per-token", max_nodes, "node-limited routing (DeepSeek-V3: 4)")
      ->capture_default_str();
  add_output_options(c, out);
  c->callback([] {
    require_positive(tokens, "--tokens");
    require_positive(hidden, "--hidden");
    require_positive(top_k, "--top-k");
    require_positive(experts, "--experts");
    require_positive(max_nodes, "--max-nodes-per-token");
    if (gpus < 0) throw InputError("--gpus", "must be positive (got " + std::to_string(gpus) + ")");
    const DType pay = parse_dtype(payload, "--payload");
    if (pay != DType::fp8 && pay != DType::bf16)
      throw InputError("--payload", "must be fp8 or bf16, got '" + payload + "'");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(system);
    EpAllToAll a;
    a.tokens_per_gpu = tokens;
    a.hidden = hidden;
    a.top_k = top_k;
    a.experts = experts;
    a.gpus = gpus;
    a.payload = pay;
    a.mode = parse_ep_alltoall_mode(mode, "--mode");
    a.max_nodes_per_token = max_nodes;
    // The library checks the GPU count and expert placement (ep_alltoall.gpus, .experts: --gpus,
    // --experts in app.cpp's table); the count is echoed in the answer.
    const int g = gpus > 0 ? gpus : sys.total_gpus();
    nlohmann::ordered_json j;
    j["system"] = sys.name;
    j["mode"] = ep_alltoall_mode_name(a.mode);
    j["gpus"] = g;
    for (bool combine : {false, true}) {
      // DeepEP dispatches in the chosen payload and always combines in BF16.
      a.combine = combine;
      a.payload = combine ? DType::bf16 : pay;
      const EpAllToAllCost r = ep_alltoall_cost(sys, a);
      const std::string p = combine ? "combine_" : "dispatch_";
      j[p + "time_s"] = r.time_s;
      j[p + "bound"] = r.bound;
      j[p + "bytes_per_gpu"] = r.bytes_per_gpu;
      j[p + "nvlink_bytes"] = r.nvlink_bytes;
      j[p + "rdma_bytes"] = r.rdma_bytes;
      j[p + "detail"] = r.detail;
      if (!combine) {
        j["distinct_gpus_per_token"] = r.distinct_gpus;
        j["distinct_nodes_per_token"] = r.distinct_nodes;
      }
    }
    emit_cost(out, j);
  });
}

void register_cost_p2p(CLI::App* cost) {
  static OutputOptions out;
  static std::string system;
  static double bytes = 0;
  static bool cross = false;
  auto* c = cost->add_subcommand("p2p", "point-to-point copy between two GPUs");
  c->add_option("--system", system, "system preset or JSON file")->required();
  c->add_option("--bytes", bytes, "bytes to copy")->required();
  c->add_flag("--cross-node", cross, "between nodes");
  add_output_options(c, out);
  c->callback([] {
    if (!(bytes > 0) || !std::isfinite(bytes))
      throw InputError("--bytes", "must be a positive number of bytes");
    if (dry_run()) return;  // options checked; no spec file read, no model run
    SystemSpec sys = specs::load_system(system);
    auto j = report::op_cost_json(p2p_cost(sys, bytes, cross));
    j["system"] = sys.name;
    emit_cost(out, j);
  });
}

}  // namespace

void register_cost(CLI::App& app) {
  auto* cost = app.add_subcommand("cost", "the cost of one kernel or collective");
  cost->require_subcommand(1);

  register_cost_gemm(cost);
  register_cost_attention(cost);
  register_cost_elementwise(cost);
  register_cost_allreduce(cost);
  register_cost_alltoall(cost);
  register_cost_deepep(cost);
  register_cost_p2p(cost);
}

}  // namespace llmgps::cli
