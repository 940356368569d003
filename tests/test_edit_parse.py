"""Parsing model output, the matching strategies, and the error type, as units."""

from __future__ import annotations

import pytest

from perfagent.tools.edit import (
    EditError,
    FilePatch,
    FunctionRewrite,
    Hunk,
    SearchReplace,
    parse_edits,
)
from perfagent.tools.edit.errors import BlockFailure
from perfagent.tools.edit.match import find_matches, rebase, trim_blank_ends
from perfagent.tools.edit.model import AppliedBlock
from perfagent.tools.edit.text import closest_lines
from perfagent.tools.errors import PerfagentError

BLOCK = "<<<<<<< SEARCH\nold\n=======\nnew\n>>>>>>> REPLACE\n"


@pytest.mark.parametrize(
    "before",
    [
        "pkg/mod.py\n",
        "`pkg/mod.py`\n",
        "**pkg/mod.py**\n",
        "### pkg/mod.py\n",
        "File: pkg/mod.py\n",
        "filename: `pkg/mod.py`:\n",
        "pkg/mod.py:\n",
        "./pkg/mod.py\n",
        "pkg\\mod.py\n",
        "pkg/mod.py\n```python\n",
        "pkg/mod.py\n\n```\n",
        "```python pkg/mod.py\n",
        "- pkg/mod.py\n",
    ],
)
def test_stated_filename_forms(before: str) -> None:
    assert parse_edits(before + BLOCK) == [SearchReplace("pkg/mod.py", "old\n", "new\n")]


def test_filename_on_the_search_marker_line() -> None:
    text = BLOCK.replace("SEARCH\n", "SEARCH pkg/mod.py\n")
    assert parse_edits(text) == [SearchReplace("pkg/mod.py", "old\n", "new\n")]


def test_filename_sources() -> None:
    text = (
        f"Edit `pkg/a.py` and more.\n```python\n{BLOCK}```\n"
        f"pkg/b.py\n{BLOCK}"
        f"Now the same file again:\n{BLOCK}"
    )
    assert [(e.path, e.path_source) for e in parse_edits(text) if isinstance(e, SearchReplace)] == [
        ("pkg/a.py", "mentioned"),
        ("pkg/b.py", "stated"),
        ("pkg/b.py", "previous block"),
    ]


def test_no_filename_at_all() -> None:
    assert parse_edits(BLOCK) == [SearchReplace(None, "old\n", "new\n", "none")]


def test_code_line_before_a_block_is_not_a_filename() -> None:
    text = "x = obj.attr\n" + BLOCK
    assert parse_edits(text)[0] == SearchReplace(None, "old\n", "new\n", "none")


def test_block_text_keeps_blank_lines_and_indentation() -> None:
    text = "m.py\n<<<<<<< SEARCH\n\n    a\n\n=======\n\tb\n\n>>>>>>> REPLACE\n"
    assert parse_edits(text) == [SearchReplace("m.py", "\n    a\n\n", "\tb\n\n")]


def test_empty_search_and_empty_replace() -> None:
    text = "m.py\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n"
    text += "m.py\n<<<<<<< SEARCH\nx = 1\n=======\n>>>>>>> REPLACE\n"
    assert parse_edits(text) == [
        SearchReplace("m.py", "", "x = 1\n"),
        SearchReplace("m.py", "x = 1\n", ""),
    ]


def test_divider_inside_the_replacement_is_content() -> None:
    text = "m.py\n<<<<<<< SEARCH\na\n=======\nb\n=======\nc\n>>>>>>> REPLACE\n"
    assert parse_edits(text) == [SearchReplace("m.py", "a\n", "b\n=======\nc\n")]


def test_second_search_marker_before_divider_is_malformed() -> None:
    with pytest.raises(EditError) as info:
        parse_edits("m.py\n<<<<<<< SEARCH\na\n<<<<<<< SEARCH\nb\n=======\nc\n>>>>>>> REPLACE\n")
    assert info.value.reason == "malformed"
    assert info.value.block == 1


def test_unified_diff_fields() -> None:
    text = (
        "diff --git a/pkg/m.py b/pkg/m.py\nnew file mode 100644\nindex 0000000..1111111\n"
        "--- a/pkg/m.py\t2024-01-01 00:00:00\n+++ b/pkg/m.py\t2024-01-02 00:00:00\n"
        "@@ -3,2 +3,3 @@ def f():\n a\n-b\n+c\n+d\n"
        "Some words between hunks.\n"
        "@@ -10 +11 @@\n-x\n+y\n"
    )
    assert parse_edits(text) == [
        FilePatch(
            "pkg/m.py",
            "pkg/m.py",
            (
                Hunk(
                    3,
                    "@@ -3,2 +3,3 @@ def f():",
                    ((" ", "a"), ("-", "b"), ("+", "c"), ("+", "d")),
                    2,
                ),
                Hunk(10, "@@ -10 +11 @@", (("-", "x"), ("+", "y")), None),
            ),
        )
    ]


def test_diff_prefixes_kept_unless_git_style() -> None:
    text = "--- a/m.py\n+++ m.py\n@@ -1 +1 @@\n-x\n+y\n"
    patch = parse_edits(text)[0]
    assert isinstance(patch, FilePatch)
    assert (patch.old_path, patch.new_path) == ("a/m.py", "m.py")


def test_diff_new_and_deleted_files() -> None:
    text = (
        "--- /dev/null\n+++ b/new.py\n@@ -0,0 +1 @@\n+x = 1\n"
        "--- a/old.py\n+++ /dev/null\n@@ -1 +0,0 @@\n-x = 1\n"
    )
    patches = parse_edits(text)
    assert [(p.old_path, p.new_path) for p in patches if isinstance(p, FilePatch)] == [
        (None, "new.py"),
        ("old.py", None),
    ]


