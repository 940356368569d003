"""The CLI as a user runs it: a real process, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory, unified_diff


def perfagent(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfagent", *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )


@pytest.mark.usefixtures("no_leftovers")
def test_measure_json_has_the_relied_on_keys(make_task: TaskFactory, tmp_path: Path) -> None:
    patch = tmp_path / "candidate.diff"
    patch.write_text(unified_diff("calc.py", SLOW_MODULE, FAST_MODULE))
    done = perfagent(
        "measure",
        str(make_task()),
        "--candidate",
        str(patch),
        "--expert",
        "--json",
        "--max-runs",
        "20",
        "--seed",
        "1",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "faster"
    assert report["ci"][0] > 1 and len(report["ci"]) == 2
    assert report["runs"] >= 6
    assert report["equivalent"] is True
    assert report["tests_passed"] is True
    assert report["expert_speedup"] > 1
    assert isinstance(report["gso_opt"], bool)
    assert report["workloads"][0]["variants"]["expert"]["verdict"] == "faster"


def test_measure_table_output(make_task: TaskFactory) -> None:
    done = perfagent("measure", str(make_task()), "--expert", "--max-runs", "12")
    assert done.returncode == 0, done.stderr
    assert "perfagent measure — calc (time)" in done.stdout
    assert "expert: faster" in done.stdout


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"colour": "red"}, "invalid task spec: colour: unknown field"),
        ({"repo": "missing"}, "repo: folder"),
        (
            {"workload": {"kind": "python", "file": "absent.py"}},
            "workload.file: file 'absent.py' not found",
        ),
    ],
)
def test_bad_task_files_give_one_line(
    make_task: TaskFactory, change: dict[str, object], expected: str
) -> None:
    task_file = make_task()
    spec = yaml.safe_load(task_file.read_text())
    spec.update(change)
    task_file.write_text(yaml.safe_dump(spec))
    # -q: errors only (progress lines would precede the error on stderr otherwise).
    done = perfagent("measure", str(task_file), "--expert", "--json", "-q")
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("perfagent: error: ")
    assert expected in lines[0]


def test_missing_candidate_file(make_task: TaskFactory, tmp_path: Path) -> None:
    done = perfagent("measure", str(make_task()), "--candidate", str(tmp_path / "x.diff"))
    assert done.returncode == 2
    assert (
        done.stderr.strip() == f"perfagent: error: --candidate: patch file {tmp_path}/x.diff "
        "not found"
    )


def test_profile_json_and_speedscope(make_task: TaskFactory, tmp_path: Path) -> None:
    flame = tmp_path / "flame.json"
    done = perfagent(
        "profile", str(make_task()), "--json", "--runs", "1", "--speedscope", str(flame)
    )
    assert done.returncode == 0, done.stderr
    profile = json.loads(done.stdout)
    top = profile["hotspots"][0]
    assert {"qualname", "file", "lines", "inclusive", "self"} <= set(top)
    assert (top["qualname"], top["file"]) == ("total", "calc.py")
    assert json.loads(flame.read_text())["profiles"][0]["type"] == "sampled"


def test_profile_table(make_task: TaskFactory) -> None:
    done = perfagent("profile", str(make_task()), "--runs", "1")
    assert done.returncode == 0, done.stderr
    assert "perfagent profile — workload" in done.stdout
    assert "calc.py:2-7" in done.stdout
