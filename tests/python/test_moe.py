"""llmgps/moe.py: stats, predict, plan, advise and map against the CLI."""

import json

import numpy as np
import pytest

import llmgps
from llmgps import moe


@pytest.fixture(scope="module")
def traces(shared):
    t = shared / "data" / "traces"
    return t / "mixtral-8x7b-gsm8k-2problems.jsonl", t / "mixtral-8x7b-humaneval-2problems.jsonl"


def test_stats(cli, traces):
    r = moe.stats(traces[0], batch_tokens=32)
    assert r.to_dict() == cli("moe", "stats", "--routing-trace", traces[0], "--batch-tokens", 32)
    assert len(r.records()) == r.layers == 32


def test_predict(cli, traces):
    r = moe.predict(train=traces[0], test=traces[1])
    assert r.to_dict() == cli("moe", "predict", "--train", traces[0], "--test", traces[1])
    assert {row["kind"] for row in r.records()} >= {"distribution"}


def test_plan_from_a_file_a_matrix_and_numpy_agree(cli, tmp_path):
    loads = [[90, 10, 10, 10, 5, 5, 5, 5], [1, 2, 3, 4, 50, 60, 70, 80]]
    path = tmp_path / "loads.json"
    path.write_text(json.dumps({"loads": loads}))
    expect = cli("moe", "plan", "--loads", path, "--gpus", 4, "--slots-per-gpu", 3, "--nodes", 2,
                 "--groups", 2)
    assert moe.plan(path, gpus=4, slots_per_gpu=3, nodes=2, groups=2).to_dict() == expect
    assert moe.plan(loads, gpus=4, slots_per_gpu=3, nodes=2, groups=2).to_dict() == expect
    arr = moe.plan(np.array(loads), gpus=4, slots_per_gpu=3, nodes=2, groups=2)
    assert arr.to_dict() == expect
    rows = arr.records()
    assert len(rows) == 2 * 12 and {r["gpu"] for r in rows} == {0, 1, 2, 3}
    # A plan never exceeds its slots and holds every expert.
    for layer in arr.phy2log:
        assert len(layer) == 12 and set(layer) == set(range(8))


def test_plan_greedy_from_a_trace(cli, traces):
    r = moe.plan(routing_trace=traces[0], gpus=4, slots_per_gpu=3, algo="greedy")
    assert r.to_dict() == cli("moe", "plan", "--routing-trace", traces[0], "--gpus", 4,
                              "--slots-per-gpu", 3, "--algo", "greedy")


def test_advise(cli):
    r = moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.39)
    assert r.to_dict() == cli("moe", "advise", "--model", "mixtral-8x7b", "--system",
                              "4x-a100-nvlink3", "--skew", 1.39)
    assert r.recommended in ("none", "distribution", "token", "tie")
    assert len(r.records()) == len(r.strategies)
    paper = moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.39, layout="paper",
                       expert_time="linear", error_cap=False, predictors="predictors-paper-mmlu")
    assert paper.to_dict() == cli("moe", "advise", "--model", "mixtral-8x7b", "--system",
                                  "4x-a100-nvlink3", "--skew", 1.39, "--layout", "paper",
                                  "--expert-time", "linear", "--error-cap", "off",
                                  "--predictors", "predictors-paper-mmlu")


def test_advise_from_a_trace(cli, traces):
    r = moe.advise("mixtral-8x7b", "4x-a100-nvlink3", routing_trace=traces[1], train=traces[0])
    assert r.to_dict() == cli("moe", "advise", "--model", "mixtral-8x7b", "--system",
                              "4x-a100-nvlink3", "--trace", traces[1], "--train", traces[0])


def test_map_and_its_svg(cli):
    r = moe.map("mixtral-8x7b", "4x-a100-nvlink3", skews=[1.2, 2.0], links=[600, 64],
                batches=[1, 32])
    assert r.to_dict() == cli("moe", "map", "--model", "mixtral-8x7b", "--system",
                              "4x-a100-nvlink3", "--skews", "1.2,2", "--links", "600,64",
                              "--batches", "1,32")
    assert len(r.records()) == 8
    svg = moe.map("mixtral-8x7b", "4x-a100-nvlink3", skews=[1.2, 2.0], links=[600, 64], svg=True)
    assert svg.startswith("<svg") or svg.startswith("<?xml")


@pytest.mark.parametrize("call, where", [
    (lambda: moe.plan([[1, 2], [3]], gpus=2, slots_per_gpu=1), "loads"),
    (lambda: moe.plan([[1, -2]], gpus=2, slots_per_gpu=1), "loads"),
    (lambda: moe.plan([[1, 2]], gpus=2), "slots_per_gpu"),
    (lambda: moe.plan([], gpus=2, slots_per_gpu=1), "loads"),
    (lambda: moe.plan([[1, 2, 3, 4]], gpus=2, slots_per_gpu=1), "slots_per_gpu"),
    (lambda: moe.advise("mixtral-8x7b", "4x-a100-nvlink3"), "skew"),
    (lambda: moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.2, layout="nope"), "layout"),
    (lambda: moe.advise("mixtral-8x7b", "4x-a100-nvlink3", skew=1.2, link_gbps=0), "link_gbps"),
    (lambda: moe.map("mixtral-8x7b", "4x-a100-nvlink3", [1.2], links=[100], link_gbps=300),
     "links"),
    (lambda: moe.stats("/no/such/trace.jsonl"), "/no/such/trace.jsonl"),
    (lambda: moe.stats("x.jsonl", batch_tokens=-1), "batch_tokens"),
])
def test_bad_input(call, where):
    with pytest.raises(llmgps.InputError) as e:
        call()
    assert e.value.where.startswith(where), e.value


def test_advise_sweep_matches_the_cli(cli):
    r = llmgps.moe.advise_sweep("mixtral-8x7b", "4x-a100-nvlink3", skew=1.6,
                                phases=["prefill", "decode"], batches=[1, 16])
    j = cli("moe", "advise", "--model", "mixtral-8x7b", "--system", "4x-a100-nvlink3", "--skew",
            "1.6", "--phases", "prefill,decode", "--batches", "1,16")
    assert r.to_dict() == j and len(r.records()) == 4


def test_trace_is_the_old_name_of_routing_trace(traces):
    with pytest.warns(DeprecationWarning, match="routing_trace"):
        old = moe.stats(trace=traces[0])
    assert old == moe.stats(routing_trace=traces[0]) == moe.stats(traces[0])
    with pytest.raises(llmgps.InputError) as e:
        moe.stats(routing_trace=traces[0], trace=traces[0])
    assert "old name" in e.value.reason
    with pytest.raises(llmgps.InputError) as e:
        moe.stats()
    assert e.value.where == "routing_trace"
