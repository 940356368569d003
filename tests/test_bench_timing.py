"""What one sample times: warm-up, calibrated loops, timeit's number / setup / gc semantics.

The driver runs in real processes (the test's own interpreter: it is stdlib-only). Calls are
counted through an event log the workload writes, so the semantics are asserted exactly;
where timing itself is the point, only ratios of times taken in the same process are
compared, never an absolute time.
"""

from __future__ import annotations

import json
import sys
import textwrap
import timeit
from pathlib import Path
from typing import Any

import pytest

from perfagent.tools import runner
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.bench.workloads import DRIVER
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.lab.report import MeasureReport
from perfagent.tools.taskspec import TimingSpec, WorkloadSpec, load_task
from tests.conftest import TaskFactory

# setup() and workload() log what they do (and whether the collector was on) to EVENTS.
LOGGING_WORKLOAD = """
import gc, os
EVENTS = os.environ["EVENTS"]

def _log(what):
    with open(EVENTS, "a") as handle:
        handle.write(f"{what}{'+' if gc.isenabled() else '-'} ")

def setup():
    _log("S")

def workload():
    _log("W")
    return 1
"""


def _drive(
    tmp_path: Path,
    source: str,
    *,
    mode: str = "time",
    repeat: int = 3,
    kind: str = "python",
    **timing: Any,
) -> tuple[dict[str, Any], list[str]]:
    """One real driver process; its report and the events the workload logged."""
    workload = tmp_path / "workload.py"
    workload.write_text(textwrap.dedent(source))
    events = tmp_path / "events.txt"
    events.write_text("")
    report = tmp_path / "report.json"
    spec = {
        "kind": kind,
        "tree": str(tmp_path),
        "workload_file": str(workload),
        "repeat": repeat,
        # The lab adds a first unit timed alone (the first-call check); the exact event
        # counts below are of the warm-up and values, so it is on only where asked for.
        "timing": {**TimingSpec().model_dump(), "first_call": False, **timing},
        "mode": mode,
        "report": str(report),
        "output": str(tmp_path / "out.json"),
    }
    spec_path = tmp_path / "spec.json"
    spec_path.write_text(json.dumps(spec))
    result = runner.run(
        [sys.executable, str(DRIVER), str(spec_path)],
        cwd=tmp_path,
        env={"EVENTS": str(events)},
        limits=runner.Limits(timeout_s=120),
    )
    assert result.ok, result.summary()
    data = json.loads(report.read_text())
    assert data["error"] is None, data["error"]
    return data, events.read_text().split()


def test_default_runs_setup_before_every_call(tmp_path: Path) -> None:
    report, events = _drive(tmp_path, LOGGING_WORKLOAD, loops=2, warmup=1, repeat=3)
    assert events == ["S+", "W+"] * (2 * (1 + 3))
    assert report["loops"] == 2
    assert len(report["warmup_ns"]) == 1 and len(report["times_ns"]) == 3


def test_the_first_unit_is_timed_alone_before_the_warm_up(tmp_path: Path) -> None:
    source = LOGGING_WORKLOAD + textwrap.dedent(
        """
        import time
        CALLS = [0]

        def workload():
            CALLS[0] += 1
            _log("W")
            if CALLS[0] == 1:  # cold: first-call work the later calls do not repeat
                time.sleep(0.05)
            return 1
        """
    )
    report, events = _drive(tmp_path, source, loops=2, warmup=1, repeat=3, first_call=True)
    assert events == ["S+", "W+"] * (1 + 2 * (1 + 3))
    assert report["first_ns"] > 10 * max(report["times_ns"])  # same-process ratio only


