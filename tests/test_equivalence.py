"""The canonical output encoder and the comparison of canonical trees."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import importlib.util
import json
import math
import pathlib
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfagent.tools import equivalence
from perfagent.tools.equivalence import Equivalence, compare, load_canonical

BENCH = Path(__file__).resolve().parents[1] / "tools" / "bench"
# The encoder runs in foreign interpreters, loaded by path; the tests load it the same way.
CANONICAL = BENCH / "child" / "_perfagent_canonical.py"


def _load_canonical() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_perfagent_canonical_under_test", CANONICAL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


canonical = _load_canonical()
c = canonical.canonicalize
EQUAL = Equivalence(True, "", "")


def diff(path: str, detail: str) -> Equivalence:
    return Equivalence(False, path, detail)


def roundtrip(node: object) -> object:
    return json.loads(json.dumps(node, allow_nan=False))


@dataclasses.dataclass
class Invoice:
    total: float
    name: str
    cache: dict[str, int] = dataclasses.field(default_factory=dict, compare=False)


class Point(NamedTuple):
    x: int
    y: int


class Slotted:
    __slots__ = ("__secret", "a", "unset")

    def __init__(self, a: int) -> None:
        self.a = a
        self.__secret = a * 2


class Mixed(Slotted):  # slots from the base, __dict__ from here
    def __init__(self, a: int) -> None:
        super().__init__(a)
        self.extra = "x"


class Plain:
    def __init__(self, **attrs: object) -> None:
        self.__dict__.update(attrs)


class EqOnly:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, EqOnly)

    __hash__ = None  # type: ignore[assignment]


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no")


class Color(enum.Enum):
    RED = 1


class Level(enum.IntEnum):
    LOW = 1


# -- canonical forms ---------------------------------------------------------------------------


def test_scalars_keep_their_types() -> None:
    assert c(None) is None
    assert c(True) is True
    assert c(3) == 3 and type(c(3)) is int
    assert c("é") == "é"
    assert c(1.5) == 1.5
    assert c(-0.0) == 0.0 and math.copysign(1, c(-0.0)) == -1
    assert c(float("nan")) == {"__float__": "nan"}
    assert c(float("inf")) == {"__float__": "inf"}
    assert c(float("-inf")) == {"__float__": "-inf"}


def test_huge_ints_are_hex_so_json_can_hold_them() -> None:
    big = 3**30000
    node = c(big)
    assert node == {"__int__": hex(big)}
    assert roundtrip(node) == node
    assert compare(node, c(big + 1)).equal is False
    assert c(2**100) == 2**100


def test_containers() -> None:
    assert c((1, [2, (3,)])) == {"__tuple__": [1, [2, {"__tuple__": [3]}]]}
    assert c({"b": 1, "a": (2,)}) == {"__dict__": [["a", {"__tuple__": [2]}], ["b", 1]]}
    assert c({(1, 2): "t", 1.5: None}) == {"__dict__": [[1.5, None], [{"__tuple__": [1, 2]}, "t"]]}
    assert c({3, 1, 2}) == {"__set__": [1, 2, 3]}
    assert c(frozenset({"b", "a"})) == {"__set__": ["a", "b"]}
    assert c(b"\x00hi") == {"__bytes__": "AGhp"}
    assert c(bytearray(b"\x00hi")) == {"__bytes__": "AGhp"}
    assert c(1 + 2j) == {"__complex__": [1.0, 2.0]}
    assert c(complex(float("nan"), 1)) == {"__complex__": [{"__float__": "nan"}, 1.0]}
    assert c(range(1, 10, 2)) == {"__range__": [1, 10, 2]}
    assert c(collections.deque([1, 2], maxlen=5)) == {
        "__object__": "collections.deque",
        "state": {"__dict__": [["items", [1, 2]], ["maxlen", 5]]},
    }


def test_dict_order_does_not_change_the_canonical_form() -> None:
    forward = {i: str(i) for i in range(50)}
    backward = dict(reversed(list(forward.items())))
    assert json.dumps(c(forward)) == json.dumps(c(backward))
    assert compare(c(forward), c(backward)) == EQUAL


def test_stdlib_values_are_tagged_with_type_and_text() -> None:
    assert c(decimal.Decimal("1.50")) == {"__value__": "decimal.Decimal", "value": "1.50"}
    assert c(fractions.Fraction(3, 4)) == {"__value__": "fractions.Fraction", "value": "3/4"}
    assert c(datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)) == {
        "__value__": "datetime.datetime",
        "value": "2020-01-02T03:04:05+00:00",
    }
    assert c(datetime.date(2020, 1, 2)) == {"__value__": "datetime.date", "value": "2020-01-02"}
    assert c(datetime.time(1, 2)) == {"__value__": "datetime.time", "value": "01:02:00"}
    assert c(datetime.timedelta(days=1, seconds=1)) == {
        "__value__": "datetime.timedelta",
        "value": "1 day, 0:00:01",
    }
    assert c(uuid.UUID(int=1)) == {
        "__value__": "uuid.UUID",
        "value": "00000000-0000-0000-0000-000000000001",
    }
    assert c(pathlib.PurePosixPath("a/b")) == {"__value__": "pathlib.PurePosixPath", "value": "a/b"}
    assert c(Color.RED) == {"__value__": f"{__name__}.Color", "value": "RED"}
    assert c(Level.LOW) == {"__value__": f"{__name__}.Level", "value": "LOW"}
    assert c(len) == {"__ref__": "builtins.len"}
    assert c(Point) == {"__ref__": f"{__name__}.Point"}


def test_objects_keep_type_and_state() -> None:
    assert c(Invoice(1.5, "a", {"hits": 3})) == {
        "__object__": f"{__name__}.Invoice",
        "state": {"__dict__": [["name", "a"], ["total", 1.5]]},  # compare=False field left out
    }
    assert c(Point(1, 2)) == {
        "__object__": f"{__name__}.Point",
        "state": {"__dict__": [["x", 1], ["y", 2]]},
    }
    assert c(Slotted(3)) == {
        "__object__": f"{__name__}.Slotted",
        "state": {"__dict__": [["_Slotted__secret", 6], ["a", 3]]},  # unset slot skipped
    }
    assert c(Mixed(1)) == {
        "__object__": f"{__name__}.Mixed",
        "state": {"__dict__": [["_Slotted__secret", 2], ["a", 1], ["extra", "x"]]},
    }
    assert c(EqOnly()) == {"__repr__": c(EqOnly())["__repr__"], "type": f"{__name__}.EqOnly"}
    assert "0x?" in c(EqOnly())["__repr__"]  # addresses differ between processes: masked
    assert c(BadRepr()) == {
        "__repr__": "<repr failed: RuntimeError>",
        "type": f"{__name__}.BadRepr",
    }


def test_exceptions() -> None:
    exc = KeyError("k", 2)
    expected = {"__exception__": "builtins.KeyError", "args": {"__tuple__": ["k", 2]}}
    assert c(exc) == expected
    assert canonical.canonical_exception(exc) == expected
    assert compare(c(ValueError("a")), c(ValueError("b"))) == diff(
        ".args[0]", "expected 'a', got 'b'"
    )
    assert compare(c(ValueError("a")), c(TypeError("a"))) == diff(
        "", "type builtins.ValueError != builtins.TypeError"
    )
    raised = {"__raised__": canonical.canonical_exception(ValueError("boom"))}
    assert compare(c([1]), raised) == diff(
        "", "type list != raised builtins.ValueError (expected [1], got raised ValueError('boom'))"
    )
    assert compare(raised, roundtrip(raised)) == EQUAL


def test_iterators_are_not_consumed() -> None:
    gen = (i for i in range(3))
    it = iter([1, 2])
    assert c([gen, it, map(str, [1])]) == [
        {"__unsupported__": "builtins.generator"},
        {"__unsupported__": "builtins.list_iterator"},
        {"__unsupported__": "builtins.map"},
    ]
    assert list(gen) == [0, 1, 2] and list(it) == [1, 2]


def test_cycles_and_shared_references() -> None:
    loop: list[object] = [1]
    loop.append(loop)
    assert c(loop) == [1, {"__cycle__": "builtins.list"}]
    table: dict[str, object] = {}
    table["self"] = table
    assert c(table) == {"__dict__": [["self", {"__cycle__": "builtins.dict"}]]}
    node = Plain(name="n")
    node.me = node  # type: ignore[attr-defined]
    assert c(node)["state"] == {
        "__dict__": [["me", {"__cycle__": f"{__name__}.Plain"}], ["name", "n"]]
    }
    shared = [1]
    assert c([shared, shared]) == [[1], [1]]  # a shared value is not a cycle


def test_depth_limit_truncates() -> None:
    deep: list[object] = []
    for _ in range(5000):
        deep = [deep]
    node = c(deep)  # deeper than the default 200 levels and than the recursion limit
    depth = 0
    while isinstance(node, list):
        node, depth = node[0], depth + 1
    assert (depth, node) == (200, {"__truncated__": "builtins.list"})
    assert c([[1]], max_depth=1) == [{"__truncated__": "builtins.list"}]
    assert compare(c(deep), roundtrip(c(deep))) == EQUAL


def test_dump_and_load(tmp_path: Path) -> None:
    value = {"a": [1.5, float("nan"), (1, b"x")], "b": {2, 3}}
    target = tmp_path / "out.json"
    canonical.dump(value, target)
    assert load_canonical(target) == c(value)
    assert compare(load_canonical(target), c(value)) == EQUAL


# -- numpy -------------------------------------------------------------------------------------


def test_ndarray_forms() -> None:
    assert c(np.arange(6, dtype=np.int32).reshape(2, 3)) == {
        "__ndarray__": {"dtype": "int32", "shape": [2, 3], "data": [[0, 1, 2], [3, 4, 5]]}
    }
    assert c(np.array([1.0, np.nan, -np.inf])) == {
        "__ndarray__": {
            "dtype": "float64",
            "shape": [3],
            "data": [1.0, {"__float__": "nan"}, {"__float__": "-inf"}],
        }
    }
    assert c(np.array(2.5)) == {"__ndarray__": {"dtype": "float64", "shape": [], "data": 2.5}}
    assert c(np.array([1 + 1j])) == {
        "__ndarray__": {"dtype": "complex128", "shape": [1], "data": [{"__complex__": [1.0, 1.0]}]}
    }
    assert c(np.array([(1, 2)], dtype=object)) == {
        "__ndarray__": {"dtype": "object", "shape": [1, 2], "data": [[1, 2]]}
    }
    assert c(np.float32(1.5)) == {"__npscalar__": "float32", "value": 1.5}
    assert c(np.int64(7)) == {"__npscalar__": "int64", "value": 7}
    assert c(np.bool_(True)) == {"__npscalar__": "bool", "value": True}


def test_ndarray_comparison() -> None:
    base = np.arange(12.0).reshape(3, 4)
    assert compare(c(base), roundtrip(c(base))) == EQUAL
    assert compare(c(base), c(base * (1 + 1e-12))) == EQUAL
    changed = base.copy()
    changed[1, 2] += 0.5
    changed[2, 0] += 1
    assert compare(c(base), c(changed)) == diff(
        "[1, 2]", "expected 6.0, got 6.5 (rel diff 8.3e-02); 2 of 12 elements differ"
    )
    assert compare(c(base), c(base.astype(np.float32))) == diff("", "dtype float64 != float32")
    assert compare(c(base), c(base.T)) == diff("", "shape (3, 4) != (4, 3)")
    assert compare(c(np.array([np.nan, np.inf])), c(np.array([np.nan, np.inf]))) == EQUAL
    assert compare(c(np.array([np.inf])), c(np.array([-np.inf]))) == diff(
        "[0]", "expected inf, got -inf"
    )
    assert compare(c(np.array([1, 2])), c(np.array([1, 3]))) == diff("[1]", "expected 2, got 3")
    assert compare(c(np.float64(1.5)), c(1.5)) == diff(
        "", "type numpy.float64 != float (expected float64(1.5), got 1.5)"
    )


def test_big_float_arrays_agree_with_and_without_numpy(monkeypatch: pytest.MonkeyPatch) -> None:
    base = np.linspace(0, 1, 20_000)
    changed = base.copy()
    changed[[123, 4567]] = [np.nan, 2.0]
    expected = diff("[123]", "expected 0.006150307515375769, got nan; 2 of 20000 elements differ")
    assert compare(c(base), c(changed)) == expected
    monkeypatch.setattr(equivalence, "_numpy", lambda: None)
    assert compare(c(base), c(changed)) == expected
    assert compare(c(base), c(base + 1e-13)) == EQUAL


# -- comparison rules --------------------------------------------------------------------------


def test_nested_path_names_the_first_difference() -> None:
    expected = [0, 1, 2, {"name": Invoice(1.5, "x")}]
    actual = [0, 1, 2, {"name": Invoice(1.6, "x")}]
    assert compare(c(expected), c(actual)) == diff(
        "[3]['name'].state.total", "expected 1.5, got 1.6 (rel diff 6.7e-02)"
    )
    assert compare(c({(1, "a"): [0, (5,)]}), c({(1, "a"): [0, (6,)]})) == diff(
        "[(1, 'a')][1][0]", "expected 5, got 6"
    )


def test_float_tolerance_edges() -> None:
    assert compare(c(1.0), c(1.0 + 5e-10)) == EQUAL
    assert compare(c(1.0), c(1.0 + 2e-9)) == diff(
        "", "expected 1.0, got 1.000000002 (rel diff 2.0e-09)"
    )
    assert compare(c(0.0), c(5e-13)) == EQUAL
    assert compare(c(0.0), c(1e-11)) == diff("", "expected 0.0, got 1e-11 (abs diff 1.0e-11)")
    assert compare(c(-0.0), c(0.0)) == EQUAL
    assert compare(c(1.0), c(1.05), rel_tol=0.1) == EQUAL
    assert compare(c(0.1 + 0.2), c(0.3)) == EQUAL
    with pytest.raises(ValueError):
        compare(1.0, 1.0, rel_tol=-1)


def test_nan_and_inf() -> None:
    nan, inf = float("nan"), float("inf")
    assert compare(c([nan, inf, -inf]), c([nan, inf, -inf])) == EQUAL
    assert compare(c(inf), c(-inf)) == diff("", "expected inf, got -inf")
    assert compare(c(nan), c(1.0)) == diff("", "expected nan, got 1.0")
    assert compare(c(inf), c(1e308)) == diff("", "expected inf, got 1e+308")
    assert compare(c(1 + 1j), c(1 + 1.5j)) == diff(
        ".imag", "expected 1.0, got 1.5 (rel diff 5.0e-01)"
    )


def test_types_must_match() -> None:
    assert compare(c((1, 2)), c([1, 2])) == diff("", "type tuple != list")
    assert compare(c(1), c(1.0)) == diff("", "type int != float (same value: expected 1, got 1.0)")
    assert compare(c(1), c(2.5)) == diff("", "type int != float (expected 1, got 2.5)")
    assert compare(c(True), c(1)) == diff("", "type bool != int (same value: expected True, got 1)")
    assert compare(c(None), c(0)) == diff("", "type None != int (expected None, got 0)")
    assert compare(c(Point(1, 2)), c((1, 2))) == diff("", f"type {__name__}.Point != tuple")
    assert compare(c(b"ab"), c("ab")) == diff("", "type bytes != str (expected b'ab', got 'ab')")


def test_sequences_mappings_sets() -> None:
    assert compare(c(list(range(10))), c(list(range(9)))) == diff("", "list length 10 != 9")
    assert compare(c((1,)), c((1, 2))) == diff("", "tuple length 1 != 2")
    assert compare(c({"a": 1, "b": 2}), c({"b": 2, "a": 1})) == EQUAL
    assert compare(c({"a": 1, "b": 2}), c({"a": 1, "c": 2})) == diff(
        "", "missing key 'b'; unexpected key 'c'"
    )
    assert compare(c({0.0: "z"}), c({-0.0: "z"})) == EQUAL  # equal keys within tolerance
    assert compare(c({1, 2, 3}), c({3, 2, 1})) == EQUAL
    assert compare(c({1, 2, 3}), c({1, 2, 4, 5})) == diff(
        "", "set size 3 != 4; missing 3; unexpected 4, 5"
    )
    assert compare(c({0.1 + 0.2, 7.0}), c({0.3, 7.0})) == EQUAL
    assert compare(c(Plain(a=1)), c(Plain(a=1, _cache={}))) == diff(
        ".state", "unexpected attribute '_cache'"
    )


def test_strings_bytes_and_stdlib_values() -> None:
    long = "a" * 100
    assert compare(c(long), c(long[:50] + "b" + long[51:])) == diff(
        "",
        "str differs at index 50: expected '"
        + "a" * 40
        + "', got '"
        + "a" * 15
        + "b"
        + "a" * 24
        + "'",
    )
    assert compare(c(b"abc"), c(b"abd")) == diff("", "expected b'abc', got b'abd'")
    assert compare(c(decimal.Decimal("1.5")), c(decimal.Decimal("1.50"))) == diff(
        "", "expected Decimal('1.5'), got Decimal('1.50')"
    )
    assert compare(c(Color.RED), c(Color.RED)) == EQUAL


def test_plain_json_outputs_compare_as_mappings() -> None:
    # Command workloads store {"returncode", "stdout"} as is, not through canonicalize.
    base = {"returncode": 0, "stdout": "ok\n"}
    assert compare(base, dict(base)) == EQUAL
    assert compare(base, {"returncode": 1, "stdout": "ok\n"}) == diff(
        "['returncode']", "expected 0, got 1"
    )


def test_malformed_nodes_are_compared_verbatim() -> None:
    assert compare({"__tuple__": 5}, {"__tuple__": 5}) == EQUAL
    assert compare({"__tuple__": 5}, {"__tuple__": 6}).equal is False


def test_equivalence_str() -> None:
    assert str(EQUAL) == "equivalent"
    assert str(diff("[1]", "expected 1, got 2")) == "[1]: expected 1, got 2"
    assert str(diff("", "type tuple != list")) == "<root>: type tuple != list"


# -- properties --------------------------------------------------------------------------------

_keys = st.one_of(st.integers(), st.text(max_size=3), st.floats(allow_nan=False))
_hashable = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=4),
    lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3),
    max_leaves=6,
)
_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.binary(max_size=6),
)
_data = st.recursive(
    _leaf | _hashable,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(_keys, inner, max_size=4),
        st.sets(_hashable, max_size=4),
    ),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(_data)
def test_any_value_equals_itself_and_its_json_roundtrip(value: Any) -> None:
    tree = c(value)
    text = json.dumps(tree, allow_nan=False)
    assert text == json.dumps(c(value))  # deterministic
    assert compare(tree, c(value)) == EQUAL
    assert compare(tree, json.loads(text)) == EQUAL


_path_keys = st.one_of(st.integers(-5, 5), st.text("abc", max_size=3))
_tree = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(_path_keys, inner, min_size=1, max_size=4),
    ),
    max_leaves=20,
)


def _leaves(value: Any, path: str = "") -> list[tuple[str, list[Any]]]:
    """(expected path, steps) for every leaf."""
    if isinstance(value, list | tuple):
        items: list[tuple[Any, str]] = [(i, f"[{i}]") for i in range(len(value))]
    elif isinstance(value, dict):
        items = [(k, f"[{k!r}]") for k in value]
    else:
        return [(path, [])]
    return [(p, [k, *steps]) for k, step in items for p, steps in _leaves(value[k], path + step)]


def _replace(value: Any, steps: list[Any], new: Any) -> Any:
    if not steps:
        return new
    head, rest = steps[0], steps[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    items = list(value)
    items[head] = _replace(items[head], rest, new)
    return tuple(items) if isinstance(value, tuple) else items


def _perturb(leaf: Any) -> Any:
    if leaf is None:
        return 0
    if isinstance(leaf, bool):
        return not leaf
    if isinstance(leaf, int):
        return leaf + 1
    if isinstance(leaf, float):
        if not math.isfinite(leaf):
            return 0.0
        return leaf / 2 if abs(leaf) > 1 else leaf + 1.0  # far outside the tolerance
    return leaf + ("x" if isinstance(leaf, str) else b"x")


@settings(max_examples=300, deadline=None)
@given(_tree, st.data())
def test_a_perturbed_leaf_is_found_at_its_path(value: Any, data: st.DataObject) -> None:
    path, steps = data.draw(st.sampled_from(_leaves(value)))
    leaf = value
    for step in steps:
        leaf = leaf[step]
    changed = _replace(value, steps, _perturb(leaf))
    result = compare(c(value), roundtrip(c(changed)))
    assert (result.equal, result.path) == (False, path)
    assert result.detail.startswith(("expected ", "type None != int"))


# -- loading into a foreign interpreter --------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import dataclasses, importlib.util, json, runpy, sys
    sys.modules["perfagent"] = None  # perfagent must not be importable
    path = sys.argv[1]
    spec = importlib.util.spec_from_file_location("_perfagent_canonical", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    namespace = runpy.run_path(path)

    @dataclasses.dataclass
    class Row:
        x: float

    value = [Row(float("nan")), (1, {"k": {2}}), ValueError("e")]
    out = {
        "importlib": module.canonicalize(value),
        "runpy": namespace["canonicalize"](value),
        "numpy_imported": "numpy" in sys.modules,
        "pandas_imported": "pandas" in sys.modules,
    }
    print(json.dumps(out, allow_nan=False))
    """
)


