"""perfagent batch: results file, planning, engines, summaries; then real batches of tiny
projects with a scripted model, on a pinned local pool and on a real Dask LocalCluster."""

from __future__ import annotations

import importlib
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from perfagent.agent.batch.engines import LocalEngine, free_cores, pick_cores, quiet_core_warning
from perfagent.agent.batch.jobs import RunSettings
from perfagent.agent.batch.metrics import compute
from perfagent.agent.batch.results import ResultsFile, row_from_trajectory
from perfagent.agent.batch.runner import check_batch_file, plan
from perfagent.agent.batch.summary import cards, render_html, render_markdown, share_plot
from perfagent.agent.cli import main
from perfagent.tools.workspace import MirrorCache
from tests.conftest import FAST_MODULE, ROOT, SLOW_MODULE, TEST_FILE, WORKLOAD, unified_diff
from tests.test_agent_loop import GOOD

# The batch command as users run it: through the perfagent group (errors → one line, exit
# 2; the isolation level batch defaults to), in this process or in a child.
CLI = main
RUN_CLI = "from perfagent.agent.cli import main; main()"

# A second project the scripted edit does not fit: the run keeps nothing.
OTHER_MODULE = '''
def total(n):
    """Sum of squares, one list copy per step."""
    values = []
    for i in range(n):
        values = [*values, i * i]
    return sum(values)
'''


def write_task(
    root: Path,
    task_id: str,
    module: str = SLOW_MODULE,
    expert: str = FAST_MODULE,
    reference: dict[str, Any] | None = None,
) -> Path:
    """conftest's tiny project (slow module, fast expert) under ``root`` with its own id."""
    repo = root / "proj"
    (repo / "tests").mkdir(parents=True)
    (repo / "calc.py").write_text(textwrap.dedent(module))
    (repo / "tests" / "test_calc.py").write_text(textwrap.dedent(TEST_FILE))
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD))
    (root / "expert.diff").write_text(unified_diff("calc.py", module, expert))
    spec = {
        "id": task_id,
        "repo": "proj",
        "workload": {"kind": "python", "file": "workload.py", "repeat": 3},
        "tests": ["python -m pytest -q -p no:cacheprovider tests"],
        "limits": {"timeout_s": 60, "memory_mb": 2048},
        "expert": {"patch": "expert.diff"},
    }
    if reference is not None:
        spec["reference"] = reference
    path = root / "task.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def verdicts(rows: list[dict[str, Any]]) -> dict[tuple[str, int], str | None]:
    return {(r["task"], r["k"]): r["verdict"] for r in rows}


# ---- fast: the pieces ----


def test_results_file_keeps_the_last_line_per_pair_and_survives_a_torn_line(
    tmp_path: Path,
) -> None:
    store = ResultsFile(tmp_path / "results.jsonl")
    store.append({"task": "a", "k": 0, "verdict": "same"})
    with store.path.open("a") as handle:
        handle.write('{"task": "a", "k": 1, "verd')  # a kill in the middle of a write
    store.append({"task": "a", "k": 0, "verdict": "faster"})
    store.append({"task": "b", "k": 0, "verdict": None})
    assert store.read() == {
        ("a", 0): {"task": "a", "k": 0, "verdict": "faster"},
        ("b", 0): {"task": "b", "k": 0, "verdict": None},
    }
    assert len(store.path.read_text().splitlines()) == 4


