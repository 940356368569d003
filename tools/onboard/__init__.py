"""Onboarding a repository (``perfagent init``): find what it already has for measuring
speed and turn it into a ``[tool.perfagent]`` table and, where needed, a workload file.

``detect(repo)`` reads the repository statically (no code of it runs) and returns
``Findings``: an asv suite (``asv.conf.json``, its ``benchmark_dir``, the ``time_*``
benchmarks), tests using pytest-benchmark's ``benchmark`` fixture, a benchmarks folder, a
test folder, the declared dependencies (and the tests' group or extra). ``plan(findings,
...)`` chooses one source, in this order unless told: asv, then pytest-benchmark, then a
workload stub to fill in; the ``Plan`` says what it chose and why.
``pyproject.write_table`` writes it.
"""

from __future__ import annotations

import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfagent.tools.errors import TaskSpecError
from perfagent.tools.onboard import asv, pytest_benchmark
from perfagent.tools.onboard.asv import AsvSuite
from perfagent.tools.onboard.pytest_benchmark import BenchmarkTest

Source = Literal["asv", "pytest-benchmark", "stub"]
WORKLOAD_FILE = "perfagent_workload.py"
_BENCH_DIRS = ("benchmarks", "benchmark", "bench", "asv_bench")
_TEST_DIRS = ("tests", "test")


@dataclass(frozen=True)
class Findings:
    asv: AsvSuite | None
    benchmark_tests: tuple[BenchmarkTest, ...]
    benchmarks_dir: str | None  # a top-level folder of benchmarks, whatever its kind
    tests_dir: str | None
    dependencies: tuple[str, ...]  # [project].dependencies, then a test group's or extra's


@dataclass(frozen=True)
class Plan:
    source: Source
    config: dict[str, Any]  # the [tool.perfagent] table
    workload_file: str | None  # repo-relative file to write, with workload_source
    workload_source: str | None
    chosen: str  # one line: what the workload times
    notes: tuple[str, ...] = field(default=())


def detect(repo: Path) -> Findings:
    return Findings(
        asv=asv.find_suite(repo),
        benchmark_tests=tuple(pytest_benchmark.find_tests(repo)),
        benchmarks_dir=next((d for d in _BENCH_DIRS if (repo / d).is_dir()), None),
        tests_dir=next((d for d in _TEST_DIRS if (repo / d).is_dir()), None),
        dependencies=_dependencies(repo / "pyproject.toml"),
    )


def _dependencies(pyproject: Path) -> tuple[str, ...]:
    if not pyproject.is_file():
        return ()
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise TaskSpecError(f"{pyproject}: not valid TOML ({exc})") from exc
    project = data.get("project", {})
    found: list[str] = []
    # What the code needs, then what its tests need: a test group (PEP 735) or extra.
    sources = [project.get("dependencies", [])]
    for table in (data.get("dependency-groups", {}), project.get("optional-dependencies", {})):
        if isinstance(table, dict):
            sources += [table.get(name, []) for name in _TEST_GROUPS]
    for entries in sources:
        if isinstance(entries, list):  # strings only: an {include-group} table is skipped
            found += [e for e in entries if isinstance(e, str) and e not in found]
    return tuple(found)


_TEST_GROUPS = ("test", "tests", "testing")


def plan(
    findings: Findings,
    *,
    source: Source | None = None,
    benchmark: str | None = None,
    param_index: int = 0,
    tests: tuple[str, ...] = (),
) -> Plan:
    """What to write. ``source`` forces a kind; ``benchmark`` picks an asv benchmark (name or
    part of it) or pytest-benchmark tests (part of the node id); ``param_index`` is the asv
    params combination; ``tests`` replaces the detected test command."""
    if source is None:
        if findings.asv is not None and findings.asv.benchmarks:
            source = "asv"
        elif findings.benchmark_tests:
            source = "pytest-benchmark"
        else:
            source = "stub"
    config: dict[str, Any] = {}
    notes: list[str] = []
    if findings.dependencies:
        deps = " ".join(shlex.quote(d) for d in findings.dependencies)
        config["setup"] = [f"python -m pip install {deps}"]
        config["setup_network"] = True  # setup runs without network unless the task allows it
    if tests:
        config["tests"] = list(tests)
    elif findings.tests_dir:
        config["tests"] = [f"python -m pytest -q -x {findings.tests_dir}"]
    else:
        notes.append("no tests/ folder: set `tests` so candidates are checked for behaviour")

    if source == "asv":
        if findings.asv is None:
            raise TaskSpecError("--source asv: no asv.conf.json found")
        chosen = asv.choose(findings.asv, benchmark)
        # The suite is the clock's other half: a candidate may not change it.
        protected = [f"{findings.asv.benchmark_dir}/**"]
        config = {"workload": WORKLOAD_FILE, **config, "protected": protected}
        params = f", params combination {param_index}" if chosen.params else ""
        return Plan(
            "asv",
            config,
            WORKLOAD_FILE,
            asv.workload_source(findings.asv, chosen, param_index),
            f"asv benchmark {chosen.name} ({chosen.file}{params})",
            (
                *notes,
                "asv benchmarks return nothing to compare: behaviour is checked by `tests`",
            ),
        )
    if source == "pytest-benchmark":
        picked = pytest_benchmark.choose(list(findings.benchmark_tests), benchmark)
        workload = {"kind": "pytest", "tests": [t.node_id for t in picked]}
        files = sorted({t.file for t in picked})
        return Plan(
            "pytest-benchmark",
            {"workload": workload, **config},
            None,
            None,
            f"{len(picked)} pytest-benchmark test(s) in {', '.join(files)}",
            tuple(notes),
        )
    where = (
        f" (see {findings.benchmarks_dir}/ for code worth timing)"
        if findings.benchmarks_dir
        else ""
    )
    return Plan(
        "stub",
        {"workload": WORKLOAD_FILE, **config},
        WORKLOAD_FILE,
        _STUB,
        f"a workload stub to fill in{where}",
        (*notes, f"edit {WORKLOAD_FILE}: workload() must call the code you want faster"),
    )


_STUB = '''\
"""perfagent workload (written by `perfagent init`): fill in workload().

perfagent imports this file in a fresh process with the repository's tree as the working
directory and first on sys.path, calls setup() (optional, untimed) before every timed call
of workload(), and compares workload()'s return value between the original and a candidate:
return the result of the work, so a change in behaviour is caught.
"""


def setup():
    pass


def workload():
    raise NotImplementedError("perfagent_workload.py: call the code you want faster")
'''
