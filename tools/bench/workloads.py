"""Run one workload once, in a fresh process, against one variant tree.

A run yields a ``Sample``: the timed value for this process (seconds, or instructions with
the instruction metric), its peak memory, its output for equivalence checks, and any error.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfagent.tools import runner
from perfagent.tools.bench import instructions
from perfagent.tools.errors import MeasurementError
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import WorkloadSpec

CHILD_DIR = Path(__file__).resolve().parent / "child"
DRIVER = CHILD_DIR / "driver.py"
Metric = Literal["time", "instructions"]


@dataclass(frozen=True)
class Variant:
    name: str
    tree: Path


@dataclass
class Sample:
    """One process's measurement of one variant."""

    variant: str
    value: float  # seconds (median of timed calls) or instructions per call
    calls: list[float] = field(default_factory=list)
    max_rss_kb: int = 0
    output: Any = None  # canonical output (python/command/pytest), None if not kept
    error: str | None = None  # one line; the workload crashed or could not run
    equivalence_failure: str | None = None  # gso check_equivalence said no
    foreign_imports: list[str] = field(default_factory=list)
    self_consistent: bool | None = None


class WorkloadRunner:
    """Knows how to run one workload spec; ``run()`` is one fresh process."""

    def __init__(
        self,
        spec: WorkloadSpec,
        workload_file: Path | None,
        env: TaskEnvironment,
        scratch: Path,
        *,
        limits: runner.Limits,
        cpus: frozenset[int] | None = None,
        metric: Metric = "time",
    ) -> None:
        self.spec = spec
        self.workload_file = workload_file
        self.env = env
        self.scratch = scratch
        self.limits = limits
        self.cpus = cpus
        self.metric = metric
        self.reference = scratch / f"{spec.label}.gso-reference"
        self._counter = 0
        scratch.mkdir(parents=True, exist_ok=True)

    def run(
        self, variant: Variant, *, store_reference: bool = False, wrapper: Sequence[str] = ()
    ) -> Sample:
        """One fresh process; ``wrapper`` prefixes the command (e.g. a profiler)."""
        if self.metric == "instructions":
            return self._run_instructions(variant)
        if self.spec.kind in ("python", "gso"):
            return self._run_driver(variant, list(wrapper), store_reference=store_reference)
        if self.spec.kind == "command":
            return self._run_command(variant, list(wrapper))
        return self._run_pytest(variant, list(wrapper))

    # -- python / gso ---------------------------------------------------------------------
    def _driver_spec(self, variant: Variant, mode: str, store_reference: bool) -> tuple[Path, Path]:
        self._counter += 1
        stem = self.scratch / f"{variant.name}-{self._counter}"
        spec: dict[str, Any] = {
            "kind": self.spec.kind,
            "tree": str(variant.tree),
            "workload_file": str(self.workload_file),
            "repeat": self.spec.repeat,
            "mode": mode,
            "report": str(stem.with_suffix(".report.json")),
            "output": str(stem.with_suffix(".out.json")),
        }
        if self.spec.kind == "gso":
            key = "store_reference" if store_reference else "check_reference"
            spec[key] = str(self.reference)
        spec_path = stem.with_suffix(".spec.json")
        spec_path.write_text(json.dumps(spec), encoding="utf-8")
        return spec_path, stem

    def _run_driver(self, variant: Variant, wrapper: list[str], *, store_reference: bool) -> Sample:
        spec_path, stem = self._driver_spec(variant, "time", store_reference)
        result = runner.run(
            [*wrapper, str(self.env.python), str(DRIVER), str(spec_path)],
            cwd=variant.tree,
            env=self.env.variables(variant.tree),
            limits=self.limits,
            cpus=self.cpus,
        )
        try:
            return self._read_driver_report(variant, result, stem)
        finally:
            _remove_driver_files(stem)

    def _read_driver_report(self, variant: Variant, result: runner.RunResult, stem: Path) -> Sample:
        report_path = stem.with_suffix(".report.json")
        if not result.ok or not report_path.is_file():
            return Sample(
                variant.name,
                float("nan"),
                max_rss_kb=result.max_rss_kb,
                error=f"workload process {result.summary()}",
            )
        report = json.loads(report_path.read_text(encoding="utf-8"))
        calls = [ns / 1e9 for ns in report["times_ns"]]
        out_path = stem.with_suffix(".out.json")
        output = json.loads(out_path.read_text(encoding="utf-8")) if out_path.is_file() else None
        error = None
        if report["error"]:
            err = report["error"]
            error = f"{err['type']}: {err['message']}".splitlines()[0][:300]
            output = {"__raised__": err["canonical"]}
        return Sample(
            variant.name,
            statistics.median(calls) if calls else float("nan"),
            calls,
            max_rss_kb=int(report.get("max_rss_kb", result.max_rss_kb)),
            output=output,
            error=error,
            equivalence_failure=report.get("equivalence_failure"),
            foreign_imports=report.get("foreign_imports", []),
            self_consistent=report.get("self_consistent"),
        )

    # -- command ------------------------------------------------------------------------------
    def _run_command(self, variant: Variant, wrapper: list[str]) -> Sample:
        assert self.spec.command is not None
        command: str | list[str] = self.spec.command
        if wrapper:
            command = [*wrapper, "bash", "-c", self.spec.command]
        result = runner.run(
            command,
            cwd=variant.tree,
            env=self.env.variables(variant.tree),
            limits=self.limits,
            cpus=self.cpus,
        )
        error = None if result.ok else f"command {result.summary()}"
        output = {"returncode": result.returncode, "stdout": result.stdout}
        return Sample(
            variant.name,
            result.duration_s,
            [result.duration_s],
            max_rss_kb=result.max_rss_kb,
            output=output,
            error=error,
        )

    # -- pytest -------------------------------------------------------------------------------
    def _run_pytest(self, variant: Variant, wrapper: list[str]) -> Sample:
        assert self.spec.tests is not None
        self._counter += 1
        report_path = self.scratch / f"{variant.name}-{self._counter}.pytest.json"
        env = self.env.variables(variant.tree)
        env["PYTHONPATH"] = f"{env['PYTHONPATH']}:{CHILD_DIR}"
        env["PERFAGENT_PYTEST_REPORT"] = str(report_path)
        argv = [
            *wrapper,
            str(self.env.python),
            "-m",
            "pytest",
            "-q",
            "-p",
            "_perfagent_pytest",
            # The plugin's own `benchmark` fixture times the benchmarked call once;
            # pytest-benchmark's calibrated loop would time something else.
            "-p",
            "no:benchmark",
            "-p",
            "no:cacheprovider",
            *self.spec.tests,
        ]
        result = runner.run(argv, cwd=variant.tree, env=env, limits=self.limits, cpus=self.cpus)
        try:
            if not report_path.is_file():
                return Sample(
                    variant.name,
                    float("nan"),
                    max_rss_kb=result.max_rss_kb,
                    error=f"pytest {result.summary()}",
                )
            tests = json.loads(report_path.read_text(encoding="utf-8"))["tests"]
        finally:
            report_path.unlink(missing_ok=True)
        if not tests:
            return Sample(
                variant.name,
                float("nan"),
                error=f"pytest collected none of {', '.join(self.spec.tests)}",
            )
        durations = [t["duration"] for t in tests.values()]
        failed = sorted(node for node, t in tests.items() if t["outcome"] == "failed")
        error = f"{len(failed)} timed test(s) failed, first: {failed[0]}" if failed else None
        output = {node: t["outcome"] for node, t in tests.items()}
        return Sample(
            variant.name,
            sum(durations),
            durations,
            max_rss_kb=result.max_rss_kb,
            output=output,
            error=error,
        )

    # -- instructions ---------------------------------------------------------------------------
    def _run_instructions(self, variant: Variant) -> Sample:
        if self.spec.kind not in ("python", "gso"):
            raise MeasurementError(
                f"--metric instructions supports python and gso workloads, not {self.spec.kind!r}"
            )
        counts: dict[str, int] = {}
        sample: Sample | None = None
        for mode in ("time", "null"):
            spec_path, stem = self._driver_spec(variant, mode, store_reference=False)
            argv = [str(self.env.python), str(DRIVER), str(spec_path)]
            try:
                count, result = instructions.count(
                    argv,
                    cwd=variant.tree,
                    env=self.env.variables(variant.tree),
                    limits=self.limits,
                    scratch=self.scratch,
                )
                if mode == "time":
                    sample = self._read_driver_report(variant, result, stem)
            finally:
                _remove_driver_files(stem)
            counts[mode] = count
        assert sample is not None
        # Everything but the timed calls (start-up, imports, setup) cancels out.
        sample.value = max(counts["time"] - counts["null"], 1) / self.spec.repeat
        sample.calls = [sample.value]
        return sample


def _remove_driver_files(stem: Path) -> None:
    for suffix in (".spec.json", ".report.json", ".out.json"):
        stem.with_suffix(suffix).unlink(missing_ok=True)
