"""``profile_task``: run a task's workload on base under py-spy (and perf) → a ``Profile``."""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from perfagent.tools.bench.workloads import Variant, WorkloadRunner
from perfagent.tools.errors import MeasurementError
from perfagent.tools.lab.prepared import PreparedTask, prepare_task, task_limits
from perfagent.tools.profile import aggregate, samplers
from perfagent.tools.profile.defaults import DEFAULT_RATE_HZ, SAMPLE_FLOOR, SAMPLE_TIME_CAP_S
from perfagent.tools.profile.model import Frame, Hotspot, Profile, Stack
from perfagent.tools.taskspec import Task, WorkloadSpec

PROFILER_SLOWDOWN = 3  # timeouts stretch by this under a profiler
MAX_REPEAT = 100_000  # timed calls per profiled process at most
ATTACH_RETRIES = 2  # runs again when py-spy missed a starting process (a loaded machine)


def profile_task(
    task: Task,
    *,
    workload_index: int = 0,
    runs: int = 3,
    rate_hz: int = DEFAULT_RATE_HZ,
    native: bool = False,
    perf: bool = False,
    patch: str | None = None,
    progress: Callable[[str], None] | None = None,
    min_samples: int = SAMPLE_FLOOR,
    max_time_s: float = SAMPLE_TIME_CAP_S,
    prepared: PreparedTask | None = None,
    workdir_parent: Path | None = None,
) -> Profile:
    """Profile base (or base + ``patch``) on one workload of ``task`` (in ``prepared``'s
    workspace when given, else in one made for this call): at least ``runs`` processes, then
    more (with more timed calls each) until the timed calls hold ``min_samples`` samples or
    ``max_time_s`` has passed."""
    say = progress or (lambda _msg: None)
    workloads = task.workloads()
    if not 0 <= workload_index < len(workloads):
        raise MeasurementError(f"{task.path}: no workload number {workload_index}")
    spec = workloads[workload_index]
    with prepared_workload(
        task, spec, patch=patch, prepared=prepared, workdir_parent=workdir_parent
    ) as (scratch, workload, variant):
        tree, file = variant.tree, workload.workload_file
        warnings: list[str] = []
        started = time.monotonic()
        stacks = _sample_until_floor(
            workload, variant, scratch, spec, rate_hz, native, runs, min_samples, max_time_s, say
        )
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
        ranked = total >= min_samples
        if not ranked:
            warnings.append(
                f"only {total} samples inside the timed calls, below the floor of {min_samples}"
                f" (stopped after {time.monotonic() - started:.0f} s): too few to rank"
                " functions; raise --max-time or the workload's size"
            )
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
            sample_floor=min_samples,
            ranked=ranked,
        )


def _sample_until_floor(
    workload: WorkloadRunner,
    variant: Variant,
    root: Path,
    spec: WorkloadSpec,
    rate_hz: int,
    native: bool,
    runs: int,
    floor: int,
    max_time_s: float,
    say: Callable[[str], None],
) -> list[Stack]:
    """py-spy runs until the timed calls hold ``floor`` samples (or time is up). After the
    first ``runs`` processes, python/gso workloads run more timed calls per process (what
    the samples per timed second seen so far say is needed, within the time left), so a
    workload of microsecond calls is sampled in a few processes instead of thousands."""
    stacks: list[Stack] = []
    started = time.monotonic()
    timed_s = 0.0  # seconds inside timed calls so far
    wall_per_call = 0.0  # the slowest process's wall time per timed call (setup included)
    current, index = workload, 0
    scalable = spec.kind in ("python", "gso")
    while True:
        index += 1
        repeat = current.spec.repeat
        say(f"py-spy run {index}" + (f" ({repeat} timed calls)" if repeat != spec.repeat else ""))
        run_started = time.monotonic()
        new, calls = _sampled_run(
            current, variant, root / f"pyspy-{index}.txt", rate_hz, native, say
        )
        stacks.extend(new)
        timed_s += sum(calls)
        wall_per_call = max(wall_per_call, (time.monotonic() - run_started) / max(repeat, 1))
        got = sum(s.count for s in aggregate.timed_part(stacks, workload.workload_file))
        elapsed = time.monotonic() - started
        if index >= runs and (got >= floor or elapsed >= max_time_s):
            return stacks
        if index >= runs and scalable and timed_s > 0:
            per_second = got / timed_s if got else float(rate_hz)
            need_s = (floor - got) / max(per_second, 1.0)
            call_s = max(timed_s / max(len(calls), 1), 1e-7)
            affordable = min(max_time_s - elapsed, current.limits.timeout_s / 2) / wall_per_call
            wanted = max(spec.repeat, math.ceil(need_s / call_s))
            repeat = max(1, int(min(MAX_REPEAT, wanted, affordable)))
            current = WorkloadRunner(
                spec.model_copy(update={"repeat": repeat}),
                workload.workload_file,
                workload.env,
                workload.scratch,
                limits=workload.limits,
            )


def _sampled_run(
    workload: WorkloadRunner,
    variant: Variant,
    out: Path,
    rate_hz: int,
    native: bool,
    say: Callable[[str], None],
) -> tuple[list[Stack], list[float]]:
    """One process under py-spy: its stacks and its timed calls' durations."""
    wrapper = samplers.pyspy_wrapper(out, rate=rate_hz, native=native)
    sample = workload.run(variant, wrapper=wrapper)
    for _ in range(ATTACH_RETRIES):
        if sample.error is None or samplers.PYSPY_MISSED_START not in sample.error:
            break
        say("py-spy missed the start of the workload process; running it again")
        sample = workload.run(variant, wrapper=wrapper)
    if sample.error is not None:
        raise MeasurementError(
            f"workload {workload.spec.label!r} fails under py-spy: {sample.error}"
        )
    if not out.is_file():
        raise MeasurementError("py-spy wrote no profile (is ptrace permitted here?)")
    return samplers.parse_pyspy_raw(out.read_text(encoding="utf-8")), list(sample.calls)


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
