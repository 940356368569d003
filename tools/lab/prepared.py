"""A task made ready once: its clone, its venv with ``setup`` run, and a tree per variant.

``measure``, the baseline check and ``profile_task`` all start here (``prepare_task``), and
a caller that runs many of them (the agent's run) passes one ``PreparedTask`` to each, so
the repository is cloned and ``setup`` runs once per run. Trees are keyed by what is in
them (the commit and the patches applied to it): asking twice for the same variant returns
the same tree, built once. Test results are kept per tree *content* (git's tree hash), so a
tree with the same files — the kept candidate that becomes the next round's base — is
never tested again.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import git

from perfagent.tools import runner
from perfagent.tools.errors import WorkspaceError
from perfagent.tools.lab.report import TestResult
from perfagent.tools.progress import Progress, StageStarted, ignore
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import Task
from perfagent.tools.workspace import GIT_TIMEOUT_S, MirrorCache, Workspace


def task_limits(task: Task, *, stretch: int = 1) -> runner.Limits:
    """The task's limits for one command (timeouts ``stretch``-ed, e.g. under a profiler)."""
    return runner.Limits(
        timeout_s=task.spec.limits.timeout_s * stretch, memory_mb=task.spec.limits.memory_mb
    )


@dataclass
class PreparationCounts:
    """What preparing cost so far: the agent reports it (1 clone and 1 setup per run)."""

    clones: int = 0
    setups: int = 0
    trees: int = 0
    builds: int = 0
    tests_run: int = 0
    tests_reused: int = 0
    seconds: float = 0.0  # clone, venv, setup, trees and builds

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Tree:
    path: Path
    content: str  # git's hash of the tree's files (before any build)
    keys: set[str] = field(default_factory=set)


