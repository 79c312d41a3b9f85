"""Dropout (``llmgps philox`` and ``llmgps dropout ...``): Philox numbers, bit-packed masks, and
what generating the mask beside a GEMM saves against fusing it into Flash-Attention.
The GIL is released while the core runs.
"""

import copy

from . import _llmgps as _core
from ._call import (api as _api, integer as _int, items as _items, model_file as _model_file,
                    real as _real, text as _text)
from ._errors import InputError
from ._result import Result, rows_result as _rows_result

__all__ = ["philox", "mask", "block", "sweep", "Mask", "Block", "Sweep"]

Block = _rows_result("Block", "hosts", (),
                     "The transformer block under each dropout strategy (llmgps dropout block): "
                     "strategies.{none,fused,sequential,overlapped}.time_s, the speedups, and "
                     "records(): one row per host GEMM of the RNG kernel.")
Sweep = _rows_result("Sweep", "rows", ("model", "hw", "dtype", "scope"),
                     "Dropout strategies over batches and sequence lengths (llmgps dropout "
                     "sweep): records() is one row per (batch, seq).")


class Mask(Result):
    """A dropout mask: ``words`` (numpy uint32, bit i of word w keeps element 32*w + i; the layout
    of docs/dropout.md) and the summary ``llmgps dropout mask`` prints (keep_fraction, ...)."""

    def __init__(self, words, summary):
        summary = dict(summary)
        summary.pop("file", None)
        super().__init__(summary)
        object.__setattr__(self, "words", words)

    def __reduce__(self):
        return (type(self), (self.words.copy(), copy.deepcopy(self._data)))

    def to_dict(self):
        return {**super().to_dict(), "words": self.words.tolist()}


def _words(values, count, name):
    """`count` unsigned 32-bit integers (a float would be truncated into another key: refused)."""
    words = _items(values, name, lambda v, n: _int(v, n, 0, 32))
    if len(words) != count:
        raise InputError(name, f"must be {count} unsigned 32-bit integers, got {values!r}")
    return words


@_api
def philox(count=1, key=(0, 0), counter=(0, 0, 0, 0), rounds=10):
    """``count`` Philox4x32 outputs as a numpy uint32 array of shape [count, 4], the counter
    (first word lowest) incremented after each; Random123's known-answer values at 10 rounds."""
    return _core.philox(_int(rounds, "rounds"), _words(key, 2, "key"),
                        _words(counter, 4, "counter"), _int(count, "count"))


@_api
def mask(seed, batch, heads, seq, p=0.1, seq_k=None, offset=0, bits=32, rounds=10, threads=0):
    """The bit-packed dropout mask of a [batch, heads, seq, seq_k] attention (seq_k None: seq),
    drop probability p, from Philox with ``rounds`` rounds, ``bits`` random bits per element
    (32: PyTorch's, 8: FlashAttention-2's). threads: 0 uses every core."""
    words, summary = _core.dropout_mask(
        _int(seed, "seed", 0, 64), _int(offset, "offset", 0, 64), _int(batch, "batch"),
        _int(heads, "heads"), _int(seq, "seq"), _int(seq_k or 0, "seq_k"), _real(p, "p"),
        _int(bits, "bits"), _int(rounds, "rounds"), _int(threads, "threads", 0))
    return Mask(words, summary)


def _setup(model, hw, dtype, scope, impl, p, bits, rounds, what_ifs):
    if isinstance(what_ifs, str):
        what_ifs = [what_ifs]
    return (model, _text(hw, "hw"), _text(dtype, "dtype"), _text(scope, "scope"),
            _text(impl or "", "impl"), _real(p, "p"), _int(bits, "bits"), _int(rounds, "rounds"),
            [_text(w, "what_ifs") for w in (what_ifs or [])])


@_api
def block(model, hw, batch=1, seq=4096, dtype="auto", scope="train", impl=None, p=0.1, bits=32,
          rounds=10, what_ifs=()):
    """One transformer block with attention dropout under each strategy: none, fused (the RNG in
    Flash-Attention), sequential (a separate RNG kernel) and overlapped (the RNG beside a GEMM).

    model: dense model preset or config; hw: GPU; scope: fwd or train; what_ifs: the paper's
    assumptions by name ("paper" for all). Returns a :class:`Block`.
    """
    m, *rest = _setup(model, hw, dtype, scope, impl, p, bits, rounds, what_ifs)
    with _model_file(m) as ref:
        return Block(_core.dropout_block(ref, rest[0], _int(batch, "batch"), _int(seq, "seq"),
                                         *rest[1:]))


@_api
def sweep(model, hw, seqs=(1024, 2048, 4096, 8192), batches=(1, 2, 4), dtype="auto",
          scope="train", impl=None, p=0.1, bits=32, rounds=10, what_ifs=(), models=None,
          dtypes=None, svg=False):
    """:func:`block` over every (model, dtype, batch, seq): records() one row per point.

    models/dtypes: lists to sweep as well (None: model, dtype). With svg=True, the figure
    ``dropout sweep --svg`` draws (speedup vs sequence length per batch) as SVG text.
    """
    m, *rest = _setup(model, hw, dtype, scope, impl, p, bits, rounds, what_ifs)
    seqs = _items(seqs, "seqs", _int, empty_ok=False)
    batches = _items(batches, "batches", _int, empty_ok=False)
    models = _items(models if models is not None else [], "models", _text)
    dtypes = _items(dtypes if dtypes is not None else [], "dtypes", _text)
    with _model_file(m) as ref:
        r = _core.dropout_sweep(ref, rest[0], seqs, batches, *rest[1:], models, dtypes,
                                bool(svg))
    return r if svg else Sweep(r)
