"""Exact rewrites and must-not-fire cases of the rule transforms (tools/rules)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from perfagent.tools.rules import (
    MICRO_SPEEDUP,
    RULES,
    applicable_rules,
    apply_rule,
    expected_saving,
)


def _apply(source: str, rule: str, qualname: str = "f") -> str | None:
    return apply_rule(textwrap.dedent(source), qualname, rule)


def _same(result: str | None, expected: str) -> None:
    assert result == textwrap.dedent(expected)
    compile(result, "<test>", "exec")


def test_registry_shape() -> None:
    assert list(RULES)[-2:] == ["string-concat-to-join", "regex-slice-to-pos"]  # measured slower
    for rule_id, rule in RULES.items():
        assert rule.id == rule_id and rule_id == rule_id.lower()
        assert "\n" not in rule.rationale and rule.title and rule.safety


def test_the_ranking_prior_is_the_published_catalogue() -> None:
    """The figures the proposer ranks by are the ones tasks/README.md publishes."""
    readme = (Path(__file__).parents[1] / "tasks" / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `([a-z-]+)` \| \w+ \| ([\d.]+)× \[", readme, flags=re.MULTILINE)
    assert dict((rule, float(x)) for rule, x in rows) == MICRO_SPEEDUP
    assert list(RULES) == sorted(MICRO_SPEEDUP, key=lambda r: -MICRO_SPEEDUP[r])
    assert expected_saving("list-index-to-dict") > 0.99
    assert expected_saving("hoist-loop-invariant") == pytest.approx(1 - 1 / 1.15)
    assert expected_saving("regex-slice-to-pos") == 0.05  # slower on its micro workload


# --- list-membership-to-set ------------------------------------------------------------------


def test_list_membership_rewritten() -> None:
    result = _apply(
        """
        def f(xs):
            seen: list[int] = []
            allowed = ["a", "b"]
            out = []
            for x in xs:
                if x not in seen and str(x) in allowed:
                    seen.append(x)
                    out.append(x)
            return out
        """,
        "list-membership-to-set",
    )
    _same(
        result,
        """
        def f(xs):
            seen: set[int] = set()
            allowed = {"a", "b"}
            out = []
            for x in xs:
                if x not in seen and str(x) in allowed:
                    seen.add(x)
                    out.append(x)
            return out
        """,
    )


@pytest.mark.parametrize(
    "body",
    [
        "seen = []\n    for x in xs:\n        if x in seen:\n            return seen.index(x)\n"
        "        seen.append(x)",
        "seen = []\n    for x in xs:\n        if x not in seen:\n            seen.append(x)\n"
        "    return seen",  # order observed
        "seen = []\n    for x in xs:\n        if x not in seen:\n            seen.append([x])",
        "seen = []\n    for x in xs:\n        y = [x]\n        if y not in seen:\n"
        "            seen.append(y)",  # visibly unhashable
        "seen = []\n    seen = []\n    for x in xs:\n        if x in seen:\n            pass",
        "seen = []\n    g = lambda v: v in seen\n    for x in xs:\n        seen.append(x)",
        "seen = [[1]]\n    return 1 in seen",
        "seen = []\n    for x in xs:\n        seen.append(x)",  # no membership test
    ],
)
def test_list_membership_must_not_fire(body: str) -> None:
    assert _apply(f"def f(xs):\n    {body}\n", "list-membership-to-set") is None


def test_list_membership_not_for_parameters() -> None:
    assert _apply("def f(seen=[]):\n    return 1 in seen\n", "list-membership-to-set") is None


# --- list-concat-to-append ------------------------------------------------------------------


def test_list_concat_rewritten() -> None:
    result = _apply(
        """
        def f(xs):
            out: list[int] = [0]
            for x in xs:
                if x:
                    out = out + [x * 2]
                else:
                    out = out + [x, -x, *xs]; x += 1
            return out, len(out)
        """,
        "list-concat-to-append",
    )
    _same(
        result,
        """
        def f(xs):
            out: list[int] = [0]
            for x in xs:
                if x:
                    out.append(x * 2)
                else:
                    out.extend([x, -x, *xs]); x += 1
            return out, len(out)
        """,
    )


@pytest.mark.parametrize(
    "body",
    [
        # read in the loop: another reference would see the in-place change
        "out = []\n    for x in xs:\n        out = out + [len(out)]\n    return out",
        "out = []\n    for x in xs:\n        keep = out\n        out = out + [x]\n"
        "    return out, keep",
        "out = []\n    while len(out) < 3:\n        out = out + [1]\n    return out",
        "out = []\n    for x in out:\n        out = out + [x]\n    return out",
        # not a fresh list: the caller (or whoever else) holds it
        "out = xs\n    for x in xs:\n        out = out + [x]\n    return out",
        "out = list(xs)\n    for x in xs:\n        out = out + [x]\n    return out",
        # read between the start and the loop, or from a nested scope
        "out = []\n    alias = out\n    for x in xs:\n        out = out + [x]\n"
        "    return out, alias",
        "out = []\n    for x in xs:\n        out = out + [x]\n        g = lambda: out\n"
        "    return out",
        # other shapes: already in place, prepending, not a list display
        "out = []\n    for x in xs:\n        out += [x]\n    return out",
        "out = []\n    for x in xs:\n        out = [x] + out\n    return out",
        "out = []\n    for x in xs:\n        out = out + list(x)\n    return out",
        "out = []\n    for x in xs:\n        out = out + [out]\n    return out",
        "out = []\n    try:\n        for x in xs:\n            out = out + [x]\n"
        "    finally:\n        print(out)",
    ],
)
def test_list_concat_must_not_fire(body: str) -> None:
    assert _apply(f"def f(xs):\n    {body}\n", "list-concat-to-append") is None


# --- string-concat-to-join -------------------------------------------------------------------


def test_string_concat_rewritten() -> None:
    result = _apply(
        """
        def f(xs):
            out: str = ">"
            for x in xs:
                if x:
                    out += str(x) + ","
            return out
        """,
        "string-concat-to-join",
    )
    _same(
        result,
        """
        def f(xs):
            out_parts: list[str] = [">"]
            for x in xs:
                if x:
                    out_parts.append(str(x) + ",")
            out = "".join(out_parts)
            return out
        """,
    )


@pytest.mark.parametrize(
    "body",
    [
        's = ""\n    for x in xs:\n        if s:\n            s += ","\n        s += x\n'
        "    return s",
        's = ""\n    for x in xs:\n        s += s\n    return s',
        's = ""\n    print(s)\n    for x in xs:\n        s += x\n    return s',
        's = ""\n    for x in xs:\n        s += x\n        g = lambda: s\n    return s',
        's = ""\n    while len(s) < 3:\n        s += "a"\n    return s',
        's = ""\n    try:\n        for x in xs:\n            s += x\n'
        "    finally:\n        print(s)",
        's = b""\n    for x in xs:\n        s += x\n    return s',
        's = ""\n    for x in xs:\n        s = s + x\n    return s',
    ],
)
def test_string_concat_must_not_fire(body: str) -> None:
    assert _apply(f"def f(xs):\n    {body}\n", "string-concat-to-join") is None


# --- compile-regex-once ----------------------------------------------------------------------


def test_regex_compiled_once() -> None:
    result = _apply(
        """
        import re

        PAT = "a+"


        def f(s):
            m = re.match(PAT, s, re.I)
            n = re.sub(r"\\d", "", s, count=1)
            return m, n, re.compile("b+"), re.findall(r"\\d", s)
        """,
        "compile-regex-once",
    )
    _same(
        result,
        """
        import re

        PAT = "a+"


        _PERFAGENT_RE_1 = re.compile(PAT, re.I)
        _PERFAGENT_RE_2 = re.compile(r"\\d")
        _PERFAGENT_RE_3 = re.compile("b+")


        def f(s):
            m = _PERFAGENT_RE_1.match(s)
            n = _PERFAGENT_RE_2.sub("", s, count=1)
            return m, n, _PERFAGENT_RE_3, _PERFAGENT_RE_2.findall(s)
        """,
    )


def test_stacked_regex_rewrites_share_one_constant_per_pattern() -> None:
    """A function below one already rewritten reuses its constant for the same pattern."""
    source = textwrap.dedent(
        """
        import re


        def a(s):
            return re.sub("[ab]", "", s)


        def b(s):
            return re.split("[ab]", s), re.match("[ab]", s, re.I)
        """
    )
    first = apply_rule(source, "a", "compile-regex-once")
    assert first is not None
    _same(
        apply_rule(first, "b", "compile-regex-once"),
        """
        import re


        _PERFAGENT_RE_1 = re.compile("[ab]")


        def a(s):
            return _PERFAGENT_RE_1.sub("", s)


        _PERFAGENT_RE_2 = re.compile("[ab]", re.I)


        def b(s):
            return _PERFAGENT_RE_1.split(s), _PERFAGENT_RE_2.match(s)
        """,
    )
    # Not a constant the function rebinds, nor one bound twice in the module.
    for extra in ("    _PERFAGENT_RE_1 = None\n", ""):
        shadowed = first.replace("def b(s):\n", "def b(s):\n" + extra)
        if not extra:
            shadowed += "\n_PERFAGENT_RE_1 = None\n"
        result = apply_rule(shadowed, "b", "compile-regex-once")
        assert result is not None and "_PERFAGENT_RE_1.split" not in result


@pytest.mark.parametrize(
    "source",
    [
        "import re\ndef f(p, s):\n    return re.match(p, s)\n",
        "import re\ndef f(s):\n    return re.match(f'{s}+', s)\n",
        "import re\ndef f(s, fl):\n    return re.match('a', s, fl)\n",
        "import re\ndef f(s):\n    for kind, p in RULES:\n        re.match(p, s)\n",
        "import re\nP = 'a'\nP = 'b'\ndef f(s):\n    return re.match(P, s)\n",
        "def f(s):\n    import re\n    return re.match('a', s)\n",
        "import re\ndef f(s):\n    return re.match(pattern='a', string=s)\n",
        "import re\ndef f(s):\n    return re.match(*('a', s))\n",
        "import re\ndef f(s):\n    return re.match(P, s)\nP = 'a'\n",
    ],
)
def test_regex_must_not_fire(source: str) -> None:
    assert apply_rule(source, "f", "compile-regex-once") is None


# --- sorted-index-to-min-max -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("sorted(xs)[0]", "min(xs)"),
        ("sorted(xs)[-1]", "max(xs)"),
        ("sorted(xs, key=abs)[0]", "min(xs, key=abs)"),
        ("sorted(xs, key=abs, reverse=True)[0]", "max(xs, key=abs)"),
        ("sorted(xs, reverse=True)[-1]", "min(xs)"),
        ("sorted(xs, reverse=False)[0]", "min(xs)"),
    ],
)
def test_sorted_index(before: str, after: str) -> None:
    result = apply_rule(f"def f(xs):\n    return {before}\n", "f", "sorted-index-to-min-max")
    assert result == f"def f(xs):\n    return {after}\n"


@pytest.mark.parametrize(
    "expr",
    [
        "sorted(xs, key=abs)[-1]",
        "sorted(xs)[1]",
        "sorted(xs, reverse=r)[0]",
        "sorted(*a)[0]",
        "sorted(xs)[i]",
    ],
)
def test_sorted_index_must_not_fire(expr: str) -> None:
    assert (
        apply_rule(f"def f(xs, r, a, i):\n    return {expr}\n", "f", "sorted-index-to-min-max")
        is None
    )


def test_sorted_index_not_when_builtin_shadowed() -> None:
    source = "def min(*a):\n    return 0\ndef f(xs):\n    return sorted(xs)[0]\n"
    assert apply_rule(source, "f", "sorted-index-to-min-max") is None


# --- any-all-generator, dict-keys-membership -------------------------------------------------


def test_any_all_generator() -> None:
    source = "def f(xs):\n    return any([x > 1 for x in xs]) and all([x for x in xs])\n"
    expected = "def f(xs):\n    return any(x > 1 for x in xs) and all(x for x in xs)\n"
    assert apply_rule(source, "f", "any-all-generator") == expected
    walrus = "def f(xs):\n    return any([(y := x) for x in xs])\n"
    assert apply_rule(walrus, "f", "any-all-generator") is None
    assert apply_rule("def f(xs):\n    return any(xs)\n", "f", "any-all-generator") is None


def test_dict_keys_membership() -> None:
    source = "def f(d, k):\n    for a in d.keys():\n        pass\n    return k in self.d.keys()\n"
    expected = "def f(d, k):\n    for a in d:\n        pass\n    return k in self.d\n"
    assert apply_rule(source, "f", "dict-keys-membership") == expected
    for expr in ("k in g().keys()", "k in d.keys(1)", "k == d.keys()"):
        assert apply_rule(f"def f(d, k):\n    return {expr}\n", "f", "dict-keys-membership") is None


# --- linear-search-to-index ------------------------------------------------------------------


def test_linear_search_next_with_default() -> None:
    result = _apply(
        """
        def f(orders: list, products: list[dict]):
            out = []
            for o in orders:
                p = next((p for p in products if p["sku"] == o["sku"]), None)
                q = next((x for x in products if o["sku"] == x["sku"]), 0)
                out.append((p, q))
            return out
        """,
        "linear-search-to-index",
    )
    _same(
        result,
        """
        def f(orders: list, products: list[dict]):
            out = []
            products_by_sku = {}
            for _item in products:
                products_by_sku.setdefault(_item["sku"], _item)
            for o in orders:
                p = products_by_sku.get(o["sku"], None)
                q = products_by_sku.get(o["sku"], 0)
                out.append((p, q))
            return out
        """,
    )


def test_linear_search_filter_to_groups() -> None:
    result = _apply(
        """
        def f(lines: Sequence[Line], customers):
            for c in customers:
                mine = [line for line in lines if line.customer == c.id]
                yield mine
        """,
        "linear-search-to-index",
    )
    _same(
        result,
        """
        def f(lines: Sequence[Line], customers):
            lines_groups_by_customer = {}
            for _item in lines:
                lines_groups_by_customer.setdefault(_item.customer, []).append(_item)
            for c in customers:
                mine = list(lines_groups_by_customer.get(c.id, ()))
                yield mine
        """,
    )


@pytest.mark.parametrize(
    "body",
    [
        "for o in orders:\n        yield next(p for p in items if p['k'] == o)",  # no default
        "return next((p for p in items if p['k'] == 1), None)",  # not in a loop
        "for o in orders:\n        items.append(o)\n"
        "        yield next((p for p in items if p['k'] == o), None)",  # mutated in the loop
        "for o in orders:\n        yield next((p for p in items if p['k'] == g(o)), None)",
        "for o in orders:\n        yield next((p for p in items if p['k'] != o), None)",
        "for o in orders:\n        yield next((p['v'] for p in items if p['k'] == o), None)",
        "items = list(items)\n    for o in orders:\n"
        "        yield next((p for p in items if p['k'] == o), None)",  # rebound
    ],
)
def test_linear_search_must_not_fire(body: str) -> None:
    source = f"def f(orders, items: list[dict], g):\n    {body}\n"
    assert apply_rule(source, "f", "linear-search-to-index") is None


def test_linear_search_needs_sequence_annotation() -> None:
    source = (
        "def f(orders, items: Iterable[dict]):\n    for o in orders:\n"
        "        yield next((p for p in items if p['k'] == o), None)\n"
    )
    assert apply_rule(source, "f", "linear-search-to-index") is None


# --- targeting -------------------------------------------------------------------------------

TWO = """\
class C:
    def m(self, xs):
        return sorted(xs)[0]


