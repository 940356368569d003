"""A JSON-ready canonical form of a workload's return value, comparable across processes.

Loaded by file path into the task's own interpreter, which may lack perfagent's dependencies
and be older than ours: stdlib only, no syntax newer than 3.8, and numpy/pandas are used only
when the workload already imported them. ``tools.equivalence.compare`` reads the result.

Format: None, bool, int, str, finite float and list stand for themselves; everything else is a
dict whose first key is a ``__tag__`` (``__tuple__``, ``__dict__``, ``__set__``, ``__object__``,
``__ndarray__``...). Dict pairs and set items are sorted by their canonical JSON so the same
value always gives the same text.
"""

from __future__ import annotations

import array
import base64
import collections
import collections.abc
import dataclasses
import datetime
import decimal
import enum
import fractions
import json
import math
import pathlib
import re
import sys
import types
import uuid
from typing import Any

# json.dumps refuses ints above sys.get_int_max_str_digits() (4300 digits); hex has no limit.
_MAX_INT_BITS = 13_000
_MAX_REPR = 100_000
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{4,}")
_TEXTUAL = (
    decimal.Decimal,
    fractions.Fraction,
    datetime.date,  # datetime.datetime too
    datetime.time,
    datetime.timedelta,
    uuid.UUID,
    pathlib.PurePath,
)
_REFERENCES = (
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.ModuleType,
)
_UNSUPPORTED = (
    collections.abc.Iterator,
    collections.abc.AsyncIterator,
    collections.abc.Coroutine,
    collections.abc.AsyncGenerator,
)


def canonicalize(obj: object, *, max_depth: int = 200) -> object:
    """The canonical tree of ``obj``; never consumes iterators and never raises for odd
    values (they become ``__unsupported__``/``__repr__`` nodes)."""
    limit = sys.getrecursionlimit()
    # A few Python frames per nesting level, on top of whatever the caller already uses.
    needed = max_depth * 6 + 1000
    if needed > limit:
        sys.setrecursionlimit(needed)
    try:
        return _Canonicalizer(max_depth).canon(obj, 0)
    finally:
        sys.setrecursionlimit(limit)


def canonical_exception(exc: BaseException) -> object:
    """Canonical form of a raised exception: its type and args."""
    try:
        return canonicalize(exc)
    except Exception:  # a pathological args object must not hide the original failure
        return {"__exception__": _type_name(exc), "args": {"__repr__": _repr(exc.args)}}


def dumps(obj: object) -> str:
    return json.dumps(canonicalize(obj), allow_nan=False, sort_keys=True)


def dump(obj: object, path: str | pathlib.PurePath) -> None:
    """Write the canonical JSON of ``obj`` to ``path``."""
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(dumps(obj))


def _type_name(obj: object) -> str:
    kind = type(obj)
    return f"{kind.__module__}.{kind.__qualname__}"


def _repr(obj: object) -> str:
    try:
        text = repr(obj)
    except Exception as exc:
        text = f"<repr failed: {type(exc).__name__}>"
    # Memory addresses differ between processes and say nothing about the value.
    return _ADDRESS.sub("0x?", text[:_MAX_REPR])


def _float(value: float) -> object:
    if math.isfinite(value):
        return value
    return {"__float__": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")}


def _json(node: object) -> str:
    return json.dumps(node, sort_keys=True, allow_nan=False)


def _sorted_pairs(pairs: list[list[object]]) -> list[list[object]]:
    keys = [_json(pair[0]) for pair in pairs]
    if len(set(keys)) == len(keys):
        order = sorted(range(len(pairs)), key=keys.__getitem__)
    else:  # equal canonical keys (distinct NaN objects): values break the tie
        order = sorted(range(len(pairs)), key=lambda i: (keys[i], _json(pairs[i][1])))
    return [pairs[i] for i in order]


def _loaded(name: str, *attributes: str) -> Any:
    """The module if the workload imported it (fully), else None; never imports it."""
    module = sys.modules.get(name)
    return module if all(hasattr(module, a) for a in attributes) else None


def _slot_names(kind: type) -> list[str]:
    names: list[str] = []
    for klass in kind.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):
                name = f"_{klass.__name__.lstrip('_')}{name}"
            names.append(name)
    return names


