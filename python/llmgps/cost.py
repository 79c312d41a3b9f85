"""The cost of one kernel or collective (``llmgps cost ...``): time, the resource that binds, why.

Every function returns a :class:`llmgps.Result` whose fields are the command's JSON
(``time_s``, ``bound``, ``detail`` and the operation's own figures). The GIL is released while
the model runs.
"""

from . import _llmgps as _core
from ._call import api as _api, integer as _int, real as _real, text as _text
from ._result import Result

__all__ = ["gemm", "attention", "elementwise", "allreduce", "allgather", "reducescatter", "alltoall",
           "deepep", "p2p"]


@_api
def gemm(hw, m, n, k, batch=1, dtype="auto"):
    """GEMM C[m,n] = A[m,k] B[k,n] (``batch`` independent ones) on one GPU.

    hw: GPU preset or hardware JSON; dtype: fp32, tf32, fp16, bf16, fp8 or auto (bf16 where the
    GPU has it). The kernel a library heuristic would pick (family, tile, split-K, waves) is in
    the result.
    """
    return Result(_core.cost_gemm(_text(hw, "hw"), _int(m, "m"), _int(n, "n"), _int(k, "k"),
                                  _int(batch, "batch"), _text(dtype, "dtype")))


@_api
def attention(hw, batch, heads, seq, head_dim=128, kv_heads=None, seq_k=None, dtype="auto",
              causal=False, pass_="fwd", impl=None):
    """Flash-Attention forward (``pass_="fwd"``) or backward (``"bwd"``) on one GPU.

    heads: query heads; kv_heads: key/value heads (None: heads); seq_k: key length (None: seq);
    dtype: fp16, bf16, fp8 or auto (bf16 where the GPU has it); fp8 only in fa3's forward, the
    one FP8 kernel FlashAttention ships (else InputError); impl: fa2 or fa3 (None: fa3 where the
    GPU supports it, else fa2, as estimate).
    """
    return Result(_core.cost_attention(
        _text(hw, "hw"), _int(batch, "batch"), _int(heads, "heads"), _int(seq, "seq"),
        _int(head_dim, "head_dim"), _int(kv_heads or 0, "kv_heads"), _int(seq_k or 0, "seq_k"),
        _text(dtype, "dtype"), bool(causal), _text(pass_, "pass_"), _text(impl or "", "impl")))


@_api
def elementwise(hw, kind, rows, cols, dtype="auto"):
    """A memory-bound kernel: kind is copy, add, activation, gated_activation, rmsnorm,
    layernorm, softmax, rope or topk over rows x cols."""
    return Result(_core.cost_elementwise(_text(hw, "hw"), _text(kind, "kind"), _int(rows, "rows"),
                                         _int(cols, "cols"), _text(dtype, "dtype")))


@_api
def allreduce(system, bytes, gpus=0, algo="auto"):
    """NCCL all-reduce of ``bytes`` per GPU over ``gpus`` GPUs (0: all of the system).

    algo: auto (NCCL's choice among ring, tree, NVLS, NVLS-tree and, on a system with
    ``"collnet": true``, CollNet-direct, CollNet-chain and NVLS through the fabric's switches),
    ring, tree, nvls (across nodes: through the switches with CollNet, else NVLS-tree),
    nvls-tree, collnet-direct, collnet-chain, or hierarchical (reduce-scatter, inter-node
    all-reduce, all-gather: no NCCL algorithm, run only by name). The result names the algorithm
    and protocol chosen, busbw and algbw, and ``candidates``: every algorithm NCCL's tuner
    weighed, with the time it expects (every channel at work) and the time it takes.
    """
    return _collective("allreduce", system, bytes, gpus, algo)


def _collective(kind, system, bytes, gpus, algo):
    return Result(_core.cost_collective(kind, _text(system, "system"), _real(bytes, "bytes"),
                                        _int(gpus, "gpus"), _text(algo, "algo")))


@_api
def allgather(system, bytes, gpus=0, algo="auto"):
    """NCCL all-gather into a ``bytes`` buffer (nccl-tests' size; each of ``gpus`` GPUs, 0: all
    of the system, contributes bytes / gpus). algo: auto, ring, or nvls (one node with NVLink
    SHARP). The result carries the algorithm, busbw, algbw and the candidates weighed."""
    return _collective("allgather", system, bytes, gpus, algo)


@_api
def reducescatter(system, bytes, gpus=0, algo="auto"):
    """NCCL reduce-scatter of a ``bytes`` buffer per GPU (nccl-tests' size; each GPU keeps
    bytes / gpus of the sum). algo: auto, ring, or nvls (one node with NVLink SHARP). The result
    carries the algorithm, busbw, algbw and the candidates weighed."""
    return _collective("reducescatter", system, bytes, gpus, algo)


@_api
def alltoall(system, bytes_per_gpu, skew=1.0, gpus=0):
    """All-to-all where each GPU sends ``bytes_per_gpu``; skew (max/mean received share, in
    [1, gpus]) makes one receiver hotter."""
    return Result(_core.cost_alltoall(_text(system, "system"),
                                      _real(bytes_per_gpu, "bytes_per_gpu"), _real(skew, "skew"),
                                      _int(gpus, "gpus")))


@_api
def deepep(system, tokens, hidden, top_k, experts, gpus=0, mode="deepep-normal", payload="fp8",
           max_nodes_per_token=4):
    """DeepEP expert-parallel dispatch and combine: ``tokens`` per GPU of ``hidden`` values, each
    to ``top_k`` of ``experts``; mode deepep-normal, deepep-ll (low latency, NVLink inside a node
    as DeepEP's default) or deepep-ll-rdma (low latency, every message over RDMA); payload: the
    dispatch's fp8 or bf16 (the combine is BF16); node-limited routing to max_nodes_per_token."""
    return Result(_core.cost_deepep(
        _text(system, "system"), _int(tokens, "tokens"), _int(hidden, "hidden"),
        _int(top_k, "top_k"), _int(experts, "experts"), _int(gpus, "gpus"), _text(mode, "mode"),
        _text(payload, "payload"), _int(max_nodes_per_token, "max_nodes_per_token")))


@_api
def p2p(system, bytes, cross_node=False):
    """A point-to-point copy of ``bytes`` between two GPUs (between nodes when cross_node)."""
    return Result(_core.cost_p2p(_text(system, "system"), _real(bytes, "bytes"),
                                 bool(cross_node)))
