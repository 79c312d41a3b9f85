"""llmgps/eplb.py: the drop-in against a plain Python transcription of DeepSeek's EPLB
(eplb_reference.py, float32 and torch like the original) on 400 random shapes, ties included."""

import random

import numpy as np
import pytest

import llmgps
from llmgps.eplb import rebalance_experts

torch = pytest.importorskip("torch")
reference = pytest.importorskip("eplb_reference")


def _shape(rng):
    """A random EPLB call: (layers, experts, replicas, groups, nodes, gpus)."""
    nodes = rng.choice([1, 1, 2, 4])
    gpus = nodes * rng.choice([1, 2, 4])
    if nodes > 1 and rng.random() < 0.2:
        groups = rng.choice([1, 3, 5])  # not divisible by the nodes: DeepSeek's global policy
    else:
        groups = nodes * rng.choice([1, 2, 4])
    per_group = rng.choice([1, 2, 3, 4, 8])
    experts = groups * per_group
    while experts % nodes:
        experts += groups
    # Replicas: a multiple of the GPUs (and of the nodes), at least the experts.
    replicas = experts + rng.choice([0, 1, 2, 4, 8, 16])
    replicas += (-replicas) % gpus
    return rng.choice([1, 2, 3]), experts, replicas, groups, nodes, gpus


def _weight(rng, layers, experts):
    kind = rng.choice(["ties", "ties", "zeros", "wide", "float"])
    if kind == "ties":
        w = [[rng.randint(0, 3) for _ in range(experts)] for _ in range(layers)]
    elif kind == "zeros":
        w = [[0] * experts for _ in range(layers)]
    elif kind == "wide":
        w = [[rng.randint(0, 10**6) for _ in range(experts)] for _ in range(layers)]
    else:
        w = [[rng.random() * 100 for _ in range(experts)] for _ in range(layers)]
    return torch.tensor(w, dtype=torch.float32), kind


def _sorted_rows_at_most_16(experts, replicas, groups, nodes):
    """Whether every row DeepSeek sorts has at most 16 items (torch 1.13 keeps ties in place)."""
    hier = groups % nodes == 0
    g, n = (groups, nodes) if hier else (1, 1)
    return g <= 16 and replicas // n <= 16