class PreparedTask:
    """One task's workspace and environment; trees made on demand and kept until released."""

    def __init__(
        self,
        task: Task,
        *,
        workdir_parent: Path | None = None,
        mirrors: MirrorCache | None = None,
        say: Progress | None = None,
    ) -> None:
        tell = say or ignore
        started = time.monotonic()
        self.task = task
        self.counts = PreparationCounts()
        tell(StageStarted("workspace", f"preparing workspace for {task.id}"))
        self.ws = Workspace(
            task.repo_location(), task.spec.ref, parent=workdir_parent, mirrors=mirrors
        )
        self.counts.clones = 1
        try:
            self.env = TaskEnvironment(
                self.ws.root / "venv", python=task.spec.python, limits=task_limits(task)
            )
            self.env.create()
            if task.spec.setup:
                tell(StageStarted("setup", "running setup"))
            self.env.setup(task.spec.setup, self.ws.base_tree, network=task.spec.setup_network)
            self.counts.setups = 1
        except BaseException:
            self.ws.close()
            raise
        self._by_key: dict[str, _Tree] = {}
        self._built: set[Path] = set()
        self._tests: dict[tuple[str, str], TestResult] = {}
        base_content = self.ws.repo.git.rev_parse(f"{self.ws.base_sha}^{{tree}}")
        self._by_key[_key(None, ())] = _Tree(self.ws.base_tree, base_content, {_key(None, ())})
        self.counts.seconds += time.monotonic() - started

    @property
    def repo_dir(self) -> Path:
        return self.ws.repo_dir

    # -- trees ------------------------------------------------------------------------------
    def tree(self, patches: Sequence[tuple[str, str]] = (), *, commit: str | None = None) -> Path:
        """The tree of ``commit`` (default: the task's base) with ``patches`` — (label, diff)
        pairs, empty diffs skipped — applied in order; made once, then the same path."""
        patches = tuple((label, diff) for label, diff in patches if diff and diff.strip())
        key = _key(commit, tuple(diff for _, diff in patches))
        known = self._by_key.get(key)
        if known is not None and known.path.is_dir():
            return known.path
        started = time.monotonic()
        path = self.ws.add_tree(f"t{len(self.ws.trees)}-{key[:10]}", commit=commit)
        try:
            for label, diff in patches:
                self.ws.apply_patch(path, diff, label=label)
        except BaseException:
            self.ws.remove_tree(path)
            raise
        self._by_key[key] = _Tree(path, _content_hash(path), {key})
        self.counts.trees += 1
        self.counts.seconds += time.monotonic() - started
        return path

    def alias(self, tree: Path, patches: Sequence[str], *, commit: str | None = None) -> None:
        """Let ``tree`` also answer for ``patches`` (the kept candidate becomes the next
        round's base: the same files, named by the combined diff)."""
        entry = self._entry(tree)
        key = _key(commit, tuple(p for p in patches if p and p.strip()))
        entry.keys.add(key)
        self._by_key[key] = entry

    def release(self, tree: Path) -> None:
        """Remove a variant's tree that is no longer useful (never the base clone itself)."""
        entry = self._entry(tree)
        if entry.path == self.ws.base_tree:
            return
        for key in entry.keys:
            self._by_key.pop(key, None)
        self._built.discard(entry.path)
        self.ws.remove_tree(entry.path)

    def keep_only(self, trees: Sequence[Path]) -> None:
        wanted = {Path(t) for t in trees}
        for entry in list({id(e): e for e in self._by_key.values()}.values()):
            if entry.path not in wanted:
                self.release(entry.path)

    def build(self, tree: Path) -> None:
        """The task's ``build`` in ``tree``, once per tree."""
        if tree in self._built:
            return
        started = time.monotonic()
        self.env.build(self.task.spec.build, tree)
        self._built.add(tree)
        self.counts.builds += 1
        self.counts.seconds += time.monotonic() - started

    def content(self, tree: Path) -> str:
        return self._entry(tree).content

    def diff(self, tree: Path) -> str:
        return self.ws.diff(tree)

    def scratch(self, label: str) -> Path:
        """A fresh folder for one measurement's files (reference outputs, profiles)."""
        parent = self.ws.root / "scratch"
        parent.mkdir(exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{label}-", dir=parent))

    # -- test results by tree content -------------------------------------------------------
    def known_test(self, tree: Path, command: str) -> TestResult | None:
        found = self._tests.get((self.content(tree), command))
        if found is not None:
            self.counts.tests_reused += 1
        return found

    def remember_test(self, tree: Path, result: TestResult) -> None:
        self._tests[(self.content(tree), result.command)] = result
        self.counts.tests_run += 1

    # -- lifetime ---------------------------------------------------------------------------
    def close(self) -> None:
        self.ws.close()

    def _entry(self, tree: Path) -> _Tree:
        for entry in self._by_key.values():
            if entry.path == Path(tree):
                return entry
        raise WorkspaceError(f"{tree}: not a tree of this workspace")


@contextmanager
def prepare_task(
    task: Task,
    *,
    prepared: PreparedTask | None = None,
    workdir_parent: Path | None = None,
    say: Progress | None = None,
) -> Iterator[PreparedTask]:
    """The one place a task's environment is prepared: ``prepared`` as given (its owner
    closes it), or a new one closed on exit."""
    if prepared is not None:
        yield prepared
        return
    made = PreparedTask(task, workdir_parent=workdir_parent, say=say)
    try:
        yield made
    finally:
        made.close()


def _key(commit: str | None, patches: tuple[str, ...]) -> str:
    digest = hashlib.sha256((commit or "base").encode())
    for patch in patches:
        digest.update(b"\0" + patch.encode())
    return digest.hexdigest()


def _content_hash(tree: Path) -> str:
    """git's hash of everything in ``tree`` (untracked files included), index left as is."""
    repo = git.Repo(tree)
    repo.git.add("-A", kill_after_timeout=GIT_TIMEOUT_S)
    content: str = repo.git.write_tree(kill_after_timeout=GIT_TIMEOUT_S)
    repo.git.reset("-q", kill_after_timeout=GIT_TIMEOUT_S)
    return content
