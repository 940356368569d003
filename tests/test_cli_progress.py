"""Progress: typed events shown on stderr (live on a terminal, plain lines elsewhere,
nothing with -q); stdout carries only the result."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from perfagent.agent.cli import main
from perfagent.agent.cli.progress import ProgressDisplay
from perfagent.tools import lab
from perfagent.tools.progress import RunPosition, SamplingRound, StageStarted, describe
from tests.conftest import TaskFactory
from tests.test_cli_gate import report_with

PLAIN_LINE = re.compile(r"^\[ *\d+(s|m\d\ds|h\d\dm)\] \S")


def fake_measure(*_args: Any, progress: Any = None, **_kw: Any) -> lab.MeasureReport:
    """The lab at the CLI boundary: the events a real session sends, then a report."""
    progress(StageStarted("workspace", "preparing workspace for calc"))
    for runs in range(1, 21):
        progress(SamplingRound("calc", runs, 20, runs * 0.5, 300.0, {"candidate": 1.8}))
    return report_with("faster")


def measure_args(make_task: TaskFactory, tmp_path: Path, *extra: str) -> list[str]:
    patch = tmp_path / "c.diff"
    patch.write_text("")
    return ["measure", str(make_task()), "--candidate", str(patch), *extra]


def test_json_output_is_pure_and_progress_goes_to_stderr_as_plain_lines(
    make_task: TaskFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lab, "measure", fake_measure)
    result = CliRunner().invoke(main, measure_args(make_task, tmp_path, "--json"))
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["verdict"] == "faster"
    lines = result.stderr.splitlines()
    assert all(PLAIN_LINE.match(line) for line in lines), lines
    # Not one line per run: the first, every tenth, the cap.
    assert [line.split("] ", 1)[1] for line in lines] == [
        "preparing workspace for calc",
        "calc: 1/20 runs, ≤ 10s left (candidate 1.800×)",
        "calc: 10/20 runs, ≤ 5s left (candidate 1.800×)",
        "calc: 20/20 runs, ≤ 0s left (candidate 1.800×)",
    ]


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_progress(
    make_task: TaskFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.setattr(lab, "measure", fake_measure)
    args = measure_args(make_task, tmp_path, "--json")
    result = CliRunner().invoke(main, ["-q", *args] if where == "before" else [*args, "-q"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert json.loads(result.stdout)["verdict"] == "faster"


def test_a_real_measure_reports_its_stages_and_runs_on_stderr(make_task: TaskFactory) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perfagent", "measure", str(make_task()), "--expert", "--json",
         "--max-runs", "12"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verdict"] == "faster"
    texts = [line.split("] ", 1)[1] for line in done.stderr.splitlines()]
    # The fixture task has no setup command: the stages go from the workspace to the build.
    assert texts[:2] == ["preparing workspace for calc", "building base"]
    assert "measuring workload workload" in texts
    assert any(re.fullmatch(r"workload: 1/12 runs, ≤ \S+ left", t) for t in texts), texts
    # No source locations, no wrapping (a plain line is one event).
    assert not any(re.search(r"\.py:\d+$", t) for t in texts)


def test_plain_lines_describe_the_run_position() -> None:
    position = RunPosition(round=2, max_rounds=4, candidate=3, candidates=4, elapsed_s=75.0,
                           max_time_s=600.0)  # fmt: skip
    assert describe(position) == "round 2/4, candidate 3/4, 1m15s of 10m00s elapsed"
    idle = RunPosition(round=1, max_rounds=4, candidate=0, candidates=0, elapsed_s=5.0,
                       max_time_s=None)  # fmt: skip
    assert describe(idle) == "round 1/4, 5s elapsed"


def test_the_live_panel_shows_stage_round_candidate_runs_and_time_left() -> None:
    display = ProgressDisplay("optimize r1", quiet=False, live=False)
    display.stage = StageStarted("verdict", "r1-rules-3: full verdict")
    display.position = RunPosition(2, 4, 3, 4, 30.0, 600.0)
    display.sampling = SamplingRound("dedupe", 14, 60, 28.0, 300.0, {"candidate": 1.42})
    console = Console(file=io.StringIO(), width=120, record=True)
    console.print(display._panel())
    text = console.export_text()
    assert "optimize r1: r1-rules-3: full verdict" in text
    assert "round 2 of 4 · candidate 3 of 4 · " in text and "of 10m00s budget" in text
    assert "dedupe: 14 of at most 60 runs · ≤ 1m32s left · candidate 1.420×" in text


def test_plain_position_lines_only_when_the_round_or_candidate_changes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ProgressDisplay("optimize", quiet=False, live=False) as show:
        for elapsed in (1.0, 2.0, 3.0):
            show(RunPosition(1, 4, 0, 0, elapsed, None))
        show(RunPosition(1, 4, 1, 3, 4.0, None))
        show(RunPosition(1, 4, 1, 3, 9.0, None))
        show(RunPosition(1, 4, 2, 3, 12.0, None))
    texts = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert texts == [
        "round 1/4, 1s elapsed",
        "round 1/4, candidate 1/3, 4s elapsed",
        "round 1/4, candidate 2/3, 12s elapsed",
    ]


def test_notes_stay_as_plain_lines_and_quiet_drops_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with ProgressDisplay("batch", quiet=False, live=False) as show:
        show.note("calc run 0: done faster 2.000× · GSO opt — · 12 s")
        show(StageStarted("batch", "1 of at most 2 run(s) finished"))
    texts = [line.split("] ", 1)[1] for line in capsys.readouterr().err.splitlines()]
    assert texts == [
        "calc run 0: done faster 2.000× · GSO opt — · 12 s",
        "1 of at most 2 run(s) finished",
    ]
    with ProgressDisplay("batch", quiet=True) as show:
        show.note("calc run 1: done")
    assert capsys.readouterr().err == ""
