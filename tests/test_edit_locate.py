"""Locating functions: by line (profiler samples), by name, and the context for a prompt."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from perfagent.tools.edit import (
    EditError,
    FunctionInfo,
    SearchReplace,
    apply_edits,
    enclosing_function,
    find_function,
    function_context,
    functions_in,
)

MODULE = '''\
import os
from typing import Any


def top(x):
    return x + 1


# comment above the decorators
@staticmethod
@other(
    1,
)
def decorated():
    pass


class Shape:
    """A shape."""

    sides = 0

    def area(self):
        def helper():
            return 1

        return helper()

    async def fetch(self):
        return None

    class Inner:
        def deep(self):
            return 2


def outer():
    class Local:
        def method(self):
            return 3

    async def inner():
        return 4

    return Local, inner
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def test_functions_in_lists_qualnames_ranges_and_kinds() -> None:
    found = [
        (f.qualname, f.start_line, f.end_line, f.def_line, f.is_method, f.is_async)
        for f in functions_in(MODULE)
    ]
    assert found == [
        ("top", 5, 6, 5, False, False),
        ("decorated", 10, 15, 14, False, False),
        ("Shape.area", 23, 27, 23, True, False),
        ("Shape.area.<locals>.helper", 24, 25, 24, False, False),
        ("Shape.fetch", 29, 30, 29, True, True),
        ("Shape.Inner.deep", 33, 34, 33, True, False),
        ("outer", 37, 45, 37, False, False),
        ("outer.<locals>.Local.method", 39, 40, 39, True, False),
        ("outer.<locals>.inner", 42, 43, 42, False, True),
    ]
    by_name = {f.qualname: f for f in functions_in(MODULE)}
    assert by_name["Shape.area"].class_qualname == "Shape"
    assert by_name["outer.<locals>.Local.method"].class_qualname == "outer.<locals>.Local"
    assert by_name["top"].class_qualname is None


def test_functions_in_reads_a_path_or_a_py_filename(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def f():\n    pass\n")
    assert [f.qualname for f in functions_in(path)] == ["f"]
    assert functions_in(path)[0].path == path
    assert [f.qualname for f in functions_in(str(path))] == ["f"]
    assert functions_in("x = 1\n") == []


def test_functions_in_crlf_source_has_the_same_lines() -> None:
    lf = [(f.qualname, f.start_line, f.end_line) for f in functions_in(MODULE)]
    crlf = [
        (f.qualname, f.start_line, f.end_line) for f in functions_in(MODULE.replace("\n", "\r\n"))
    ]
    assert crlf == lf


def test_functions_in_syntax_error_is_an_edit_error() -> None:
    with pytest.raises(EditError) as info:
        functions_in("def f(:\n    pass\n")
    assert info.value.reason == "syntax error"
    assert "\n" not in str(info.value)


def test_enclosing_function_is_the_innermost(tmp_path: Path) -> None:
    path = write(tmp_path, {"m.py": MODULE}) / "m.py"

    def name(line: int) -> str | None:
        found = enclosing_function(path, line)
        return found.qualname if found else None

    assert name(1) is None  # import
    assert name(6) == "top"
    assert name(7) is None  # blank line between functions
    assert name(11) == "decorated"  # a decorator line belongs to its function
    assert name(23) == "Shape.area"
    assert name(25) == "Shape.area.<locals>.helper"
    assert name(27) == "Shape.area"
    assert name(20) is None  # class body, outside methods
    assert name(40) == "outer.<locals>.Local.method"
    assert name(45) == "outer"


def test_enclosing_function_sees_a_changed_file(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def a():\n    return 1\n")
    first = enclosing_function(path, 2)
    assert first is not None and first.qualname == "a"
    path.write_text("x = 0\n\ndef b():\n    return 1\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new mtime for sure
    second = enclosing_function(path, 4)
    assert second is not None and second.qualname == "b"


def test_enclosing_function_sees_a_file_replaced_by_apply_edits(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("def a():\n    return 1\n")
    stat = path.stat()
    assert enclosing_function(path, 1) is not None
    edit = SearchReplace("m.py", "def a():\n", "def b():\n")
    apply_edits(tmp_path, [edit], protected=())
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # same mtime and size as before
    found = enclosing_function(path, 1)
    assert found is not None and found.qualname == "b"


def test_enclosing_function_is_none_for_unparseable_or_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(:\n")
    assert enclosing_function(bad, 1) is None
    assert enclosing_function(tmp_path / "missing.py", 1) is None
    binary = tmp_path / "bin.py"
    binary.write_bytes(b"\xff\xfe\x00def")
    assert enclosing_function(binary, 1) is None


def test_enclosing_function_repeated_calls_use_the_cache(tmp_path: Path) -> None:
    path = write(tmp_path, {"m.py": MODULE}) / "m.py"
    first = enclosing_function(path, 25)
    assert first is not None and first.qualname == "Shape.area.<locals>.helper"
    assert all(enclosing_function(path, 25) is first for _ in range(1000))


REPO = {
    "pkg/__init__.py": "",
    "pkg/shapes.py": MODULE,
    "pkg/util.py": """\
        def top(x):
            return x

        def scale(v, k):
            return v * k
        """,
    "scripts/run.py": """\
        def main():
            pass
        """,
}


def test_find_function_by_path_and_qualname(tmp_path: Path) -> None:
    root = write(tmp_path, REPO)
    found = find_function(root, "pkg/shapes.py::Shape.area")
    assert (found.qualname, found.path, found.start_line) == (
        "Shape.area",
        Path("pkg/shapes.py"),
        23,
    )


def test_find_function_by_qualname_across_the_repo(tmp_path: Path) -> None:
    root = write(tmp_path, REPO)
    assert find_function(root, "Shape.fetch").path == Path("pkg/shapes.py")
    assert find_function(root, "main").path == Path("scripts/run.py")
    # The short form of a nested name, and a bare method name, are accepted.
    assert find_function(root, "outer.inner").qualname == "outer.<locals>.inner"
    assert find_function(root, "deep").qualname == "Shape.Inner.deep"


def test_find_function_ambiguous_lists_candidates(tmp_path: Path) -> None:
    root = write(tmp_path, REPO)
    with pytest.raises(EditError) as info:
        find_function(root, "top")
    assert info.value.reason == "ambiguous"
    assert "pkg/shapes.py::top (line 5)" in info.value.feedback
    assert "pkg/util.py::top (line 1)" in info.value.feedback


def test_find_function_missing_lists_closest_names(tmp_path: Path) -> None:
    root = write(tmp_path, REPO)
    with pytest.raises(EditError) as info:
        find_function(root, "Shape.aera")
    assert info.value.reason == "not found"
    assert "pkg/shapes.py::Shape.area" in info.value.feedback
    with pytest.raises(EditError) as info:
        find_function(root, "pkg/shapes.py::Shape.fetchh")
    assert "Shape.fetch" in info.value.feedback
    with pytest.raises(EditError) as info:
        find_function(root, "pkg/shape.py::Shape.area")
    assert "no file pkg/shape.py" in str(info.value)
    assert "pkg/shapes.py" in info.value.feedback


CONTEXT_REPO = {
    "pkg/__init__.py": "",
    "pkg/util.py": """\
        def scale(v, k):
            return v * k


        def unused():
            return 0
        """,
    "pkg/mathx.py": """\
        def norm(xs):
            return sum(x * x for x in xs) ** 0.5
        """,
    "pkg/model.py": '''\
        """Models."""
        import json
        from pkg.util import scale
        from pkg import mathx
        try:
            import numpy as np
        except ImportError:
            np = None


        def clamp(x):
            return max(0, x)


        class Model:
            """A model."""

            weights: list[float] = []
            LIMIT = 10

            def __init__(self, w):
                self.weights = w

            def _prep(self, x):
                return [clamp(v) for v in x]

            def predict(self, x):
                def local(y):
                    return y

                xs = self._prep(x)
                s = scale(mathx.norm(xs), 2)
                print(json.dumps(s))
                return local(s) + len(Model([1]).weights)

            def other(self):
                return 1
        ''',
}


def test_function_context_collects_imports_class_header_and_callees(tmp_path: Path) -> None:
    root = write(tmp_path, CONTEXT_REPO)
    ctx = function_context(root, "pkg/model.py::Model.predict")
    assert ctx.path == "pkg/model.py"
    assert ctx.source.startswith("    def predict(self, x):\n")
    assert ctx.source.endswith("        return local(s) + len(Model([1]).weights)\n")
    assert ctx.imports == (
        "import json\nfrom pkg.util import scale\nfrom pkg import mathx\nimport numpy as np\n"
    )
    assert ctx.class_header == (
        'class Model:\n    """A model."""\n    weights: list[float] = []\n    LIMIT = 10\n    ...\n'
    )
    assert [(c.path, c.qualname) for c in ctx.callees] == [
        ("pkg/model.py", "Model._prep"),
        ("pkg/util.py", "scale"),
        ("pkg/mathx.py", "norm"),
        ("pkg/model.py", "Model.__init__"),
    ]
    assert ctx.callees[1].source == "def scale(v, k):\n    return v * k\n"
    assert ctx.omitted == ()
    text = ctx.render()
    assert "## pkg/model.py::Model.predict (lines 27-34)" in text
    assert "# pkg/util.py::scale (lines 1-2)" in text
    assert "def other" not in text and "def unused" not in text


def test_function_context_budget_leaves_callees_out_and_says_so(tmp_path: Path) -> None:
    root = write(tmp_path, CONTEXT_REPO)
    full = function_context(root, "Model.predict")
    base = len(full.source) + len(full.imports) + len(full.class_header or "")
    tight = function_context(root, "Model.predict", budget_chars=base + 10)
    assert tight.callees == ()
    assert tight.omitted == (
        "pkg/model.py::Model._prep",
        "pkg/util.py::scale",
        "pkg/mathx.py::norm",
        "pkg/model.py::Model.__init__",
    )
    assert "left out for size: pkg/model.py::Model._prep" in tight.render()
    # The function itself is always there, however small the budget.
    assert function_context(root, "Model.predict", budget_chars=1).source == full.source


def test_function_context_of_a_plain_function(tmp_path: Path) -> None:
    root = write(tmp_path, CONTEXT_REPO)
    ctx = function_context(root, "pkg/model.py::clamp")
    assert ctx.class_header is None
    assert ctx.callees == ()  # max() is a builtin
    assert isinstance(ctx.target, FunctionInfo) and ctx.target.qualname == "clamp"