def _calls(count, seed):
    rng = random.Random(seed)
    out = []
    while len(out) < count:
        layers, experts, replicas, groups, nodes, gpus = _shape(rng)
        hier = groups % nodes == 0
        if hier and (replicas % nodes or (replicas // nodes) % (gpus // nodes)):
            continue
        weight, kind = _weight(rng, layers, experts)
        group_size = experts // groups if hier else experts
        # Float group sums round differently in torch and a left-to-right float32 sum for some
        # group sizes (module docstring); keep float loads where no group sum is sorted.
        if kind == "float" and hier and groups // nodes > 1 and group_size not in (1, 2, 4, 8):
            continue
        out.append((weight, replicas, groups, nodes, gpus))
    return out


CALLS = _calls(400, seed=20261204)


def test_the_shapes_cover_ties_hierarchy_and_the_global_fallback():
    hier = sum(1 for _, r, g, n, _ in CALLS if g % n == 0 and n > 1)
    glob = sum(1 for _, r, g, n, _ in CALLS if g % n != 0)
    tied = sum(1 for w, *_ in CALLS if len(set(w.flatten().tolist())) < w.numel())
    long_rows = sum(1 for w, r, g, n, _ in CALLS if not _sorted_rows_at_most_16(w.shape[1], r, g, n))
    assert hier > 40 and glob > 10 and tied > 200 and long_rows > 40


@pytest.mark.parametrize("i", range(len(CALLS)))
def test_identical_to_the_transcription(i):
    weight, replicas, groups, nodes, gpus = CALLS[i]
    got = rebalance_experts(weight, replicas, groups, nodes, gpus)
    # Ties by index (a stable sort): what DeepSeek gets whenever torch's sort keeps them in place.
    expect = reference.rebalance_experts(weight, replicas, groups, nodes, gpus, stable_sort=True)
    for g, e, name in zip(got, expect, ("phy2log", "log2phy", "logcnt")):
        assert isinstance(g, torch.Tensor) and g.dtype == e.dtype == torch.int64, name
        assert g.shape == e.shape and torch.equal(g, e), name
    if _sorted_rows_at_most_16(weight.shape[1], replicas, groups, nodes):
        # DeepSeek's own tie order (torch's default sort) on rows torch 1.13 sorts in place.
        exact = reference.rebalance_experts(weight, replicas, groups, nodes, gpus)
        for g, e in zip(got, exact):
            assert torch.equal(g, e)
    # numpy in, numpy out, the same numbers.
    arrays = rebalance_experts(weight.numpy(), replicas, groups, nodes, gpus)
    for a, g in zip(arrays, got):
        assert isinstance(a, np.ndarray) and a.dtype == np.int64 and np.array_equal(a, g.numpy())


def test_tied_long_rows_give_deepseeks_gpu_loads():
    # 17+ tied items: torch 1.13's unstable sort reorders them, so the slots may differ from
    # DeepSeek's, but tied items carry equal loads and every GPU's load is the same.
    weight = torch.tensor([[1.0] * 8 + [5.0] * 8 + [2.0] * 8], dtype=torch.float32)
    ours = rebalance_experts(weight, 32, 1, 1, 8)
    theirs = reference.rebalance_experts(weight, 32, 1, 1, 8)

    def gpu_loads(phy2log, logcnt):
        per = (weight[0] / logcnt[0].float())[phy2log[0]]
        return sorted(per.view(8, -1).sum(-1).tolist())

    assert gpu_loads(ours[0], ours[2]) == gpu_loads(theirs[0], theirs[2])
    assert torch.equal(ours[2], theirs[2])


def test_float64_and_integer_weights_are_taken_as_float32_like_deepseek():
    w = torch.tensor([[3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]], dtype=torch.float64)
    a = rebalance_experts(w, 12, 2, 1, 4)
    b = rebalance_experts(w.float(), 12, 2, 1, 4)
    c = rebalance_experts(w.long(), 12, 2, 1, 4)
    d = reference.rebalance_experts(w, 12, 2, 1, 4)
    for x, y, z, r in zip(a, b, c, d):
        assert torch.equal(x, y) and torch.equal(x, z) and torch.equal(x, r)


def test_lists_work_and_deepseek_v3_shape():
    rng = np.random.default_rng(3)
    w = rng.integers(0, 1000, size=(58, 256))
    phy2log, log2phy, logcnt = rebalance_experts(w.tolist(), 288, 8, 4, 32)
    assert phy2log.shape == (58, 288) and logcnt.shape == (58, 256)
    assert log2phy.shape == (58, 256, int(logcnt.max()))
    assert (logcnt.sum(1) == 288).all()


@pytest.mark.parametrize("args, where", [
    ((torch.ones(8), 8, 1, 1, 1), "weight"),                     # wrong rank
    ((torch.ones(2, 2, 2), 8, 1, 1, 1), "weight"),
    ((torch.ones(2, 8), 10, 1, 1, 4), "plan.slots_per_gpu"),     # replicas % gpus
    ((torch.ones(2, 8), 4, 1, 1, 4), "plan.slots_per_gpu"),      # fewer replicas than experts
    ((torch.ones(2, 8), 8, 3, 1, 4), "plan.groups"),             # experts % groups
    ((torch.ones(2, 8), 8, 2, 2, 3), "plan.gpus"),               # gpus % nodes
    ((torch.ones(2, 8), 8, 0, 1, 4), "num_groups"),
    ((torch.ones(2, 8), 8.0, 1, 1, 4), "num_replicas"),
    ((-torch.ones(2, 8), 8, 1, 1, 4), "loads"),
    ((torch.full((2, 8), float("nan")), 8, 1, 1, 4), "loads"),
    ((torch.ones(0, 8), 8, 1, 1, 4), "weight"),
    (("abc", 8, 1, 1, 4), "weight"),
])
def test_bad_input_raises_input_error(args, where):
    with pytest.raises(llmgps.InputError) as e:
        rebalance_experts(*args)
    assert e.value.where == where, e.value


def test_deepseeks_global_fallback_ignores_groups_and_nodes():
    # groups % nodes != 0: DeepSeek plans globally and checks neither groups nor nodes.
    w = torch.tensor([[5.0, 1, 1, 1, 2, 2, 3, 9]])
    for args in ((12, 3, 2, 4), (12, 4, 3, 4)):
        got = rebalance_experts(w, *args)
        expect = reference.rebalance_experts(w, *args)
        for g, e in zip(got, expect):
            assert torch.equal(g, e)
