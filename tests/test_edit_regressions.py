"""One named test per malformed model output seen in practice (raw text → parse → apply)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.tools.edit import (
    EditError,
    FunctionRewrite,
    apply_edits,
    default_protected,
    parse_edits,
)

STATS = '''\
"""Running statistics."""

import math


def mean(xs):
    total = 0
    for x in xs:
        total += x
    return total / len(xs)


def stdev(xs):
    m = mean(xs)
    total = 0
    for x in xs:
        total += (x - m) ** 2
    return math.sqrt(total / len(xs))
'''
MEAN_FAST = STATS.replace(
    "    total = 0\n    for x in xs:\n        total += x\n    return total / len(xs)\n",
    "    return sum(xs) / len(xs)\n",
)
MEAN_BLOCK = """\
<<<<<<< SEARCH
    total = 0
    for x in xs:
        total += x
    return total / len(xs)
=======
    return sum(xs) / len(xs)
>>>>>>> REPLACE
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "pkg/__init__.py").write_text("")
    (root / "pkg/stats.py").write_text(STATS)
    (root / "pkg/other.py").write_text("def other():\n    return 1\n")
    (root / "tests/test_stats.py").write_text("def test_mean():\n    assert True\n")
    (root / "bench.py").write_text("import pkg.stats\n")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run(root: Path, output: str) -> None:
    apply_edits(root, parse_edits(output), protected=default_protected(["bench.py"]))


def failure(root: Path, output: str) -> EditError:
    before = snapshot(root)
    with pytest.raises(EditError) as info:
        run(root, output)
    assert snapshot(root) == before, "nothing may be written when an edit fails"
    assert "\n" not in str(info.value)
    return info.value


def stats(root: Path) -> str:
    return (root / "pkg/stats.py").read_text()


# -- fences and prose ------------------------------------------------------------------