def test_diff_ends_at_the_fence_and_drops_trailing_prose() -> None:
    text = "```diff\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x\n+y\n```\nDone.\n"
    text2 = "--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x\n+y\n\nThat is all.\n"
    hunk = Hunk(1, "@@ -1 +1 @@", (("-", "x"), ("+", "y")), None)
    assert parse_edits(text) == [FilePatch("m.py", "m.py", (hunk,))]
    assert parse_edits(text2) == [FilePatch("m.py", "m.py", (hunk,))]


@pytest.mark.parametrize(
    "header",
    [
        "pkg/m.py::C.f",
        "`pkg/m.py::C.f`",
        "**pkg/m.py::C.f**",
        "### pkg/m.py::C.f",
        "Rewrite pkg/m.py::C.f:",
    ],
)
def test_rewrite_header_forms(header: str) -> None:
    text = f"{header}\n\n```python\ndef f(self):\n    return 1\n```\n"
    assert parse_edits(text) == [FunctionRewrite("pkg/m.py", "C.f", "def f(self):\n    return 1\n")]


def test_rewrite_mention_without_a_code_block_is_prose() -> None:
    with pytest.raises(EditError) as info:
        parse_edits("I looked at pkg/m.py::C.f\nand it is fine.\n")
    assert info.value.reason == "no edits"


def test_rewrite_cut_off_is_malformed() -> None:
    with pytest.raises(EditError) as info:
        parse_edits("pkg/m.py::f\n```python\ndef f():\n    return")
    assert info.value.reason == "malformed"
    assert "cut off" in str(info.value)


def test_mixed_formats_come_back_in_order() -> None:
    text = (
        "pkg/m.py::f\n```python\ndef f():\n    pass\n```\n"
        "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"
        f"y.py\n{BLOCK}"
    )
    assert [type(e).__name__ for e in parse_edits(text)] == [
        "FunctionRewrite",
        "FilePatch",
        "SearchReplace",
    ]


# -- matching --------------------------------------------------------------------------


def test_exact_match_wins_over_tolerant_ones() -> None:
    file = ["def f():", "    x = 1", "x = 1"]
    matches = find_matches(file, ["x = 1"], ["x = 2"])
    assert [(m.start, m.how) for m in matches] == [(2, "exact")]


def test_indentation_offset_reindents_the_replacement() -> None:
    file = ["class A:", "    def f(self):", "        return 1"]
    [match] = find_matches(file, ["def f(self):", "    return 1"], ["def f(self):", "    return 2"])
    assert (match.start, match.end, match.how) == (1, 3, "indentation offset")
    assert match.replacement == ("    def f(self):", "        return 2")


def test_over_indented_search_is_shifted_left() -> None:
    file = ["if x:", "    y()"]
    [match] = find_matches(file, ["        y()"], ["        z()", "    w()"])
    assert match.replacement == ("    z()", "w()")


def test_whitespace_insensitive_maps_lines_and_skips_blank_ones() -> None:
    file = ["def f(a,b):", "", "    return a+b"]
    [match] = find_matches(file, ["def f(a, b):", "    return a + b"], ["def f(a, b):", "    pass"])
    assert (match.start, match.end, match.how, match.lines) == (
        0,
        3,
        "whitespace-insensitive",
        (0, 2),
    )


def test_trim_blank_ends() -> None:
    assert trim_blank_ends(["", "a", "", ""], ["", "b", ""]) == (["a"], ["b"])
    assert trim_blank_ends(["a", ""], ["b", "", ""]) == (["a"], ["b", ""])


def test_rebase() -> None:
    assert rebase(["x", "    y", ""], "", "  ") == ["  x", "      y", ""]
    assert rebase(["    x", "y"], "    ", "") == ["x", "y"]


def test_closest_lines_numbers_the_best_window() -> None:
    file = ["a = 1", "def f():", "    return 1", "b = 2"]
    assert closest_lines(file, ["def f():", "    return 2"], context=1) == (
        " 1 | a = 1\n>2 | def f():\n>3 |     return 1\n 4 | b = 2"
    )
    assert closest_lines(file, ["zzzzzz qqqq"]) == ""


# -- the error ---------------------------------------------------------------------------


def test_edit_error_is_a_perfagent_error_with_one_line_str() -> None:
    failures = [
        BlockFailure("not found", "x not in m.py", path="m.py", block=2, label="x", excerpt="a\nb"),
        BlockFailure("protected path", "tests/t.py is protected", path="tests/t.py", block=3),
    ]
    applied = [AppliedBlock(1, "m.py", "y", "exact", 4)]
    err = EditError(failures, applied)
    assert isinstance(err, PerfagentError)
    assert str(err) == "block 2 ('x') in m.py: not found: x not in m.py (and 1 more failed)"
    assert (err.reason, err.path, err.block) == ("not found", "m.py", 2)
    assert err.feedback == (
        "The edit was not applied: 2 blocks failed. No file was changed.\n\n"
        "Block 2 ('x') in m.py: not found: x not in m.py\na\nb\n\n"
        "Block 3 in tests/t.py: protected path: tests/t.py is protected\n\n"
        "These blocks applied cleanly in the dry run (but were not written either):\n"
        "- block 1 ('y') at m.py:4 (exact match)\n"
        "Send the complete corrected set of edits again, including those that applied.\n"
    )
    with pytest.raises(ValueError):
        EditError([])
