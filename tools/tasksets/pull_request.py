"""The expert of a row that names only its pull request, read from a local clone.

Importers fetch nothing, so this works only when the row's repository is a local folder or
a ``file://`` URL (a fetched copy or a mirror). The PR's commit is, in this order:

1. a merge commit whose subject is ``Merge pull request #N …`` and whose first parent
   descends from the base commit (the PR merged after the base);
2. else a commit whose subject ends in ``(#N)`` (GitHub's squash and rebase merges) whose
   parent descends from the base.

The expert is the diff first parent → that commit restricted to source files that are not
tests (tests, docs, benchmarks and changelogs change what is measured or nothing at all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from perfagent.tools import runner

SOURCE_SUFFIXES = frozenset(
    {".py", ".pyx", ".pxd", ".pxi", ".c", ".cc", ".cpp", ".cxx", ".h", ".hpp", ".f", ".f90",
     ".rs", ".pyi"}
)  # fmt: skip
_NOT_SOURCE_DIRS = frozenset(
    {"test", "tests", "testing", "doc", "docs", "benchmarks", "asv_bench", "bench", "examples"}
)
_LIMITS = runner.Limits(timeout_s=300, memory_mb=None, output_bytes=64_000_000)


@dataclass(frozen=True)
class PullRequestExpert:
    """What was found for PR #number: the commit, why it was chosen, and its source diff."""

    number: int
    commit: str | None
    parent: str | None
    reason: str  # which rule chose the commit, or why none was chosen
    diff: str = ""
    kept: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # changed files left out of the diff


def pr_number(value: str) -> int | None:
    """``42``, ``#42`` or ``https://github.com/o/n/pull/42`` → 42."""
    match = re.search(r"(?:/pull/|^#?)(\d{1,7})/?$", value.strip())
    return int(match.group(1)) if match else None


def is_test_or_not_source(path: str) -> bool:
    parts = PurePosixPath(path)
    name = parts.name
    if parts.suffix not in SOURCE_SUFFIXES:
        return True
    if any(part.lower() in _NOT_SOURCE_DIRS for part in parts.parts[:-1]):
        return True
    return name.startswith("test_") or name.endswith("_test.py") or name == "conftest.py"


def _git(repo: Path, *args: str) -> runner.RunResult:
    return runner.run(["git", *args], cwd=repo, limits=_LIMITS)


def _descends(repo: Path, ancestor: str, commit: str) -> bool:
    return _git(repo, "merge-base", "--is-ancestor", ancestor, commit).returncode == 0


def _candidates(repo: Path, number: int) -> list[tuple[str, list[str], str]]:
    log = _git(
        repo, "log", "--all", "--fixed-strings", f"--grep=#{number}", "--format=%H%x00%P%x00%s"
    )
    found = []
    for line in log.stdout.splitlines():
        sha, parents, subject = [*line.split("\x00"), "", ""][:3]
        found.append((sha, parents.split(), subject))
    return found


def find_expert(repo: Path, base: str, number: int) -> PullRequestExpert:
    """The PR's commit in ``repo`` (a local clone) and its non-test source diff."""
    if not _git(repo, "rev-parse", "--verify", "--quiet", f"{base}^{{commit}}").ok:
        return PullRequestExpert(number, None, None, f"base commit {base} is not in {repo}")
    merge = re.compile(rf"^Merge pull request #{number}(\s|$)")
    squash = re.compile(rf"\(#{number}\)\s*$")
    chosen: tuple[str, str, str] | None = None
    candidates = _candidates(repo, number)
    for sha, parents, subject in candidates:
        if len(parents) >= 2 and merge.match(subject) and _descends(repo, base, parents[0]):
            why = f"merge commit `{subject}`; its first parent descends from the base"
            chosen = (sha, parents[0], why)
            break
    if chosen is None:
        for sha, parents, subject in candidates:
            if len(parents) == 1 and squash.search(subject) and _descends(repo, base, parents[0]):
                why = f"squash commit `{subject}`; its parent descends from the base"
                chosen = (sha, parents[0], why)
                break
    if chosen is None:
        return PullRequestExpert(
            number,
            None,
            None,
            f"no merge commit `Merge pull request #{number}` nor a commit ending in "
            f"`(#{number})` after the base in {repo} ({len(candidates)} commit(s) mention "
            f"#{number})",
        )
    sha, parent, why = chosen
    if parent != _git(repo, "rev-parse", base).stdout.strip():
        why += f" (its parent {parent[:12]} is not the base itself: the diff may not apply)"
    changed = _git(repo, "diff", "--name-only", "--no-renames", parent, sha).stdout.split()
    kept = [path for path in changed if not is_test_or_not_source(path)]
    dropped = [path for path in changed if is_test_or_not_source(path)]
    diff = (
        _git(repo, "diff", "--no-renames", "--binary", parent, sha, "--", *kept).stdout
        if kept
        else ""
    )
    return PullRequestExpert(number, sha, parent, why, diff, kept, dropped)


def local_repo(repo: str) -> Path | None:
    """The folder of a ``file://`` URL or an absolute path, if it is a git repository."""
    path = Path(repo.removeprefix("file://")) if repo.startswith(("file://", "/")) else None
    if path is None or (not (path / ".git").exists() and not (path / "HEAD").is_file()):
        return None
    return path