class _Canonicalizer:
    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.active: set[int] = set()  # ids of containers on the current path, for cycles
        self.np = _loaded("numpy", "ndarray", "generic")
        self.pd = _loaded("pandas", "DataFrame", "Series", "Index")

    def canon(self, obj: object, depth: int) -> object:
        kind = type(obj)
        if obj is None or kind is bool or kind is str:
            return obj
        if kind is int and isinstance(obj, int):
            return obj if obj.bit_length() <= _MAX_INT_BITS else {"__int__": hex(obj)}
        if kind is float and isinstance(obj, float):
            return _float(obj)
        if depth >= self.max_depth:
            return {"__truncated__": _type_name(obj)}
        key = id(obj)
        if key in self.active:
            return {"__cycle__": _type_name(obj)}
        self.active.add(key)
        try:
            return self._compound(obj, depth + 1)
        except RecursionError:
            return {"__truncated__": _type_name(obj)}
        except Exception as exc:  # user code (repr, numpy, pandas) misbehaved on this node only
            return {"__unsupported__": _type_name(obj), "error": type(exc).__name__}
        finally:
            self.active.discard(key)

    def _items(self, values: Any, depth: int) -> list[object]:
        return [self.canon(value, depth) for value in values]

    def _pairs(self, items: Any, depth: int) -> list[list[object]]:
        return _sorted_pairs([[self.canon(k, depth), self.canon(v, depth)] for k, v in items])

    def _object(self, obj: object, items: Any, depth: int) -> object:
        return {"__object__": _type_name(obj), "state": {"__dict__": self._pairs(items, depth)}}

    def _compound(self, obj: Any, depth: int) -> object:
        special = self._numeric_library(obj, depth)
        if special is not None:
            return special
        if isinstance(obj, enum.Enum):  # before int/str: IntEnum and StrEnum are both
            return {"__value__": _type_name(obj), "value": obj.name or _repr(obj)}
        if isinstance(obj, int):  # subclasses decay to their base value
            return self.canon(int.__int__(obj), depth)
        if isinstance(obj, float):
            return _float(float.__float__(obj))
        if isinstance(obj, str):
            return str.__str__(obj)
        if isinstance(obj, (bytes, bytearray, memoryview)):
            data = obj.tobytes() if isinstance(obj, memoryview) else bytes(obj)
            return {"__bytes__": base64.b64encode(data).decode("ascii")}
        if isinstance(obj, complex):
            return {"__complex__": [_float(obj.real), _float(obj.imag)]}
        if isinstance(obj, BaseException):
            return {"__exception__": _type_name(obj), "args": self.canon(obj.args, depth)}
        if isinstance(obj, tuple):
            fields = getattr(type(obj), "_fields", None)
            if isinstance(fields, tuple):  # namedtuple: field names are part of the value
                return self._object(obj, [(f, getattr(obj, f)) for f in fields], depth)
            return {"__tuple__": self._items(obj, depth)}
        if isinstance(obj, list):
            return self._items(obj, depth)
        if isinstance(obj, dict):
            return {"__dict__": self._pairs(obj.items(), depth)}
        if isinstance(obj, (set, frozenset)):
            return {"__set__": sorted(self._items(obj, depth), key=_json)}
        if isinstance(obj, range):
            return {"__range__": [obj.start, obj.stop, obj.step]}
        if isinstance(obj, collections.deque):
            return self._object(obj, [("items", list(obj)), ("maxlen", obj.maxlen)], depth)
        if isinstance(obj, array.array):
            return self._object(obj, [("items", obj.tolist()), ("typecode", obj.typecode)], depth)
        if isinstance(obj, _TEXTUAL):
            text = obj.isoformat() if isinstance(obj, (datetime.date, datetime.time)) else str(obj)
            return {"__value__": _type_name(obj), "value": text}
        if isinstance(obj, _REFERENCES):
            module = getattr(obj, "__module__", None) or ""
            name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", "?")
            return {"__ref__": f"{module}.{name}" if module else str(name)}
        if isinstance(obj, _UNSUPPORTED):  # generators included; consuming them would change them
            return {"__unsupported__": _type_name(obj)}
        if dataclasses.is_dataclass(obj):
            # Fields with compare=False are excluded from the class's own __eq__ too.
            fields = [f.name for f in dataclasses.fields(obj) if f.compare]
            return self._object(obj, [(name, getattr(obj, name)) for name in fields], depth)
        if isinstance(obj, collections.abc.Mapping):
            return {"__dict__": self._pairs(obj.items(), depth)}
        if isinstance(obj, collections.abc.Set):
            return {"__set__": sorted(self._items(obj, depth), key=_json)}
        if isinstance(obj, (collections.abc.Sequence, collections.abc.ValuesView)):
            return self._items(obj, depth)
        state = self._state(obj)
        if state:
            return self._object(obj, state, depth)
        return {"__repr__": _repr(obj), "type": _type_name(obj)}

    def _state(self, obj: object) -> list[tuple[str, object]]:
        state: list[tuple[str, object]] = []
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            state.extend(attributes.items())
        for name in _slot_names(type(obj)):
            try:
                state.append((name, getattr(obj, name)))
            except AttributeError:  # an unset slot
                continue
        return state

    def _numeric_library(self, obj: object, depth: int) -> object | None:
        np, pd = self.np, self.pd
        if np is not None:
            if isinstance(obj, np.ndarray):
                return {"__ndarray__": self._ndarray(obj, depth)}
            if isinstance(obj, np.generic):
                value = obj.item()
                if isinstance(value, np.generic):  # longdouble and friends have no exact twin
                    value = str(value)
                return {"__npscalar__": str(obj.dtype), "value": self.canon(value, depth)}
        if pd is not None:
            if isinstance(obj, pd.DataFrame):
                columns = [obj.iloc[:, i].tolist() for i in range(obj.shape[1])]
                return {
                    "__dataframe__": {
                        "columns": self.canon(list(obj.columns), depth),
                        "dtypes": [str(dtype) for dtype in obj.dtypes],
                        "index": self._pd_index(obj.index, depth),
                        "data": self._items(columns, depth),
                    }
                }
            if isinstance(obj, pd.Series):
                return {
                    "__series__": {
                        "name": self.canon(obj.name, depth),
                        "dtype": str(obj.dtype),
                        "index": self._pd_index(obj.index, depth),
                        "data": self.canon(obj.tolist(), depth),
                    }
                }
            if isinstance(obj, pd.Index):
                return {"__pdindex__": self._pd_index(obj, depth)}
        return None

    def _pd_index(self, index: Any, depth: int) -> object:
        return {
            "type": _type_name(index),
            "dtype": str(index.dtype),
            "names": self.canon(list(index.names), depth),
            "data": self.canon(index.tolist(), depth),
        }

    def _ndarray(self, arr: Any, depth: int) -> dict[str, object]:
        data = arr.tolist()
        kind = arr.dtype.kind
        # tolist() already gives JSON-ready ints, bools and (at most double) finite floats.
        finite = kind == "f" and arr.dtype.itemsize <= 8 and bool(self.np.isfinite(arr).all())
        plain = kind in "biu" or finite
        if not plain:
            data = self.canon(data, depth)
        return {"dtype": str(arr.dtype), "shape": list(arr.shape), "data": data}
