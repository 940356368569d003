"""Applying edits: all-or-nothing, protected paths, syntax and no-op checks, file handling."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from perfagent.tools.edit import (
    EditError,
    FilePatch,
    FunctionRewrite,
    Hunk,
    SearchReplace,
    apply_edits,
    default_protected,
    matches_glob,
    parse_edits,
)

CALC = '''\
def total(n):
    """Sum of squares."""
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)


def mean(xs):
    return sum(xs) / len(xs)
'''
FAST_TOTAL = '''\
def total(n):
    """Sum of squares."""
    return sum(i * i for i in range(n))


def mean(xs):
    return sum(xs) / len(xs)
'''


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return write(
        tmp_path / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/calc.py": CALC,
            "pkg/stats.py": "def var(xs):\n    return 0\n",
            "tests/test_calc.py": "def test_total():\n    assert True\n",
            "conftest.py": "",
            "bench.py": "import pkg.calc\n",
        },
    )


SLOW_LOOP = "    values = []\n    for i in range(n):\n        values = values + [i * i]\n"
FAST_RETURN = "    return sum(i * i for i in range(n))\n"


def test_search_replace_applies_and_reports(repo: Path) -> None:
    edit = SearchReplace("pkg/calc.py", SLOW_LOOP + "    return sum(values)\n", FAST_RETURN)
    outcome = apply_edits(repo, [edit], protected=default_protected(["bench.py"]))
    assert (repo / "pkg/calc.py").read_text() == FAST_TOTAL
    assert outcome.changed_files == ("pkg/calc.py",)
    assert outcome.created_files == ()
    assert [(a.block, a.path, a.how, a.line) for a in outcome.applied] == [
        (1, "pkg/calc.py", "exact", 3)
    ]
    header = "diff --git a/pkg/calc.py b/pkg/calc.py\n--- a/pkg/calc.py\n+++ b/pkg/calc.py\n"
    assert outcome.diff.startswith(header + "@@ -1,9 +1,6 @@\n")
    assert "-    values = []\n" in outcome.diff and "+    return sum(i * i" in outcome.diff


def test_blocks_apply_in_order_to_the_edited_text(repo: Path) -> None:
    edits = [
        SearchReplace("pkg/calc.py", "    return sum(values)\n", "    return sum(values) + 0\n"),
        SearchReplace("pkg/calc.py", "    return sum(values) + 0\n", "    return sum(values)\n"),
        SearchReplace("pkg/stats.py", "    return 0\n", "    return 1\n"),
    ]
    outcome = apply_edits(repo, edits, protected=())
    assert (repo / "pkg/calc.py").read_text() == CALC
    assert (repo / "pkg/stats.py").read_text() == "def var(xs):\n    return 1\n"
    # calc.py ends as it was, so only stats.py counts as changed.
    assert outcome.changed_files == ("pkg/stats.py",)


def test_empty_search_creates_a_new_file(repo: Path) -> None:
    edit = SearchReplace("pkg/fast.py", "", "def f():\n    return 1\n")
    outcome = apply_edits(repo, [edit], protected=())
    assert (repo / "pkg/fast.py").read_text() == "def f():\n    return 1\n"
    assert outcome.created_files == ("pkg/fast.py",)
    assert outcome.applied[0].how == "create"
    header = "diff --git a/pkg/fast.py b/pkg/fast.py\nnew file mode 100644\n"
    assert outcome.diff.startswith(header + "--- /dev/null\n+++ b/pkg/fast.py\n")


def test_empty_search_appends_to_an_existing_file(repo: Path) -> None:
    (repo / "pkg/stats.py").write_text("def var(xs):\n    return 0")  # no final newline
    edit = SearchReplace("pkg/stats.py", "\n", "\n\ndef std(xs):\n    return 0\n")
    outcome = apply_edits(repo, [edit], protected=())
    assert (repo / "pkg/stats.py").read_text() == (
        "def var(xs):\n    return 0\n\n\ndef std(xs):\n    return 0\n"
    )
    assert outcome.applied[0].how == "append"


def test_new_file_in_a_new_directory(repo: Path) -> None:
    apply_edits(repo, [SearchReplace("pkg/sub/deep.py", "", "X = 1\n")], protected=())
    assert (repo / "pkg/sub/deep.py").read_text() == "X = 1\n"


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("tests/test_calc.py", "tests/**", True),
        ("tests", "tests/**", True),
        ("pkg/tests/x.py", "**/tests/**", True),
        ("test_x.py", "**/test_*.py", True),
        ("pkg/sub/test_x.py", "**/test_*.py", True),
        ("pkg/sub/x_test.py", "**/*_test.py", True),
        ("pkg/latest.py", "**/test_*.py", False),
        ("pkg/contest.py", "**/*_test.py", False),
        ("conftest.py", "conftest.py", True),
        ("pkg/conftest.py", "conftest.py", False),
        ("pkg/conftest.py", "**/conftest.py", True),
        ("./bench.py", "bench.py", True),
        ("benchmarks/run.py", "benchmarks", True),
        ("pkg/a.py", "pkg/?.py", True),
        ("pkg/ab.py", "pkg/[!a]b.py", False),
        ("pkg/calc.py", "*.py", False),
    ],
)
def test_matches_glob(path: str, pattern: str, expected: bool) -> None:
    assert matches_glob(path, pattern) is expected


def test_default_protected_adds_workload_files() -> None:
    assert default_protected(["./bench/run.py"]) == [
        "tests/**",
        "test/**",
        "**/tests/**",
        "**/test/**",
        "**/test_*.py",
        "**/*_test.py",
        "**/conftest.py",
        "bench/run.py",
    ]


@pytest.mark.parametrize(
    "path", ["tests/test_calc.py", "conftest.py", "bench.py", "pkg/test_new.py", ".git/config"]
)
def test_protected_paths_are_refused(repo: Path, path: str) -> None:
    before = snapshot(repo)
    with pytest.raises(EditError) as info:
        apply_edits(
            repo,
            [SearchReplace(path, "", "x = 1\n")],
            protected=default_protected(["bench.py"]),
        )
    assert info.value.reason == "protected path"
    assert info.value.path is None or info.value.path == path
    assert snapshot(repo) == before


@pytest.mark.parametrize("path", ["../outside.py", "pkg/../../outside.py", "/etc/passwd"])
def test_paths_outside_the_repo_are_refused(repo: Path, path: str) -> None:
    before = snapshot(repo)
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace(path, "", "x = 1\n")], protected=())
    assert info.value.reason == "outside repo"
    assert "outside the repository" in info.value.feedback
    assert snapshot(repo) == before
    assert not (repo.parent / "outside.py").exists()


def test_symlink_out_of_the_repo_is_refused(repo: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (repo / "link").symlink_to(outside)
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace("link/x.py", "", "x = 1\n")], protected=())
    assert info.value.reason == "outside repo"
    assert list(outside.iterdir()) == []


def test_absolute_path_inside_the_repo_is_accepted(repo: Path) -> None:
    edit = SearchReplace(str(repo / "pkg/stats.py"), "    return 0\n", "    return 1\n")
    outcome = apply_edits(repo, [edit], protected=())
    assert outcome.changed_files == ("pkg/stats.py",)


def test_syntax_error_is_caught_before_writing(repo: Path) -> None:
    before = snapshot(repo)
    edits = [
        SearchReplace("pkg/stats.py", "    return 0\n", "    return 1\n"),
        SearchReplace("pkg/calc.py", "    return sum(values)\n", "    return sum(values\n"),
    ]
    with pytest.raises(EditError) as info:
        apply_edits(repo, edits, protected=())
    err = info.value
    assert err.reason == "syntax error"
    assert err.path == "pkg/calc.py"
    assert err.block == 2
    assert "line 6" in str(err)
    assert ">6 |     return sum(values" in err.feedback
    assert "block 1 ('return 0') at pkg/stats.py:2 (exact match)" in err.feedback
    assert snapshot(repo) == before


def test_syntax_error_from_compile_only(repo: Path) -> None:
    # Parses, but compile() refuses: 'return' outside a function.
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace("pkg/new.py", "", "return 1\n")], protected=())
    assert info.value.reason == "syntax error"
    assert "'return' outside function" in str(info.value)


def test_non_python_files_are_not_syntax_checked(repo: Path) -> None:
    apply_edits(repo, [SearchReplace("pkg/data.txt", "", "def (:\n")], protected=())
    assert (repo / "pkg/data.txt").read_text() == "def (:\n"


def test_whitespace_or_comment_only_edit_is_a_no_op(repo: Path) -> None:
    before = snapshot(repo)
    edits = [
        SearchReplace("pkg/calc.py", "    return sum(values)\n", "    return sum( values )  # x\n")
    ]
    with pytest.raises(EditError) as info:
        apply_edits(repo, edits, protected=())
    assert info.value.reason == "no-op edit"
    assert "only whitespace or comments in pkg/calc.py" in str(info.value)
    assert snapshot(repo) == before
    outcome = apply_edits(repo, edits, allow_noop=True, protected=())
    assert outcome.notes == ("pkg/calc.py: only whitespace or comments changed",)
    assert "return sum( values )  # x" in (repo / "pkg/calc.py").read_text()


def test_identical_replacement_is_a_no_op(repo: Path) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(
            repo, [SearchReplace("pkg/stats.py", "    return 0\n", "    return 0\n")], protected=()
        )
    assert info.value.reason == "no-op edit"
    assert "every file exactly as it was" in str(info.value)
    assert info.value.feedback.startswith(
        "The edit was not applied. No file was changed.\n\nNo-op edit: the edits leave"
    )


def test_cosmetic_change_next_to_a_real_one_is_a_note(repo: Path) -> None:
    edits = [
        SearchReplace("pkg/stats.py", "    return 0\n", "    return 0  # zero\n"),
        SearchReplace("pkg/calc.py", "    return sum(values)\n", "    return sum(values) * 1\n"),
    ]
    outcome = apply_edits(repo, edits, protected=())
    assert outcome.changed_files == ("pkg/stats.py", "pkg/calc.py")
    assert outcome.notes == ("pkg/stats.py: only whitespace or comments changed",)


def test_all_failures_are_reported_together(repo: Path) -> None:
    before = snapshot(repo)
    edits = [
        SearchReplace("pkg/calc.py", "    values = []\n", "    values: list[int] = []\n"),
        SearchReplace("pkg/calc.py", "    for j in range(n):\n", "    for j in range(n + 1):\n"),
        SearchReplace("tests/test_calc.py", "    assert True\n", "    assert 1\n"),
        SearchReplace("pkg/stats.py", "    return 0\n", "    return 2\n"),
    ]
    with pytest.raises(EditError) as info:
        apply_edits(repo, edits, protected=["tests/**"])
    err = info.value
    assert [(f.block, f.reason, f.path) for f in err.failures] == [
        (2, "not found", "pkg/calc.py"),
        (3, "protected path", "tests/test_calc.py"),
    ]
    assert [a.block for a in err.applied] == [1, 4]
    assert str(err) == (
        "block 2 ('for j in range(n):') in pkg/calc.py: not found: the SEARCH lines are not in"
        " pkg/calc.py (and 1 more failed)"
    )
    assert err.feedback.startswith(
        "The edit was not applied: 2 blocks failed. No file was changed."
    )
    assert ">4 |     for i in range(n):" in err.feedback  # the closest line, numbered
    assert "- block 4 ('return 0') at pkg/stats.py:2 (exact match)" in err.feedback
    assert snapshot(repo) == before


def test_crlf_file_stays_crlf(repo: Path) -> None:
    (repo / "pkg/calc.py").write_bytes(CALC.replace("\n", "\r\n").encode())
    edit = SearchReplace("pkg/calc.py", SLOW_LOOP + "    return sum(values)\n", FAST_RETURN)
    apply_edits(repo, [edit], protected=())
    assert (repo / "pkg/calc.py").read_bytes() == FAST_TOTAL.replace("\n", "\r\n").encode()


def test_bom_mode_and_missing_final_newline_are_kept(repo: Path) -> None:
    path = repo / "pkg/stats.py"
    path.write_bytes(b"\xef\xbb\xbfdef var(xs):\n    return 0")
    os.chmod(path, 0o755)
    apply_edits(
        repo, [SearchReplace("pkg/stats.py", "    return 0\n", "    return 1\n")], protected=()
    )
    assert path.read_bytes() == b"\xef\xbb\xbfdef var(xs):\n    return 1"
    assert path.stat().st_mode & 0o777 == 0o755


def test_not_utf8_is_reported(repo: Path) -> None:
    (repo / "pkg/latin.py").write_bytes(b"# caf\xe9\nx = 1\n")
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace("pkg/latin.py", "x = 1\n", "x = 2\n")], protected=())
    assert info.value.reason == "unreadable"


def test_a_failed_write_leaves_no_file_changed(repo: Path) -> None:
    before = snapshot(repo)
    edits = [
        SearchReplace("pkg/stats.py", "    return 0\n", "    return 1\n"),
        # pkg/calc.py is a file, so this directory cannot be made: writing fails.
        SearchReplace("pkg/calc.py/new.py", "", "x = 1\n"),
    ]
    with pytest.raises(OSError):
        apply_edits(repo, edits, protected=())
    assert snapshot(repo) == before


def test_file_recovered_from_content_when_unnamed(repo: Path) -> None:
    edit = SearchReplace(None, "    return 0\n", "    return 1\n", path_source="none")
    outcome = apply_edits(repo, [edit], protected=())
    assert (repo / "pkg/stats.py").read_text() == "def var(xs):\n    return 1\n"
    assert outcome.notes == (
        "block 1: applied to pkg/stats.py, the one file containing its lines"
        " (the output named no file)",
    )


def test_misspelt_file_recovered_from_content(repo: Path) -> None:
    edit = SearchReplace("pkg/stat.py", "    return 0\n", "    return 1\n")
    outcome = apply_edits(repo, [edit], protected=())
    assert outcome.changed_files == ("pkg/stats.py",)


def test_missing_file_with_unknown_lines_names_similar_files(repo: Path) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace("pkg/stat.py", "nothing like it\n", "x\n")], protected=())
    assert info.value.reason == "file missing"
    assert "pkg/stats.py" in info.value.feedback


def test_function_rewrite_through_apply_edits(repo: Path) -> None:
    new = 'def total(n):\n    """Sum of squares."""\n    return sum(i * i for i in range(n))\n'
    outcome = apply_edits(repo, [FunctionRewrite("pkg/calc.py", "total", new)], protected=())
    assert (repo / "pkg/calc.py").read_text() == FAST_TOTAL
    assert [(a.how, a.line, a.label) for a in outcome.applied] == [("rewrite", 1, "rewrite total")]


def test_function_rewrite_of_a_missing_file(repo: Path) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(
            repo,
            [FunctionRewrite("pkg/calcs.py", "total", "def total(n):\n    pass\n")],
            protected=(),
        )
    assert info.value.reason == "file missing"
    assert "pkg/calc.py" in info.value.feedback


def test_unified_diff_applies(repo: Path) -> None:
    diff = (
        "--- a/pkg/calc.py\n+++ b/pkg/calc.py\n@@ -2,5 +2,2 @@\n"
        '     """Sum of squares."""\n'
        "-    values = []\n-    for i in range(n):\n-        values = values + [i * i]\n"
        "-    return sum(values)\n+    return sum(i * i for i in range(n))\n"
    )
    outcome = apply_edits(repo, parse_edits(diff), protected=())
    assert (repo / "pkg/calc.py").read_text() == FAST_TOTAL
    assert [(a.how, a.line) for a in outcome.applied] == [("exact", 2)]


def test_diff_creating_an_existing_file_is_refused(repo: Path) -> None:
    patch = FilePatch(None, "pkg/stats.py", (Hunk(0, "@@ -0,0 +1 @@", (("+", "x = 1"),), 0),))
    with pytest.raises(EditError) as info:
        apply_edits(repo, [patch], protected=())
    assert info.value.reason == "file exists"


def test_diff_deleting_a_file_is_refused(repo: Path) -> None:
    patch = FilePatch("pkg/stats.py", None, (Hunk(1, "@@ -1,2 +0,0 @@", (("-", "x"),), 2),))
    with pytest.raises(EditError) as info:
        apply_edits(repo, [patch], protected=())
    assert info.value.reason == "unsupported"
    assert (repo / "pkg/stats.py").exists()


def test_no_edits_is_an_error(repo: Path) -> None:
    with pytest.raises(EditError) as info:
        apply_edits(repo, [], protected=())
    assert info.value.reason == "no edits"


def test_edit_error_str_is_one_line(repo: Path) -> None:
    multi = "    for i in range(n):\n        values = values + [i * i]\n    return x\n"
    with pytest.raises(EditError) as info:
        apply_edits(repo, [SearchReplace("pkg/calc.py", multi, "pass\n")], protected=())
    assert "\n" not in str(info.value)
    assert info.value.feedback.count("\n") > 5
