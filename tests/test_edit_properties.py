"""Property tests (hypothesis): round-trips that must hold for any source."""

from __future__ import annotations

import difflib
import tempfile
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from perfagent.tools.edit import (
    EditError,
    FunctionRewrite,
    SearchReplace,
    apply_edits,
    enclosing_function,
    functions_in,
    parse_edits,
)
from perfagent.tools.edit.rewrite import rewrite_function

NAMES = st.text("abcdefgh", min_size=1, max_size=6).map(lambda s: "v_" + s)  # never a keyword
STATEMENTS = st.sampled_from(
    [
        "return {a}",
        "x = {a} + 1",
        "# a comment",
        "if {a}:\n    return None",
        "for i in range(3):\n    {a} = i  # loop",
        "y = [\n    1,\n    2,\n]",
        's = """\n  text at its own indent\n"""',
        "pass",
    ]
)
DECORATORS = st.lists(st.sampled_from(["@staticmethod", "@cache", "@deco(1)  # why"]), max_size=2)


@st.composite
def functions(draw: st.DrawFn, name: str, depth: int = 0) -> str:
    args = draw(st.lists(NAMES, max_size=2, unique=True))
    lines = [*draw(DECORATORS)]
    prefix = "async def" if draw(st.booleans()) else "def"
    lines.append(f"{prefix} {name}({', '.join(args)}):")
    drawn = draw(st.lists(STATEMENTS, min_size=1, max_size=4))
    body = [stmt.format(a=args[0] if args else "z") for stmt in drawn]
    if all(stmt.startswith("#") for stmt in body):
        body.append("pass")  # a body of comments only is not valid
    if depth == 0 and draw(st.booleans()):
        body.append(draw(functions(f"{name}_inner", depth + 1)))
    lines += [textwrap.indent(stmt, "    ") for stmt in body]
    return "\n".join(lines)


@st.composite
def modules(draw: st.DrawFn) -> str:
    """A module of uniquely named functions and classes, 4-space indented."""
    count = draw(st.integers(1, 4))
    parts = ["import os"]
    for k in range(count):
        if draw(st.booleans()):
            methods = [draw(functions(f"m{k}_{j}")) for j in range(draw(st.integers(1, 3)))]
            body = "\n\n".join(textwrap.indent(m, "    ") for m in methods)
            parts.append(f"class C{k}:\n    attr = {k}\n\n{body}")
        else:
            parts.append(draw(functions(f"f{k}")))
    return "\n\n\n".join(parts) + "\n"


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(modules(), st.data())
def test_rewriting_a_function_with_its_own_source_changes_nothing(
    source: str, data: st.DataObject
) -> None:
    compile(source, "m.py", "exec")
    target = data.draw(st.sampled_from(functions_in(source)))
    lines = source.splitlines(keepends=True)
    own = "".join(lines[target.start_line - 1 : target.end_line])
    assert rewrite_function(source, target.qualname, own)[0] == source
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "m.py").write_text(source)
        with pytest.raises(EditError) as info:
            apply_edits(tmp, [FunctionRewrite("m.py", target.qualname, own)], protected=())
        assert info.value.reason == "no-op edit"
        assert (Path(tmp) / "m.py").read_text() == source


@FAST
@given(modules())
def test_enclosing_function_is_the_innermost_range(source: str) -> None:
    infos = functions_in(source)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.py"
        path.write_text(source)
        for line in range(0, source.count("\n") + 3):
            holding = [f for f in infos if f.start_line <= line <= f.end_line]
            expected = max(holding, key=lambda f: f.start_line).qualname if holding else None
            found = enclosing_function(path, line)
            assert (found.qualname if found else None) == expected


@FAST
@given(modules(), st.data())
def test_search_replace_and_back_restores_the_file(source: str, data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(functions_in(source)))
    lines = source.splitlines(keepends=True)
    chunk = "".join(lines[target.def_line - 1 : target.end_line])
    indent = chunk[: len(chunk) - len(chunk.lstrip())]
    changed = chunk.replace(":\n", ":\n" + indent + "    _probe = 0\n", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.py"
        path.write_text(source)
        apply_edits(tmp, [SearchReplace("m.py", chunk, changed)], protected=())
        assert path.read_text() == source.replace(chunk, changed, 1)
        # The same block with its indentation stripped finds its way back.
        apply_edits(
            tmp,
            [SearchReplace("m.py", textwrap.dedent(changed), textwrap.dedent(chunk))],
            protected=(),
        )
        assert path.read_text() == source


SAFE_LINE = st.text(
    st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30
).filter(lambda s: s.strip() == s and not s.startswith(("<", "=", ">", "`", "~")))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(SAFE_LINE, min_size=1, max_size=6),
    st.lists(SAFE_LINE, max_size=6),
    st.integers(5, 9),
    st.sampled_from(["", "```\n", "```python\n"]),
    st.booleans(),
)
def test_rendered_blocks_parse_back(
    search: list[str], replace: list[str], width: int, fence: str, crlf: bool
) -> None:
    search_text = "".join(f"{line}\n" for line in search)
    replace_text = "".join(f"{line}\n" for line in replace)
    text = (
        f"pkg/mod.py\n{fence}{'<' * width} SEARCH\n{search_text}{'=' * width}\n"
        f"{replace_text}{'>' * width} REPLACE\n{'```' if fence else ''}\n"
    )
    if crlf:
        text = text.replace("\n", "\r\n")
    assert parse_edits(text) == [SearchReplace("pkg/mod.py", search_text, replace_text)]


@settings(max_examples=80, deadline=None)
@given(st.data(), st.integers(-30, 30), st.booleans())
def test_diff_with_shifted_line_numbers_still_applies(
    data: st.DataObject, shift: int, git_prefixes: bool
) -> None:
    old = [f"line {i} {'x' * (i % 5)}" for i in range(data.draw(st.integers(5, 40)))]
    new = list(old)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(new) - 1))
        choice = data.draw(st.sampled_from(["replace", "insert", "delete"]))
        if choice == "replace":
            new[at] = f"changed {at} {data.draw(NAMES)}"
        elif choice == "insert":
            new.insert(at, f"inserted {data.draw(NAMES)}")
        elif len(new) > 1:
            del new[at]
    assume(new != old)
    old_text, new_text = "\n".join(old) + "\n", "\n".join(new) + "\n"
    a, b = ("a/notes.txt", "b/notes.txt") if git_prefixes else ("notes.txt", "notes.txt")
    diff_lines = []
    for line in difflib.unified_diff(old_text.splitlines(True), new_text.splitlines(True), a, b):
        if line.startswith("@@"):
            nums = line.split()[1][1:].split(",")
            nums[0] = str(max(1, int(nums[0]) + shift))
            line = f"@@ -{','.join(nums)} +1 @@\n"
        diff_lines.append(line)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "notes.txt").write_text(old_text)
        apply_edits(tmp, parse_edits("".join(diff_lines)), protected=())
        assert (Path(tmp) / "notes.txt").read_text() == new_text
