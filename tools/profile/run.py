"""``profile_task``: run a task's workload on base under py-spy (and perf) → a ``Profile``."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from perfagent.tools.bench.workloads import Variant, WorkloadRunner
from perfagent.tools.errors import MeasurementError
from perfagent.tools.lab.prepared import PreparedTask, prepare_task, task_limits
from perfagent.tools.profile import aggregate, samplers
from perfagent.tools.profile.model import Frame, Hotspot, Profile, Stack
from perfagent.tools.taskspec import Task, WorkloadSpec

PROFILER_SLOWDOWN = 3  # timeouts stretch by this under a profiler
MIN_TIMED_SAMPLES = 50  # fewer than this inside the timed calls cannot rank functions
EXTRA_RUNS_FACTOR = 5  # at most this many times the requested runs to reach it
ATTACH_RETRIES = 2  # runs again when py-spy missed a starting process (a loaded machine)


def profile_task(
    task: Task,
    *,
    workload_index: int = 0,
    runs: int = 3,
    rate_hz: int = 200,
    native: bool = False,
    perf: bool = False,
    patch: str | None = None,
    progress: Callable[[str], None] | None = None,
    prepared: PreparedTask | None = None,
    workdir_parent: Path | None = None,
) -> Profile:
    """Profile base (or base + ``patch``) on one workload of ``task`` (in ``prepared``'s
    workspace when given, else in one made for this call)."""
    say = progress or (lambda _msg: None)
    workloads = task.workloads()
    if not 0 <= workload_index < len(workloads):
        raise MeasurementError(f"{task.path}: no workload number {workload_index}")
    spec = workloads[workload_index]
    with prepared_workload(
        task, spec, patch=patch, prepared=prepared, workdir_parent=workdir_parent
    ) as (scratch, workload, variant):
        tree, file = variant.tree, workload.workload_file
        stacks: list[Stack] = []
        warnings: list[str] = []
        started = time.monotonic()
        index = 0
        # Short workloads give few samples per process: keep sampling (up to a cap) until the
        # timed calls have enough samples to rank anything.
        while index < runs or (
            index < runs * EXTRA_RUNS_FACTOR
            and sum(s.count for s in aggregate.timed_part(stacks, file)) < MIN_TIMED_SAMPLES
        ):
            index += 1
            say(f"py-spy run {index}")
            out = scratch / f"pyspy-{index}.txt"
            wrapper = samplers.pyspy_wrapper(out, rate=rate_hz, native=native)
            sample = workload.run(variant, wrapper=wrapper)
            for _ in range(ATTACH_RETRIES):
                if sample.error is None or samplers.PYSPY_MISSED_START not in sample.error:
                    break
                say("py-spy missed the start of the workload process; running it again")
                sample = workload.run(variant, wrapper=wrapper)
            if sample.error is not None:
                raise MeasurementError(
                    f"workload {spec.label!r} fails under py-spy: {sample.error}"
                )
            if not out.is_file():
                raise MeasurementError("py-spy wrote no profile (is ptrace permitted here?)")
            stacks.extend(samplers.parse_pyspy_raw(out.read_text(encoding="utf-8")))
        duration = time.monotonic() - started
        native_stacks: list[Stack] = []
        native_spots: list[Hotspot] = []
        if perf:
            native_stacks, note = _perf_run(workload, variant, scratch, rate_hz, say)
            if note:
                warnings.append(note)
            elif native_stacks:
                _, native_spots, _, _ = aggregate.hotspots(native_stacks, tree, None)
        timed = aggregate.timed_part(stacks, file)
        if not timed:
            raise MeasurementError(
                f"no samples inside the timed call of {spec.label!r}; "
                "raise --rate or the workload's repeat"
            )
        repo, external, shares, total = aggregate.hotspots(timed, tree, file)
        return Profile(
            backend="py-spy+perf" if native_spots else "py-spy",
            workload=spec.label,
            total_samples=total,
            rate_hz=rate_hz,
            duration_s=duration,
            native=native,
            hotspots=repo,
            external=external,
            outside_share=shares,
            stacks=_strip(timed, tree),
            native_hotspots=native_spots[:50],
            native_stacks=native_stacks,
            warnings=warnings,
        )


@contextmanager
def prepared_workload(
    task: Task,
    spec: WorkloadSpec,
    *,
    patch: str | None = None,
    prepared: PreparedTask | None = None,
    workdir_parent: Path | None = None,
) -> Iterator[tuple[Path, WorkloadRunner, Variant]]:
    """A scratch folder, a runner for ``spec`` with timeouts stretched for a profiler, and the
    built tree of base (or base + ``patch``) in the task's prepared environment."""
    limits = task_limits(task, stretch=PROFILER_SLOWDOWN)
    with prepare_task(task, prepared=prepared, workdir_parent=workdir_parent) as prep:
        tree = prep.tree([("patch", patch or "")])
        variant = Variant("base" if not patch else "candidate", tree)
        prep.build(tree)
        file = task.resolve_file(spec.file, prep.repo_dir, "workload.file") if spec.file else None
        scratch = prep.scratch("profile")
        try:
            yield scratch, WorkloadRunner(spec, file, prep.env, scratch, limits=limits), variant
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _perf_run(
    workload: WorkloadRunner, variant: Variant, root: Path, rate_hz: int, say: Callable[[str], None]
) -> tuple[list[Stack], str]:
    status = samplers.perf_status()
    if status:
        return [], f"native profile skipped: {status}"
    say("perf run")
    data = root / "perf.data"
    sample = workload.run(variant, wrapper=samplers.perf_wrapper(data, rate=rate_hz))
    if sample.error is not None or not data.is_file():
        return [], f"native profile skipped: perf run failed ({sample.error})"
    return samplers.perf_stacks(data), ""


def _strip(stacks: list[Stack], tree: Path) -> list[Stack]:
    """Stacks with repo paths made relative, so flame graphs do not show temp dirs."""
    prefix = f"{tree}/"
    return [
        Stack(tuple(Frame(f.name, f.file.removeprefix(prefix), f.line) for f in s.frames), s.count)
        for s in stacks
    ]
