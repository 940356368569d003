"""Shared fixtures: small real projects in tmp dirs, written as task files."""

from __future__ import annotations

import os
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "tasks" / "examples"

SLOW_MODULE = '''
def total(n):
    """Sum of squares, written the slow way."""
    values = []
    for i in range(n):
        values = values + [i * i]
    return sum(values)
'''
FAST_MODULE = '''
def total(n):
    """Sum of squares."""
    return sum(i * i for i in range(n))
'''
WORKLOAD = """
import calc

def setup():
    global N
    N = 3000

def workload():
    return calc.total(N)
"""
TEST_FILE = """
import calc

def test_total():
    assert calc.total(4) == 14
"""


def unified_diff(path: str, old: str, new: str) -> str:
    """A git-style patch that replaces the whole file ``path``."""
    import difflib

    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
    )
    return f"diff --git a/{path} b/{path}\n" + "".join(lines)


TaskFactory = Callable[..., Path]


@pytest.fixture
def make_task(tmp_path: Path) -> TaskFactory:
    """Write a tiny project (plain folder) and a task file; return the task file's path."""

    def factory(
        module: str = SLOW_MODULE,
        workload_src: str = WORKLOAD,
        tests: str = TEST_FILE,
        expert: str | None = FAST_MODULE,
        **spec_overrides: object,
    ) -> Path:
        repo = tmp_path / "proj"
        (repo / "tests").mkdir(parents=True, exist_ok=True)
        (repo / "calc.py").write_text(textwrap.dedent(module))
        (repo / "tests" / "test_calc.py").write_text(textwrap.dedent(tests))
        (tmp_path / "workload.py").write_text(textwrap.dedent(workload_src))
        spec: dict[str, object] = {
            "id": "calc",
            "repo": "proj",
            "workload": {"kind": "python", "file": "workload.py", "repeat": 3},
            "tests": ["python -m pytest -q -p no:cacheprovider tests"],
            "limits": {"timeout_s": 60, "memory_mb": 2048},
        }
        if expert is not None:
            (tmp_path / "expert.diff").write_text(unified_diff("calc.py", module, expert))
            spec["expert"] = {"patch": "expert.diff"}
        spec.update(spec_overrides)
        path = tmp_path / "task.yaml"
        path.write_text(yaml.safe_dump(spec))
        return path

    return factory


@pytest.fixture
def no_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail if a test leaves perfagent work dirs or processes behind.

    Work dirs go to a private temp dir for the test, so perfagent runs elsewhere on the
    machine (a calibration in the background, a parallel test) cannot confuse the check.
    """
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    yield
    assert sorted(p.name for p in private.iterdir()) == []
    assert processes_mentioning(str(private)) == []
    assert processes_mentioning(str(tmp_path)) == []


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes (other than us) that contain ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        if cmdline.parent.name == str(os.getpid()):
            continue
        try:
            args = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if text in args and state != "Z":
            found.append(args)
    return found
