"""The ``regex-slice-to-pos`` rule (tools/rules/regex_match_at_pos.py)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path
from typing import Any

import libcst as cst
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from perfagent.tools.rules import regex_match_at_pos
from perfagent.tools.rules._base import rewrite_function

ROOT = Path(__file__).resolve().parent.parent
LEXER = ROOT / "tasks/examples/tokenizer/repo/stencil/lexer.py"

PRELUDE = '''
_PERFAGENT_RE_ANCHORS = re.compile(r"\\^|\\\\[AbB]|\\(\\?<")
_PERFAGENT_RE_AT_CACHE = {}


def _perfagent_re_at(method, pattern, string, pos, flags=0):
    """re.<method>(pattern, string[pos:], flags) without copying the tail, when equivalent."""
    if type(pattern) is str and type(string) is str and type(pos) is int and pos >= 0:
        key = (method, pattern, flags)
        bound = _PERFAGENT_RE_AT_CACHE.get(key)
        if bound is None:
            if len(_PERFAGENT_RE_AT_CACHE) >= 512:
                _PERFAGENT_RE_AT_CACHE.clear()
            safe = not flags & re.DEBUG and not _PERFAGENT_RE_ANCHORS.search(pattern)
            bound = getattr(re.compile(pattern, flags), method) if safe else False
            _PERFAGENT_RE_AT_CACHE[key] = bound
        if bound:
            return bound(string, pos)
    return getattr(re, method)(pattern, string[pos:], flags)
'''


def _apply(source: str, qualname: str = "f") -> str | None:
    module = cst.parse_module(textwrap.dedent(source))
    new, count = rewrite_function(module, qualname, regex_match_at_pos.transform)
    if not count:
        return None
    compile(new.code, "<rule>", "exec")
    return new.code


def _helper() -> Any:
    namespace: dict[str, Any] = {"re": re}
    exec(PRELUDE, namespace)
    return namespace["_perfagent_re_at"]


_SHARED_HELPER = _helper()


# --- exact rewrites --------------------------------------------------------------------------


def test_rationale_is_one_line() -> None:
    assert "\n" not in regex_match_at_pos.RATIONALE and regex_match_at_pos.RATIONALE


def test_lexer_loop_rewritten() -> None:
    result = _apply(
        """
        import re

        RULES = [("a", "x+")]


        def f(source, pos):
            while pos < len(source):
                for kind, pattern in RULES:
                    match = re.match(pattern, source[pos:])
                    if match:
                        break
                else:
                    return None
                value = match.group()
                pos += len(value)
            return pos
        """
    )
    expected = (
        textwrap.dedent(
            """
            import re

            RULES = [("a", "x+")]
            """
        )
        + "\n"
        + PRELUDE
        + textwrap.dedent(
            """

            def f(source, pos):
                while pos < len(source):
                    for kind, pattern in RULES:
                        match = _perfagent_re_at("match", pattern, source, pos)
                        if match:
                            break
                    else:
                        return None
                    value = match.group()
                    pos += len(value)
                return pos
            """
        )
    )
    assert result == expected


def test_flags_search_fullmatch_and_allowed_uses() -> None:
    result = _apply(
        """
        import re


        def f(s, i):
            m = None
            out = []
            for p in ("a", "b"):
                m = re.search(p, s[i:], re.I)
                n = re.fullmatch(p, s[3:], flags=re.I | re.M)
                if m is not None and not n:
                    out.append((m.group(1), m.groups(), m.groupdict(), m.lastgroup, m.lastindex))
                if n is None or m:
                    pass
            return out, m and m.group()
        """
    )
    assert result is not None
    assert '_perfagent_re_at("search", p, s, i, re.I)' in result
    assert '_perfagent_re_at("fullmatch", p, s, 3, re.I | re.M)' in result
    assert result.count("def _perfagent_re_at") == 1


def test_helper_not_duplicated() -> None:
    source = """
        import re


        def f(s, i):
            for p in "ab":
                m = re.match(p, s[i:])
                if m:
                    return m.group()


        def g(s, i):
            while True:
                m = re.match("x", s[i:])
                if m:
                    return m.group()
        """
    first = _apply(source)
    assert first is not None
    second = _apply(first, "g")
    assert second is not None
    assert second.count("def _perfagent_re_at") == 1
    assert second.count("_PERFAGENT_RE_ANCHORS = ") == 1
    assert second.count("_PERFAGENT_RE_AT_CACHE = ") == 1
    assert second.count('_perfagent_re_at("match"') == 2


@pytest.mark.parametrize(
    "body",
    [
        "m = re.match(p, s[i:j])\n        if m: return m.group()",  # upper bound
        "m = re.match(p, s[i::2])\n        if m: return m.group()",  # step
        "m = re.match(p, s.text[i:])\n        if m: return m.group()",  # S not a name
        "m = re.match(p, s[i + 1:])\n        if m: return m.group()",  # I not simple
        "m = regex.match(p, s[i:])\n        if m: return m.group()",  # not re
        "m = re.match(p, s)\n        if m: return m.group()",  # no slice
        "m = re.match(p, s[i:])\n        if m: return m.end()",  # offsets
        "m = re.match(p, s[i:])\n        if m: return m.span()",
        "m = re.match(p, s[i:])\n        if m: return m.start(1)",
        "m = re.match(p, s[i:])\n        if m: return m.string",
        "m = re.match(p, s[i:])\n        if m: return m.pos",
        "m = re.match(p, s[i:])\n        return m",  # returned
        "m = re.match(p, s[i:])\n        use(m)",  # passed
        "m = re.match(p, s[i:])\n        ms.append(m)",  # stored
        "m = re.match(p, s[i:])\n        x = m or 0",  # escapes through or
        "m = re.match(p, s[i:])\n        if m == 0: pass",  # other comparison
        "m = re.match(p, s[i:])\n        g = lambda: m.group()",  # nested scope
        "m = re.match(p, s[i:])\n        m = m.group() if m else None",  # other rebinding
        "m = re.match(p, s[i:], flags)\n        if m: return m.group()",  # run-time flags
        "m = re.match(p, string=s[i:])\n        if m: return m.group()",  # keyword
        "m = re.match(*p, s[i:])\n        if m: return m.group()",  # starred
        "m = re.sub(p, '', s[i:])\n        if m: return m",  # other function
        "m = re.match(p, s[i:]).group()",  # not the bare call result
    ],
)
def test_must_not_fire(body: str) -> None:
    source = f"import re\n\n\ndef f(p, s, i, j, ms, flags):\n    for _ in p:\n        {body}\n"
    compile(source, "<case>", "exec")
    assert _apply(source) is None


def test_must_not_fire_outside_loop_or_without_import() -> None:
    outside = """
        import re


        def f(p, s, i):
            m = re.match(p, s[i:])
            return m.group() if m else None
        """
    assert _apply(outside) is None
    no_import = """
        from re import match


        def f(p, s, i):
            while True:
                m = re.match(p, s[i:])
                if m:
                    return m.group()
        """
    assert _apply(no_import) is None
    shadowed = """
        import re


        def f(p, s, i, re):
            while True:
                m = re.match(p, s[i:])
                if m:
                    return m.group()
        """
    assert _apply(shadowed) is None
    taken = """
        import re

        _perfagent_re_at = None


        def f(p, s, i):
            while True:
                m = re.match(p, s[i:])
                if m:
                    return m.group()
        """
    assert _apply(taken) is None


# --- the helper is equivalent to slicing -----------------------------------------------------

PATTERNS = [
    "a",
    "a+b*",
    "(a)(b)?",
    "(?P<x>a|b)c*",
    "",
    "$",
    "a$",
    r"a\Z",
    r"\w+",
    "[^a]+",
    "^a",
    "^",
    r"\Aa",
    r"\ba",
    r"\Ba",
    r"\b",
    r"(?<=a)b",
    r"(?<!a)b",
    r"(?m)^b",
    r"a\\b",
    "(a)(?(1)b|c)",
    r"(a)\1",
    r"(?x) a \b",
    r"(?x)\ b",
]


@settings(max_examples=400, deadline=None)
@given(
    st.sampled_from(PATTERNS),
    st.text(alphabet="ab c\n", max_size=12),
    st.integers(min_value=-15, max_value=15),
    st.sampled_from(["match", "search", "fullmatch"]),
    st.sampled_from([0, re.I, re.M]),
)
def test_helper_agrees_with_slicing(
    pattern: str, text: str, pos: int, method: str, flags: int
) -> None:
    expected = getattr(re, method)(pattern, text[pos:], flags)
    for helper in (_helper(), _SHARED_HELPER):  # a fresh cache and one warmed by earlier runs
        got = helper(method, pattern, text, pos, flags)
        assert (expected is None) == (got is None)
        if expected is not None:
            assert got.group() == expected.group()
            assert got.groups() == expected.groups()
            assert got.groupdict() == expected.groupdict()
            assert (got.lastgroup, got.lastindex) == (expected.lastgroup, expected.lastindex)


def test_anchored_patterns_take_the_slicing_path() -> None:
    helper = _helper()
    for pattern, text, pos in [
        ("^b", "ab", 1),
        (r"\Ab", "ab", 1),
        (r"\bb", "ab", 1),
        (r"\Bb", "ab", 1),
        (r"(?<=a)b", "ab", 1),
        (r"(?<!a)b", "ab", 1),
    ]:
        sliced = re.match(pattern, text[pos:])
        fast = re.compile(pattern).match(text, pos)
        assert (sliced is None) != (fast is None)  # the constructs that really differ
        assert (helper("match", pattern, text, pos) is None) == (sliced is None)
    # End anchors agree without endpos; a negative pos does not (hence the pos >= 0 guard).
    assert re.compile("b$").match("ab\n", 1) is not None
    assert re.compile(r"b\Z").match("ab", 1) is not None
    assert re.compile("a").match("ab", -1) is not None and re.match("a", "ab"[-1:]) is None
    assert helper("match", "a", "ab", -1) is None


# --- executing both versions -----------------------------------------------------------------

LEXER_LOOP = """
import re

