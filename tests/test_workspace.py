"""The mirror cache of git URLs and the prepared task (one clone, one setup, trees by content):
real git, real venvs, real subprocesses."""

from __future__ import annotations

import multiprocessing
import subprocess
from pathlib import Path

import pytest
import yaml

from perfagent.tools.lab.prepared import PreparedTask
from perfagent.tools.lab.report import TestResult
from perfagent.tools.taskspec import load_task
from perfagent.tools.workspace import MirrorCache, Workspace
from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory, unified_diff


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def origin(tmp_path: Path) -> tuple[Path, str]:
    """A project pushed to a bare repository; the bare one is reached by a file:// URL."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "calc.py").write_text(SLOW_MODULE)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "base")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    return work, bare.as_uri()


def _mirror(args: tuple[str, str]) -> str:
    root, url = args
    return str(MirrorCache(Path(root)).mirror_for(url))


def test_concurrent_workers_clone_a_url_once(tmp_path: Path, origin: tuple[Path, str]) -> None:
    _, url = origin
    root = tmp_path / "mirrors"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        paths = pool.map(_mirror, [(str(root), url)] * 8)
    assert len(set(paths)) == 1
    actions = [e.action for e in MirrorCache(root).events()]
    assert actions.count("clone") == 1
    assert len(actions) == 8  # every other request reused (fetched moments ago) or fetched


def test_a_url_workspace_borrows_the_mirror_and_sees_new_commits(
    tmp_path: Path, origin: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, url = origin
    cache = MirrorCache(tmp_path / "mirrors")
    with Workspace(url, parent=tmp_path, mirrors=cache) as ws:
        assert (ws.repo_dir / "calc.py").read_text() == SLOW_MODULE
        alternates = ws.repo_dir / ".git" / "objects" / "info" / "alternates"
        assert alternates.read_text().strip() == str(cache.path_for(url) / "objects")
    (work / "calc.py").write_text(FAST_MODULE)
    git(work, "commit", "-qam", "faster")
    git(work, "push", "-q", "origin", "main")
    sha = git(work, "rev-parse", "HEAD")
    # A full commit id the mirror lacks is fetched at once; once there, it is reused.
    with Workspace(url, sha, parent=tmp_path, mirrors=cache) as ws:
        assert (ws.repo_dir / "calc.py").read_text() == FAST_MODULE
    with Workspace(url, sha, parent=tmp_path, mirrors=cache) as ws:
        assert ws.base_sha == sha
    assert [e.action for e in cache.events()] == ["clone", "fetch", "reuse"]


def test_a_prepared_task_makes_each_tree_once_and_tests_each_content_once(
    make_task: TaskFactory,
) -> None:
    task = load_task(make_task())
    fast = unified_diff("calc.py", SLOW_MODULE, FAST_MODULE)
    prep = PreparedTask(task)
    try:
        assert (prep.counts.clones, prep.counts.setups) == (1, 1)
        base = prep.tree()
        assert base == prep.repo_dir == prep.tree([("kept", "")])
        candidate = prep.tree([("kept", ""), ("candidate", fast)])
        assert prep.tree([("candidate", fast)]) == candidate  # same content key, same tree
        prep.build(candidate)
        prep.build(candidate)
        assert prep.counts.builds == 1
        prep.remember_test(candidate, TestResult("pytest", True, "ok"))
        # The kept candidate answers for the next round's base: same tree, same results.
        combined = prep.diff(candidate)
        prep.alias(candidate, [combined])
        assert prep.tree([("kept edits", combined)]) == candidate
        assert prep.known_test(candidate, "pytest") == TestResult("pytest", True, "ok")
        assert prep.known_test(base, "pytest") is None
        prep.keep_only([candidate, base])
        assert candidate.is_dir()
        prep.release(candidate)
        assert not candidate.exists()
        again = prep.tree([("candidate", fast)])  # released: made afresh when asked again
        assert again.is_dir() and prep.counts.trees == 2
    finally:
        prep.close()
    assert not prep.ws.root.exists()


def test_a_url_task_is_prepared_from_the_mirror(
    tmp_path: Path, origin: tuple[Path, str], make_task: TaskFactory
) -> None:
    _, url = origin
    task_file = make_task()
    spec = yaml.safe_load(task_file.read_text())
    task_file.write_text(yaml.safe_dump({**spec, "repo": url, "expert": None}))
    cache = MirrorCache(tmp_path / "mirrors")
    prep = PreparedTask(load_task(task_file), mirrors=cache)
    try:
        assert (prep.repo_dir / "calc.py").read_text() == SLOW_MODULE
    finally:
        prep.close()
    assert [e.action for e in cache.events()] == ["clone"]
