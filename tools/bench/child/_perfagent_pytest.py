"""pytest plugin (loaded with ``-p _perfagent_pytest``): writes each test's call-phase
duration and outcome to the JSON file named by ``PERFAGENT_PYTEST_REPORT``."""

from __future__ import annotations

import json
import os
from typing import Any

_results: dict[str, dict[str, Any]] = {}


def pytest_runtest_logreport(report: Any) -> None:
    entry = _results.setdefault(report.nodeid, {"duration": 0.0, "outcome": "passed"})
    if report.when == "call":
        entry["duration"] = report.duration
    if report.outcome != "passed" and not (report.when != "call" and report.outcome == "skipped"):
        entry["outcome"] = report.outcome
    elif report.outcome == "skipped":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("PERFAGENT_PYTEST_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"tests": _results, "exitstatus": int(exitstatus)}, handle)
