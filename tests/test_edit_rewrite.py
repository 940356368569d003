"""Function rewrites with libcst: replace by qualified name, keep everything else."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.tools.edit import EditError, FunctionRewrite, apply_edits, parse_edits
from perfagent.tools.edit.errors import BlockProblem
from perfagent.tools.edit.rewrite import rewrite_function

SHAPES = '''\
import math


class Circle:
    """A circle."""

    # cache of areas
    _cache = {}

    def __init__(self, r):
        self.r = r

    # Hot path: called per frame.
    @staticmethod
    @some.decorator(  # keep me
        level=2,
    )
    def area(r):  # trailing comment
        # compute
        return math.pi * r ** 2  # square

    def perimeter(self):
        return 2 * math.pi * self.r
'''


def rewrite(source: str, qualname: str, new: str) -> str:
    return rewrite_function(source, qualname, new)[0]


def test_method_with_decorators_and_comments_keeps_its_surroundings() -> None:
    # The new source comes indented as in the class and without decorators.
    new = "    def area(r):\n        return math.pi * r * r\n"
    assert rewrite(SHAPES, "Circle.area", new) == SHAPES.replace(
        "    def area(r):  # trailing comment\n        # compute\n"
        "        return math.pi * r ** 2  # square\n",
        "    def area(r):\n        return math.pi * r * r\n",
    )
    assert rewrite_function(SHAPES, "Circle.area", new)[1] == 14  # the first decorator


def test_new_decorators_replace_the_old_ones_and_a_bare_helper_goes_to_module_level() -> None:
    new = (
        "@staticmethod\ndef area(r):\n    return _area(r)\n\ndef _area(r):\n    return PI * r * r\n"
    )
    assert rewrite(SHAPES, "Circle.area", new) == (
        "import math\n\n\n"
        "def _area(r):\n    return PI * r * r\n\n\n"
        'class Circle:\n    """A circle."""\n\n    # cache of areas\n    _cache = {}\n\n'
        "    def __init__(self, r):\n        self.r = r\n\n"
        "    # Hot path: called per frame.\n    @staticmethod\n"
        "    def area(r):\n        return _area(r)\n\n"
        "    def perimeter(self):\n        return 2 * math.pi * self.r\n"
    )


def test_new_imports_are_merged_without_duplicates() -> None:
    new = "from math import pi, tau\nimport math\n\ndef perimeter(self):\n    return tau * self.r\n"
    assert rewrite(SHAPES, "Circle.perimeter", new) == SHAPES.replace(
        "import math\n", "import math\nfrom math import pi, tau\n"
    ).replace("return 2 * math.pi * self.r", "return tau * self.r")


def test_async_function() -> None:
    source = (
        "import asyncio\n\n\nasync def fetch(urls):\n    results = []\n    for u in urls:\n"
        "        results.append(await get(u))\n    return results\n"
    )
    new = "async def fetch(urls):\n    return await asyncio.gather(*(get(u) for u in urls))\n"
    assert rewrite(source, "fetch", new) == (
        "import asyncio\n\n\nasync def fetch(urls):\n"
        "    return await asyncio.gather(*(get(u) for u in urls))\n"
    )


@pytest.mark.parametrize("qualname", ["outer.<locals>.key", "outer.key"])
def test_nested_function(qualname: str) -> None:
    source = (
        "def outer(xs):\n    def key(x):\n        return sorted(x)[0]\n\n"
        "    return sorted(xs, key=key)\n"
    )
    assert rewrite(source, qualname, "def key(x):\n    return min(x)\n") == (
        "def outer(xs):\n    def key(x):\n        return min(x)\n\n    return sorted(xs, key=key)\n"
    )


def test_nested_function_helper_stays_inside_the_outer_function() -> None:
    source = "def outer():\n    def inner():\n        return 1\n    return inner()\n"
    new = "def inner():\n  if True:\n    return 2\ndef helper():\n  return 3\n"
    assert rewrite(source, "outer.inner", new) == (
        "def outer():\n    def inner():\n        if True:\n            return 2\n\n"
        "    def helper():\n        return 3\n    return inner()\n"
    )


def test_helper_and_import_for_a_module_level_function() -> None:
    source = '"""Doc."""\n\n\ndef f(xs):\n    return sorted(xs)[0]\n'
    new = (
        "import heapq\n\ndef f(xs):\n    return _least(xs)\n\ndef _least(xs):\n"
        "    return heapq.nsmallest(1, xs)[0]\n"
    )
    assert rewrite(source, "f", new) == (
        '"""Doc."""\n\nimport heapq\n\n\ndef f(xs):\n    return _least(xs)\n\n\n'
        "def _least(xs):\n    return heapq.nsmallest(1, xs)[0]\n"
    )


def test_module_constant_before_the_function() -> None:
    source = "import os\n\n\ndef f():\n    return 1\n"
    assert rewrite(source, "f", "LIMIT = 10\n\ndef f():\n    return LIMIT\n") == (
        "import os\n\n\nLIMIT = 10\n\n\ndef f():\n    return LIMIT\n"
    )


def test_future_import_goes_first_and_repeats_are_dropped() -> None:
    source = '"""Doc."""\nimport os\n\n\ndef f():\n    return 1\n'
    new = (
        "from __future__ import annotations\nimport os\nimport sys, os\n"
        "from os import path as p, sep\n\ndef f():\n    return sys.maxsize\n"
    )
    assert rewrite(source, "f", new) == (
        '"""Doc."""\n\nfrom __future__ import annotations\nimport os\nimport sys\n'
        "from os import path as p, sep\n\n\ndef f():\n    return sys.maxsize\n"
    )


def test_import_bound_in_a_try_block_is_not_repeated() -> None:
    source = (
        "try:\n    import ujson as json\nexcept ImportError:\n    import json\n\n\n"
        "def f():\n    return 1\n"
    )
    new = "import json\ndef f():\n    return json.dumps(1)\n"
    assert rewrite(source, "f", new) == source.replace("return 1", "return json.dumps(1)")


def test_method_helpers_using_self_stay_in_the_class() -> None:
    source = "class C:\n    def m(self):\n        return 1\n"
    new = "def m(self):\n    return self._n()\n\ndef _n(self):\n    return 3\n"
    assert rewrite(source, "C.m", new) == (
        "class C:\n    def m(self):\n        return self._n()\n\n    def _n(self):\n"
        "        return 3\n"
    )


def test_existing_helper_of_the_same_name_is_replaced_in_place() -> None:
    source = "def f():\n    return _h()\n\n\ndef _h():\n    return 0\n"
    new = "def f():\n    return _h()\n\n\ndef _h():\n    return 5\n"
    assert rewrite(source, "f", new) == "def f():\n    return _h()\n\n\ndef _h():\n    return 5\n"


def test_method_wrapped_in_its_class_is_unwrapped() -> None:
    source = "class C:\n    def m(self):\n        return 1\n"
    new = (
        "class C:\n    '''doc'''\n    def m(self):\n        return self._n()\n\n"
        "    def _n(self):\n        return 3\n"
    )
    assert rewrite(source, "C.m", new) == (
        "class C:\n    def m(self):\n        return self._n()\n\n    def _n(self):\n"
        "        return 3\n"
    )


def test_property_setter_is_picked_by_its_decorator() -> None:
    source = (
        "class C:\n    @property\n    def p(self):\n        return self._p\n\n"
        "    @p.setter\n    def p(self, v):\n        self._p = v\n"
    )
    new = "@p.setter\ndef p(self, v):\n    self._p = int(v)\n"
    assert rewrite(source, "C.p", new) == source.replace("self._p = v", "self._p = int(v)")
    with pytest.raises(BlockProblem) as info:
        rewrite(source, "C.p", "def p(self, v):\n    self._p = int(v)\n")
    assert info.value.reason == "ambiguous"
    assert "(lines 2, 6)" in info.value.detail


def test_tabs_file_keeps_tabs_whatever_the_new_source_uses() -> None:
    source = "class A:\n\tdef f(self):\n\t\treturn 1\n\n\tdef g(self):\n\t\treturn 2\n"
    new = "def f(self):\n    if self:\n        return 3\n    return 4\n"
    assert rewrite(source, "A.f", new) == (
        "class A:\n\tdef f(self):\n\t\tif self:\n\t\t\treturn 3\n\t\treturn 4\n\n"
        "\tdef g(self):\n\t\treturn 2\n"
    )


def test_fenced_two_space_source_is_reindented() -> None:
    new = "```python\ndef f():\n  if True:\n    return 2\n```\n"
    assert rewrite("def f():\n    return 1\n", "f", new) == (
        "def f():\n    if True:\n        return 2\n"
    )


def test_multiline_string_contents_are_untouched() -> None:
    source = "def f():\n    x = '''\n  keep\n'''\n    return x\n"
    new = "    def f():\n        x = '''\n  keep\n'''\n        return x + ''\n"
    assert rewrite(source, "f", new) == "def f():\n    x = '''\n  keep\n'''\n    return x + ''\n"


def test_unknown_function_lists_the_closest_names() -> None:
    with pytest.raises(BlockProblem) as info:
        rewrite(SHAPES, "Circle.aera", "def aera(r):\n    return 1\n")
    assert info.value.reason == "not found"
    assert "Circle.area (line 14)" in info.value.excerpt


def test_new_source_without_the_function_is_refused() -> None:
    with pytest.raises(BlockProblem) as info:
        rewrite("def f():\n    return 1\n", "f", "def g():\n    return 1\n")
    assert info.value.reason == "not found"
    assert info.value.excerpt == "It defines: g"


def test_new_source_syntax_error_names_its_line() -> None:
    with pytest.raises(BlockProblem) as info:
        rewrite("def f():\n    return 1\n", "f", "def f():\n    return (1\n\n")
    assert info.value.reason == "syntax error"
    assert "the new source does not parse" in info.value.detail


def test_rewrite_block_parsed_from_model_output(tmp_path: Path) -> None:
    (tmp_path / "shapes.py").write_text(SHAPES)
    output = (
        "I'll rewrite the hot method.\n\n**shapes.py::Circle.area**\n```python\n"
        "def area(r):\n    return math.pi * r * r\n```\nDone.\n"
    )
    edits = parse_edits(output)
    assert edits == [
        FunctionRewrite("shapes.py", "Circle.area", "def area(r):\n    return math.pi * r * r\n")
    ]
    apply_edits(tmp_path, edits, protected=())
    assert (
        "    def area(r):\n        return math.pi * r * r\n" in (tmp_path / "shapes.py").read_text()
    )


def test_rewrite_of_a_file_that_no_longer_parses_is_explained(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n    return 1\n")
    edits = [
        parse_edits("m.py\n<<<<<<< SEARCH\n    return 1\n=======\n    return (\n>>>>>>> REPLACE\n")[
            0
        ],
        FunctionRewrite("m.py", "f", "def f():\n    return 2\n"),
    ]
    with pytest.raises(EditError) as info:
        apply_edits(tmp_path, edits, protected=())
    assert info.value.block == 2
    assert "does not parse before this rewrite" in str(info.value)