def test_loads_by_path_in_an_isolated_interpreter(tmp_path: Path) -> None:
    copy = tmp_path / "_perfagent_canonical.py"
    copy.write_text(CANONICAL.read_text(encoding="utf-8"), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-I", "-c", _CHILD, str(copy)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    expected = [
        {"__object__": "__main__.Row", "state": {"__dict__": [["x", {"__float__": "nan"}]]}},
        {"__tuple__": [1, {"__dict__": [["k", {"__set__": [2]}]]}]},
        {"__exception__": "builtins.ValueError", "args": {"__tuple__": ["e"]}},
    ]
    assert out == {
        "importlib": expected,
        "runpy": expected,
        "numpy_imported": False,
        "pandas_imported": False,
    }


def test_pandas_objects() -> None:
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [1, 2], "b": [0.5, float("nan")]}, index=["r", "s"])
    node = c(frame)
    assert node["__dataframe__"]["columns"] == ["a", "b"]
    assert node["__dataframe__"]["data"] == [[1, 2], [0.5, {"__float__": "nan"}]]
    assert compare(node, roundtrip(c(frame.copy()))) == EQUAL
    changed = frame.copy()
    changed.loc["s", "a"] = 3
    assert compare(node, c(changed)) == diff(".data[0][1]", "expected 2, got 3")
