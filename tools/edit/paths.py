"""Which paths an edit may touch: inside the repo, not protected.

Protected patterns are globs relative to the repo root, matched against ``/``-separated
paths: ``*`` and ``?`` stay within one path segment, ``**`` spans segments (``**/x`` also
matches ``x`` at the root), and a pattern also covers everything below a directory it names.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

from perfagent.tools.edit.errors import BlockProblem
from perfagent.tools.taskspec import Task

# Tests and their fixtures decide whether a candidate is correct, so a candidate may not
# change them; the task's workload files are added by ``default_protected``.
DEFAULT_PROTECTED: tuple[str, ...] = (
    "tests/**",
    "test/**",
    "**/tests/**",
    "**/test/**",
    "**/test_*.py",
    "**/*_test.py",
    "**/conftest.py",
)


def default_protected(workload_files: Iterable[str] = ()) -> list[str]:
    """The usual protected set plus the task's workload files (relative to the repo)."""
    extra = [normalize_path(str(p)) for p in workload_files]
    return [*DEFAULT_PROTECTED, *(p for p in extra if p not in DEFAULT_PROTECTED)]


def protected_patterns(task: Task) -> tuple[str, ...]:
    """The one protected-path rule of a task (guard, nodes, CLI and lab all use it): tests
    and their fixtures, the task's workload files, and what the task itself protects."""
    patterns = default_protected(w.file for w in task.workloads() if w.file)
    extra = (normalize_path(p) for p in task.spec.protected)
    return tuple(dict.fromkeys([*patterns, *extra]))


def is_protected(path: str, patterns: Sequence[str]) -> bool:
    return any(matches_glob(path, pattern) for pattern in patterns)


def normalize_path(raw: str) -> str:
    """How a model writes a path → a clean relative (or absolute) ``/`` path."""
    path = raw.strip().strip("`'\"").replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    pattern = normalize_path(pattern).rstrip("/")
    out = []
    i = 0
    while i < len(pattern):
        if pattern.endswith("/**") and i == len(pattern) - 3:  # "dir/**" covers dir itself
            break
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end].replace("\\", "\\\\")
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out) + "(?:/.*)?")


def matches_glob(path: str, pattern: str) -> bool:
    """Whether the relative ``path`` is covered by ``pattern`` (see the module docstring)."""
    return _glob_regex(pattern).fullmatch(normalize_path(path)) is not None


def resolve(repo_root: Path, raw: str, protected: Sequence[str]) -> str:
    """The repo-relative path for ``raw``, or ``BlockProblem`` when it may not be edited.

    An absolute path inside the repo is accepted (models echo the workspace path).
    """
    path = normalize_path(raw)
    if not path:
        raise BlockProblem("malformed", "the block names no file")
    root = repo_root.resolve()
    if path.startswith("/") or re.match(r"^[A-Za-z]:/", path):
        try:
            path = Path(path).resolve().relative_to(root).as_posix()
        except ValueError:
            raise BlockProblem(
                "outside repo",
                f"{raw} is outside the repository",
                hint="use paths relative to the repository root",
            ) from None
    rel = posixpath.normpath(path)
    if rel == ".." or rel.startswith("../") or rel == ".":
        raise BlockProblem(
            "outside repo",
            f"{raw} is outside the repository",
            hint="use paths relative to the repository root",
        )
    try:  # a symlink inside the repo may still point out of it
        (root / rel).resolve().relative_to(root)
    except ValueError:
        raise BlockProblem("outside repo", f"{raw} resolves outside the repository") from None
    if ".git" in rel.split("/"):
        raise BlockProblem("protected path", f"{rel} is inside .git")
    for pattern in protected:
        if matches_glob(rel, pattern):
            raise BlockProblem(
                "protected path",
                f"{rel} is protected (matches {pattern!r}): tests and workload files may not"
                " be changed",
                hint="make the code faster without touching tests or the workload",
            )
    return rel
