"""Run one workload once, in a fresh process, against one variant tree.

A run yields a ``Sample``: the timed value for this process (seconds per call, or
instructions with the instruction metric), its peak memory, its output for equivalence
checks, and any error. ``python``/``gso`` processes take warm-up values (discarded), then
``repeat`` values of ``loops`` units each (the driver's docstring says what a unit is);
``loops`` is calibrated by the runner's first run, which must be on base, and then kept
for every variant (the driver runs fewer in a process of a variant far slower than base).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from perfagent.tools import runner
from perfagent.tools.bench import instructions
from perfagent.tools.bench.clock_checks import wall_clock_error
from perfagent.tools.bench.integrity import first_difference
from perfagent.tools.errors import MeasurementError
from perfagent.tools.pyenv import TaskEnvironment
from perfagent.tools.taskspec import WorkloadSpec

CHILD_DIR = Path(__file__).resolve().parent / "child"
DRIVER = CHILD_DIR / "driver.py"
Metric = Literal["time", "instructions"]


def driver_argv(python: Path) -> list[str]:
    """The driver, started so that nothing of the tree runs before it holds the clock:
    ``-S`` (no ``site``, no .pth files, no sitecustomize) and ``-s`` (no user site); the
    tree comes through ``driver_env`` instead of ``PYTHONPATH``."""
    return [str(python), "-s", "-S", str(DRIVER)]


def driver_env(variables: dict[str, str]) -> dict[str, str]:
    """A tree's variables with ``PYTHONPATH`` handed to the driver, which applies it after
    binding the clock (``PYTHONPATH`` would put the tree on the path at interpreter start)."""
    env = dict(variables)
    env["PERFAGENT_PYTHONPATH"] = env.pop("PYTHONPATH", "")
    return env


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
    wall_s: float = 0.0  # the process's wall time as the parent saw it (python/gso kinds)
    timed_s: float = 0.0  # what the driver's clock says its timed values took in all (ditto)
    loops: int | None = None  # python/gso: units per value (``calls`` are per-call values)
    warmups: list[float] = field(default_factory=list)  # discarded values, seconds per call
    # python/gso: the process's first unit alone, before warm-up (seconds per call)
    first_call: float | None = None


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
        loops: int | None = None,
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
        self._last_clock: dict[str, int] | None = None
        # Units per value: the spec's, one already calibrated for this task, or (None) set by
        # the first run, which calibrates on whichever variant it runs (callers run base).
        self.loops = spec.timing.loops or loops
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
            return self._run_command(variant, list(wrapper), store_reference=store_reference)
        return self._run_pytest(variant, list(wrapper))

    def sandbox(self, variant: Variant, wrapper: Sequence[str] = ()) -> runner.Sandbox:
        """What one run may see: its tree and the scratch folder writable; the driver, the
        workload file, a profiler and (except when base stores it) the reference read-only."""
        readable = [CHILD_DIR, *([self.workload_file] if self.workload_file else [])]
        if wrapper and Path(wrapper[0]).is_absolute():
            readable.append(Path(wrapper[0]))
        if self.reference.exists() and variant.name != "base":
            readable.append(self.reference)  # a candidate must not rewrite what it is held to
        return self.env.sandbox(variant.tree, writable=(self.scratch,), readable=readable)

    # -- python / gso ---------------------------------------------------------------------
    def _timing(self, mode: str) -> dict[str, Any]:
        timing = self.spec.timing.model_dump()
        if self.metric == "instructions":
            loops, warmup = 1, 0  # counts are exact: no warm-up, no loops to average over
        else:
            loops = self.loops or 1
            warmup = timing["warmup"] if timing["warmup"] is not None else int(loops > 1)
        # Counts subtract a "null" run of the same shape: no extra first unit for them.
        first_call = self.metric != "instructions"
        return {**timing, "loops": loops, "warmup": warmup, "first_call": first_call}

    def _driver_spec(self, variant: Variant, mode: str, store_reference: bool) -> tuple[Path, Path]:
        self._counter += 1
        stem = self.scratch / f"{variant.name}-{self._counter}"
        spec: dict[str, Any] = {
            "kind": self.spec.kind,
            "tree": str(variant.tree),
            "workload_file": str(self.workload_file),
            "repeat": self.spec.repeat,
            "timing": self._timing(mode),
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
        mode = "calibrate" if self.loops is None else "time"
        spec_path, stem = self._driver_spec(variant, mode, store_reference)
        window_start = time.monotonic_ns()
        result = runner.run(
            [*wrapper, *driver_argv(self.env.python), str(spec_path)],
            cwd=variant.tree,
            env=driver_env(self.env.variables(variant.tree)),
            limits=self.limits,
            cpus=self.cpus,
            sandbox=self.sandbox(variant, wrapper),
        )
        window = (window_start, time.monotonic_ns())
        try:
            sample = self._read_driver_report(variant, result, stem)
        finally:
            _remove_driver_files(stem)
        sample.wall_s = (window[1] - window[0]) / 1e9
        # ``calls`` are seconds per call; each value timed ``loops`` × ``number`` calls.
        per_value = (sample.loops or 1) * self.spec.timing.number
        sample.timed_s = (sum(sample.calls) + sum(sample.warmups)) * per_value + (
            (sample.first_call or 0.0) * self.spec.timing.number
        )
        if sample.error is None:
            sample.error = wall_clock_error([sample.timed_s], self._last_clock, window)
        if mode == "calibrate" and sample.error is None:
            self.loops = sample.loops
        return sample

    def _read_driver_report(self, variant: Variant, result: runner.RunResult, stem: Path) -> Sample:
        report_path = stem.with_suffix(".report.json")
        self._last_clock = None
        if not result.ok or not report_path.is_file():
            return Sample(
                variant.name,
                float("nan"),
                max_rss_kb=result.max_rss_kb,
                error=f"workload process {result.summary()}",
            )
        report = json.loads(report_path.read_text(encoding="utf-8"))
        self._last_clock = report.get("clock")  # for wall_clock_error, read by the caller
        calls = [ns / 1e9 for ns in report["times_ns"]]
        warmups = [ns / 1e9 for ns in report.get("warmup_ns", [])]
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
            equivalence_failure=(
                f"check_equivalence: {report['equivalence_failure']}"
                if report.get("equivalence_failure")
                else None
            ),
            foreign_imports=report.get("foreign_imports", []),
            self_consistent=report.get("self_consistent"),
            loops=report.get("loops"),
            warmups=warmups,
            first_call=report["first_ns"] / 1e9 if report.get("first_ns") is not None else None,
        )

    # -- command ------------------------------------------------------------------------------
    def _run_command(
        self, variant: Variant, wrapper: list[str], *, store_reference: bool = False
    ) -> Sample:
        assert self.spec.command is not None
        command: str | list[str] = self.spec.command
        if wrapper:
            command = [*wrapper, "bash", "-c", self.spec.command]
        # The whole stdout goes to a file (base's first run keeps it as the reference), so a
        # difference anywhere in it can be shown, not only in the part the result keeps.
        reference = self.scratch / f"{self.spec.label}.stdout-reference"
        self._counter += 1
        stdout_path = reference if store_reference else self.scratch / f"{self._counter}.stdout"
        result = runner.run(
            command,
            cwd=variant.tree,
            env=self.env.variables(variant.tree),
            limits=self.limits,
            cpus=self.cpus,
            sandbox=self.sandbox(variant, wrapper),
            stdout_path=stdout_path,
        )
        error = None if result.ok else f"command {result.summary()}"
        # The hash and length cover the whole stdout; ``stdout`` keeps its first and last part.
        output = {
            "returncode": result.returncode,
            "stdout_sha256": result.stdout_sha256,
            "stdout_bytes": result.stdout_bytes,
            "stdout": result.stdout,
        }
        difference = None
        if not store_reference:
            if variant.name != "base" and reference.is_file():
                difference = first_difference(reference, stdout_path)
            stdout_path.unlink(missing_ok=True)
        return Sample(
            variant.name,
            result.duration_s,
            [result.duration_s],
            max_rss_kb=result.max_rss_kb,
            output=output,
            error=error,
            equivalence_failure=difference,
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
        result = runner.run(
            argv,
            cwd=variant.tree,
            env=env,
            limits=self.limits,
            cpus=self.cpus,
            sandbox=self.sandbox(variant, wrapper),
        )
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
            argv = [*driver_argv(self.env.python), str(spec_path)]
            try:
                count, result = instructions.count(
                    argv,
                    cwd=variant.tree,
                    env=driver_env(self.env.variables(variant.tree)),
                    limits=self.limits,
                    scratch=self.scratch,
                    sandbox=self.sandbox(variant),
                )
                if mode == "time":
                    sample = self._read_driver_report(variant, result, stem)
            finally:
                _remove_driver_files(stem)
            counts[mode] = count
        assert sample is not None
        # Everything but the timed calls (start-up, imports, setup) cancels out.
        calls = self.spec.repeat * self.spec.timing.number
        sample.value = max(counts["time"] - counts["null"], 1) / calls
        sample.calls = [sample.value]
        return sample


def _remove_driver_files(stem: Path) -> None:
    for suffix in (".spec.json", ".report.json", ".out.json"):
        stem.with_suffix(suffix).unlink(missing_ok=True)