def test_a_row_from_a_trajectory(tmp_path: Path) -> None:
    workload = {"variants": {"candidate": {"ci": [2.0, 4.0]}}}
    doc = {
        "run_id": "r1",
        "status": "done",
        "stop_reason": "max iterations",
        "error": None,
        "usage": {"cost_usd": 0.25, "calls": 3},
        "timings": [{"wall_s": 1.5}, {"wall_s": 2.5}],
        "final": {
            "patch": "diff --git a/x b/x\n",
            "speedup": 3.0,
            "ci": [2.0, 4.0],
            "verdict": "faster",
            "equivalent": True,
            "tests_passed": True,
            "expert_speedup": 2.5,
            "expert_ci": [2.0, 3.0],
            "expert_verdict": "faster",
            "gso_opt": True,
            "flags": ["f"],
            "report": {"workloads": [workload, workload]},
        },
    }
    row = row_from_trajectory(doc, task="t", k=1, trajectory=tmp_path / "t.traj.json")
    row.pop("finished")
    assert row == {
        "task": "t",
        "k": 1,
        "status": "done",
        "run_id": "r1",
        "applied": True,
        "speedup": 3.0,
        "ci": [2.0, 4.0],
        "verdict": "faster",
        "equivalent": True,
        "tests_passed": True,
        "expert_speedup": 2.5,
        "expert_ci": [2.0, 3.0],
        "expert_verdict": "faster",
        "gso_opt": True,
        "overall": None,  # not in this older-style final
        "delta": 0.5,  # 1 − 1/2 on each workload
        "delta_source": "ci",
        "flags": ["f"],
        "stop_reason": "max iterations",
        "cost_usd": 0.25,
        "calls": 3,
        "wall_s": 4.0,
        # No sessions, profiler or model in this trajectory: its 4 s are all the agent's.
        "timing": {
            "wall_s": 4.0, "measure_s": 0.0, "profile_s": 0.0, "model_s": 0.0,
            "prepare_s": 0.0, "session_s": 0.0, "overhead_s": 4.0, "lab_other_s": 0.0,
            "agent_s": 4.0,
        },
        "trajectory": str(tmp_path / "t.traj.json"),
        "error": None,
    }  # fmt: skip
    failed = row_from_trajectory(None, task="t", k=0, trajectory=tmp_path / "x", error="boom")
    assert (failed["status"], failed["applied"], failed["error"]) == ("failed", False, "boom")


def test_cores_and_the_quiet_core_warning() -> None:
    assert pick_cores(2, [0, 1, 2, 3]) == [2, 3]
    assert pick_cores(3, [0, 1]) == [0, 1, 0]
    assert free_cores(cpu_count=4, load=2.5) == 1.5
    assert free_cores(cpu_count=2, load=3.0) == 0.0
    assert quiet_core_warning(1, 1.5) is None
    assert quiet_core_warning(2, 1.5) == (
        "warning: timing needs a quiet core per worker: 2 worker(s) but only 1.5 core(s) "
        "free (cpu count minus load average); verdicts may come out inconclusive or noisy"
    )


def test_plan_skips_finished_pairs_and_runs_every_task_once_before_repeating(
    tmp_path: Path,
) -> None:
    tasks = {"a": tmp_path / "a.yaml", "b": tmp_path / "b.yaml"}
    jobs = plan(tasks, tmp_path, RunSettings(), 3, done={("a", 0), ("b", 1)})
    assert [(j.task, j.k) for j in jobs] == [("b", 0), ("a", 1), ("a", 2), ("b", 2)]
    assert jobs[0].run_dir == str(tmp_path / "runs" / "b" / "run-0")
    assert jobs[0].label == "b run 0"


