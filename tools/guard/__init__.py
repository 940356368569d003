"""The reward-hack guard, static part: what a candidate diff may not do, and what looks like
it games the benchmark rather than speeding the code up.

``check_candidate(tree_before, diff, protected=..., workload_sources=...)`` reads the diff
against the tree it applies to (never writing it) and returns a ``GuardResult``:

- ``rejected`` (hard, one line per file): the diff touches a protected path (tests,
  ``conftest.py``, workload files; the globs of ``tools.edit.paths``), deletes, renames or
  moves a file, reaches outside the tree or into ``.git``, changes a file that is not text
  (binary patch, NUL bytes, not UTF-8, symlink or submodule), or does not apply; or it adds
  or changes code that runs at interpreter start-up or ahead of the harness (``start_up.py``:
  ``sitecustomize.py``, ``usercustomize.py``, ``*.pth``, a new module shadowing the standard
  library or perfagent's child modules), which could patch the clock before it is read.
- ``flags`` (soft, ``path:line in qualname: kind: detail``): Python code the diff *adds* —
  findings of the changed module after the diff that it did not have before (``scan.py``) —
  of kind ``cache`` (state that outlives a call or the process), ``special-casing``
  (inputs compared with literals that look like the benchmark's) or ``introspection``
  (timers, stack frames, the harness's files and variables); ``unchecked`` when a changed
  module does not parse here.

Flags are for a person or a stricter run to weigh: a memo can be a legitimate speed-up.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfagent.tools.edit.errors import BlockProblem
from perfagent.tools.edit.paths import resolve
from perfagent.tools.guard.diff import DiffError, FileChange, apply, parse
from perfagent.tools.guard.findings import Finding, added_findings
from perfagent.tools.guard.literals import Value, workload_literals
from perfagent.tools.guard.scan import scan
from perfagent.tools.guard.start_up import start_up_problem
from perfagent.tools.rules import HELPER_SOURCES

__all__ = ["GuardResult", "check_candidate"]

_REGULAR_MODES = frozenset({"100644", "100755"})


@dataclass
class GuardResult:
    rejected: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing rejected (flags may remain)."""
        return not self.rejected


class _Rejected(Exception):
    """One file's change may not be made; the message is the rejection line."""


def check_candidate(
    tree_before: Path,
    diff: str,
    *,
    protected: Sequence[str],
    workload_sources: Sequence[str] = (),
) -> GuardResult:
    """Judge ``diff`` (git-style, paths relative to ``tree_before``) without applying it.

    ``protected`` are repo-relative globs (``tools.edit.paths.default_protected``);
    ``workload_sources`` are the workload files' texts, whose literals count as inputs.
    """
    result = GuardResult()
    try:
        changes = parse(diff)
    except DiffError as exc:
        result.rejected.append(f"the diff is malformed: {exc}")
        return result
    workload = workload_literals(workload_sources)
    seen: set[str] = set()
    for change in changes:
        try:
            path = _allowed_path(tree_before, change, protected)
            if path in seen:
                raise _Rejected(f"{path} is changed twice in one diff")
            seen.add(path)
            before, after, added = _texts(tree_before, change, path)
        except _Rejected as exc:
            result.rejected.append(str(exc))
            continue
        if path.endswith(".py"):
            findings = _new_findings(before, after, added, workload, protected)
            result.flags.extend(f.render(path) for f in findings)
    return result


def _allowed_path(root: Path, change: FileChange, protected: Sequence[str]) -> str:
    """The repo-relative path the change writes, or ``_Rejected``."""
    paths = [p for p in (change.old_path, change.new_path) if p is not None]
    try:
        resolved = [resolve(root, p, protected) for p in paths]
    except BlockProblem as exc:
        raise _Rejected(exc.detail) from None
    if change.new_path is None:
        raise _Rejected(f"{resolved[0]} is deleted: a candidate may not delete files")
    if len(resolved) == 2 and resolved[0] != resolved[1] and not change.copy:
        raise _Rejected(
            f"{resolved[0]} is renamed to {resolved[1]}: a candidate may not move or delete files"
        )
    path = resolved[-1]
    problem = start_up_problem(path, root)
    if problem:
        raise _Rejected(f"{path} {problem}")
    if change.binary:
        raise _Rejected(f"{path} is not a text file (binary patch)")
    if change.new_mode is not None and change.new_mode not in _REGULAR_MODES:
        raise _Rejected(f"{path} is not a regular file (mode {change.new_mode})")
    return path


def _texts(root: Path, change: FileChange, path: str) -> tuple[str | None, str, set[int]]:
    """The file before (``None`` when created), after, and the line numbers added."""
    source = change.old_path if change.old_path is not None else None
    before: str | None = None
    if change.copy and ((root / path).exists() or (root / path).is_symlink()):
        raise _Rejected(f"{path} already exists but the diff creates it")
    if source is not None:
        old_rel = resolve(root, source, ())  # already checked; resolves a copy's source
        if not (root / old_rel).is_file():
            raise _Rejected(f"{old_rel} does not exist in the tree")
        before = _read_text(root / old_rel, old_rel)
    elif (root / path).exists() or (root / path).is_symlink():
        raise _Rejected(f"{path} already exists but the diff creates it")
    old_lines = [] if before is None else before.split("\n")
    if old_lines and old_lines[-1] == "":
        old_lines.pop()
    try:
        new_lines, added = apply(old_lines, change.hunks)
    except DiffError as exc:
        raise _Rejected(f"{path} does not apply: {exc}") from None
    after = "\n".join(new_lines) + "\n"
    if "\0" in after:
        raise _Rejected(f"{path} is not a text file (NUL bytes)")
    # A copy is a new file: its source's findings are new there too.
    return (None if change.copy else before), after, added


def _read_text(file: Path, rel: str) -> str:
    data = file.read_bytes()
    if b"\0" in data:
        raise _Rejected(f"{rel} is not a text file (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise _Rejected(f"{rel} is not a text file (not UTF-8)") from None


def _new_findings(
    before: str | None,
    after: str,
    added: set[int],
    workload: frozenset[Value],
    protected: Sequence[str],
) -> list[Finding]:
    # A byte-order mark is text to ``ast.parse`` when given a str; it moves no line.
    after, before = after.removeprefix("\ufeff"), before and before.removeprefix("\ufeff")
    try:
        after_findings = scan(after, workload, protected)
    except SyntaxError as exc:
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        detail = f"does not parse with Python {version} ({exc.msg}); not checked"
        return [Finding("unchecked", exc.lineno or 0, "<module>", detail)]
    trusted = _rule_helpers_in(after)
    after_findings = [f for f in after_findings if not (f.kind == "cache" and f.scope in trusted)]
    before_findings: list[Finding] = []
    if before is not None:
        # When the old module does not parse, everything the new one has counts as added.
        with contextlib.suppress(SyntaxError):
            before_findings = scan(before, workload, protected)
    return added_findings(before_findings, after_findings, added)


@functools.cache
def _rule_helper_trees() -> frozenset[str]:
    return frozenset(ast.dump(ast.parse(source).body[0]) for source in HELPER_SOURCES)


def _rule_helpers_in(source: str) -> set[str]:
    """Top-level functions that are, node for node, a helper perfagent's own rules add (a
    bounded cache of compiled patterns, not of results): their caches are not flagged. Any
    other code touching the same names is still scanned as usual."""
    return {
        node.name
        for node in ast.parse(source).body
        if isinstance(node, ast.FunctionDef) and ast.dump(node) in _rule_helper_trees()
    }
