"""Instruction counts: deterministic, so even a small effect gets a stable verdict."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import TaskFactory
from tools.bench import instructions
from tools.bench.session import SessionConfig
from tools.lab import MeasureOptions, measure
from tools.taskspec import load_task

pytestmark = [
    pytest.mark.valgrind,
    pytest.mark.skipif(instructions.backend() == "none", reason="no valgrind or perf counters"),
]

WORKLOAD = """
import calc

def workload():
    return calc.total(400)
"""


@pytest.mark.usefixtures("no_leftovers")
def test_instruction_metric_measures_the_expert(make_task: TaskFactory) -> None:
    task = load_task(make_task(workload_src=WORKLOAD, hidden_workloads=[]))
    report = measure(
        task, MeasureOptions(expert=True, metric="instructions", session=SessionConfig(seed=0))
    )
    assert report.metric == "instructions"
    assert report.verdict == "faster"
    assert report.speedup > 2  # quadratic list building vs a generator
    assert report.ci[1] / report.ci[0] < 1.01  # counts barely vary
    assert report.equivalent is True
    assert report.runs <= 3


def test_backend_is_reported() -> None:
    assert instructions.backend() in ("perf", "callgrind")
    if instructions.backend() == "callgrind":
        assert shutil.which("valgrind")
