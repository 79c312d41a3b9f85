"""Typed results: attribute access to what ``--format json`` prints, ``to_dict()``, ``records()``."""

import copy


def flatten(row, prefix="", sep="."):
    """A nested dict as one flat dict ({"a": {"b": 1}} -> {"a.b": 1}); lists stay values."""
    out = {}
    for key, value in row.items():
        name = f"{prefix}{sep}{key}" if prefix else key
        if isinstance(value, dict):
            out.update(flatten(value, name, sep))
        else:
            out[name] = value
    return out


class Result:
    """One result of the library: the fields of its JSON as attributes.

    ``to_dict()`` is the JSON the command line prints with ``--format json``, as Python objects.
    Results with rows (an estimate's ops, a sweep's points, advice's strategies) also have
    ``records()``: a list of flat dicts that ``pandas.DataFrame(result.records())`` takes.
    """

    _rows = None  # the key of the list records() flattens, in subclasses that have rows

    def __init__(self, data):
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name):
        # Only fields: dunder lookups (copy and pickle ask for __setstate__ and the like on an
        # object whose _data is not set yet) must fail as missing, not recurse.
        if name.startswith("__") or "_data" not in self.__dict__:
            raise AttributeError(name)
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no field '{name}' (fields: {', '.join(self._data)})"
            ) from None

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key):
        return self._data[key]

    def __contains__(self, key):
        return key in self._data

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._data))

    def __reduce__(self):
        # Copies and pickles (multiprocessing) rebuild the same class from its data.
        return (type(self), (copy.deepcopy(self._data),))

    def __eq__(self, other):
        return type(self) is type(other) and self._data == other._data

    __hash__ = None

    def keys(self):
        """The field names, in the order the JSON has them."""
        return list(self._data)

    def to_dict(self):
        """The result as the JSON the CLI prints (a deep copy: changing it changes nothing here)."""
        return copy.deepcopy(self._data)

    def records(self):
        """The rows of a multi-row result as flat dicts (nested fields joined with '.')."""
        if self._rows is None:
            raise TypeError(f"{type(self).__name__} has a single row; use to_dict()")
        context = {k: v for k, v in self._data.items()
                   if not isinstance(v, (dict, list)) and k in self._context}
        return [{**context, **flatten(row)} for row in self._data[self._rows]]

    _context = ()  # scalar fields of the whole result repeated in every record

    def __repr__(self):
        shown = []
        for key, value in self._data.items():
            if isinstance(value, (dict, list)):
                continue
            shown.append(f"{key}={value!r}")
            if len(shown) == 6:
                break
        if not shown:  # a list result: its length
            return f"{type(self).__name__}({len(self._data.get('items', self._data))} items)"
        return f"{type(self).__name__}({', '.join(shown)}, ...)"


def rows_result(name, rows, context=(), doc=None):
    """A Result subclass whose records() are the list under `rows`, named as the calling module's
    attribute `name` (so that pickle finds it)."""
    import sys
    module = sys._getframe(1).f_globals.get("__name__", "llmgps")
    return type(name, (Result,), {"_rows": rows, "_context": tuple(context),
                                  "__doc__": doc or Result.__doc__, "__module__": module})


class Rows(Result):
    """A list result (the presets): records() are its items."""

    def __init__(self, items):
        super().__init__({"items": items})

    def __reduce__(self):
        return (type(self), (copy.deepcopy(self._data["items"]),))

    def records(self):
        return [flatten(item) for item in self._data["items"]]

    def __len__(self):
        return len(self._data["items"])

    def __iter__(self):
        return iter(self._data["items"])

    def to_dict(self):
        return copy.deepcopy(self._data["items"])
