"""Property tests: the original and the rewritten function return the same on generated inputs."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from perfagent.tools.rules import apply_rule


def _pair(source: str, rule: str, qualname: str = "f") -> tuple[Callable[..., Any], ...]:
    source = textwrap.dedent(source)
    rewritten = apply_rule(source, qualname, rule)
    assert rewritten is not None and rewritten != source
    functions = []
    for text in (source, rewritten):
        namespace: dict[str, Any] = {}
        exec(compile(text, "<rule-test>", "exec"), namespace)
        functions.append(namespace[qualname])
    return tuple(functions)


def _outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    try:
        return "ok", function(*args)
    except Exception as error:  # the exception type is part of the behaviour
        return "raised", type(error).__name__


DEDUPE = _pair(
    """
    def f(xs):
        seen = []
        banned = ["x", 3, (1, "y")]
        out = []
        for x in xs:
            if x not in seen and x not in banned:
                seen.append(x)
                out.append(x)
        return out, 2 in seen
    """,
    "list-membership-to-set",
)
keys = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "z"]), st.just((1, "y")))


@settings(max_examples=200, deadline=None)
@given(st.lists(keys))
def test_list_membership_equivalent(xs: list[Any]) -> None:
    before, after = DEDUPE
    assert before(xs) == after(xs)


JOIN = _pair(
    """
    def f(xs):
        out = "["
        for x in xs:
            if x % 3 == 0:
                continue
            out += str(x) + ","
            if x > 90:
                break
        return out + "]"
    """,
    "string-concat-to-join",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 100)))
def test_string_concat_equivalent(xs: list[int]) -> None:
    before, after = JOIN
    assert before(xs) == after(xs)


GROW = _pair(
    """
    def f(xs):
        evens = []
        pairs = [None]
        for x in xs:
            if x % 2 == 0:
                evens = evens + [x]
            elif x > 50:
                pairs = pairs + [(x, x + 1), []]
            if x == 99:
                break
        total = 100 // (len(evens) - 3)  # the same exception, at the same point
        return evens, pairs, total
    """,
    "list-concat-to-append",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 100)))
def test_list_concat_equivalent(xs: list[int]) -> None:
    before, after = GROW
    assert _outcome(before, xs) == _outcome(after, xs)


REGEX = _pair(
    """
    import re

    WORD = r"[a-z]+"


    def f(s):
        return (
            bool(re.match(WORD, s, re.IGNORECASE)),
            re.findall(r"\\d+", s),
            re.sub("a|b", "-", s, count=2),
            re.split(r"\\s", s, maxsplit=1),
            re.compile("x+").search(s) is not None,
        )
    """,
    "compile-regex-once",
)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abxAB 12\n", max_size=20))
def test_regex_equivalent(s: str) -> None:
    before, after = REGEX
    assert before(s) == after(s)


SORTED = _pair(
    """
    def f(xs):
        return (
            sorted(xs)[0],
            sorted(xs)[-1],
            sorted(xs, key=abs)[0],
            sorted(xs, key=abs, reverse=True)[0],
            sorted(xs, reverse=True)[-1],
        )
    """,
    "sorted-index-to-min-max",
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-20, 20), min_size=1))
def test_sorted_index_equivalent(xs: list[int]) -> None:
    before, after = SORTED
    assert before(xs) == after(xs)


ANY_KEYS = _pair(
    """
    def f(d, ks):
        hits = [k for k in ks if k in d.keys()]
        listed = [k for k in d.keys()]
        return hits, listed, any([k > 2 for k in ks]), all([k in d for k in ks])
    """,
    "any-all-generator",
)
KEYS = _pair(
    """
    def f(d, ks):
        hits = [k for k in ks if k in d.keys()]
        listed = [k for k in d.keys()]
        return hits, listed
    """,
    "dict-keys-membership",
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.integers(0, 5), st.integers()), st.lists(st.integers(0, 5)))
def test_any_all_and_dict_keys_equivalent(d: dict[int, int], ks: list[int]) -> None:
    for before, after in (ANY_KEYS, KEYS):
        assert before(d, ks) == after(d, ks)


SEARCH = _pair(
    """
    def f(orders: list, items: list[dict]):
        out = []
        for o in orders:
            first = next((p for p in items if p["k"] == o), "missing")
            every = [p for p in items if p["k"] == o]
            every.append("fresh")  # the group list must be a copy
            out.append((first, every))
        return out
    """,
    "linear-search-to-index",
)
record = st.fixed_dictionaries({"k": st.integers(0, 4), "v": st.integers(0, 9)})


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 5)), st.lists(record))
def test_linear_search_equivalent(orders: list[int], items: list[dict[str, int]]) -> None:
    before, after = SEARCH
    assert _outcome(before, orders, items) == _outcome(after, orders, items)
    # Identity too: the scan returns the very first matching dict.
    for got, want in zip(after(orders, items), before(orders, items), strict=True):
        assert got[0] is want[0] or got[0] == want[0] == "missing"
