// `llmgps cost gemm|attention|elementwise|allreduce|alltoall|p2p`: one operation's cost.
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
}  // namespace

void register_cost(CLI::App& app) {
  auto* cost = app.add_subcommand("cost", "the cost of one kernel or collective");
  cost->require_subcommand(1);

  {  // gemm
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
      if (dry_run()) return;
      require_positive(s.m, "--m");
      require_positive(s.n, "--n");
      require_positive(s.k, "--k");
      require_positive(s.batch, "--batch");
      s.dtype = parse_dtype(dtype, "--dtype");
      SystemSpec sys = specs::load_system(hw);
      if (!sys.gpu.supports(s.dtype))
        throw InputError("--dtype", "GPU '" + sys.gpu.name + "' has no " + dtype + " support");
      GemmCost r = gemm_cost(sys.gpu, s);
      emit_cost(out, report::gemm_json(s, r, sys.gpu));
    });
  }
  {  // attention
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
      if (dry_run()) return;
      s.dtype = parse_dtype(dtype, "--dtype");
      s.pass = pass == "bwd" ? AttnPass::bwd : AttnPass::fwd;
      SystemSpec sys = specs::load_system(hw);
      AttentionCost r = attention_cost(sys.gpu, s);
      emit_cost(out, report::attention_json(s, r, sys.gpu));
    });
  }
  {  // elementwise
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
      if (dry_run()) return;
      s.kind = parse_elementwise_kind(kind, "--kind");
      s.dtype = parse_dtype(dtype, "--dtype");
      SystemSpec sys = specs::load_system(hw);
      auto j = report::op_cost_json(elementwise_cost(sys.gpu, s));
      j["gpu"] = sys.gpu.name;
      emit_cost(out, j);
    });
  }
  {  // allreduce
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
      if (dry_run()) return;
      if (!(bytes > 0) || !std::isfinite(bytes))
        throw InputError("--bytes", "must be a positive number of bytes");
      SystemSpec sys = specs::load_system(system);
      if (gpus > sys.total_gpus())
        throw InputError("--gpus", "system '" + sys.name + "' has only " +
                                       std::to_string(sys.total_gpus()) + " GPUs");
      const CollectiveCost r =
          allreduce_cost(sys, bytes, gpus, parse_collective_algo(algo, "--algo"));
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
  {  // alltoall
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
      if (dry_run()) return;
      if (!(bytes > 0) || !std::isfinite(bytes))
        throw InputError("--bytes-per-gpu", "must be a positive number of bytes");
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
  {  // p2p
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
      if (dry_run()) return;
      if (!(bytes > 0) || !std::isfinite(bytes))
        throw InputError("--bytes", "must be a positive number of bytes");
      SystemSpec sys = specs::load_system(system);
      auto j = report::op_cost_json(p2p_cost(sys, bytes, cross));
      j["system"] = sys.name;
      emit_cost(out, j);
    });
  }
}

}  // namespace llmgps::cli