def test_a_far_slower_variant_runs_fewer_loops_and_a_slow_first_call_alone_does_not(
    tmp_path: Path,
) -> None:
    """Loops calibrated on a fast base (here 10,000 units of ~10 µs) would make every value
    of a 5 ms variant last 50 s: its processes run about one target's worth instead."""
    slow = "import time\n\ndef workload():\n    time.sleep(0.005)\n"
    report, _ = _drive(tmp_path, slow, loops=10_000, warmup=1, repeat=2, first_call=True)
    assert 5 <= report["loops"] <= 20  # ~ 0.1 s / 5 ms
    assert len(report["times_ns"]) == 2 and min(report["times_ns"]) >= 4_000_000
    # Only the cold first call is slow: the second unit shows the calibrated loops fit.
    cold_once = (
        "import time\n_first = [True]\n\ndef workload():\n"
        "    if _first.pop() if _first else False:\n        time.sleep(0.3)\n"
    )
    kept, _ = _drive(tmp_path, cold_once, loops=1000, warmup=0, repeat=2, first_call=True)
    assert kept["loops"] == 1000


def test_number_calls_follow_one_setup(tmp_path: Path) -> None:
    _, events = _drive(tmp_path, LOGGING_WORKLOAD, number=5, loops=1, warmup=0, repeat=2)
    assert events == ["S+", *["W+"] * 5] * 2


def test_setup_never_called_when_the_script_did_not_pass_it(tmp_path: Path) -> None:
    _, events = _drive(tmp_path, LOGGING_WORKLOAD, setup="never", number=3, loops=4, warmup=1)
    assert events == ["W+"] * (3 * 4 * (1 + 3))


def test_setup_statement_runs_before_each_unit_in_its_own_namespace(tmp_path: Path) -> None:
    source = LOGGING_WORKLOAD + "\nLEAK = 'module'\n\ndef check():\n    return LEAK\n"
    _, events = _drive(
        tmp_path,
        source + "\ndef workload():\n    _log('W' + check())\n",
        setup="never",
        setup_statement="setup(); LEAK = 'statement'",
        number=2,
        loops=1,
        warmup=0,
        repeat=2,
    )
    # what the statement binds stays local to it, as in timeit
    assert events == ["S+", "Wmodule+", "Wmodule+"] * 2


def test_collector_off_during_timed_calls_when_the_spec_says_so(tmp_path: Path) -> None:
    _, off = _drive(tmp_path, LOGGING_WORKLOAD, gc=False, loops=2, warmup=1)
    assert set(off) == {"S-", "W-"}
    _, on = _drive(tmp_path, LOGGING_WORKLOAD, gc=True, loops=2, warmup=1)
    assert set(on) == {"S+", "W+"}


def test_gso_setup_once_per_process_when_never(tmp_path: Path) -> None:
    source = LOGGING_WORKLOAD.replace("def workload():", "def experiment(data):")
    source = source.replace('_log("S")', '_log("S")\n    return 7')
    _, events = _drive(tmp_path, source, kind="gso", setup="never", loops=2, warmup=1)
    assert events == ["S+", *["W+"] * (2 * (1 + 3))]


SLOW_START = """
import os, time
CALLS = 0

def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

def workload():
    # the first 5 calls of a process are 10x slower: lazy imports, first-call work
    global CALLS
    CALLS += 1
    _spin(0.010 if CALLS <= 5 else 0.001)
    return CALLS > 5
"""


def test_calibration_picks_loops_from_warm_calls(tmp_path: Path) -> None:
    report, _ = _drive(tmp_path, SLOW_START, mode="calibrate", target_s=0.05)
    # warm calls last ~1 ms: doubling stops at the first power of two lasting 50 ms (fewer on
    # a loaded machine, but always more than the 5 slow calls the warm-up has to absorb)
    assert report["loops"] >= 8
    spin = (
        "    end = time.perf_counter() + 0.06\n    while time.perf_counter() < end:\n        pass\n"
    )
    slow_source = "import time\n" + LOGGING_WORKLOAD.replace(
        '    _log("W")\n', '    _log("W")\n' + spin
    )
    slow, events = _drive(tmp_path, slow_source, mode="calibrate", target_s=0.05)
    assert slow["loops"] == 1  # one warm call already lasts the target: no extra calls
    assert len(events) == 2 * 2  # calibration itself: the cold call and one warm call


