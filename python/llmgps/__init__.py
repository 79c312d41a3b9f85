"""llmgps: how LLM workloads run on GPUs and GPU clusters, and why.

The library behind the ``llmgps`` command line, from Python. Every function mirrors a command
(``llmgps.estimate`` is ``llmgps estimate``) and returns a typed result whose fields are what
``--format json`` prints; ``to_dict()`` gives that JSON, and results with rows have ``records()``
for ``pandas.DataFrame``. Bad input raises :class:`InputError` (a ``ValueError``).

    >>> import llmgps
    >>> r = llmgps.estimate(model="mixtral-8x7b", system="4x-a100-nvlink3", batch=1, seq=512,
    ...                     phase="prefill", dtype="fp16")
    >>> r.total_s, r.time_by_bound_s["hbm"]

Submodules: :mod:`llmgps.cost` (one kernel or collective), :mod:`llmgps.moe` (MoE-GPS),
:mod:`llmgps.dropout` (Philox, masks, the RNG/GEMM overlap), :mod:`llmgps.eplb` (a drop-in for
DeepSeek's EPLB ``rebalance_experts``).
"""

import contextlib

from ._errors import InputError, MemoryWarning  # before the extension: it raises InputError
from . import _llmgps as _core
from ._call import (api as _api, integer as _int, items as _items,
                    memory_warning as _memory_warning, model_file as _model_file, real as _real,
                    text as _text)
from ._result import Result, Rows, rows_result as _rows_result

__version__ = "0.1.0"

Estimate = _rows_result(
    "Estimate", "ops",
    ("model", "system", "phase", "batch", "seq", "dtype", "moe_layout"),
    "A whole model's step (llmgps estimate): total_s, band_s, time_by_bound_s, and per-op rows "
    "(records(): one per op, with the step's model, system, phase, batch, seq and dtype).")
EstimateSweep = _rows_result(
    "EstimateSweep", "rows", (),
    "Estimates over a grid of batches and sequence lengths: records() is one row per point.")
Validation = _rows_result(
    "Validation", "classes", (),
    "A measurement table scored (llmgps validate): per class n, median |error|, bias, worst rows.")
Loso = _rows_result(
    "Loso", "held_out", (),
    "A fit refitted leaving one source out at a time (llmgps validate --loso): records() is one "
    "row per held-out source.")
Spec = Result


@_api
def hw(name_or_path):
    """A GPU, link or system: a preset name (``llmgps.hw_list()``) or a hardware JSON file.

    Returns the spec as written, every number with its source (``llmgps hw show``);
    ``.kind`` says which of gpu, link or system it is.
    """
    return Result(_core.hw_show(_text(name_or_path, "name_or_path")))


@_api
def model(name_or_config):
    """A model: a preset name (``llmgps.model_list()``), a Hugging Face config.json path, or its
    contents as a dict. Returns the model as llmgps reads it (``llmgps model show``)."""
    if isinstance(name_or_config, dict):
        import json
        name = str(name_or_config.get("_name_or_path") or name_or_config.get("name") or "model")
        return Result(_core.model_from_text(json.dumps(name_or_config), "model", name))
    return Result(_core.model_show(_text(name_or_config, "name_or_config")))


def hw_list():
    """The built-in GPUs, links and systems (name, kind, description), as records."""
    return Rows(_core.hw_list())


def model_list():
    """The built-in models, one record each."""
    return Rows(_core.model_list())


def _step_args(model, system, batch, seq, phase, dtype, tp, ep, layout, impl):
    return (model, _text(system, "system"), _int(batch, "batch"), _int(seq, "seq"),
            _text(phase, "phase"), _text(dtype, "dtype"), _int(tp, "tp", 0), _int(ep, "ep", 0),
            _text(layout, "layout"), _text(impl or "", "impl"))


@_api
def estimate(model, system, batch=1, seq=512, phase="prefill", dtype="auto", tp=0, ep=0,
             layout="vllm-tp", impl=None, prompt=None, output=None, memory_fraction=0.9,
             strict=False, cuda_graphs=False):
    """A whole model's prefill or decode step on a system, op by op, or serving end to end
    (``llmgps estimate``).

    model: preset, config.json path or dict; system: system preset or JSON, or a GPU (one GPU).
    batch: sequences; seq: prompt length (prefill) or cached context (decode); phase: prefill,
    decode or serve (``prompt`` tokens in, ``output`` tokens out per sequence: ``.serve`` holds
    TTFT, TPOT and throughput); dtype: fp32, tf32, fp16, bf16, fp8 or auto (fp8 for an FP8
    checkpoint such as DeepSeek-V3's where the GPU has it, else bf16); tp/ep: tensor/expert
    parallelism (0: the layout's default); layout (MoE models): vllm-tp, dp-a2a, dp-agrs or paper; impl:
    fa2 or fa3 (None: fa3 on Hopper, else fa2). ``.memory`` is the fullest GPU's memory against
    ``memory_fraction`` of its capacity, with the largest batch and context that fit; a step that
    does not fit warns (:class:`MemoryWarning`), or raises :class:`InputError` with strict=True.
    cuda_graphs=True: the engine replays each step from CUDA graphs (vLLM's and SGLang's decode),
    so every kernel pays the GPU's graph launch gap instead of an eager launch. Returns an :class:`Estimate` (``total_s``, ``band_s``, ``ops``...). The GIL is released
    while it runs.
    """
    with _model_file(model) as ref:
        return _memory_warning(Estimate(_core.estimate(
            *_step_args(ref, system, batch, seq, phase, dtype, tp, ep, layout, impl),
            _int(prompt or 0, "prompt", 0), _int(output or 0, "output", 0),
            _real(memory_fraction, "memory_fraction"), bool(strict), bool(cuda_graphs))))


