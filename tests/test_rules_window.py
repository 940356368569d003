"""The ``incremental-window-aggregate`` rule (tools/rules/window_aggregate.py)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from perfagent.tools.rules import RULES, apply_rule, window_aggregate

RULE = "incremental-window-aggregate"
ROOT = Path(__file__).resolve().parent.parent
WINDOW_PY = ROOT / "tasks/examples/moving_stats/repo/sensorstats/window.py"
HELPER = window_aggregate._HELPER_SOURCE


def _apply(source: str, qualname: str = "f") -> str | None:
    return apply_rule(textwrap.dedent(source), qualname, RULE)


def _namespace(source: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<rule-test>", "exec"), namespace)
    return namespace


def _outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", function(*args)
    except Exception as error:  # the exception type is part of the behaviour
        return "raised", type(error).__name__


_HELPER = _namespace(HELPER)[window_aggregate.HELPER]


def _run(kind: str, xs: Any, a: Any, b: Any, indices: Any) -> Any:
    return _HELPER(kind, lambda: (xs, a, b), indices)


def test_registered_with_a_one_line_rationale() -> None:
    assert RULES[RULE].rationale == window_aggregate.RATIONALE
    assert "\n" not in window_aggregate.RATIONALE


# --- exact rewrites --------------------------------------------------------------------------


def test_comprehension_mean_rewritten() -> None:
    source = """\
        import math


        def f(values, window):
            return [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]
        """
    expected = (
        "import math\n\n\n" + HELPER + "\n\n" + "def f(values, window):\n"
        "    return [(_window_sum if _window_sum is not None else sum(values[i : i + window]))"
        ' / window for i, _window_sum in _perfagent_window("sum", lambda: (values, 0, window),'
        " range(len(values) - window + 1))]\n"
    )
    assert _apply(source) == expected


def test_for_loop_with_trailing_window_and_appends() -> None:
    result = _apply(
        """\
        def f(xs: list, k: int):
            out = []
            for i in range(k - 1, len(xs)):
                total = sum(xs[i - k + 1 : i + 1])
                if total > 0:
                    out.append(abs(total / k) + xs[i])
            return out
        """
    )
    header = (
        'for i, _window_sum in _perfagent_window("sum", lambda: (xs, -k + 1, 1), '
        "range(k - 1, len(xs))):"
    )
    assert result == HELPER + textwrap.dedent(
        f"""\


        def f(xs: list, k: int):
            out = []
            {header}
                total = (_window_sum if _window_sum is not None else sum(xs[i - k + 1 : i + 1]))
                if total > 0:
                    out.append(abs(total / k) + xs[i])
            return out
        """
    )
    assert result.startswith(HELPER)


def test_math_needs_a_top_level_import() -> None:
    body = """
        def f(xs: list, k: int):
            out = []
            for i in range(len(xs) - k):
                out.append(math.sqrt(sum(xs[i : i + k])))
            return out
        """
    assert _apply(body) is None
    result = _apply("import math\n\n" + textwrap.dedent(body))
    assert result is not None
    assert '_perfagent_window("sum", lambda: (xs, 0, k), range(len(xs) - k))' in result


def test_max_and_min_in_dict_comprehension() -> None:
    result = _apply("def f(xs, k):\n    return {i: min(xs[k + i : i + 2 * k]) for i in range(9)}\n")
    assert result is not None
    assert result.endswith(
        "def f(xs, k):\n    return {i: (_window_min if _window_min is not None else "
        "min(xs[k + i : i + 2 * k])) for i, _window_min in "
        '_perfagent_window("min", lambda: (xs, k, 2 * k), range(9))}\n'
    )


def test_repeated_window_shares_one_value_and_others_stay() -> None:
    result = _apply(
        """\
        def f(xs, k):
            out = []
            for i in range(len(xs) - k + 1):
                out.append(max(xs[i : i + k]) - min(xs[i : i + k]) + max(xs[i : i + k]))
            return out
        """
    )
    assert result is not None
    assert (
        "out.append((_window_max if _window_max is not None else max(xs[i : i + k])) - "
        "min(xs[i : i + k]) + (_window_max if _window_max is not None else max(xs[i : i + k])))"
    ) in result


def test_helper_added_once_per_module() -> None:
    source = WINDOW_PY.read_text()
    for name in ("moving_average", "rolling_max", "rolling_min"):
        new = apply_rule(source, name, RULE)
        assert new is not None
        source = new
    assert source.count(f"def {window_aggregate.HELPER}(") == 1
    assert apply_rule(source, "rolling_std", RULE) is None  # chunk = values[...]; not covered


def test_helper_name_taken_by_something_else() -> None:
    source = (
        "_perfagent_window = 1\n\n\ndef f(xs):\n    return [sum(xs[i : i + 3]) for i in range(5)]\n"
    )
    assert apply_rule(source, "f", RULE) is None


# --- must not fire ---------------------------------------------------------------------------

MUST_NOT_FIRE = [
    "return list(sum(xs[i : i + k]) for i in range(n))",  # generator: lazy
    "return [sum(xs[i : i + k]) for i in range(0, n, 2)]",  # stepped range
    "return [sum(xs[i : i + k : 1]) for i in range(n)]",  # stepped slice
    "return [sum(xs[i:]) for i in range(n)]",  # open-ended
    "return [sum(xs[i : i + k], 0) for i in range(n)]",  # start argument
    "return [max(xs[i : i + k], default=0) for i in range(n)]",
    "return [max(xs[i : i + k], key=abs) for i in range(n)]",
    "return [sum(xs[2 * i : 2 * i + k]) for i in range(n)]",  # moves by 2
    "return [sum(xs[i : k]) for i in range(n)]",  # width changes
    "return [sum(xs[i : i + g(k)]) for i in range(n)]",  # call in the offset
    "return [sum(xs[i : i + k]) + g(i) for i in range(n)]",  # unknown call
    "return [sum(xs[i : i + k]) for i in range(n) if g(i)]",
    "return [sum(ys[i : i + k]) for i in range(n)]",  # ys is a global
    "return [sum(xs[i : i + k]) for i in xs]",  # not a range
    "return [sum(self.xs[i : i + k]) for i in range(n)]",
    "return [sum(xs[i : i + (k := k + 1)]) for i in range(n)]",
    "for i in range(n):\n        xs.append(sum(xs[i : i + k]))",  # mutated
    "for i in range(n):\n        xs[i] = sum(xs[i : i + k])",
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        xs = [s]",  # rebound
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        k += 1",
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        i = 0",
    "for i in range(n):\n        yield sum(xs[i : i + k])",  # caller could mutate xs
    "for i in range(n):\n        print(sum(xs[i : i + k]))",
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        del s",
    "for i in range(n):\n        h = lambda: xs\n        s = sum(xs[i : i + k])",
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        g(xs)",
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        ys = xs",  # alias escapes
    "for i in range(n):\n        s = sum(xs[i : i + k])\n        xs.sort()",
    "i = 0\n    while i < n:\n        s = sum(xs[i : i + k])\n        i += 1",
    "xs = g()\n    return [sum(xs[i : i + k]) for i in range(n)]",  # xs of unknown origin
]


@pytest.mark.parametrize("body", MUST_NOT_FIRE)
def test_must_not_fire(body: str) -> None:
    source = f"def f(xs, k, n, g, self):\n    {body}\n"
    compile(source, "<test>", "exec")
    assert apply_rule(source, "f", RULE) is None


def test_positive_control_for_must_not_fire() -> None:
    source = "def f(xs, k, n, g, self):\n    return [sum(xs[i : i + k]) for i in range(n)]\n"
    assert apply_rule(source, "f", RULE) is not None
    local = "def f(k, n):\n    xs = [1, 2, 3]\n    return [sum(xs[i : i + k]) for i in range(n)]\n"
    assert apply_rule(local, "f", RULE) is not None
    out = (
        "def f(xs, k, n):\n    out = []\n    for i in range(n):\n"
        "        out.append(sum(xs[i : i + k]) + len(xs) + xs[i])\n    return out\n"
    )
    assert apply_rule(out, "f", RULE) is not None


BODY = "def f(xs):\n    return [sum(xs[i : i + 2]) for i in range(3)]\n"


@pytest.mark.parametrize(
    "source",
    [
        "def sum(x):\n    return 0\n" + BODY,
        "range = list\n" + BODY,
        BODY.replace("):\n", "):\n    def g():\n        return xs\n", 1),  # nested use
        BODY.replace("):\n", "):\n    xs = xs[1:]\n", 1),  # a parameter rebound
        "async def f(xs):\n    return [sum(xs[i : i + 2]) async for i in arange(3)]\n",
    ],
)
def test_must_not_fire_module_level(source: str) -> None:
    assert apply_rule(source, "f", RULE) is None


# --- the run-time helper ---------------------------------------------------------------------


_FUNCS: dict[str, Callable[[Any], Any]] = {"sum": sum, "max": max, "min": min}


def _original(kind: str, xs: Any, a: int, b: int, indices: range) -> list[tuple[str, Any]]:
    func = _FUNCS[kind]
    return [_outcome(lambda i: func(xs[i + a : i + b]), i) for i in indices]


def _helped(kind: str, xs: Any, a: int, b: int, indices: range) -> list[tuple[str, Any]]:
    func = _FUNCS[kind]
    out = []
    for i, value in _run(kind, xs, a, b, indices):
        out.append(
            ("ok", value) if value is not None else _outcome(lambda i: func(xs[i + a : i + b]), i)
        )
    return out


def _agree(kind: str, want: list[tuple[str, Any]], got: list[tuple[str, Any]]) -> None:
    assert len(want) == len(got)
    for (w_status, w), (g_status, g) in zip(want, got, strict=True):
        assert w_status == g_status
        if w_status == "raised" or kind != "sum" or type(w) is int:
            assert w == g or (w != w and g != g)
            assert type(w) is type(g)
            if kind != "sum" and w_status == "ok":
                assert g is w  # max/min return the very element
        else:
            assert type(g) is float
            assert w == g or (w != w and g != g) or abs(w - g) <= 1e-11 * abs(g)


@pytest.mark.parametrize(
    ("xs", "a", "b", "indices"),
    [
        ([1, 2, 3, 4, 5], -2, 0, range(0, 6)),  # early windows count from the end
        ([1.0, 2.5, 3.0, 4.0, 5.5], 0, 3, range(-2, 7)),  # clipped at both ends
        ([1, 1.0, 1, 1.0, 0.0, -0.0], 0, 2, range(5)),  # ties of equal values
        ([1.0, math.nan, 2.0, 3.0], 0, 2, range(3)),
        ([1.0, math.inf, 2.0, -math.inf], 0, 2, range(3)),
        ([True, 2, 3, 4], 0, 2, range(3)),  # bool is not int here
        ([10**400, 1.0, 2.0], 0, 2, range(2)),  # int too large for a float
        (["a", "b", "c"], 0, 2, range(2)),  # max of str works, sum raises
        ((1, 2, 3, 4), 0, 1, range(4)),  # width 1: left to the original
        ([1e16, 1.0, -1e16, 1.0, 1.0, 1.0, 1.0], 0, 2, range(6)),  # cancellation
        ([], 0, 2, range(3)),
        ([1, 2, 3], 0, 2, range(3, 0)),
    ],
)
@pytest.mark.parametrize("kind", ["sum", "max", "min"])
def test_helper_edge_cases(kind: str, xs: Any, a: int, b: int, indices: range) -> None:
    _agree(kind, _original(kind, xs, a, b, indices), _helped(kind, xs, a, b, indices))


def test_helper_refuses_other_sequences() -> None:
    values = [None] * 3
    for xs in ("abcd", range(5), bytearray(b"abcd")):
        assert [v for _, v in _run("max", xs, 0, 2, range(3))] == values
    assert [v for _, v in _run("sum", [1, 2, 3, 4], 0, 2, [0, 1, 2])] == values
    assert [v for _, v in _run("sum", [1, 2, 3, 4], 0, 2.0, range(3))] == values


def test_helper_calls_bounds_lazily_and_survives_errors() -> None:
    calls: list[int] = []

    def bounds() -> tuple[list[int], int, int]:
        calls.append(1)
        return [1, 2, 3, 4], 0, 2

    assert list(_HELPER("sum", bounds, range(0))) == []
    assert calls == []  # an empty loop evaluates nothing more than before
    assert [v for _, v in _HELPER("sum", bounds, range(3))] == [3, 5, 7]
    assert calls == [1]

    def broken() -> tuple[list[int], int, int]:
        raise NameError("k")

    assert [v for _, v in _HELPER("max", broken, range(2))] == [None, None]


def test_unbound_or_odd_operands_raise_where_they_did() -> None:
    source = """\
        def f(xs, n):
            out = []
            for i in range(n):
                out.append(i)
                if i > 1:
                    out.append(sum(xs[i - k : i]))
            return out
        """
    result = _apply(source)  # k is a global that may not exist
    assert result is not None
    before, after = _namespace(textwrap.dedent(source))["f"], _namespace(result)["f"]
    data = [1, 2, 3, 4, 5, 6, 7]
    for n in (0, 2, 3, 6):
        for xs in (data, None, "abcdefg"):
            assert _outcome(before, xs, n) == _outcome(after, xs, n)  # NameError unless n <= 2
    for k in (2, -1, 2.0, None, "x"):
        before.__globals__["k"] = after.__globals__["k"] = k
        for n in (0, 3, 6):
            assert _outcome(before, data, n) == _outcome(after, data, n)


def test_helper_float_sums_are_running_totals() -> None:
    xs = [0.1 * (i % 7) + 20.0 for i in range(1000)]
    got = [v for _, v in _run("sum", xs, 0, 50, range(951))]
    assert None not in got  # positive data: always within the bound
    want = [sum(xs[i : i + 50]) for i in range(951)]
    assert got[::100] == want[::100]  # block starts are the original sums
    assert all(abs(g - w) <= 1e-11 * abs(g) for g, w in zip(got, want, strict=True))


def test_helper_cancelling_float_sums_fall_back() -> None:
    xs = [1e16, 1.0, -1e16] + [1.0] * 20
    got = [v for _, v in _run("sum", xs, 0, 3, range(21))]
    # Windows 3 to 5 hold only ones, but the running total lost them to 1e16 coming and
    # going; their block's span includes 1e16, so the bound is far too loose to trust it.
    assert got[0] == sum(xs[0:3]) and got[3:6] == [None, None, None]
    assert got[6:] == [3.0] * 15  # the next block starts afresh


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
elements = st.one_of(
    st.lists(st.integers(-(10**6), 10**6), max_size=40),
    st.lists(st.floats(-1e6, 1e6), max_size=40),
    st.lists(finite, max_size=40),
    st.lists(st.one_of(st.integers(-5, 5), st.floats(-5, 5), st.just(math.nan)), max_size=40),
)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["sum", "max", "min"]),
    elements,
    st.integers(-6, 6),
    st.integers(0, 8),
    st.integers(-8, 45),
    st.integers(-8, 45),
)
def test_helper_equivalent(kind: str, xs: list[Any], a: int, width: int, lo: int, hi: int) -> None:
    indices = range(lo, hi)
    _agree(
        kind, _original(kind, xs, a, a + width, indices), _helped(kind, xs, a, a + width, indices)
    )


# --- original vs rewritten functions ---------------------------------------------------------

FUNCTIONS = textwrap.dedent(
    """\
    def means(values, window):
        return [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]


    def spans(xs: list, k: int):
        out = []
        for i in range(k - 1, len(xs) + 2):
            low = min(xs[i - k + 1 : i + 1])
            out.append((max(xs[i - k + 1 : i + 1]), low, xs[i] if i < len(xs) else None))
        return out


    def trailing(xs, k):
        return {i: sum(xs[i - k : i]) for i in range(len(xs) + 1)}
    """
)


def _pairs() -> dict[str, tuple[Callable[..., Any], Callable[..., Any]]]:
    rewritten = FUNCTIONS
    for name in ("means", "spans", "trailing"):
        new = apply_rule(rewritten, name, RULE)
        assert new is not None, name
        rewritten = new
    before, after = _namespace(FUNCTIONS), _namespace(rewritten)
    return {name: (before[name], after[name]) for name in ("means", "spans", "trailing")}


PAIRS = _pairs()


def _same(want: tuple[str, Any], got: tuple[str, Any]) -> None:
    assert want[0] == got[0]
    if want[0] == "raised":
        assert want == got
        return
    flat_w, flat_g = _flatten(want[1]), _flatten(got[1])
    assert len(flat_w) == len(flat_g)
    for w, g in zip(flat_w, flat_g, strict=True):
        assert type(w) is type(g)
        if isinstance(w, float) and w != g and not (w != w and g != g):
            assert abs(w - g) <= 1e-11 * abs(g)
        elif isinstance(w, float):
            continue
        else:
            assert w == g


def _flatten(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in (k, *_flatten(v))]
    if isinstance(value, list | tuple):
        return [x for v in value for x in _flatten(v)]
    return [value]


@settings(max_examples=200, deadline=None)
@given(elements, st.integers(1, 7), st.sampled_from(["means", "spans", "trailing"]))
def test_rewritten_functions_equivalent(xs: list[Any], k: int, name: str) -> None:
    before, after = PAIRS[name]
    _same(_outcome(before, xs, k), _outcome(after, xs, k))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.text(max_size=2), max_size=10), st.integers(1, 4))
def test_rewritten_functions_raise_the_same(xs: list[str], k: int) -> None:
    assume(xs)
    for before, after in PAIRS.values():
        assert _outcome(before, xs, k)[0] == _outcome(after, xs, k)[0]


def test_moving_stats_example_rewritten_and_equivalent() -> None:
    original = WINDOW_PY.read_text()
    source = original
    for name in ("moving_average", "rolling_max", "rolling_min"):
        new = apply_rule(source, name, RULE)
        assert new is not None
        source = new
    before, after = _namespace(original), _namespace(source)
    series = [round(20 + 3 * math.sin(i / 40) + (i * 7919 % 13) / 10, 2) for i in range(2000)]
    for window in (1, 2, 60, 300, 2500):
        for name in ("moving_average", "rolling_max", "rolling_min"):
            want, got = before[name](series, window), after[name](series, window)
            if name == "moving_average":
                assert all(abs(w - g) <= 1e-11 * abs(g) for w, g in zip(want, got, strict=True))
                assert len(want) == len(got)
            else:
                assert want == got
