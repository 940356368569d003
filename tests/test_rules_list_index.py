"""The ``list-index-to-dict`` rule: exact rewrites, must-not-fire cases, equivalence."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfagent.tools.rules import list_index_to_dict
from perfagent.tools.rules._base import rewrite_function

REPO = Path(__file__).resolve().parents[1]


def _apply(source: str, qualname: str = "f") -> str | None:
    """Same contract as ``tools.rules.apply_rule`` for this rule."""
    module = cst.parse_module(textwrap.dedent(source))
    new, count = rewrite_function(module, qualname, list_index_to_dict.transform)
    if not count:
        return None
    compile(new.code, "<rule>", "exec")
    return new.code


def _same(result: str | None, expected: str) -> None:
    assert result == textwrap.dedent(expected)


def test_rationale_is_one_line() -> None:
    assert list_index_to_dict.RATIONALE and "\n" not in list_index_to_dict.RATIONALE
    assert list_index_to_dict.__doc__ and "must not fire" in list_index_to_dict.__doc__.lower()


def test_dedupe_shape_rewritten() -> None:
    result = _apply(
        """
        def deduplicate(records, *, key=fingerprint):
            seen: list[str] = []
            entries = []
            for record in records:
                k = key(record)
                if k in seen:
                    entry = entries[seen.index(k)]
                    entry.count += 1
                else:
                    seen.append(k)
                    entries.append(make(record, k))
            return entries
        """,
        "deduplicate",
    )
    _same(
        result,
        """
        def deduplicate(records, *, key=fingerprint):
            seen: dict[str, int] = {}
            entries = []
            for record in records:
                k = key(record)
                if k in seen:
                    entry = entries[seen[k]]
                    entry.count += 1
                else:
                    seen[k] = len(seen)
                    entries.append(make(record, k))
            return entries
        """,
    )


def test_not_in_shape_rewritten() -> None:
    result = _apply(
        """
        def f(xs):
            seen = list()
            counts = []
            for k in xs:
                if k not in seen:
                    seen.append(k)
                    counts.append(0)
                if k in seen:
                    counts[seen.index(k)] += 1
            return counts
        """
    )
    _same(
        result,
        """
        def f(xs):
            seen = {}
            counts = []
            for k in xs:
                if k not in seen:
                    seen[k] = len(seen)
                    counts.append(0)
                if k in seen:
                    counts[seen[k]] += 1
            return counts
        """,
    )


_NOT_FIRING = {
    "unguarded append": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                seen.append(k)
            return out
        """,
    "append of another name": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                j = k
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(j)
            return out
        """,
    "index outside guard": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k not in seen:
                    seen.append(k)
                out.append(seen.index(k))
            return out
        """,
    "index in else of in": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    pass
                else:
                    out.append(seen.index(k))
                    seen.append(k)
            return out
        """,
    "index with start": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k, 0))
                else:
                    seen.append(k)
            return out
        """,
    "remove": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                    seen.remove(k)
                else:
                    seen.append(k)
            return out
        """,
    "count": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k) + seen.count(k))
                else:
                    seen.append(k)
            return out
        """,
    "extend": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.extend([k])
            return out
        """,
    "iterated": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out, [s for s in seen]
        """,
    "len": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out, len(seen)
        """,
    "returned": """
        def f(xs):
            seen = []
            for k in xs:
                if k in seen:
                    print(seen.index(k))
                else:
                    seen.append(k)
            return seen
        """,
    "nested lambda": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out, (lambda: 1 in seen)()
        """,
    "rebinding between test and append": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    k = k + 1
                    seen.append(k)
            return out
        """,
    "rebinding between test and index": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    k = k + 1
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """,
    "two appends in one branch": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
                    seen.append(k)
            return out
        """,
    "append in a loop inside the branch": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    for _ in range(2):
                        seen.append(k)
            return out
        """,
    "unhashable values": """
        def f(xs):
            seen = []
            out = []
            for x in xs:
                k = list(x)
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """,
    "parameter": """
        def f(xs, seen):
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """,
    "bound twice": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            seen = []
            return out
        """,
    "global": """
        def f(xs):
            global seen
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """,
    "no index use": """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k not in seen:
                    seen.append(k)
                    out.append(k)
            return out
        """,
    "len shadowed": """
        len = print

        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """,
}


@pytest.mark.parametrize("source", _NOT_FIRING.values(), ids=list(_NOT_FIRING))
def test_must_not_fire(source: str) -> None:
    assert _apply(source) is None


def test_positive_control_for_not_firing_cases() -> None:
    # The shape the must-not-fire cases are derived from does fire.
    source = """
        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """
    assert _apply(source) is not None


def test_other_functions_left_alone() -> None:
    source = textwrap.dedent(
        """
        def g(xs):
            seen = []
            for k in xs:
                if k in seen:
                    print(seen.index(k))
                else:
                    seen.append(k)


        def f(xs):
            seen = []
            out = []
            for k in xs:
                if k in seen:
                    out.append(seen.index(k))
                else:
                    seen.append(k)
            return out
        """
    )
    result = _apply(source, "f")
    assert result is not None
    g_before = source.split("def f")[0]
    assert result.startswith(g_before)
    assert "seen[k] = len(seen)" in result.split("def f")[1]
    assert _apply(source, "missing") is None


def test_real_example_file() -> None:
    path = REPO / "tasks/examples/dedupe_logs/repo/logdedupe/dedupe.py"
    source = path.read_text()
    result = _apply(source, "deduplicate")
    assert result is not None
    compile(result, str(path), "exec")
    assert "seen: dict[str, int] = {}" in result
    assert "entries[seen[k]]" in result
    assert "seen[k] = len(seen)" in result
    # Only the target function changed.
    assert _apply(source, "dedupe_lines") is None


def _pair(source: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    source = textwrap.dedent(source)
    rewritten = _apply(source)
    assert rewritten is not None and rewritten != source
    functions = []
    for text in (source, rewritten):
        namespace: dict[str, Any] = {}
        exec(compile(text, "<rule-test>", "exec"), namespace)
        functions.append(namespace["f"])
    return functions[0], functions[1]


GROUP = _pair(
    """
    def f(xs):
        seen = []
        counts = []
        firsts = []
        for i, k in enumerate(xs):
            if k in seen:
                counts[seen.index(k)] += 1
            else:
                seen.append(k)
                counts.append(1)
                firsts.append(i)
        hits = []
        for k in xs:
            if k not in seen:
                seen.append(k)
            if k in seen:
                hits.append(seen.index(k))
        return counts, firsts, hits, 0 in seen, "a" not in seen
    """
)
keys = st.one_of(st.integers(-3, 3), st.sampled_from(["a", "b", "c"]), st.booleans())


@settings(max_examples=300, deadline=None)
@given(st.lists(keys, max_size=30))
def test_equivalent_on_generated_lists(xs: list[Any]) -> None:
    before, after = GROUP
    assert before(xs) == after(xs)