@_api
def estimate_trace(model, system, batch=1, seq=512, phase="prefill", dtype="auto", tp=0, ep=0,
                   layout="vllm-tp", impl=None, cuda_graphs=False):
    """The same step as :func:`estimate` as a Chrome trace (JSON text, chrome://tracing)."""
    with _model_file(model) as ref:
        return _core.estimate_trace(*_step_args(ref, system, batch, seq, phase, dtype, tp, ep,
                                                layout, impl), bool(cuda_graphs))


def _names(values, name):
    return _items(values, name, _text, empty_ok=False)


@_api
def estimate_sweep(model=None, system=None, batches=(1,), seqs=(512,), phase="prefill",
                   dtype="auto", tp=0, ep=0, layout="vllm-tp", impl=None, models=None,
                   systems=None, phases=None, dtypes=None, memory_fraction=0.9, svg=False,
                   cuda_graphs=False):
    """:func:`estimate` over every combination of models, systems, phases, dtypes, batches and
    seqs, in one call (``llmgps estimate --models ... --batches ...``): model-major, then
    system, phase, dtype, batch, seq. model/system/phase/dtype stand for one-item lists.
    records() gives one row per point: the configuration, total_s, band_s, tokens_per_s,
    tflops_per_gpu, time_by_bound_s.* and memory (memory_bytes, memory_fits, max_batch,
    max_seq). With svg=True, the figure ``--svg`` draws (throughput vs batch) as SVG text.
    """
    models = _items(models if models is not None else [model], "models", lambda m, _: m,
                    empty_ok=False)
    systems = _names(systems if systems is not None else [system], "systems")
    phases = _names(phases if phases is not None else [phase], "phases")
    dtypes = _names(dtypes if dtypes is not None else [dtype], "dtypes")
    batches = _items(batches, "batches", _int, empty_ok=False)
    seqs = _items(seqs, "seqs", _int, empty_ok=False)
    with contextlib.ExitStack() as files:  # a model given as a dict becomes a config file
        refs = [files.enter_context(_model_file(m)) for m in models]
        r = _core.estimate_sweep(refs, systems, phases, dtypes, batches, seqs,
                                 _int(tp, "tp", 0), _int(ep, "ep", 0), _text(layout, "layout"),
                                 _text(impl or "", "impl"),
                                 _real(memory_fraction, "memory_fraction"), bool(cuda_graphs),
                                 bool(svg))
    return r if svg else EstimateSweep(r)


@_api
def validate(measurements, samples=False, worst=3, loso=None):
    """Score the unchanged models against a measurement table (``llmgps validate``).

    measurements: a CSV in the schema of docs/calibration.md. samples: keep every scored row (in
    ``.samples``); worst: worst rows kept per class; loso: refit a named fit leaving one source out
    at a time. records() lists the classes (or, with loso, the held-out sources).
    """
    r = _core.validate(_text(measurements, "measurements"), bool(samples), _int(worst, "worst", 0),
                       _text(loso or "", "loso"))
    return Loso(r) if loso else Validation(r)


@_api
def calibrate(data=None, system="4x-a100-nvlink3", samples=False):
    """The model's error on the measured A100 set (``llmgps calibrate``); records(): classes.

    data: a folder with the llmcompass_*.csv files (None: the set built in)."""
    return Validation(_core.calibrate(_text(data or "", "data"), _text(system, "system"),
                                      bool(samples)))


from . import cost, dropout, eplb, moe  # noqa: E402  (they use the names above)

__all__ = ["InputError", "MemoryWarning", "Result", "Rows", "Estimate", "EstimateSweep", "Validation", "hw",
           "model", "hw_list", "model_list", "estimate", "estimate_trace", "estimate_sweep",
           "validate", "calibrate", "cost", "moe", "dropout", "eplb", "__version__"]
