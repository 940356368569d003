"""pytest plugin (loaded with ``-p _perfagent_pytest``): writes each test's call-phase
duration and outcome to the JSON file named by ``PERFAGENT_PYTEST_REPORT``.

It also provides a ``benchmark`` fixture with pytest-benchmark's calling conventions
(``benchmark(fn, *args, **kwargs)``, ``benchmark.pedantic(target, args, kwargs, setup)``)
whose call is timed exactly once: a test that uses it is recorded with the duration of the
benchmarked call alone, not its whole call phase. perfagent runs pytest with
``-p no:benchmark`` so pytest-benchmark's own loop never runs, and accepts (and ignores) its
command-line options so a project's ``addopts`` still parse.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

_results: dict[str, dict[str, Any]] = {}
_benchmarked: dict[str, float] = {}  # node id -> seconds inside the benchmarked call(s)

# pytest-benchmark's (5.x) command-line options and how many values each takes.
_OPTIONS: dict[str, int | str | None] = {
    **dict.fromkeys(
        ("disable-gc", "skip", "disable", "enable", "only", "autosave", "save-data",
         "verbose", "quiet"),
        0,
    ),
    **dict.fromkeys(
        ("min-time", "max-time", "min-rounds", "timer", "calibration-precision",
         "warmup-iterations", "save", "json", "cprofile", "cprofile-loops", "cprofile-top",
         "storage", "sort", "group-by", "columns", "name", "time-unit"),
        None,
    ),
    **dict.fromkeys(("warmup", "compare", "cprofile-dump", "netrc", "histogram"), "?"),
    "compare-fail": "+",
}  # fmt: skip


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("perfagent", "pytest-benchmark's options, accepted and ignored")
    for name, nargs in _OPTIONS.items():
        dest = "perfagent_ignored_" + name.replace("-", "_")
        if nargs == 0:
            group.addoption(f"--benchmark-{name}", action="store_true", dest=dest)
        else:
            group.addoption(f"--benchmark-{name}", action="store", nargs=nargs, dest=dest)


def pytest_configure(config: Any) -> None:
    config.addinivalue_line("markers", "benchmark(**kwargs): pytest-benchmark settings (ignored)")


class Benchmark:
    """pytest-benchmark's fixture object, timing one call of the target."""

    def __init__(self, node_id: str) -> None:
        self._node_id = node_id
        self.extra_info: dict[str, Any] = {}
        self.group: str | None = None
        self.name = node_id
        self.disabled = False

    def _timed(self, target: Callable[..., Any], args: Any, kwargs: Any) -> Any:
        start = time.perf_counter_ns()
        try:
            return target(*args, **kwargs)
        finally:
            elapsed = (time.perf_counter_ns() - start) / 1e9
            _benchmarked[self._node_id] = _benchmarked.get(self._node_id, 0.0) + elapsed

    def __call__(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._timed(target, args, kwargs)

    def pedantic(
        self,
        target: Callable[..., Any],
        args: Any = (),
        kwargs: Any = None,
        setup: Callable[[], Any] | None = None,
        teardown: Callable[..., Any] | None = None,
        rounds: int = 1,
        warmup_rounds: int = 0,
        iterations: int = 1,
    ) -> Any:
        # One call, whatever rounds/iterations say: perfagent repeats whole processes.
        args, kwargs = tuple(args), dict(kwargs or {})
        if setup is not None:
            made = setup()
            if made is not None:
                args, kwargs = tuple(made[0]), dict(made[1] or {})
        try:
            return self._timed(target, args, kwargs)
        finally:
            if teardown is not None:
                teardown(*args, **kwargs)


@pytest.fixture
def benchmark(request: Any) -> Benchmark:
    return Benchmark(request.node.nodeid)


def pytest_runtest_logreport(report: Any) -> None:
    entry = _results.setdefault(report.nodeid, {"duration": 0.0, "outcome": "passed"})
    if report.when == "call":
        entry["duration"] = _benchmarked.get(report.nodeid, report.duration)
    if report.outcome != "passed" and not (report.when != "call" and report.outcome == "skipped"):
        entry["outcome"] = report.outcome
    elif report.outcome == "skipped":
        entry["outcome"] = "skipped"


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    path = os.environ.get("PERFAGENT_PYTEST_REPORT")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"tests": _results, "exitstatus": int(exitstatus)}, handle)
