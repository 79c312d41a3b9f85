"""MoE-GPS (``llmgps moe ...``): routing-trace statistics, predictors, replica plans, strategy
advice and the guideline map for Mixture-of-Experts inference under expert parallelism.

Traces are JSON Lines routing logs (vLLM's expert logger, SGLang's, or llmgps' own; see
docs/moe.md). Every function returns a :class:`llmgps.Result`; ``records()`` gives its rows.
The GIL is released while the core runs.
"""

from . import _llmgps as _core
from ._call import (api as _api, integer as _int, model_file as _model_file, items as _list,
                    memory_warning as _memory_warning, real as _real, text as _text)
from ._errors import InputError
from ._result import rows_result as _rows_result

__all__ = ["stats", "predict", "plan", "advise", "advise_sweep", "map", "Stats", "Prediction",
           "Plan", "Advice", "AdviceSweep", "Map"]

Stats = _rows_result("Stats", "per_layer", (),
                     "Trace statistics (llmgps moe stats): skew, entropy, per-layer rows.")
Prediction = _rows_result("Prediction", "predictors", (),
                          "Predictor accuracy (llmgps moe predict): one row per predictor.")
Advice = _rows_result("Advice", "strategies", (),
                      "Strategy advice (llmgps moe advise): one row per strategy; recommended, "
                      "fastest, runner_up, margin and the verdict's basis.")
AdviceSweep = _rows_result("AdviceSweep", "rows", (),
                           "Advice over phases, batches and sequence lengths (llmgps moe advise "
                           "--phases/--batches/--seqs): one row per point.")
Map = _rows_result("Map", "cells", (),
                   "The guideline map (llmgps moe map): one row per (batch, link, skew) cell.")


