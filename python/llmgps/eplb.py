"""A drop-in for DeepSeek's EPLB (github.com/deepseek-ai/EPLB, ``eplb.rebalance_experts``).

    from llmgps.eplb import rebalance_experts      # instead of: from eplb import rebalance_experts

Same signature, same outputs: ``phy2log`` [layers, num_replicas], ``log2phy`` [layers, experts,
max replica count] padded with -1, ``logcnt`` [layers, experts], all int64; torch tensors when the
weight is a torch tensor (on the CPU, as DeepSeek's), numpy arrays otherwise. The weight is taken
as float32, as DeepSeek's ``weight.float()`` does (float64 and integer loads are converted).
The plan is computed in C++ with the GIL released.

Where it can differ from DeepSeek's: ties. DeepSeek orders loads with torch's default sort, which
is not stable: on torch 1.13 it keeps equal loads in index order for rows of up to 16 items and
reorders them for longer rows, and newer torch builds sort with another library and order them
differently again. This function always orders equal loads by index (a stable sort), so it equals
DeepSeek's whenever torch's sort keeps ties in place (always on rows of at most 16 items) and gives
a plan with the same GPU loads otherwise (tied items carry equal loads). Non-integer loads can also
round differently in the last bit of a group's float32 sum. Bad shapes raise llmgps.InputError
where DeepSeek raises AssertionError; negative, NaN or infinite loads are refused.
"""

import numbers

from . import _llmgps as _core
from ._errors import InputError

__all__ = ["rebalance_experts"]


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(name, f"must be an integer, got {value!r}")
    if value <= 0:
        raise InputError(name, f"must be positive, got {value}")
    if value >= 2**31:
        raise InputError(name, f"{value} is too large")
    return int(value)


def rebalance_experts(weight, num_replicas, num_groups, num_nodes, num_gpus):
    """Entry point for the expert-parallelism load balancer (DeepSeek's signature).

    weight: [layers, num_logical_experts], the load statistics of every logical expert (torch
    tensor or anything numpy takes); num_replicas: physical experts, a multiple of num_gpus;
    num_groups: expert groups; num_nodes: server nodes (inter-node network slower than
    intra-node); num_gpus: GPUs, a multiple of num_nodes.

    Returns (phy2log [layers, num_replicas], log2phy [layers, experts, max count], logcnt
    [layers, experts]), int64, as torch tensors when weight is one, else numpy arrays.
    """
    import numpy as _np  # here, not at import: `import llmgps` works without numpy

    torch = None
    if type(weight).__module__.startswith("torch"):
        import torch
        array = weight.detach().float().cpu().numpy()
    else:
        try:
            array = _np.asarray(weight, dtype=_np.float32)
        except (TypeError, ValueError) as e:
            raise InputError("weight", f"is not a numeric array ({e})") from None
    if array.ndim != 2:
        raise InputError("weight",
                         f"must be 2-D [layers, experts], got {array.ndim} dimensions")
    phy2log, log2phy, logcnt = _core.eplb(_np.ascontiguousarray(array, dtype=_np.float32),
                                          _count(num_replicas, "num_replicas"),
                                          _count(num_groups, "num_groups"),
                                          _count(num_nodes, "num_nodes"),
                                          _count(num_gpus, "num_gpus"))
    if torch is not None:
        return torch.from_numpy(phy2log), torch.from_numpy(log2phy), torch.from_numpy(logcnt)
    return phy2log, log2phy, logcnt