def test_fence_with_language(repo: Path) -> None:
    run(repo, f"pkg/stats.py\n```python\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_fence_without_language(repo: Path) -> None:
    run(repo, f"```\npkg/stats.py\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_prose_before_and_after(repo: Path) -> None:
    output = (
        "The loop in `mean` is slow; summing with the builtin is faster.\n\n"
        f"pkg/stats.py\n```python\n{MEAN_BLOCK}```\n\n"
        "This keeps the result identical for lists of numbers. Let me know!\n"
    )
    run(repo, output)
    assert stats(repo) == MEAN_FAST


def test_filename_as_markdown_heading_with_backticks(repo: Path) -> None:
    run(repo, f"### `pkg/stats.py`\n\n```python\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_filename_mentioned_in_prose_before_the_fence(repo: Path) -> None:
    run(repo, f"In pkg/stats.py, replace the loop:\n\n```python\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_protected_file_mentioned_in_prose_is_not_taken_as_the_target(repo: Path) -> None:
    prose = "Speed up pkg/stats.py; tests/test_stats.py still passes.\n\n"
    run(repo, f"{prose}```python\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_filename_missing_taken_from_the_previous_block(repo: Path) -> None:
    second = (
        "<<<<<<< SEARCH\n    m = mean(xs)\n=======\n    m = sum(xs) / len(xs)\n>>>>>>> REPLACE\n"
    )
    run(repo, f"pkg/stats.py\n{MEAN_BLOCK}\nAnd then:\n\n{second}")
    assert stats(repo) == MEAN_FAST.replace("m = mean(xs)", "m = sum(xs) / len(xs)")


def test_filename_missing_recovered_from_content(repo: Path) -> None:
    run(repo, f"```python\n{MEAN_BLOCK}```\n")
    assert stats(repo) == MEAN_FAST


def test_filename_misspelt_recovered_from_content(repo: Path) -> None:
    run(repo, f"pkg/statistics.py\n{MEAN_BLOCK}")
    assert stats(repo) == MEAN_FAST
    assert not (repo / "pkg/statistics.py").exists()


# -- markers ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", [5, 7, 8, 9], ids=lambda w: f"{w}-char-markers")
def test_marker_widths(repo: Path, width: int) -> None:
    block = (
        MEAN_BLOCK.replace("<<<<<<<", "<" * width)
        .replace("=======", "=" * width)
        .replace(">>>>>>>", ">" * width)
    )
    run(repo, f"pkg/stats.py\n{block}")
    assert stats(repo) == MEAN_FAST


def test_four_char_markers_are_not_blocks(repo: Path) -> None:
    block = MEAN_BLOCK.replace("<<<<<<<", "<<<<").replace("=======", "====")
    err = failure(repo, "pkg/stats.py\n" + block.replace(">>>>>>>", ">>>>"))
    assert err.reason == "no edits"
    assert "<<<<<<< SEARCH" in err.feedback  # the feedback restates the format


def test_lowercase_markers(repo: Path) -> None:
    run(
        repo,
        "pkg/stats.py\n" + MEAN_BLOCK.replace("SEARCH", "search").replace("REPLACE", "Replace"),
    )
    assert stats(repo) == MEAN_FAST


def test_truncated_block_missing_replace_marker(repo: Path) -> None:
    cut = "pkg/stats.py\n<<<<<<< SEARCH\n    total = 0\n    for x in xs:\n=======\n    return sum("
    err = failure(repo, cut)
    assert err.reason == "malformed"
    assert "cut off" in str(err)
    assert err.block == 1


def test_truncated_block_missing_divider(repo: Path) -> None:
    err = failure(repo, "pkg/stats.py\n<<<<<<< SEARCH\n    total = 0\n    for x in")
    assert err.reason == "malformed"
    assert "no ======= line" in str(err)


def test_replace_marker_forgotten_but_fence_closes_the_block(repo: Path) -> None:
    block = MEAN_BLOCK.replace(">>>>>>> REPLACE\n", "")
    run(repo, f"pkg/stats.py\n```python\n{block}```\nDone.\n")
    assert stats(repo) == MEAN_FAST


def test_next_block_starts_before_replace_marker(repo: Path) -> None:
    block = MEAN_BLOCK.replace(">>>>>>> REPLACE\n", "")
    err = failure(repo, f"pkg/stats.py\n{block}{MEAN_BLOCK}")
    assert err.reason == "malformed"
    assert "no >>>>>>> REPLACE line before the next block" in str(err)


# -- whitespace ------------------------------------------------------------------------


def test_tabs_in_block_spaces_in_file(repo: Path) -> None:
    block = MEAN_BLOCK.replace("        ", "\t\t").replace("    ", "\t")
    run(repo, f"pkg/stats.py\n{block}")
    assert stats(repo) == MEAN_FAST


def test_spaces_in_block_tabs_in_file(repo: Path) -> None:
    (repo / "pkg/stats.py").write_text(STATS.replace("        ", "\t\t").replace("    ", "\t"))
    run(repo, f"pkg/stats.py\n{MEAN_BLOCK}")
    assert stats(repo) == MEAN_FAST.replace("        ", "\t\t").replace("    ", "\t")


def test_crlf_model_output_on_lf_file(repo: Path) -> None:
    run(repo, f"pkg/stats.py\n{MEAN_BLOCK}".replace("\n", "\r\n"))
    assert (repo / "pkg/stats.py").read_bytes() == MEAN_FAST.encode()


def test_lf_model_output_on_crlf_file(repo: Path) -> None:
    (repo / "pkg/stats.py").write_bytes(STATS.replace("\n", "\r\n").encode())
    run(repo, f"pkg/stats.py\n{MEAN_BLOCK}")
    assert (repo / "pkg/stats.py").read_bytes() == MEAN_FAST.replace("\n", "\r\n").encode()


def test_search_missing_one_indentation_level(repo: Path) -> None:
    block = (
        "<<<<<<< SEARCH\ntotal = 0\nfor x in xs:\n    total += x\nreturn total / len(xs)\n"
        "=======\nreturn sum(xs) / len(xs)\n>>>>>>> REPLACE\n"
    )
    run(repo, f"pkg/stats.py\n{block}")
    assert stats(repo) == MEAN_FAST


def test_trailing_whitespace_and_extra_blank_lines_in_search(repo: Path) -> None:
    block = MEAN_BLOCK.replace("total = 0\n", "total = 0   \n").replace(
        "<<<<<<< SEARCH\n", "<<<<<<< SEARCH\n\n"
    )
    run(repo, f"pkg/stats.py\n{block}")
    assert stats(repo) == MEAN_FAST


def test_search_with_reformatted_lines(repo: Path) -> None:
    block = MEAN_BLOCK.replace("total += x", "total+=x").replace("total / len(xs)", "total/len(xs)")
    run(repo, f"pkg/stats.py\n{block}")
    assert stats(repo) == MEAN_FAST


# -- matching --------------------------------------------------------------------------


def test_duplicate_matches_are_ambiguous(repo: Path) -> None:
    block = (
        "<<<<<<< SEARCH\n    total = 0\n    for x in xs:\n=======\n    total = 0.0\n"
        "    for x in xs:\n>>>>>>> REPLACE\n"
    )
    err = failure(repo, f"pkg/stats.py\n{block}")
    assert err.reason == "ambiguous"
    assert "match 2 places in pkg/stats.py (lines 7, 15)" in str(err)
    assert ">7 |     total = 0" in err.feedback and ">15 |     total = 0" in err.feedback


def test_search_not_found_shows_the_closest_lines(repo: Path) -> None:
    block = (
        "<<<<<<< SEARCH\n    for y in xs:\n        total += y\n=======\n    pass\n>>>>>>> REPLACE\n"
    )
    err = failure(repo, f"pkg/stats.py\n{block}")
    assert err.reason == "not found"
    assert "The closest lines in pkg/stats.py:\n" in err.feedback
    assert "> 8 |     for x in xs:\n> 9 |         total += x" in err.feedback


def test_edit_that_only_changes_whitespace(repo: Path) -> None:
    block = (
        MEAN_BLOCK.split("=======")[0]
        + "=======\n"
        + "    total = 0\n    for x in xs:\n        total += x   # add\n\n"
        + "    return total / len(xs)\n>>>>>>> REPLACE\n"
    )
    err = failure(repo, f"pkg/stats.py\n{block}")
    assert err.reason == "no-op edit"


def test_same_block_sent_twice(repo: Path) -> None:
    err = failure(repo, f"pkg/stats.py\n{MEAN_BLOCK}\npkg/stats.py\n{MEAN_BLOCK}")
    assert err.block == 2 and err.reason == "not found"
    # The closest lines are numbered as in the dry run, after block 1 changed the file.
    assert "The closest lines in pkg/stats.py (after block 1):\n" in err.feedback
    assert "- block 1 ('total = 0') at pkg/stats.py:7 (exact match)" in err.feedback


def test_second_block_fails_so_nothing_is_written(repo: Path) -> None:
    bad = "<<<<<<< SEARCH\n    m = median(xs)\n=======\n    m = 0\n>>>>>>> REPLACE\n"
    err = failure(repo, f"pkg/stats.py\n{MEAN_BLOCK}\npkg/stats.py\n{bad}")
    assert (err.block, err.reason, err.path) == (2, "not found", "pkg/stats.py")
    assert err.feedback.splitlines()[0] == (
        "The edit was not applied: 1 block failed. No file was changed."
    )
    assert "Block 2 ('m = median(xs)') in pkg/stats.py: not found" in err.feedback
    assert "These blocks applied cleanly in the dry run (but were not written either):\n" in (
        err.feedback
    )
    assert "- block 1 ('total = 0') at pkg/stats.py:7 (exact match)" in err.feedback


# -- paths -----------------------------------------------------------------------------


def test_edit_to_a_test_file_is_refused(repo: Path) -> None:
    block = "<<<<<<< SEARCH\n    assert True\n=======\n    assert 1\n>>>>>>> REPLACE\n"
    err = failure(repo, f"tests/test_stats.py\n{block}")
    assert err.reason == "protected path"
    assert "tests/test_stats.py is protected (matches 'tests/**')" in str(err)


def test_edit_to_the_workload_is_refused(repo: Path) -> None:
    block = "<<<<<<< SEARCH\nimport pkg.stats\n=======\nimport pkg\n>>>>>>> REPLACE\n"
    assert failure(repo, f"bench.py\n{block}").reason == "protected path"


def test_unnamed_block_matching_only_a_test_file_is_refused(repo: Path) -> None:
    block = "<<<<<<< SEARCH\n    assert True\n=======\n    assert 1\n>>>>>>> REPLACE\n"
    assert failure(repo, block).reason == "protected path"


def test_path_outside_the_repo_is_refused(repo: Path) -> None:
    err = failure(repo, "../evil.py\n<<<<<<< SEARCH\n=======\nimport os\n>>>>>>> REPLACE\n")
    assert err.reason == "outside repo"
    assert not (repo.parent / "evil.py").exists()


def test_empty_search_creates_a_file(repo: Path) -> None:
    run(repo, "pkg/fast.py\n```python\n<<<<<<< SEARCH\n=======\nX = 1\n>>>>>>> REPLACE\n```\n")
    assert (repo / "pkg/fast.py").read_text() == "X = 1\n"


# -- syntax ----------------------------------------------------------------------------


def test_edit_producing_a_syntax_error_is_caught(repo: Path) -> None:
    block = MEAN_BLOCK.replace("    return sum(xs) / len(xs)\n", "    return sum(xs / len(xs)\n")
    err = failure(repo, f"pkg/stats.py\n{block}")
    assert err.reason == "syntax error"
    assert err.path == "pkg/stats.py"
    assert "line 7" in str(err)
    assert "block(s) 1 changed this file" in err.feedback


def test_replacement_with_broken_indentation_is_caught(repo: Path) -> None:
    block = MEAN_BLOCK.replace("    return sum(xs) / len(xs)\n", "    x = 1\n      return x\n")
    assert failure(repo, f"pkg/stats.py\n{block}").reason == "syntax error"


# -- unified diffs ---------------------------------------------------------------------

MEAN_DIFF = """\
--- a/pkg/stats.py
+++ b/pkg/stats.py
@@ -6,5 +6,2 @@
 def mean(xs):
-    total = 0
-    for x in xs:
-        total += x
-    return total / len(xs)
+    return sum(xs) / len(xs)
"""


def test_diff_in_a_fence_with_git_header_and_prose(repo: Path) -> None:
    output = (
        "Here's the patch:\n\n```diff\ndiff --git a/pkg/stats.py b/pkg/stats.py\n"
        f"index 3b18e51..a8c2f10 100644\n{MEAN_DIFF}```\nThat's all.\n"
    )
    run(repo, output)
    assert stats(repo) == MEAN_FAST


def test_diff_with_wrong_hunk_line_numbers(repo: Path) -> None:
    run(repo, MEAN_DIFF.replace("@@ -6,5 +6,2 @@", "@@ -40,9 +41,1 @@"))
    assert stats(repo) == MEAN_FAST


def test_diff_with_bare_hunk_header(repo: Path) -> None:
    run(repo, MEAN_DIFF.replace("@@ -6,5 +6,2 @@", "@@ @@"))
    assert stats(repo) == MEAN_FAST


def test_diff_without_a_b_prefixes(repo: Path) -> None:
    run(repo, MEAN_DIFF.replace("a/pkg", "pkg").replace("b/pkg", "pkg"))
    assert stats(repo) == MEAN_FAST


def test_diff_hunk_whose_context_was_reformatted(repo: Path) -> None:
    run(
        repo,
        MEAN_DIFF.replace("-        total += x", "-        total+=x").replace(
            " def mean(xs):", " def mean( xs ):"
        ),
    )
    assert stats(repo) == MEAN_FAST


def test_diff_in_crlf_output(repo: Path) -> None:
    run(repo, MEAN_DIFF.replace("\n", "\r\n"))
    assert stats(repo) == MEAN_FAST


def test_diff_context_lines_missing_their_leading_space(repo: Path) -> None:
    # The model dropped the one-space prefix of context lines: "def mean(xs):" and an
    # indented line that is now one space short.
    diff = MEAN_DIFF.replace(" def mean(xs):\n", "def mean(xs):\n")
    diff = diff.replace("@@ -6,5 +6,2 @@\n", "@@ -6,5 +6,2 @@\n\n")
    run(repo, diff)
    assert stats(repo) == MEAN_FAST


def test_search_with_an_elision_is_not_found_and_says_where(repo: Path) -> None:
    block = (
        "<<<<<<< SEARCH\ndef mean(xs):\n    ...\n=======\n"
        "def mean(xs):\n    pass\n>>>>>>> REPLACE\n"
    )
    err = failure(repo, f"pkg/stats.py\n{block}")
    assert err.reason == "not found"
    assert ">6 | def mean(xs):" in err.feedback


def test_diff_blank_context_line_without_its_space(repo: Path) -> None:
    diff = (
        "--- a/pkg/stats.py\n+++ b/pkg/stats.py\n@@ -10,4 +10,4 @@\n"
        "     return total / len(xs)\n\n\n def stdev(xs):\n-    m = mean(xs)\n"
        "+    m = sum(xs) / len(xs)\n"
    )
    run(repo, diff)
    assert stats(repo) == STATS.replace("m = mean(xs)", "m = sum(xs) / len(xs)")


def test_diff_matching_twice_takes_the_place_nearest_the_stated_line(repo: Path) -> None:
    diff = (
        "--- a/pkg/stats.py\n+++ b/pkg/stats.py\n@@ -14,3 +14,3 @@\n"
        "     total = 0\n-    for x in xs:\n+    for x in list(xs):\n"
    )
    run(repo, diff)
    assert stats(repo) == STATS.replace(
        "    m = mean(xs)\n    total = 0\n    for x in xs:",
        "    m = mean(xs)\n    total = 0\n    for x in list(xs):",
    )


def test_diff_matching_twice_without_line_numbers_is_ambiguous(repo: Path) -> None:
    diff = (
        "--- a/pkg/stats.py\n+++ b/pkg/stats.py\n@@ @@\n     total = 0\n-    for x in xs:\n"
        "+    for x in list(xs):\n"
    )
    err = failure(repo, diff)
    assert err.reason == "ambiguous"
    assert "(lines 7, 15)" in str(err)


def test_diff_against_the_wrong_file(repo: Path) -> None:
    err = failure(repo, MEAN_DIFF.replace("pkg/stats.py", "pkg/other.py"))
    assert err.reason == "not found"
    assert err.path == "pkg/other.py"
    assert "these lines are in pkg/stats.py; did you mean that file?" in err.feedback


def test_diff_multiple_files_and_a_new_file(repo: Path) -> None:
    other = (
        "--- a/pkg/other.py\n+++ b/pkg/other.py\n@@ -1,2 +1,2 @@\n def other():\n"
        "-    return 1\n+    return 2\n"
    )
    new = "--- /dev/null\n+++ b/pkg/fast.py\n@@ -0,0 +1,2 @@\n+def fast():\n+    return 3\n"
    run(repo, MEAN_DIFF + other + new)
    assert stats(repo) == MEAN_FAST
    assert (repo / "pkg/other.py").read_text() == "def other():\n    return 2\n"
    assert (repo / "pkg/fast.py").read_text() == "def fast():\n    return 3\n"


def test_diff_two_hunks_shift_line_numbers(repo: Path) -> None:
    diff = MEAN_DIFF + (
        "@@ -15,3 +12,3 @@\n     total = 0\n-    for x in xs:\n+    for x in list(xs):\n"
    )
    run(repo, diff)
    assert stats(repo) == MEAN_FAST.replace(
        "    total = 0\n    for x in xs:", "    total = 0\n    for x in list(xs):"
    )


def test_diff_no_newline_marker(repo: Path) -> None:
    diff = (
        "--- a/pkg/other.py\n+++ b/pkg/other.py\n@@ -1,2 +1,2 @@\n def other():\n"
        "-    return 1\n\\ No newline at end of file\n+    return 2\n\\ No newline at end of file\n"
    )
    run(repo, diff)
    assert (repo / "pkg/other.py").read_text() == "def other():\n    return 2\n"


def test_diff_pure_insertion_uses_the_line_number(repo: Path) -> None:
    run(repo, "--- a/pkg/other.py\n+++ b/pkg/other.py\n@@ -2,0 +3,2 @@\n+\n+X = 1\n")
    assert (repo / "pkg/other.py").read_text() == "def other():\n    return 1\n\nX = 1\n"


def test_diff_to_a_test_file_is_refused(repo: Path) -> None:
    diff = (
        "--- a/tests/test_stats.py\n+++ b/tests/test_stats.py\n@@ -1,2 +1,2 @@\n"
        " def test_mean():\n-    assert True\n+    assert 1\n"
    )
    assert failure(repo, diff).reason == "protected path"


# -- function rewrites -----------------------------------------------------------------


def test_rewrite_of_a_method_in_a_decorated_commented_class(repo: Path) -> None:
    source = (
        "import functools\n\n\n@functools.total_ordering\nclass Box:\n"
        "    # size in cm\n    size = 1\n\n    @functools.lru_cache(maxsize=None)  # memo\n"
        "    def volume(self):\n        # cube it\n        return self.size ** 3\n\n"
        "    def __lt__(self, other):\n        return self.size < other.size\n"
    )
    (repo / "pkg/box.py").write_text(source)
    output = (
        "pkg/box.py::Box.volume\n```python\ndef volume(self):\n    s = self.size\n"
        "    return s * s * s\n```\n"
    )
    run(repo, output)
    assert (repo / "pkg/box.py").read_text() == source.replace(
        "        # cube it\n        return self.size ** 3\n",
        "        s = self.size\n        return s * s * s\n",
    )


def test_rewrite_with_a_new_helper_and_import(repo: Path) -> None:
    new = (
        "import statistics\n\n\ndef stdev(xs):\n    return _pstdev(xs)\n\n\n"
        "def _pstdev(xs):\n    return statistics.pstdev(xs)\n"
    )
    apply_edits(repo, [FunctionRewrite("pkg/stats.py", "stdev", new)], protected=())
    assert stats(repo) == STATS.replace(
        "import math\n", "import math\nimport statistics\n"
    ).replace(
        "    m = mean(xs)\n    total = 0\n    for x in xs:\n        total += (x - m) ** 2\n"
        "    return math.sqrt(total / len(xs))\n",
        "    return _pstdev(xs)\n\n\ndef _pstdev(xs):\n    return statistics.pstdev(xs)\n",
    )


def test_rewrite_with_its_own_source_is_a_no_op(repo: Path) -> None:
    own = (
        "def mean(xs):\n    total = 0\n    for x in xs:\n        total += x\n"
        "    return total / len(xs)\n"
    )
    before = snapshot(repo)
    with pytest.raises(EditError) as info:
        apply_edits(repo, [FunctionRewrite("pkg/stats.py", "mean", own)], protected=())
    assert info.value.reason == "no-op edit"
    assert snapshot(repo) == before


def test_rewrite_of_a_function_in_a_test_file_is_refused(repo: Path) -> None:
    new = "def test_mean():\n    assert 1\n"
    with pytest.raises(EditError) as info:
        apply_edits(
            repo,
            [FunctionRewrite("tests/test_stats.py", "test_mean", new)],
            protected=default_protected(),
        )
    assert info.value.reason == "protected path"


def test_mixed_formats_apply_in_order(repo: Path) -> None:
    rewrite = "pkg/other.py::other\n```python\ndef other():\n    return 7\n```\n"
    run(repo, f"First:\n{MEAN_DIFF}\nThen:\n{rewrite}")
    assert stats(repo) == MEAN_FAST
    assert (repo / "pkg/other.py").read_text() == "def other():\n    return 7\n"