def test_a_batch_dir_refuses_other_settings_unless_redo(tmp_path: Path) -> None:
    check_batch_file(tmp_path, RunSettings(model="rules"), redo=False)
    check_batch_file(tmp_path, RunSettings(model="rules"), redo=False)  # same: fine
    with pytest.raises(Exception, match=r"other settings \(candidates, model\)"):
        check_batch_file(tmp_path, RunSettings(model="fake:x", candidates=2), redo=False)
    check_batch_file(tmp_path, RunSettings(model="fake:x"), redo=True)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    task = write_task(tmp_path / "a", "calc")
    runner = CliRunner()
    result = runner.invoke(CLI, ["batch", str(task), "--engine", "dask", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == ("perfagent: error: --engine dask needs --scheduler tcp://HOST:PORT\n")
    result = runner.invoke(
        CLI, ["batch", str(task), "--model", "fake:/no/script.json", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2
    assert result.output.startswith("perfagent: error: fake:/no/script.json: cannot read")
    assert not (tmp_path / "batch.json").exists()  # stopped before any run started
    twin = write_task(tmp_path / "b", "calc")
    result = runner.invoke(CLI, ["batch", str(task), str(twin), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert result.output == (f"perfagent: error: {twin}: task id 'calc' is also the id of {task}\n")


def test_summary_page_is_self_contained_and_escaped(tmp_path: Path) -> None:
    rows = [
        {"task": "<b>x</b>", "k": 0, "status": "done", "applied": True, "speedup": 2.0,
         "ci": [1.8, 2.2], "verdict": "faster", "equivalent": True, "tests_passed": True,
         "expert_speedup": 2.5, "gso_opt": False, "delta": 0.4, "flags": [], "cost_usd": 0.0,
         "wall_s": 3.0, "trajectory": str(tmp_path / "runs/x/run-0/x.traj.json")},
    ]  # fmt: skip
    page = render_html({"out": str(tmp_path)}, compute(rows, ["<b>x</b>"], 1), rows, [], tmp_path)
    assert not re.search(r"<script|\bsrc=|\bhref=|url\(", page)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert "runs/x/run-0/x.traj.json" in page and "80.0%" in page  # share 2.0 / 2.5
    svg = share_plot([0.8])
    assert svg.startswith("<svg") and "median 0.800" in svg


def test_oracle_summary_sets_measured_beside_published(tmp_path: Path) -> None:
    timing = {"number": 5, "setup": "never", "gc": False, "loops": 64}
    oracle = [
        {"task": "a", "speedup": 9.0, "ci": [8.5, 9.5], "verdict": "faster", "reproduces": True,
         "timing": timing, "reference_speedup": 10.0, "reference_source": "SWE-fficiency",
         "reference_ratio": 0.9, "reference_agrees": True},
        {"task": "b", "speedup": 45.0, "ci": [40.0, 50.0], "verdict": "faster",
         "reproduces": True, "timing": timing, "reference_speedup": 240.0,
         "reference_source": "SWE-fficiency", "reference_ratio": 0.1875,
         "reference_agrees": False},
        {"task": "c", "status": "failed", "error": "boom", "reproduces": False,
         "reference_speedup": 2.0, "reference_source": "SWE-Perf"},
        {"task": "d", "speedup": 2.0, "ci": [1.9, 2.1], "verdict": "faster", "reproduces": True},
    ]  # fmt: skip
    md = render_markdown({"out": str(tmp_path)}, None, [], oracle, tmp_path)
    assert "**1 of 2 measured tasks agree with the published speedup (3 tasks publish one).**" in md
    assert (
        "| `a` | number 5, setup never, gc off, loops 64 | 9.000× | [8.500, 9.500] | faster | — "
        "| yes | 10.000× | SWE-fficiency | 0.900 | yes | — |" in md
    )
    assert "| 240.000× | SWE-fficiency | 0.188 | **NO** |" in md
    page = render_html({"out": str(tmp_path)}, None, [], oracle, tmp_path)
    assert "1 of 2 measured tasks agree" in page and "±15 %" in page


# ---- slow: real batches ----


def invoke(args: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(CLI, args)
    assert result.exit_code == 0, result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def wait_for(check: Callable[[], Any], timeout: float = 900, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def batch_args(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Two tiny tasks and a scripted model: ``calc`` takes the edit (faster), ``squares``
    does not fit it (nothing kept). Work dirs of every worker go under tmp_path."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    calc = write_task(tmp_path / "calc", "calc")
    squares = write_task(tmp_path / "sq", "squares", OTHER_MODULE)
    return [
        "batch", str(calc), str(squares), "--model", f"fake:{script}", "--k", "2",
        "--max-iterations", "1", "--candidates", "1", "--no-judge",
    ]  # fmt: skip


EXPECTED = {
    ("calc", 0): "faster",
    ("calc", 1): "faster",
    ("squares", 0): None,
    ("squares", 1): None,
}
KEY = re.compile(r"^perfagent-(.+)-run-(\d+)-[0-9a-f]{8}$")


def _kill_a_busy_worker(client: Any, out: Path) -> tuple[str, int]:
    """SIGKILL the worker process of a run that has checkpointed a step; its pair."""

    def busy() -> tuple[str, tuple[str, int]] | None:
        for address, keys in client.processing().items():
            for key in keys:
                match = KEY.match(str(key))
                if match:
                    task, k = match.group(1), int(match.group(2))
                    if (out / "runs" / task / f"run-{k}" / f"{task}.traj.json").exists():
                        return address, (task, k)
        return None

    address, (task, k) = wait_for(busy, what="a run with a checkpoint")
    pid = client.run(os.getpid, workers=[address])[address]
    os.kill(pid, signal.SIGKILL)
    return str(task), int(k)


@pytest.mark.slow
def test_local_and_dask_batches_agree_and_a_lost_worker_is_not_counted_twice(
    tmp_path: Path, batch_args: list[str]
) -> None:
    distributed: Any = importlib.import_module("distributed")  # untyped: imported as Any
    local = invoke([*batch_args, "--workers", "2", "--out", str(tmp_path / "local"), "--json"])
    assert verdicts(local["rows"]) == EXPECTED
    assert {r["status"] for r in local["rows"]} == {"done"}
    assert all(len(r["cpus"]) == 1 for r in local["rows"])  # each worker pinned to a core
    assert local["metrics"]["opt_at_k"] in (0.0, 0.5)  # calc's gso_opt depends on noise
    assert local["metrics"]["swe_perf"]["apply"] == 0.5  # calc applies, squares keeps nothing
    for task, k in EXPECTED:
        assert (tmp_path / "local" / "runs" / task / f"run-{k}" / f"{task}.traj.json").exists()
    page = (tmp_path / "local" / "summary.html").read_text()
    assert "<svg" in page and "<script" not in page

    out = tmp_path / "dask"
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, resources={"perfagent": 1},
            host="127.0.0.1", dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):  # fmt: skip
        args = [*batch_args, "--engine", "dask", "--scheduler", cluster.scheduler_address]
        log = tmp_path / "dask-batch.log"
        with log.open("wb") as errors:
            process = subprocess.Popen(
                [sys.executable, "-c", RUN_CLI, *args, "--out", str(out), "--json"],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=errors, start_new_session=True,
            )  # fmt: skip
            try:
                killed = _kill_a_busy_worker(client, out)
                stdout, _ = process.communicate(timeout=1200)
            finally:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, log.read_text()
    result = json.loads(stdout)
    assert verdicts(result["rows"]) == verdicts(local["rows"]) == EXPECTED
    written = lines(out / "results.jsonl")
    assert sorted((r["task"], r["k"]) for r in written) == sorted(EXPECTED)  # once each
    [retried] = [r for r in written if (r["task"], r["k"]) == killed]
    assert retried["resumed"] is True and retried["status"] == "done"


@pytest.mark.slow
def test_a_killed_batch_resumes_without_redoing_finished_runs(
    tmp_path: Path, batch_args: list[str]
) -> None:
    out = tmp_path / "out"
    args = [*batch_args[:2], *batch_args[3:], "--workers", "1", "--out", str(out)]  # calc only
    results = out / "results.jsonl"
    second = out / "runs" / "calc" / "run-1" / "calc.traj.json"
    process = subprocess.Popen(
        [sys.executable, "-c", RUN_CLI, *args],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(
            lambda: results.exists() and results.read_text().endswith("\n") and second.exists(),
            what="the first result and the second run's first checkpoint",
        )
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    [first] = lines(results)
    assert (first["task"], first["k"], first["verdict"]) == ("calc", 0, "faster")
    first_traj = Path(first["trajectory"])
    before = (first_traj.read_text(), first_traj.stat().st_mtime_ns)

    result = invoke([*args, "--json"])
    assert (result["ran"], result["skipped"]) == (1, 1)
    written = lines(results)
    assert written[0] == first and len(written) == 2
    assert (written[1]["k"], written[1]["resumed"], written[1]["verdict"]) == (1, True, "faster")
    assert (first_traj.read_text(), first_traj.stat().st_mtime_ns) == before
    assert verdicts(result["rows"]) == {("calc", 0): "faster", ("calc", 1): "faster"}


@pytest.mark.slow
def test_oracle_tells_which_experts_reproduce_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    # published far off what this machine can measure: it cannot agree
    real = write_task(tmp_path / "calc", "calc", reference={"source": "X", "expert_speedup": 1e6})
    # An "expert" that only adds a comment: nothing to reproduce.
    cosmetic = write_task(tmp_path / "noop", "noop", expert=SLOW_MODULE + "\n# tidied\n")
    out = tmp_path / "out"
    args = ["batch", str(real), str(cosmetic), "--oracle", "--workers", "2", "--max-runs", "12"]
    result = invoke([*args, "--out", str(out), "--json"])
    by_task = {r["task"]: r for r in result["oracle"]}
    assert (by_task["calc"]["verdict"], by_task["calc"]["reproduces"]) == ("faster", True)
    assert by_task["calc"]["geomean_speedup"] >= 1.2
    assert by_task["noop"]["verdict"] != "faster" and by_task["noop"]["reproduces"] is False
    assert len(lines(out / "oracle.jsonl")) == 2
    # --oracle alone runs no agent: the JSON names the file written, not a missing one.
    assert (result["results"], result["oracle_results"]) == (None, str(out / "oracle.jsonl"))
    summary = (out / "summary.md").read_text()
    assert "## Oracle: does the expert patch reproduce here?" in summary
    assert re.search(
        r"\| `calc` \| number 1, setup each, gc on, loops \d+ \| [\d.]+× \| \[[\d.]+, [\d.]+\] \| "
        r"faster \| [\d.]+× \| yes \| 1000000.000× \| X \| 0.000 \| \*\*NO\*\* \|",
        summary,
    )
    assert "0 of 1 measured tasks agree with the published speedup" in summary
    assert result["oracle_agreement"] == {"with_reference": 1, "measured": 1, "agree": 0}
    again = invoke([*args, "--out", str(out), "--json"])  # nothing left to measure
    assert (again["ran"], again["skipped"]) == (0, 2)


@dataclass(frozen=True)
class SleepJob:
    label: str
    seconds: float
    marker: str  # a file the job creates when it starts


def sleep_job(job: SleepJob) -> dict[str, Any]:
    Path(job.marker).touch()
    time.sleep(job.seconds)
    return {"slept": job.seconds}


def test_an_interrupted_local_batch_stops_its_runs_now(tmp_path: Path) -> None:
    jobs = [
        SleepJob(f"job {n}", seconds, str(tmp_path / f"started-{n}"))
        for n, seconds in enumerate([0.0, 60.0, 60.0])
    ]
    outcomes = LocalEngine(1).run(sleep_job, jobs)
    first, result = next(outcomes)
    assert (first.label, result) == ("job 0", {"slept": 0.0})
    wait_for(lambda: Path(jobs[1].marker).exists(), 60, "job 1 to start")
    started = time.monotonic()
    outcomes.close()  # what Ctrl-C does to the consumer: the generator's finally runs
    assert time.monotonic() - started < 20  # job 1 was ended, not waited for
    assert not Path(jobs[2].marker).exists()  # and the queued job never started


@pytest.mark.slow
def test_a_batch_of_url_tasks_clones_their_repository_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four tasks whose repo is one git URL, two local workers: the network clone happens
    once (the mirror cache's log), and each run clones from the mirror and sets up once."""
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setenv("PERFAGENT_CACHE_DIR", str(tmp_path / "cache"))
    project = write_task(tmp_path / "src", "src").parent / "proj"
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *command], cwd=project, check=True
        )
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(origin)], check=True)
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    tasks = []
    for n in range(4):
        task = write_task(tmp_path / f"t{n}", f"url-{n}")
        spec = yaml.safe_load(task.read_text())
        task.write_text(yaml.safe_dump({**spec, "repo": origin.as_uri()}))
        tasks.append(str(task))
    out = tmp_path / "out"
    args = [
        "batch", *tasks, "--model", f"fake:{script}", "--max-iterations", "1",
        "--candidates", "1", "--no-judge", "--no-expert", "--max-runs", "12",
        "--workers", "2", "--out", str(out), "--json",
    ]  # fmt: skip
    result = invoke(args)
    assert {r["status"] for r in result["rows"]} == {"done"}
    assert len({r["worker"] for r in result["rows"]}) == 2
    events = MirrorCache(tmp_path / "cache" / "mirrors").events()
    assert [e.action for e in events].count("clone") == 1
    assert {e.url for e in events} == {origin.as_uri()}
    for n in range(4):
        doc = json.loads((out / "runs" / f"url-{n}" / "run-0" / f"url-{n}.traj.json").read_text())
        counts = doc["driver"]["workspace"]
        assert (counts["clones"], counts["setups"]) == (1, 1)


def test_the_summary_reports_the_batch_overhead_and_where_it_went() -> None:
    timing = {
        "wall_s": 100.0, "session_s": 80.0, "profile_s": 10.0, "model_s": 5.0,
        "overhead_s": 5.0, "lab_other_s": 3.0, "prepare_s": 1.0, "agent_s": 1.0,
    }  # fmt: skip
    rows = [
        {"task": "a", "k": 0, "status": "done", "timing": timing},
        {"task": "b", "k": 0, "status": "done", "timing": {**timing, "overhead_s": 15.0}},
    ]
    m = compute(rows, ["a", "b"], 1)
    assert m.time_split["wall_s"] == 200.0 and m.time_split["overhead_s"] == 20.0
    assert dict(cards(m))["overhead (other / wall)"].startswith("10.0% of 200.0 s (other: ")
