"""pytest-benchmark tests: tests that take the ``benchmark`` fixture, found statically.

perfagent runs them as a ``pytest`` workload with its own ``benchmark`` fixture
(``tools/bench/child/_perfagent_pytest.py``), which times the benchmarked call once per
process instead of pytest-benchmark's calibrated loop.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from perfagent.tools.errors import TaskSpecError

_SKIP_DIRS = {".git", ".venv", "venv", "env", ".tox", ".nox", "node_modules", "build", "dist"}


@dataclass(frozen=True)
class BenchmarkTest:
    node_id: str  # "path/test_x.py::test_y" or "path/test_x.py::TestC::test_y"
    file: str  # repo-relative


def find_tests(repo: Path) -> list[BenchmarkTest]:
    """Every test function or method with a ``benchmark`` parameter, in path order."""
    found: list[BenchmarkTest] = []
    for path in sorted(repo.rglob("*.py")):
        relative = path.relative_to(repo)
        if any(part in _SKIP_DIRS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        if not (path.name.startswith("test_") or path.name.endswith("_test.py")):
            continue
        try:
            source = path.read_text(encoding="utf-8")
            if "benchmark" not in source:
                continue
            tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError):
            continue
        found.extend(_tests(tree, relative.as_posix()))
    return found


def _tests(tree: ast.Module, file: str) -> list[BenchmarkTest]:
    found = [BenchmarkTest(f"{file}::{name}", file) for name in _benchmark_tests(tree.body)]
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            found.extend(
                BenchmarkTest(f"{file}::{node.name}::{name}", file)
                for name in _benchmark_tests(node.body)
            )
    return found


def _benchmark_tests(body: list[ast.stmt]) -> list[str]:
    """Names of the test functions in ``body`` that take the ``benchmark`` fixture."""
    names = []
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            args = node.args
            if "benchmark" in [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]:
                names.append(node.name)
    return names


def choose(tests: list[BenchmarkTest], pattern: str | None) -> list[BenchmarkTest]:
    """The tests whose node id contains ``pattern``, or else all those of the first file
    (a workload of one file's benchmarks; pass a pattern to pick others)."""
    if not tests:
        raise TaskSpecError("no tests using the benchmark fixture")
    if pattern is None:
        return [t for t in tests if t.file == tests[0].file]
    matching = [t for t in tests if pattern in t.node_id]
    if not matching:
        raise TaskSpecError(f"no pytest-benchmark test matches {pattern!r}")
    return matching