def outer(xs):
    def inner(ys):
        return sorted(ys)[0]

    return sorted(xs)[0], inner


def other(xs):
    return sorted(xs)[0]
"""


def test_only_the_target_function_is_touched() -> None:
    result = apply_rule(TWO, "C.m", "sorted-index-to-min-max")
    assert result is not None
    assert result.count("min(") == 1 and "return min(xs)\n\n\ndef outer" in result
    nested = apply_rule(TWO, "outer.<locals>.inner", "sorted-index-to-min-max")
    assert nested is not None and "return min(ys)" in nested and nested.count("min(") == 1
    assert apply_rule(TWO, "outer.inner", "sorted-index-to-min-max") == nested
    outer = apply_rule(TWO, "outer", "sorted-index-to-min-max")
    assert outer is not None and "sorted(ys)[0]" in outer and "min(xs), inner" in outer
    assert apply_rule(TWO, "missing", "sorted-index-to-min-max") is None
    assert applicable_rules(TWO, "other") == ["sorted-index-to-min-max"]


def test_regex_prelude_goes_above_the_class() -> None:
    source = "import re\n\n\nclass C:\n    def m(self, s):\n        return re.search('x', s)\n"
    result = apply_rule(source, "C.m", "compile-regex-once")
    assert result is not None
    assert "_PERFAGENT_RE_1 = re.compile('x')\n\n\nclass C:" in result
    assert "return _PERFAGENT_RE_1.search(s)" in result
