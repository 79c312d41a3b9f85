// `llmgps cost gemm|attention|elementwise|allreduce|alltoall|deepep|p2p`: one operation's cost.
// Each subcommand fills an api request from its options, calls the library and renders.
#include "common.hpp"
#include "llmgps/api/cost.hpp"
#include "llmgps/report/api_report.hpp"

namespace llmgps::cli {

namespace {

// Validates the request (the dry run stops here), runs the call and renders its result.
template <typename Request, typename Call>
void run_cost(const OutputOptions& out, const Request& req, Call call) {
  req.validate();
  if (dry_run()) return;  // options checked; no spec file read, no model run
  const auto r = call(req);
  emit_records(
      out, report::json(r), [&] { return report::table(r); }, "");
}

// One function per subcommand; each binds its options to statics, as CLI11 callbacks need.
void register_cost_gemm(CLI::App* cost) {
  static OutputOptions out;
  static api::GemmRequest req;
  req.dtype = "auto";
  auto* c = cost->add_subcommand("gemm", "GEMM C[m,n] = A[m,k] B[k,n] on one GPU");
  c->add_option("--hw", req.hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--m", req.shape.m, "rows of A and C")->required();
  c->add_option("--n", req.shape.n, "columns of B and C")->required();
  c->add_option("--k", req.shape.k, "inner dimension")->required();
  c->add_option("--batch", req.shape.batch, "independent GEMMs of this shape")
      ->capture_default_str();
  c->add_option("--dtype", req.dtype, "fp32|tf32|fp16|bf16|fp8, or auto: bf16 where the GPU has it")
      ->capture_default_str();
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    req.validate();  // the shape before the dtype, as the options are listed
    if (req.dtype != "auto") req.shape.dtype = parse_dtype(req.dtype, "gemm.dtype");
    run_cost(out, req, api::cost_gemm);
  });
}

void register_cost_attention(CLI::App* cost) {
  static OutputOptions out;
  static std::string pass = "fwd";
  static api::AttentionRequest req;
  auto& s = req.shape;
  req.dtype = "auto";
  s.impl = "";
  auto* c = cost->add_subcommand("attention", "Flash-Attention forward or backward on one GPU");
  c->add_option("--hw", req.hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--batch", s.batch, "sequences")->required();
  c->add_option("--heads", s.heads, "query heads")->required();
  c->add_option("--kv-heads", s.kv_heads, "key/value heads (default: --heads)");
  c->add_option("--seq", s.seq_q, "sequence length (queries)")->required();
  c->add_option("--seq-k", s.seq_k, "key length (default: --seq)");
  c->add_option("--head-dim", s.head_dim, "head dimension")->capture_default_str();
  c->add_option("--dtype", req.dtype, "fp16|bf16|fp8, or auto: bf16 where the GPU has it")
      ->capture_default_str();
  c->add_flag("--causal", s.causal, "causal mask");
  c->add_option("--pass", pass, "fwd|bwd")
      ->check(CLI::IsMember({"fwd", "bwd"}))
      ->capture_default_str();
  c->add_option("--impl", s.impl,
                "implementation profile: fa2|fa3 (default: fa3 where the GPU supports it, else "
                "fa2, as estimate)");
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    if (req.dtype != "auto") req.shape.dtype = parse_dtype(req.dtype, "attention.dtype");
    req.shape.pass = pass == "bwd" ? AttnPass::bwd : AttnPass::fwd;
    run_cost(out, req, api::cost_attention);
  });
}

void register_cost_elementwise(CLI::App* cost) {
  static OutputOptions out;
  static std::string kind;
  static api::ElementwiseRequest req;
  req.dtype = "auto";
  auto* c =
      cost->add_subcommand("elementwise", "memory-bound kernel (norm, softmax, activation, ...)");
  c->add_option("--hw", req.hw, "GPU preset or hardware JSON file")->required();
  c->add_option("--kind", kind,
                "copy|add|activation|gated_activation|rmsnorm|layernorm|softmax|rope|topk")
      ->required();
  c->add_option("--rows", req.shape.rows, "rows (tokens)")->required();
  c->add_option("--cols", req.shape.cols, "columns (features)")->required();
  c->add_option("--dtype", req.dtype,
                "fp32|fp16|bf16|fp8 (the element size), or auto: bf16 where the GPU has it")
      ->capture_default_str();
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    req.shape.kind = parse_elementwise_kind(kind, "elementwise.kind");
    if (req.dtype != "auto") req.shape.dtype = parse_dtype(req.dtype, "elementwise.dtype");
    run_cost(out, req, api::cost_elementwise);
  });
}