class Plan(_rows_result("_PlanBase", "layers")):
    """A replica plan (llmgps moe plan): phy2log [layer][slot], log2phy [layer][expert] (each
    expert's slots in rank order), logcnt [layer][expert], balancedness and gpu_loads.
    records(): one row per (layer, slot): layer, slot, gpu, expert."""

    def records(self):
        d = self._data
        per = d["slots_per_gpu"]
        out = []
        for li, row in enumerate(d["phy2log"]):
            layer = d["layers"][li] if d.get("layers") else li
            for slot, expert in enumerate(row):
                out.append({"layer": layer, "slot": slot, "gpu": slot // per, "expert": expert})
        return out


def _routing_trace(routing_trace, trace):
    """routing_trace, or `trace` (its old name, kept for one release with a warning)."""
    if trace is None:
        return routing_trace
    if routing_trace is not None:
        raise InputError("trace", "give routing_trace only (trace is its old name)")
    import warnings
    warnings.warn("trace= is now routing_trace= (the old name goes in the next release)",
                  DeprecationWarning, stacklevel=4)
    return trace


@_api
def stats(routing_trace=None, batch_tokens=64, experts=0, transitions=False, stream=False,
          keep_warmup=False, trace=None):
    """Expert shares, skew, entropy and per-batch skew of a routing trace.

    batch_tokens: tokens per batch for the per-batch skew (0: the whole trace); experts: 0 reads
    it from the trace; transitions: layer-to-layer transition matrices; stream: read in chunks
    (traces larger than memory); keep_warmup: keep warm-up runs of identical records (wherever they are).
    """
    trace = _routing_trace(routing_trace, trace)
    if trace is None:
        raise InputError("routing_trace", "is required: the routing trace to read")
    return Stats(_core.moe_stats(_text(trace, "routing_trace"),
                                 _int(batch_tokens, "batch_tokens", 0),
                                 _int(experts, "experts", 0), bool(transitions), bool(stream),
                                 bool(keep_warmup)))


@_api
def predict(train=None, test=None, groups=None, batch_tokens=64, keep_warmup=False):
    """Train every routing predictor on one trace and score it on another (train=, test=), or
    predict each group of a grouped shares CSV from the others (groups=)."""
    return Prediction(_core.moe_predict(_text(train or "", "train"), _text(test or "", "test"),
                                        _text(groups or "", "groups"),
                                        _int(batch_tokens, "batch_tokens", 0), bool(keep_warmup)))


def _load_matrix(loads):
    """A [layer][expert] load matrix from a list of lists, numpy array or torch tensor."""
    if hasattr(loads, "detach"):  # torch
        loads = loads.detach().cpu().numpy()
    if hasattr(loads, "tolist"):  # numpy
        if getattr(loads, "ndim", 2) != 2:
            raise InputError("loads", f"must be 2-D [layer][expert], got {loads.ndim} dimensions")
        loads = loads.tolist()
    try:
        rows = [list(r) for r in loads]
    except TypeError:
        raise InputError("loads", "must be a file path or a [layer][expert] matrix") from None
    return [[_real(v, "loads") for v in r] for r in rows]


@_api
def plan(loads=None, routing_trace=None, gpus=None, slots_per_gpu=None, nodes=1, groups=1,
         algo="eplb", max_copies=0, keep_warmup=False, model=None, trace=None):
    """Place experts and their replicas on GPU slots (``llmgps moe plan``).

    loads: a JSON file ({"loads": [...]} or SGLang's logical_count) or the matrix itself
    ([layer][expert] tokens: lists, numpy or torch); or routing_trace: a routing trace. gpus,
    slots_per_gpu: the slots; nodes, groups: EPLB's hierarchy; algo: eplb (DeepSeek's) or greedy
    (MoE-GPS); max_copies: greedy's cap per expert; model: check the loads against it.
    """
    trace = _routing_trace(routing_trace, trace)
    if gpus is None or slots_per_gpu is None:
        raise InputError("gpus" if gpus is None else "slots_per_gpu", "is required")
    path, matrix = "", None
    if loads is not None and (isinstance(loads, str) or hasattr(loads, "__fspath__")):
        path = _text(loads, "loads")
    elif loads is not None:
        matrix = _load_matrix(loads)
    with _model_file(model or "") as model_ref:
        return Plan(_core.moe_plan(_text(trace or "", "routing_trace"), path, matrix, _int(gpus, "gpus"),
                                   _int(slots_per_gpu, "slots_per_gpu"), _int(nodes, "nodes"),
                                   _int(groups, "groups"), _text(algo, "algo"),
                                   _int(max_copies, "max_copies", 0), bool(keep_warmup),
                                   model_ref))


def _ep(model, system, link_gbps, batch, seq, phase, dtype, layout, algo, error_model,
        predictors, points, expert_time, error_cap, slots_per_gpu, replan_every, replan_policy,
        batch_tokens, memory_fraction=0.9, strict=False, cuda_graphs=False):
    return {"model": model, "system": _text(system, "system"),
            "link_gbps": None if link_gbps is None else _real(link_gbps, "link_gbps"), "batch": _int(batch, "batch"),
            "seq": _int(seq, "seq"), "phase": _text(phase, "phase"), "dtype": _text(dtype, "dtype"),
            "layout": _text(layout, "layout"), "algo": _text(algo, "algo"),
            "error_model": _text(error_model, "error_model"),
            "predictors": _text(predictors, "predictors"), "points": _text(points or "", "points"),
            "expert_time": _text(expert_time, "expert_time"),
            "error_cap": "on" if error_cap in (True, "on") else
                         "off" if error_cap in (False, "off") else _text(error_cap, "error_cap"),
            "slots_per_gpu": _int(slots_per_gpu, "slots_per_gpu", 0),
            "replan_every": _int(replan_every, "replan_every"),
            "replan_policy": _text(replan_policy, "replan_policy"),
            "batch_tokens": _int(batch_tokens, "batch_tokens", 0),
            "memory_fraction": _real(memory_fraction, "memory_fraction"),
            "strict": bool(strict), "cuda_graphs": bool(cuda_graphs)}


@_api
def advise(model, system, skew=None, shares=None, routing_trace=None, train=None, keep_warmup=False,
           link_gbps=None, batch=1, seq=512, phase="prefill", dtype="auto", layout="vllm-tp",
           algo="greedy-time", error_model="typical", predictors="auto", points=None,
           expert_time="roofline", error_cap=True, slots_per_gpu=0, replan_every=1,
           replan_policy="when-it-pays", batch_tokens=64, memory_fraction=0.9, strict=False,
           trace=None, cuda_graphs=False):
    """Which way to run an MoE model's experts: no duplication, Distribution-Only or
    Token-to-Expert prediction, with its replica plan (``llmgps moe advise``).

    Routing comes from exactly one of skew (max/mean expert share), shares (a shares CSV) or
    routing_trace (with train: the predictors' training trace). layout: vllm-tp, dp-a2a, dp-agrs or paper;
    algo: the replica planner (greedy-time, greedy, eplb). The result says what is recommended,
    or "tie" when the model cannot tell the two fastest apart (band_s), and why. ``.memory`` is
    the fullest GPU's memory with its replica slots against ``memory_fraction`` of its capacity;
    a step that does not fit warns (:class:`llmgps.MemoryWarning`), or raises
    :class:`llmgps.InputError` with strict=True. cuda_graphs=True: the engine replays the step
    from CUDA graphs, so every kernel (the predictor's included) pays the GPU's graph launch gap
    instead of an eager launch.
    """
    trace = _routing_trace(routing_trace, trace)
    with _model_file(model) as ref:
        ep = _ep(ref, system, link_gbps, batch, seq, phase, dtype, layout, algo, error_model,
                 predictors, points, expert_time, error_cap, slots_per_gpu, replan_every,
                 replan_policy, batch_tokens, memory_fraction, strict, cuda_graphs)
        result = Advice(_core.moe_advise(ep, None if skew is None else _real(skew, "skew"),
                                         _text(shares or "", "shares"),
                                         _text(trace or "", "routing_trace"),
                                         _text(train or "", "train"), bool(keep_warmup)))
    return _memory_warning(result)


@_api
def advise_sweep(model, system, phases=None, batches=None, seqs=None, skew=None, shares=None,
                 routing_trace=None, train=None, keep_warmup=False, link_gbps=None,
                 phase="prefill", batch=1, seq=512, dtype="auto", layout="vllm-tp", algo="greedy-time",
                 error_model="typical", predictors="auto", points=None, expert_time="roofline",
                 error_cap=True, slots_per_gpu=0, replan_every=1, replan_policy="when-it-pays",
                 batch_tokens=64, memory_fraction=0.9, strict=False, trace=None,
                 cuda_graphs=False):
    """:func:`advise` over every combination of phases, batches and seqs in one call (``llmgps
    moe advise --phases ... --batches ... --seqs ...``): records() one row per point with the
    recommendation, its margin and the fastest latency of each strategy kind (strict=True: a
    point that does not fit in memory raises :class:`llmgps.InputError`)."""
    trace = _routing_trace(routing_trace, trace)
    with _model_file(model) as ref:
        ep = _ep(ref, system, link_gbps, batch, seq, phase, dtype, layout, algo, error_model,
                 predictors, points, expert_time, error_cap, slots_per_gpu, replan_every,
                 replan_policy, batch_tokens, memory_fraction, strict, cuda_graphs)
        return AdviceSweep(_core.moe_advise_sweep(
            ep, None if skew is None else _real(skew, "skew"), _text(shares or "", "shares"),
            _text(trace or "", "routing_trace"), _text(train or "", "train"),
            bool(keep_warmup),
            _list(phases if phases is not None else [], "phases", _text),
            _list(batches if batches is not None else [], "batches", _int),
            _list(seqs if seqs is not None else [], "seqs", _int)))


@_api
def map(model, system, skews, links=None, batches=None, svg=False, link_gbps=None, seq=512,
        phase="prefill", dtype="auto", layout="vllm-tp", algo="greedy-time",
        error_model="typical", predictors="auto", points=None, expert_time="roofline",
        error_cap=True, slots_per_gpu=0, replan_every=1, replan_policy="when-it-pays",
        batch_tokens=64, memory_fraction=0.9, cuda_graphs=False):
    """The guideline map (``llmgps moe map``): the winning strategy for every skew, link
    bandwidth (GB/s) and batch. With svg=True, the SVG drawing (text) instead of the result."""
    with _model_file(model) as ref:
        ep = _ep(ref, system, link_gbps, 1, seq, phase, dtype, layout, algo, error_model,
                 predictors, points, expert_time, error_cap, slots_per_gpu, replan_every,
                 replan_policy, batch_tokens, memory_fraction, cuda_graphs=cuda_graphs)
        args = (ep, _list(skews, "skews", empty_ok=False),
                _list(links if links is not None else [], "links"),
                _list(batches if batches is not None else [], "batches"))
        if svg:
            return _core.moe_map_svg(*args)
        return Map(_core.moe_map(*args))