def test_slow_first_calls_fall_in_the_warm_up(tmp_path: Path) -> None:
    calibrated, _ = _drive(tmp_path, SLOW_START, mode="calibrate", target_s=0.05)
    loops = calibrated["loops"]
    logging = SLOW_START.replace(
        "    return CALLS > 5", "    _log('fast' if CALLS > 5 else 'slow')"
    )
    report, events = _drive(
        tmp_path, LOGGING_WORKLOAD + logging, setup="never", loops=loops, warmup=1
    )
    assert len(events) == loops * (1 + 3) and len(report["times_ns"]) == 3
    # the warm-up value (the first `loops` calls) holds every slow call; no timed value does
    assert events[:loops].count("slow+") == 5
    assert set(events[loops:]) == {"fast+"}


CACHED = """
import time
CACHE = {}

def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

def setup():
    CACHE.clear()

def workload():
    if "x" not in CACHE:
        _spin(0.02)  # a cold cache: 20x a warm call
        CACHE["x"] = 1
    _spin(0.001)
    return CACHE["x"]
"""


def test_number_five_with_a_cleared_cache_measures_what_timeit_measures(tmp_path: Path) -> None:
    namespace: dict[str, Any] = {}
    exec(textwrap.dedent(CACHED), namespace)
    # the script's own figure: timeit.repeat(workload, setup=setup, number=5), per call
    script = min(timeit.repeat(namespace["workload"], namespace["setup"], number=5, repeat=3)) / 5
    as_timeit, _ = _drive(tmp_path, CACHED, number=5, loops=1, warmup=0)
    one_call, _ = _drive(tmp_path, CACHED, number=1, loops=1, warmup=0)
    carried = min(as_timeit["times_ns"]) / 1e9
    default = min(one_call["times_ns"]) / 1e9
    assert 0.8 < carried / script < 1.25
    # perfagent's own default (setup before every call) measures the cold cache instead
    assert default / script > 3


def test_timing_is_rejected_for_kinds_it_does_not_apply_to() -> None:
    with pytest.raises(ValueError, match="timing"):
        WorkloadSpec(kind="command", command="true", timing=TimingSpec(number=5))


STEADY_WORKLOAD = """
import calc

def workload():
    return calc.work()
"""
SLOW_START_MODULE = """
import time
CALLS = 0

def _spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass

def work():
    global CALLS
    CALLS += 1
    _spin(0.010 if CALLS <= 3 else 0.001)
    return 1
"""
NO_SLOW_START_MODULE = SLOW_START_MODULE.replace("0.010 if CALLS <= 3 else 0.001", "0.001")


@pytest.mark.usefixtures("no_leftovers")
def test_a_faster_first_call_alone_is_not_a_speedup(make_task: TaskFactory) -> None:
    """Base's first 3 calls per process are 10x slower, the expert's are not; steady state
    is the same, so the expert is not faster. Timed one call at a time without a warm-up
    (the old sample), the same task says it is ~10x faster."""
    session = SessionConfig(min_runs=4, max_runs=8, max_time_s=60, seed=0)

    def run(timing: dict[str, Any]) -> MeasureReport:
        task_file = make_task(
            module=SLOW_START_MODULE,
            workload_src=STEADY_WORKLOAD,
            expert=NO_SLOW_START_MODULE,
            workload={"kind": "python", "file": "workload.py", "repeat": 3, "timing": timing},
            tests="def test_nothing():\n    pass\n",
        )
        return measure(load_task(task_file), MeasureOptions(expert=True, session=session))

    steady = run({"target_s": 0.02})
    workload = steady.workloads[0]
    assert workload.loops is not None and workload.loops >= 4
    assert steady.expert_verdict != "faster"
    assert 0.8 < steady.speedup < 1.25
    process = workload.base_processes[0]
    assert process.loops == workload.loops and len(process.warmups) == 1
    assert len(process.values) == 3
    cold = run({"loops": 1, "warmup": 0})
    assert cold.expert_verdict == "faster" and cold.speedup > 3
