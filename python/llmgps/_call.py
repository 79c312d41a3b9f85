"""Calling the C++ core: argument checks Python owns, and errors named after the caller's arguments."""

import functools
import inspect
import json
import numbers
import os
import tempfile

from ._errors import InputError

# Library fields whose Python argument has another name than the field's last part.
_RENAMED = {"seq_q": "seq", "tokens_per_gpu": "tokens", "routing": "skew", "input": "loads",
            "traces": "train", "pass": "pass_", "trace": "routing_trace"}


# A spec the library could not load, named by its kind: the caller's argument that gave it.
_SPEC_ARGUMENTS = {"gpu": ("hw", "system", "name_or_path"), "system": ("system", "hw", "name_or_path"),
                   "link": ("system", "hw", "name_or_path"), "NAME": ("name_or_path",),
                   "model": ("model", "name_or_config")}


def _argument_for(where, params):
    """The caller's argument a library field names ("step.batch" -> "batch"), else the field."""
    for name in _SPEC_ARGUMENTS.get(where, ()):
        if name in params:
            return name
    last = where.rsplit(".", 1)[-1]
    last = _RENAMED.get(last, last)
    if last in params:
        return last
    # A field a function takes as a list under a plural name (moe.map's skews).
    return last + "s" if last + "s" in params else where


def api(fn):
    """Decorator: InputError from the core names the Python argument ("batch", not "step.batch")."""
    params = set(inspect.signature(fn).parameters)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as e:
            where = _argument_for(e.where, params)
            if where == e.where:
                raise
            raise InputError(where, e.reason) from None

    return wrapper


def integer(value, name, minimum=None, bits=63):
    """An int argument (bools and floats refused), at least `minimum` when given, below 2**bits
    (63: a signed 64-bit integer; 64 for seeds and offsets, 32 for Philox words)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InputError(name, f"must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(name, f"must be at least {minimum}, got {value}")
    if value >= 2**bits:
        kind = "a signed 64-bit" if bits == 63 else f"an unsigned {bits}-bit"
        raise InputError(name, f"{value} does not fit {kind} integer")
    return value


def real(value, name):
    """A finite real argument."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InputError(name, f"must be a number, got {value!r}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(name, f"must be a finite number, got {value}")
    return value


def text(value, name):
    """A string argument (paths as os.PathLike too)."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if not isinstance(value, str):
        raise InputError(name, f"must be a string, got {value!r}")
    return value


def items(values, name, item=real, empty_ok=True):
    """A list argument, each element checked by `item`: a list, tuple, array or other iterable,
    or one value alone as a list of one (a string, bytes, path, dict or number is one value,
    never split into characters or digits)."""
    if isinstance(values, (numbers.Number, str, bytes, dict, os.PathLike)) or not hasattr(
            values, "__iter__"):
        values = [values]
    out = [item(v, name) for v in values]
    if not out and not empty_ok:
        raise InputError(name, "empty list")
    return out


def memory_warning(result):
    """Warns (llmgps.MemoryWarning) when a result's memory does not fit; returns the result. Called
    by a public function directly, so the warning points at the user's line: this frame, the
    function, the api wrapper, then the caller."""
    warning = result["memory"]["warning"]
    if warning:
        import warnings
        from ._errors import MemoryWarning
        warnings.warn(f"memory: {warning}", MemoryWarning, stacklevel=4)
    return result


class model_file:
    """A model argument as the core takes it: a preset name or path as is, a dict (the contents
    of a Hugging Face config.json) written to a temporary file for the call's duration."""

    def __init__(self, model, name="model"):
        self.path = None
        self.name = name
        if isinstance(model, dict):
            fd, self.path = tempfile.mkstemp(prefix="llmgps-model-", suffix=".json")
            with os.fdopen(fd, "w") as f:
                json.dump(model, f)
            self.ref = self.path
        else:
            self.ref = text(model, name)

    def __enter__(self):
        return self.ref

    def __exit__(self, exc_type, exc, tb):
        if self.path:
            os.unlink(self.path)
            # An error in the dict names the argument, not the temporary file it was written to.
            if isinstance(exc, InputError) and exc.where.startswith(self.path):
                raise InputError(self.name + exc.where[len(self.path):], exc.reason) from None
