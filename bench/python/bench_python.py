#!/usr/bin/env python3
"""Python benchmarks (issue 14 item 5), each against a named peer measured in the same run:

1. llmgps.eplb.rebalance_experts against a plain Python transcription of DeepSeek's EPLB
   (tests/python/eplb_reference.py, torch like the original), in this process, on the
   DeepSeek-V3 shape (58 layers, 256 experts, 288 slots, 32 GPUs, 4 nodes, 8 groups) and
   Mixtral-8x7B's (32 layers, 8 experts, 12 slots, 4 GPUs): times and the ratio.
2. llmgps.estimate's per-call time from Python against the C++ benchmark of the same estimate
   (bench/llmgps_bench, BM_EstimateMixtralPrefill), run here as a subprocess.

Usage: PYTHONPATH=build/python /usr/bin/python3 bench/python/bench_python.py [--bench BINARY]
"""

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "python"))

import llmgps  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from eplb_reference import rebalance_experts as reference  # noqa: E402


def best_of(fn, repeat, min_time=0.2):
    """The fastest of `repeat` timings of fn(), each averaged over enough calls for min_time."""
    calls = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time or calls >= 1 << 20:
            break
        calls *= 2
    times = [dt / calls]
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
    return min(times), statistics.median(times)


def eplb(name, layers, experts, replicas, groups, nodes, gpus):
    gen = torch.Generator().manual_seed(0)
    weight = torch.randint(0, 4096, (layers, experts), generator=gen).float()
    # Ours first: torch's intra-op threads keep spinning for a while after the transcription's
    # calls and would take the core our worker thread runs on.
    t_ours, _ = best_of(lambda: llmgps.eplb.rebalance_experts(weight, replicas, groups, nodes,
                                                                gpus), 5)
    ours = llmgps.eplb.rebalance_experts(weight, replicas, groups, nodes, gpus)
    t_ref, _ = best_of(lambda: reference(weight, replicas, groups, nodes, gpus, stable_sort=True),
                       3, min_time=0.0)
    theirs = reference(weight, replicas, groups, nodes, gpus, stable_sort=True)
    same = all(torch.equal(a, b) for a, b in zip(ours, theirs))
    print(f"eplb {name:12s} llmgps {t_ours * 1e6:10.1f} us   python transcription "
          f"{t_ref * 1e3:9.1f} ms   ratio {t_ref / t_ours:8.0f}x   identical {same}")
    return t_ref / t_ours


def estimate_overhead(bench):
    kwargs = dict(model="mixtral-8x7b", system="4x-a100-nvlink3", batch=1, seq=512,
                  phase="prefill", dtype="fp16")
    t_py, _ = best_of(lambda: llmgps.estimate(**kwargs), 5)
    line = f"estimate     python {t_py * 1e6:8.1f} us/call"
    if bench and pathlib.Path(bench).exists():
        out = subprocess.run([bench, "--benchmark_filter=BM_EstimateMixtralPrefill$",
                              "--benchmark_format=json", "--benchmark_min_time=0.5"],
                             capture_output=True, text=True, check=True)
        runs = json.loads(out.stdout)["benchmarks"]
        t_cpp = min(r["real_time"] for r in runs) * {"ns": 1e-9, "us": 1e-6}[runs[0]["time_unit"]]
        line += (f"   C++ {t_cpp * 1e6:8.1f} us/call   Python overhead "
                 f"{(t_py - t_cpp) * 1e6:7.1f} us ({t_py / t_cpp:.2f}x)")
    else:
        line += "   (no C++ benchmark binary: build with make bench)"
    print(line)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bench", default=str(ROOT / "build" / "bench" / "llmgps_bench"))
    a = p.parse_args()
    eplb("deepseek-v3", 58, 256, 288, 8, 4, 32)
    eplb("mixtral-8x7b", 32, 8, 12, 1, 1, 4)
    estimate_overhead(a.bench)


if __name__ == "__main__":
    main()
