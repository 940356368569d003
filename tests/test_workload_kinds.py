"""The other workload kinds (gso, command, pytest) and output-equivalence edge cases."""

from __future__ import annotations

import pytest

from perfagent.tools.bench.session import SessionConfig
from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.taskspec import load_task
from tests.conftest import FAST_MODULE, SLOW_MODULE, TaskFactory, unified_diff

QUICK = SessionConfig(min_runs=5, max_runs=20, max_time_s=60, seed=0)
pytestmark = pytest.mark.usefixtures("no_leftovers")

GSO_SCRIPT = """
import json
import calc

def setup():
    return 3000

def experiment(n):
    return {"total": calc.total(n)}

def store_result(result, filename):
    with open(filename, "w") as handle:
        json.dump(result, handle)

def load_result(filename):
    with open(filename) as handle:
        return json.load(handle)

def check_equivalence(reference, current):
    assert reference["total"] == current["total"], f"{reference} != {current}"
"""
BIG_TEST = """
import calc

def test_small():
    assert calc.total(4) == 14

def test_big():
    assert calc.total(6000) > 0
"""


def test_gso_workload_uses_check_equivalence(make_task: TaskFactory) -> None:
    task_file = make_task(
        workload_src=GSO_SCRIPT, workload={"kind": "gso", "file": "workload.py", "repeat": 3}
    )
    wrong = FAST_MODULE.replace("return sum(", "return 1 + sum(")
    report = measure(
        load_task(task_file),
        MeasureOptions(
            expert=True, candidate_patch=unified_diff("calc.py", SLOW_MODULE, wrong), session=QUICK
        ),
    )
    assert report.expert_verdict == "faster"
    assert report.workloads[0].variants["expert"].equivalent is True
    assert report.equivalent is False
    assert (
        report.workloads[0]
        .variants["candidate"]
        .equivalence_detail.startswith("check_equivalence: {'total':")
    )


def test_command_workload_times_the_process(make_task: TaskFactory) -> None:
    command = "python -c 'import calc; print(calc.total(6000))'"
    task_file = make_task(workload={"kind": "command", "command": command})
    report = measure(load_task(task_file), MeasureOptions(expert=True, session=QUICK))
    assert report.verdict == "faster"
    assert report.equivalent is True  # same stdout and exit code


def test_pytest_workload_times_named_tests(make_task: TaskFactory) -> None:
    task_file = make_task(
        tests=BIG_TEST, workload={"kind": "pytest", "tests": ["tests/test_calc.py::test_big"]}
    )
    report = measure(load_task(task_file), MeasureOptions(expert=True, session=QUICK))
    assert report.verdict == "faster"
    assert report.equivalent is True


def test_unseeded_base_output_makes_equivalence_unknown(make_task: TaskFactory) -> None:
    workload = (
        "import random\nimport calc\n\ndef workload():\n"
        "    return calc.total(2000) + random.random()\n"
    )
    report = measure(
        load_task(make_task(workload_src=workload)), MeasureOptions(expert=True, session=QUICK)
    )
    assert report.equivalent is None
    assert report.workloads[0].variants["expert"].equivalence_detail.startswith("base output")


def test_float_noise_within_tolerance_is_equivalent(make_task: TaskFactory) -> None:
    workload = "import calc\n\ndef workload():\n    return calc.total(2000) / 3.0\n"
    tweaked = FAST_MODULE.replace(
        "return sum(i * i for i in range(n))", "return sum(i * i for i in range(n)) * (1 + 1e-13)"
    )
    report = measure(
        load_task(make_task(workload_src=workload)),
        MeasureOptions(
            candidate_patch=unified_diff("calc.py", SLOW_MODULE, tweaked), session=QUICK
        ),
    )
    assert report.equivalent is True
    assert (
        report.workloads[0].variants["candidate"].equivalence_detail
        == "outputs equal within float tolerance"
    )
