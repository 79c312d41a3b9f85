"""llmgps/cost.py: every cost call equals the CLI's JSON for the same request."""

import pytest

import llmgps
from llmgps import cost


def test_gemm(cli):
    r = cost.gemm("h100-sxm5", 4096, 4096, 4096, dtype="fp8")
    assert r.to_dict() == cli("cost", "gemm", "--hw", "h100-sxm5", "--m", 4096, "--n", 4096,
                              "--k", 4096, "--dtype", "fp8")
    assert r.time_s > 0 and r.bound in ("tensor", "hbm", "l2", "launch")


def test_attention(cli):
    r = cost.attention("h100-sxm5", batch=4, heads=32, seq=4096, head_dim=128, dtype="bf16",
                       causal=True, pass_="bwd", impl="fa3")
    assert r.to_dict() == cli("cost", "attention", "--hw", "h100-sxm5", "--batch", 4, "--heads",
                              32, "--seq", 4096, "--head-dim", 128, "--dtype", "bf16", "--causal",
                              "--pass", "bwd", "--impl", "fa3")


def test_elementwise(cli):
    assert cost.elementwise("a100-sxm4-80g", "rmsnorm", 4096, 8192).to_dict() == cli(
        "cost", "elementwise", "--hw", "a100-sxm4-80g", "--kind", "rmsnorm", "--rows", 4096,
        "--cols", 8192)


def test_allreduce(cli):
    r = cost.allreduce("8x-h100-nvlink4", 16777216, algo="nvls")
    assert r.to_dict() == cli("cost", "allreduce", "--system", "8x-h100-nvlink4", "--bytes",
                              16777216, "--algo", "nvls")


def test_allreduce_candidates_explain_the_choice():
    r = cost.allreduce("256x-h100-nvlink4-ndr400-sharp", 1 << 30, gpus=32)
    names = [c["algorithm"] for c in r.candidates]
    assert "collnet-direct" in names and "nvls-tree" in names
    assert min(r.candidates, key=lambda c: c["tuner_time_s"])["algorithm"] == r.algorithm


def test_allreduce_more_bytes_never_faster():
    times = [cost.allreduce("4x-a100-nvlink3", b).time_s for b in (1e3, 1e5, 1e7, 1e9)]
    assert times == sorted(times)


def test_alltoall(cli):
    assert cost.alltoall("4x-a100-pcie4", 1e7, skew=2).to_dict() == cli(
        "cost", "alltoall", "--system", "4x-a100-pcie4", "--bytes-per-gpu", "1e7", "--skew", 2)


def test_deepep(cli):
    r = cost.deepep("256x-h800-nvlink4-ndr400", tokens=4096, hidden=7168, top_k=8, experts=256,
                    gpus=16, mode="deepep-ll", payload="bf16")
    assert r.to_dict() == cli("cost", "deepep", "--system", "256x-h800-nvlink4-ndr400",
                              "--tokens", 4096, "--hidden", 7168, "--top-k", 8, "--experts", 256,
                              "--gpus", 16, "--mode", "deepep-ll", "--payload", "bf16")


def test_p2p(cli):
    assert cost.p2p("4x-a100-nvlink3", 1e8).to_dict() == cli(
        "cost", "p2p", "--system", "4x-a100-nvlink3", "--bytes", "1e8")


@pytest.mark.parametrize("call, where", [
    (lambda: cost.gemm("h100-sxm5", 0, 4096, 4096), "m"),
    (lambda: cost.gemm("h100-sxm5", 64, 64, 64, dtype="int3"), "dtype"),
    (lambda: cost.gemm("no-gpu", 64, 64, 64), "hw"),
    (lambda: cost.attention("h100-sxm5", 1, 8, 512, pass_="sideways"), "pass_"),
    (lambda: cost.allreduce("8x-h100-nvlink4", -5), "bytes"),
    (lambda: cost.allreduce("8x-h100-nvlink4", float("nan")), "bytes"),
    (lambda: cost.alltoall("4x-a100-pcie4", 1e6, skew=9), "skew"),
])
def test_bad_input(call, where):
    with pytest.raises(llmgps.InputError) as e:
        call()
    assert e.value.where == where


def test_allgather_and_reducescatter(cli):
    ag = cost.allgather("8x-h100-nvlink4", 1 << 30)
    assert ag.to_dict() == cli("cost", "allgather", "--system", "8x-h100-nvlink4", "--bytes",
                               1 << 30)
    assert ag.collective == "allgather" and ag.algorithm == "ring"
    rs = cost.reducescatter("32x-a100-nvlink3-hdr200", 1 << 30, gpus=16)
    assert rs.gpus == 16 and ag.gpus == 8
    assert rs.busbw_gb_per_s == pytest.approx(rs.algbw_gb_per_s * 15 / 16)
    with pytest.raises(llmgps.InputError):
        cost.reducescatter("8x-h100-nvlink4", 1 << 20, gpus=-5)
    with pytest.raises(llmgps.InputError) as e:
        cost.allgather("8x-h100-nvlink4", 1 << 20, algo="tree")
    assert e.value.where == "algo"  # the argument, as for any bad algo
