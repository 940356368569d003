"""The CLI as a user runs it: a real process, JSON on stdout, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import git
import pytest
import yaml

from tests.conftest import FAST_MODULE, SLOW_MODULE, TEST_FILE, WORKLOAD, TaskFactory, unified_diff
from tests.test_agent_loop import GOOD


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


def test_optimize_dot_apply_from_a_repository_root(tmp_path: Path) -> None:
    """The default run dir (.perfagent/runs, self-ignored) leaves the repository clean, so
    --apply can apply there; --resume finds the run in the same default place."""
    repo_dir = tmp_path / "proj"
    (repo_dir / "tests").mkdir(parents=True)
    (repo_dir / "calc.py").write_text(SLOW_MODULE.lstrip())
    (repo_dir / "tests" / "test_calc.py").write_text(TEST_FILE)
    (repo_dir / "workload.py").write_text(WORKLOAD)
    repo = git.Repo.init(repo_dir)
    repo.git.add("-A")
    repo.git.commit("-m", "slow calc", "--author", "t <t@t>")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    env = {k: v for k, v in os.environ.items() if k != "PERFAGENT_RUNS_DIR"}
    done = subprocess.run(
        [sys.executable, "-m", "perfagent", "optimize", ".", "--workload", "workload.py",
         "--tests", "python -m pytest -q -p no:cacheprovider tests", "--model", f"fake:{script}",
         "--candidates", "1", "--max-iterations", "1", "--apply", "--json"],
        cwd=repo_dir, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["verdict"] == "faster"
    assert result["applied"] == f"applied to {repo_dir} (uncommitted; review with git diff)"
    assert Path(result["trajectory"]).is_relative_to(repo_dir / ".perfagent" / "runs")
    assert repo.git.status("--porcelain") == " M calc.py"
    assert "sum(i * i for i in range(n))" in (repo_dir / "calc.py").read_text()
    assert "round 1/1, candidate 1/1" in done.stderr
    resumed = subprocess.run(
        [sys.executable, "-m", "perfagent", "optimize", "--resume", result["run_id"], "--json",
         "-q"],
        cwd=repo_dir, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["run_id"] == result["run_id"]
