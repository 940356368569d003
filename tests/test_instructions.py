"""Instruction counts: deterministic, so even a small effect gets a stable verdict."""

from __future__ import annotations

import shutil

import pytest

from perfagent.tools.bench import instructions
from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.taskspec import load_task
from tests.conftest import TaskFactory

pytestmark = [
    pytest.mark.valgrind,
    pytest.mark.skipif(instructions.backend() == "none", reason="no valgrind or perf counters"),
]

WORKLOAD = """
import calc

def workload():
    # Enough work per call (millions of instructions) that the few thousand instructions a
    # process start varies by (perf counters in a VM) stay far below the 1 % asserted below.
    return [calc.total(400) for _ in range(20)]
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
    counts = [
        (w.base_values, {k: v.values for k, v in w.variants.items()}) for w in report.workloads
    ]
    # Counts barely vary; on failure say which counter and what it counted.
    assert report.ci[1] / report.ci[0] < 1.01, (instructions.backend(), counts)
    assert report.equivalent is True
    assert report.runs <= 3


def test_backend_is_reported() -> None:
    assert instructions.backend() in ("perf", "callgrind")
    if instructions.backend() == "callgrind":
        assert shutil.which("valgrind")
