"""What a canonical output node is and how to show it: tags, kinds, type names, renderings.

The canonical encoder (``tools/bench/child/_perfagent_canonical.py``) writes plain JSON in
which a dict with one known ``__tag__`` key stands for a Python value. This module reads that
vocabulary (``kind_of``, ``number``, ``pairs_of``) and describes nodes for the one-line
details of a difference (``type_name``, ``float_detail``, ``key_path``, ``render``); the
comparison itself is in ``__init__.py``.
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

_KNOWN_TAGS = frozenset({
    "__float__", "__int__", "__bytes__", "__tuple__", "__dict__", "__set__", "__complex__",
    "__range__", "__value__", "__ref__", "__object__", "__repr__", "__exception__",
    "__ndarray__", "__npscalar__", "__dataframe__", "__series__", "__pdindex__",
    "__unsupported__", "__cycle__", "__truncated__", "__raised__",
})  # fmt: skip
_NAMES = {
    "map": "mapping", "__tuple__": "tuple", "__dict__": "dict", "__set__": "set",
    "__bytes__": "bytes", "__complex__": "complex", "__ndarray__": "ndarray",
    "__range__": "range", "__ref__": "reference", "__dataframe__": "DataFrame",
    "__series__": "Series", "__pdindex__": "Index",
}  # fmt: skip
# Tags whose node names its own type (an object's class, an exception's...).
NAMED = _KNOWN_TAGS - _NAMES.keys() - {"__float__", "__int__"}


def kind_of(node: object) -> str:
    """The node's tag, "float"/"int" for numbers, "map" for a plain JSON object, else
    the JSON type's Python name."""
    if isinstance(node, dict):
        tags = _KNOWN_TAGS.intersection(node)
        if len(tags) != 1:
            return "map"  # plain JSON object, e.g. a command's {"returncode", "stdout"}
        (tag,) = tags
        return {"__float__": "float", "__int__": "int"}.get(tag, tag)
    return "None" if node is None else type(node).__name__


def pairs_of(node: dict[str, Any]) -> list[Any]:
    """A mapping node's [key, value] pairs (a tagged ``__dict__`` or a plain JSON object)."""
    return node["__dict__"] if "__dict__" in node else list(node.items())


def json_text(node: object) -> str:
    """The node as canonical JSON text (its repr if it is not JSON)."""
    try:
        return json.dumps(node, sort_keys=True)
    except (TypeError, ValueError):
        return repr(node)


def number(node: Any) -> float:
    """The value of a number node (tagged float or int, or a JSON number)."""
    if isinstance(node, dict):
        return float(node["__float__"]) if "__float__" in node else int(node["__int__"], 16)
    if isinstance(node, bool | int | float):
        return float(node)
    raise TypeError(f"not a number: {node!r}")


# -- describing nodes ----------------------------------------------------------------------------


def type_name(node: object) -> str:
    """The Python type a canonical node stands for, as shown in details."""
    kind = kind_of(node)
    if kind in _NAMES or not isinstance(node, dict):
        return _NAMES.get(kind, kind)
    if kind in ("__object__", "__exception__", "__value__"):
        return str(node[kind])
    if kind == "__repr__":
        return str(node.get("type"))
    if kind == "__npscalar__":
        return f"numpy.{node[kind]}"
    if kind == "__raised__":
        return f"raised {type_name(node[kind])}"
    return f"{kind.strip('_')} {node[kind]}"  # unsupported / cycle / truncated


def float_detail(e: float, a: float, rel_tol: float, abs_tol: float) -> str | None:
    """None if the floats are equivalent (NaN equals NaN), else what differs."""
    if e == a or (math.isnan(e) and math.isnan(a)):
        return None
    if math.isclose(e, a, rel_tol=rel_tol, abs_tol=abs_tol):
        return None
    note = ""
    if math.isfinite(e) and math.isfinite(a):
        diff = abs(a - e)
        note = f" (rel diff {diff / abs(e):.1e})" if e else f" (abs diff {diff:.1e})"
    return f"expected {e!r}, got {a!r}{note}"


def key_path(key: object, *, attr: bool = False) -> str:
    if isinstance(key, str) and attr and key.isidentifier():
        return f".{key}"
    return f"[{key!r}]" if isinstance(key, str) and len(key) < 60 else f"[{render(key)}]"


def render(node: object, limit: int = 60) -> str:
    """A short Python-ish rendering of a canonical node."""
    try:
        text = _show(node, 2)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        text = json_text(node)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(name: object) -> str:
    return str(name).rsplit(".", 1)[-1]


def _join(parts: list[str], total: int) -> str:
    return ", ".join(parts + (["…"] if total > len(parts) else []))


def _show(node: Any, depth: int) -> str:
    if not isinstance(node, dict | list):
        return repr(node)
    if depth < 0:
        return "…"
    if isinstance(node, list):
        return f"[{_join([_show(x, depth - 1) for x in node[:6]], len(node))}]"
    kind = kind_of(node)
    payload: Any = node.get({"float": "__float__", "int": "__int__"}.get(kind, kind))
    if kind in ("map", "__dict__"):
        pairs = pairs_of(node)
        shown = [f"{_show(k, depth - 1)}: {_show(v, depth - 1)}" for k, v in pairs[:6]]
        return f"{{{_join(shown, len(pairs))}}}"
    if kind in ("__tuple__", "__set__", "__exception__"):
        items = node["args"]["__tuple__"] if kind == "__exception__" else payload
        inner = _join([_show(x, depth - 1) for x in items[:6]], len(items))
        if kind == "__set__":
            return f"{{{inner}}}" if items else "set()"
        prefix = _short(payload) if kind == "__exception__" else ""
        return f"{prefix}({inner}{',' if len(items) == 1 and not prefix else ''})"
    if kind == "__object__":
        state = pairs_of(node["state"])
        shown = [f"{k}={_show(v, depth - 1)}" for k, v in state[:6]]
        return f"{_short(payload)}({_join(shown, len(state))})"
    if kind in ("float", "__repr__"):
        return str(payload)
    if kind == "int":
        return f"int({str(payload)[:20]}…)"
    if kind == "__bytes__":
        return repr(base64.b64decode(payload[:88]))  # 66 bytes: more than render shows
    if kind == "__complex__":
        return repr(complex(number(payload[0]), number(payload[1])))
    if kind == "__value__":
        return f"{_short(payload)}({node['value']!r})"
    if kind == "__npscalar__":
        return f"{payload}({_show(node['value'], depth)})"
    if kind == "__ndarray__":
        return f"array({_show(payload['data'], depth)}, dtype={payload['dtype']})"
    if kind == "__raised__":
        return f"raised {_show(payload, depth)}"
    if kind == "__range__":
        return f"range({', '.join(map(str, payload))})"
    return f"<{type_name(node)}>"
