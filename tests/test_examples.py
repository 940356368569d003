"""Every bundled example: the expert patch gets a `faster` verdict, equivalent and tested."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfagent.tools.lab import MeasureOptions, measure
from perfagent.tools.taskspec import load_task
from tests.conftest import EXAMPLES


@pytest.mark.slow
@pytest.mark.usefixtures("no_leftovers")
@pytest.mark.parametrize("task_file", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_expert_is_verified_faster(task_file: Path) -> None:
    report = measure(load_task(task_file), MeasureOptions(expert=True))
    assert report.verdict == "faster"
    assert report.ci[0] > 1
    assert report.overall["verdict"] == "faster"  # hidden workload too
    assert report.equivalent is True
    assert report.tests_passed is True
    assert report.flags == []