// `cost allreduce`, `cost allgather`, `cost reducescatter`: one set of statics per subcommand.
void register_cost_collective(CLI::App* cost, CollectiveKind kind) {
  static_assert(int(CollectiveKind::reducescatter) == 2, "one set of statics per kind");
  static OutputOptions outs[3];
  static std::string algos[3] = {"auto", "auto", "auto"};
  static api::AllreduceRequest reqs[3];
  const int i = int(kind);
  auto& out = outs[i];
  auto& req = reqs[i];
  req.collective = kind;
  const bool ar = kind == CollectiveKind::allreduce;
  auto* c = cost->add_subcommand(
      collective_kind_name(kind),
      ar ? "NCCL all-reduce: ring, tree, NVLS, NVLS-tree or CollNet, fastest by NCCL's tuner"
      : kind == CollectiveKind::allgather
          ? "NCCL all-gather: ring, or NVLS on one node, fastest by NCCL's tuner"
          : "NCCL reduce-scatter: ring, or NVLS on one node, fastest by NCCL's tuner");
  c->add_option("--system", req.system, "system preset or JSON file")->required();
  c->add_option("--bytes", req.bytes,
                ar ? "bytes per GPU"
                : kind == CollectiveKind::allgather
                    ? "the gathered buffer (nccl-tests' size)"
                    : "the buffer each GPU reduces (nccl-tests' size)")
      ->required();
  c->add_option("--gpus", req.gpus, "GPUs taking part (default: all)");
  c->add_option("--algo", algos[i],
                ar ? "auto|ring|tree|nvls|nvls-tree|collnet-direct|collnet-chain (NCCL_ALGO; nvls "
                     "across nodes: through the switches with CollNet, else NVLS-tree; collnet-*: "
                     "systems with \"collnet\": true) or hierarchical (reduce-scatter, inter-node "
                     "all-reduce, all-gather; no NCCL algorithm, by name only)"
                   : "auto|ring|nvls (NCCL_ALGO; nvls on one node)")
      ->capture_default_str();
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([i] {
    reqs[i].validate();  // the size before the algorithm, as the options are listed
    reqs[i].algo =
        parse_collective_algo(reqs[i].collective, algos[i],
                              std::string(collective_kind_name(reqs[i].collective)) + ".algo");
    run_cost(outs[i], reqs[i], api::cost_allreduce);
  });
}

void register_cost_alltoall(CLI::App* cost) {
  static OutputOptions out;
  static api::AlltoallRequest req;
  auto* c = cost->add_subcommand("alltoall", "all-to-all; --skew makes one receiver hotter");
  c->add_option("--system", req.system, "system preset or JSON file")->required();
  c->add_option("--bytes-per-gpu", req.bytes_per_gpu, "bytes each GPU sends in total")->required();
  c->add_option("--skew", req.skew, "max/mean received share, in [1, GPUs]")->capture_default_str();
  c->add_option("--gpus", req.gpus, "GPUs taking part (default: all)");
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] { run_cost(out, req, api::cost_alltoall); });
}

void register_cost_deepep(CLI::App* cost) {
  static OutputOptions out;
  static std::string mode = "deepep-normal", payload = "fp8";
  static api::DeepepRequest req;
  auto& a = req.shape;
  auto* c = cost->add_subcommand(
      "deepep", "DeepEP expert-parallel dispatch and combine (normal or low-latency mode)");
  c->add_option("--system", req.system, "system preset or JSON file")->required();
  c->add_option("--tokens", a.tokens_per_gpu, "tokens per GPU")->required();
  c->add_option("--hidden", a.hidden, "hidden size of a token")->required();
  c->add_option("--top-k", a.top_k, "experts per token")->required();
  c->add_option("--experts", a.experts, "routed experts (divisible by the GPUs)")->required();
  c->add_option("--gpus", a.gpus, "expert-parallel GPUs (default: all)");
  c->add_option("--mode", mode,
                "deepep-normal|deepep-ll (low-latency; NVLink inside a node, as DeepEP's "
                "default)|deepep-ll-rdma (low-latency, every message over RDMA)")
      ->capture_default_str();
  c->add_option("--payload", payload, "dispatch payload: fp8|bf16 (the combine is BF16)")
      ->capture_default_str();
  c->add_option("--max-nodes-per-token", a.max_nodes_per_token,
                "node-limited routing (DeepSeek-V3: 4)")
      ->capture_default_str();
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] {
    req.shape.payload = DType::fp8;  // the counts first, as the options are listed
    req.validate();
    req.shape.payload = parse_dtype(payload, "ep_alltoall.payload");
    req.shape.mode = parse_ep_alltoall_mode(mode, "ep_alltoall.mode");
    run_cost(out, req, api::cost_deepep);
  });
}

void register_cost_p2p(CLI::App* cost) {
  static OutputOptions out;
  static api::P2pRequest req;
  auto* c = cost->add_subcommand("p2p", "point-to-point copy between two GPUs");
  c->add_option("--system", req.system, "system preset or JSON file")->required();
  c->add_option("--bytes", req.bytes, "bytes to copy")->required();
  c->add_flag("--cross-node", req.cross_node, "between nodes");
  add_output_options(c, out, {"table", "json", "csv"});
  c->callback([] { run_cost(out, req, api::cost_p2p); });
}

}  // namespace

void register_cost(CLI::App& app) {
  auto* cost = app.add_subcommand("cost", "the cost of one kernel or collective");
  cost->require_subcommand(1);

  register_cost_gemm(cost);
  register_cost_attention(cost);
  register_cost_elementwise(cost);
  register_cost_collective(cost, CollectiveKind::allreduce);
  register_cost_collective(cost, CollectiveKind::allgather);
  register_cost_collective(cost, CollectiveKind::reducescatter);
  register_cost_alltoall(cost);
  register_cost_deepep(cost);
  register_cost_p2p(cost);
}

}  // namespace llmgps::cli