RULES = [
    (None, r"\\s+"),
    ("num", r"\\d+"),
    ("name", r"[a-z]+"),
    ("word", r"\\b[A-Z]+\\b"),
    ("after", r"(?<=-)x"),
    ("op", r"[-+*/]"),
]


def lex(source):
    out = []
    pos = 0
    while pos < len(source):
        for kind, pattern in RULES:
            m = re.match(pattern, source[pos:])
            if m:
                break
        else:
            raise ValueError(pos)
        value = m.group()
        if kind is not None:
            out.append((kind, value, m.lastindex))
        pos += len(value)
    return out
"""


def _outcome(function: Any, *args: Any) -> tuple[str, Any]:
    try:
        return "ok", function(*args)
    except Exception as error:  # compare failures too
        return type(error).__name__, error.args


def _lex_pair() -> tuple[Any, Any]:
    new = _apply(LEXER_LOOP, "lex")
    assert new is not None and "_perfagent_re_at" in new
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    exec(compile(LEXER_LOOP, "<before>", "exec"), before)
    exec(compile(new, "<after>", "exec"), after)
    return before["lex"], after["lex"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab12 +-xXYZ?\n", max_size=30))
def test_lexer_equivalent(source: str) -> None:
    before, after = _lex_pair()
    assert _outcome(before, source) == _outcome(after, source)


# --- the real example ------------------------------------------------------------------------


def test_real_lexer_rewritten() -> None:
    module = cst.parse_module(LEXER.read_text())
    new, count = rewrite_function(module, "_lex_tag", regex_match_at_pos.transform)
    assert count == 1
    code = new.code
    compile(code, str(LEXER), "exec")
    assert 'match = _perfagent_re_at("match", pattern, source, pos)' in code
    assert "re.match(pattern, source[pos:])" not in code
    assert code.count("def _perfagent_re_at") == 1
    assert code.index("def _perfagent_re_at") < code.index("def _lex_tag")


@pytest.mark.parametrize(
    "body",
    [
        "m = re.match(p, s[i:])\n        if m: return m.group()",
        "m = re.match(p, s[0:])\n        if not m: continue\n        return m.group(1)",
        "m = re.search(p, s[i:], 2)\n        if m is None or m.lastindex: return m and m.groups()",
    ],
)
def test_fires_with_the_same_template(body: str) -> None:
    source = f"import re\n\n\ndef f(p, s, i, j, ms, flags):\n    for _ in p:\n        {body}\n"
    result = _apply(source)
    assert result is not None and "_perfagent_re_at(" in result


def test_real_lexer_tokenizes_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(LEXER.parent.parent))
    source = LEXER.read_text()
    module = cst.parse_module(source)
    new, _ = rewrite_function(module, "_lex_tag", regex_match_at_pos.transform)
    before: dict[str, Any] = {"__name__": "stencil.lexer"}
    after: dict[str, Any] = {"__name__": "stencil.lexer"}
    exec(compile(source, "<before>", "exec"), before)
    exec(compile(new.code, "<after>", "exec"), after)
    templates = [
        "Hello {{ user.name | title }}!",
        "{% for x in items %}{{ x * 2.5e3 }} {{ 'a\\'b' }}{% endfor %}{# c #}",
        "{{ a == b != c <= d // e ** f }}",
        "{{ 1 $ }}",
        "{{ unclosed",
    ]
    for template in templates:
        assert _outcome(before["tokenize"], template) == _outcome(after["tokenize"], template)


def test_helper_cache_verdicts_and_errors() -> None:
    namespace: dict[str, Any] = {"re": re}
    exec(PRELUDE, namespace)
    helper, cache = namespace["_perfagent_re_at"], namespace["_PERFAGENT_RE_AT_CACHE"]
    assert helper("match", "b+", "abb", 1).group() == "bb"
    assert helper("match", r"\bb", "ab", 1).group() == "b"  # sliced: b is at a boundary
    assert cache[("match", r"\bb", 0)] is False and cache[("match", "b+", 0)]
    with pytest.raises(re.error):
        helper("match", "(", "ab", 0)
    with pytest.raises(TypeError):
        helper("match", "a", None, 0)
    for n in range(600):  # bounded
        helper("search", f"x{n}", "ab", 0)
    assert len(cache) <= 512
