"""Compare two canonical output trees (written by ``tools/bench/child/_perfagent_canonical.py``).

The trees are plain JSON from two processes, so everything here works on that JSON alone.
Floats (also inside complex numbers and arrays) may differ within a tolerance; everything else,
including the type of a number, must match. The walk is iterative, so deep trees cannot exhaust
the stack, and stops at the first difference, which it names by a Python-ish path.

This module holds the walk; ``nodes.py`` holds what a node is and how a difference shows it
(``type_name``, ``float_detail``, ``key_path`` and ``render`` are re-exported here).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfagent.tools.equivalence.nodes import (
    NAMED,
    float_detail,
    json_text,
    key_path,
    kind_of,
    number,
    pairs_of,
    render,
    type_name,
)

__all__ = [
    "Equivalence",
    "compare",
    "float_detail",
    "key_path",
    "load_canonical",
    "render",
    "type_name",
]

_PANDAS = ("__dataframe__", "__series__", "__pdindex__")
_SCALARS = frozenset({str, int, float, bool, type(None)})
_NUMPY_FROM = 10_000  # elements; below this a Python loop is as fast as converting to numpy


@dataclass(frozen=True)
class Equivalence:
    equal: bool
    path: str = ""  # the first difference, e.g. "[3]['name'].state.total"; "" when equal
    detail: str = ""  # one line, e.g. "expected 1.5, got 1.6 (rel diff 6.7e-02)"

    def __str__(self) -> str:
        return "equivalent" if self.equal else f"{self.path or '<root>'}: {self.detail}"


@dataclass(frozen=True)
class _Tol:
    rel: float
    abs: float


_Pending = list[tuple[Any, Any, str]]
_Matching = tuple[list[tuple[int, int]], list[int], list[int]]  # pairs, unpaired e, unpaired a


def load_canonical(path: str | os.PathLike[str]) -> object:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def compare(
    expected: object, actual: object, *, rel_tol: float = 1e-9, abs_tol: float = 1e-12
) -> Equivalence:
    """Whether two canonical trees are equivalent; if not, where and how they first differ."""
    if rel_tol < 0 or abs_tol < 0:
        raise ValueError("tolerances must be non-negative")
    return _first_diff(expected, actual, "", _Tol(rel_tol, abs_tol)) or Equivalence(True)


def _first_diff(expected: object, actual: object, path: str, tol: _Tol) -> Equivalence | None:
    stack: _Pending = [(expected, actual, path)]
    while stack:
        e, a, where = stack.pop()
        if e.__class__ is a.__class__ and e.__class__ in _SCALARS and e == a:
            continue  # the common case, kept cheap
        try:
            step = _step(e, a, where, tol)
        except (KeyError, TypeError, ValueError, IndexError, AttributeError):
            # A node not shaped as its tag promises (hand-written JSON): compare it verbatim.
            step = [] if json_text(e) == json_text(a) else _diff(where, _values(e, a))
        if isinstance(step, Equivalence):
            return step
        stack.extend(reversed(step))  # reversed, so children are checked in order
    return None


def _step(e: Any, a: Any, path: str, tol: _Tol) -> Equivalence | _Pending:
    """The difference at this node, or the pairs of children still to compare."""
    kind = kind_of(e)
    if kind != kind_of(a) or (kind in NAMED and type_name(e) != type_name(a)):
        return _diff(path, _type_change(e, a))
    if kind == "float":
        detail = float_detail(number(e), number(a), tol.rel, tol.abs)
        return [] if detail is None else _diff(path, detail)
    if kind == "list":
        return _sequence(e, a, path, "list")
    if kind == "__tuple__":
        return _sequence(e[kind], a[kind], path, "tuple")
    if kind in ("map", "__dict__"):
        return _mapping(pairs_of(e), pairs_of(a), path, tol, "key")
    if kind == "__set__":
        return _set(e[kind], a[kind], path, tol)
    if kind == "__complex__":
        (e_re, e_im), (a_re, a_im) = e[kind], a[kind]
        return [(e_re, a_re, f"{path}.real"), (e_im, a_im, f"{path}.imag")]
    if kind == "__object__":
        if kind_of(e["state"]) == kind_of(a["state"]) == "__dict__":
            state = (pairs_of(e["state"]), pairs_of(a["state"]))
            return _mapping(*state, f"{path}.state", tol, "attribute")
        return [(e["state"], a["state"], f"{path}.state")]
    if kind == "__exception__":
        return [(e["args"], a["args"], f"{path}.args")]
    if kind == "__npscalar__":  # the dtype is part of type_name, checked above
        return [(e["value"], a["value"], path)]
    if kind == "__raised__":
        return [(e[kind], a[kind], path)]
    if kind == "__ndarray__":
        return _ndarray(e[kind], a[kind], path, tol)
    if kind in _PANDAS:
        return _mapping(pairs_of(e[kind]), pairs_of(a[kind]), path, tol, "attribute")
    # Leaves (ints, strings, bytes, names, reprs...) must match exactly.
    return [] if json_text(e) == json_text(a) else _diff(path, _leaf_detail(e, a))


def _diff(path: str, detail: str) -> Equivalence:
    return Equivalence(False, path, detail)


def _identity(node: object) -> str:
    """Equal for exactly equal nodes; strings skip JSON (no JSON text starts with NUL)."""
    return "\0" + node if isinstance(node, str) else json_text(node)


def _values(e: object, a: object) -> str:
    return f"expected {render(e)}, got {render(a)}"


def _type_change(e: object, a: object) -> str:
    text = f"type {type_name(e)} != {type_name(a)}"
    kinds = {kind_of(e), kind_of(a)}
    if kinds <= {"bool", "int", "float"}:
        same = "same value: " if number(e) == number(a) else ""
        return f"{text} ({same}{_values(e, a)})"
    if kinds & {"None", "str", "bytes", "complex", "__raised__", "__value__", "__npscalar__"}:
        return f"{text} ({_values(e, a)})"
    return text


def _leaf_detail(e: object, a: object) -> str:
    if not (isinstance(e, str) and isinstance(a, str) and max(len(e), len(a)) > 40):
        return _values(e, a)
    first = next((i for i, (x, y) in enumerate(zip(e, a, strict=False)) if x != y), None)
    at = min(len(e), len(a)) if first is None else first
    lengths = f", length {len(e)} != {len(a)}" if len(e) != len(a) else ""
    start = max(0, at - 15)
    return (
        f"str differs at index {at}{lengths}: expected {render(e[start : at + 25])}, "
        f"got {render(a[start : at + 25])}"
    )


def _sequence(e: list[Any], a: list[Any], path: str, name: str) -> Equivalence | _Pending:
    if len(e) != len(a):
        return _diff(path, f"{name} length {len(e)} != {len(a)}")
    pairs = enumerate(zip(e, a, strict=True))
    return [(x, y, f"{path}[{i}]") for i, (x, y) in pairs if not _same_scalar(x, y)]


def _same_scalar(x: object, y: object) -> bool:
    return x.__class__ is y.__class__ and x.__class__ in _SCALARS and x == y


def _match(e: list[Any], a: list[Any], tol: _Tol) -> _Matching:
    """Pair up items: first by identical JSON, then the leftovers within float tolerance."""
    buckets: dict[str, list[int]] = {}
    for j in reversed(range(len(a))):  # reversed, so pop() pairs equal items in order
        buckets.setdefault(_identity(a[j]), []).append(j)
    pairs: list[tuple[int, int]] = []
    e_left: list[int] = []
    for i, item in enumerate(e):
        bucket = buckets.get(_identity(item))
        if bucket:
            pairs.append((i, bucket.pop()))
        else:
            e_left.append(i)
    a_left = sorted(j for bucket in buckets.values() for j in bucket)
    if e_left and a_left and len(e_left) * len(a_left) <= 10_000:  # quadratic: keep it small
        for i in list(e_left):
            twin = next((j for j in a_left if _first_diff(e[i], a[j], "", tol) is None), None)
            if twin is not None:
                pairs.append((i, twin))
                e_left.remove(i)
                a_left.remove(twin)
    return sorted(pairs), e_left, a_left


def _listing(items: list[Any], limit: int = 3) -> str:
    shown = ", ".join(render(item, 40) for item in items[:limit])
    return shown + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _mapping(e: list[Any], a: list[Any], path: str, tol: _Tol, noun: str) -> Equivalence | _Pending:
    """Mappings as [key, value] pairs, order ignored; ``noun`` is "key" or "attribute"."""
    matched, e_left, a_left = _match([k for k, _ in e], [k for k, _ in a], tol)
    if e_left or a_left:
        missing = [f"missing {noun} {_listing([e[i][0] for i in e_left])}"] if e_left else []
        extra = [f"unexpected {noun} {_listing([a[j][0] for j in a_left])}"] if a_left else []
        return _diff(path, "; ".join(missing + extra))
    attr = noun == "attribute"
    pairs = [(i, j) for i, j in matched if not _same_scalar(e[i][1], a[j][1])]
    return [(e[i][1], a[j][1], path + key_path(e[i][0], attr=attr)) for i, j in pairs]


def _set(e: list[Any], a: list[Any], path: str, tol: _Tol) -> Equivalence | _Pending:
    _, e_left, a_left = _match(e, a, tol)
    if not e_left and not a_left:
        return []
    parts = [f"set size {len(e)} != {len(a)}"] if len(e) != len(a) else []
    parts += [f"missing {_listing([e[i] for i in e_left])}"] if e_left else []
    parts += [f"unexpected {_listing([a[j] for j in a_left])}"] if a_left else []
    return _diff(path, "; ".join(parts))


def _flatten(data: Any, ndim: int) -> list[Any]:
    flat = [data]
    for _ in range(ndim):
        flat = [item for row in flat for item in row]
    return flat


def _index(flat: int, shape: list[int]) -> str:
    index: list[str] = []
    for size in reversed(shape):
        flat, rest = divmod(flat, size)
        index.append(str(rest))
    return f"[{', '.join(reversed(index))}]" if shape else ""


def _ndarray(e: dict[str, Any], a: dict[str, Any], path: str, tol: _Tol) -> Equivalence | _Pending:
    if e["dtype"] != a["dtype"]:
        return _diff(path, f"dtype {e['dtype']} != {a['dtype']}")
    shape = [int(n) for n in e["shape"]]
    if shape != [int(n) for n in a["shape"]]:
        return _diff(path, f"shape {tuple(shape)} != {tuple(a['shape'])}")
    e_flat, a_flat = _flatten(e["data"], len(shape)), _flatten(a["data"], len(shape))
    if not len(e_flat) == len(a_flat) == math.prod(shape):
        raise ValueError("ndarray data does not match its shape")
    if e["dtype"] != "object" and e_flat == a_flat:  # one dtype, so == is exact here
        return []
    floats = _as_floats(e_flat), _as_floats(a_flat)
    if floats[0] is None or floats[1] is None:
        return [
            (x, y, path + _index(i, shape))
            for i, (x, y) in enumerate(zip(e_flat, a_flat, strict=True))
        ]
    bad = _bad_floats(floats[0], floats[1], tol)
    if not bad:
        return []
    detail = float_detail(floats[0][bad[0]], floats[1][bad[0]], tol.rel, tol.abs) or ""
    if len(bad) > 1:
        detail += f"; {len(bad)} of {len(e_flat)} elements differ"
    return _diff(path + _index(bad[0], shape), detail)


def _as_floats(flat: list[Any]) -> list[float] | None:
    if all(type(item) is float or kind_of(item) == "float" for item in flat):
        return [number(item) for item in flat]
    return None


def _bad_floats(e: list[float], a: list[float], tol: _Tol) -> list[int]:
    """Indices of elements outside tolerance: math.isclose semantics, NaN equals NaN."""
    np = _numpy() if len(e) >= _NUMPY_FROM else None
    if np is None:
        pairs = enumerate(zip(e, a, strict=True))
        return [i for i, (x, y) in pairs if float_detail(x, y, tol.rel, tol.abs) is not None]
    x, y = np.asarray(e, dtype=float), np.asarray(a, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        close = np.abs(x - y) <= np.maximum(tol.rel * np.maximum(np.abs(x), np.abs(y)), tol.abs)
        ok = close | (x == y) | (np.isnan(x) & np.isnan(y))
    return [int(i) for i in np.flatnonzero(~ok)]


def _numpy() -> Any:
    try:
        import numpy
    except ImportError:
        return None
    return numpy
