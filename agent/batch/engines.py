"""Where a batch's jobs run: a local process pool pinned one worker per core, or an existing
Dask distributed cluster. Both yield ``(job, result or exception)`` as jobs finish; neither
writes results (the batch's client does, once per job)."""

from __future__ import annotations

import importlib
import multiprocessing
import os
import secrets
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from perfagent.tools.errors import PerfagentError
from perfagent.tools.extras import require

if TYPE_CHECKING:
    from multiprocessing.queues import Queue


class Labelled(Protocol):
    @property
    def label(self) -> str: ...  # "calc run 1": names the job in messages and Dask keys


J = TypeVar("J", bound=Labelled)
Outcome = tuple[J, dict[str, Any] | BaseException]
Job = Callable[[J], dict[str, Any]]

RESOURCE = "perfagent"  # a Dask worker resource: one job at a time per worker
DASK_RETRIES = 2


class BatchError(PerfagentError):
    """A batch that cannot start: bad options, an unreachable or unsuitable cluster."""


class Engine(Protocol):
    name: str

    def run(self, fn: Job[J], jobs: Sequence[J]) -> Iterator[Outcome[J]]: ...


def free_cores(cpu_count: int | None = None, load: float | None = None) -> float:
    """Cores not busy right now: ``os.cpu_count()`` minus the 1-minute load average."""
    count = (os.cpu_count() or 1) if cpu_count is None else cpu_count
    busy = os.getloadavg()[0] if load is None else load
    return max(count - busy, 0.0)


def quiet_core_warning(workers: int, free: float) -> str | None:
    if workers <= free:
        return None
    return (
        f"warning: timing needs a quiet core per worker: {workers} worker(s) but only "
        f"{free:.1f} core(s) free (cpu count minus load average); verdicts may come out "
        "inconclusive or noisy"
    )


def pick_cores(workers: int, allowed: Sequence[int]) -> list[int]:
    """One core per worker, from the last allowed ones (core 0 takes most interrupts);
    with more workers than cores, cores are shared round-robin."""
    cores = sorted(allowed)
    if workers <= len(cores):
        return cores[len(cores) - workers :]
    return [cores[i % len(cores)] for i in range(workers)]


def _pin_worker(cores: Queue[int]) -> None:
    """Process-pool initializer: this worker and every process it starts use one core."""
    os.sched_setaffinity(0, {cores.get()})


class LocalEngine:
    name = "local"

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise BatchError(f"--workers: {workers} must be at least 1")
        self.workers = workers
        self.cores = pick_cores(workers, sorted(os.sched_getaffinity(0)))

    def run(self, fn: Job[J], jobs: Sequence[J]) -> Iterator[Outcome[J]]:
        if not jobs:
            return
        context = multiprocessing.get_context("spawn")
        queue: Queue[int] = context.Queue()
        for core in self.cores:
            queue.put(core)
        pool = ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_pin_worker, initargs=(queue,)
        )
        finished = False
        try:
            futures: dict[Future[dict[str, Any]], J] = {pool.submit(fn, j): j for j in jobs}
            for future in as_completed(futures):
                error = future.exception()
                yield futures[future], error if error is not None else future.result()
            finished = True
        finally:
            if finished:
                pool.shutdown(wait=True)
            else:
                _stop_now(pool)


def _stop_now(pool: ProcessPoolExecutor) -> None:
    """Interrupted (Ctrl-C, or the consumer stopped reading): end the runs in progress now
    rather than let each worker finish its run and start the next queued one. Each run
    resumes from its checkpoint next time; its commands die with it (``tools.runner``)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())  # no public API in 3.11
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(10)


class DaskEngine:
    """Jobs on an existing cluster, one per worker at a time (each worker must declare the
    resource ``perfagent=1``: ``dask worker ADDR --nthreads 1 --resources perfagent=1``).

    A job that raises is retried ``DASK_RETRIES`` times; a job whose worker dies is moved to
    another worker by the scheduler (up to ``distributed.scheduler.allowed-failures``) and
    continues there from the run's checkpoint, since run dirs are on a shared file system.
    """

    name = "dask"

    def __init__(self, scheduler: str) -> None:
        self.scheduler = scheduler

    def run(self, fn: Job[J], jobs: Sequence[J]) -> Iterator[Outcome[J]]:
        if not jobs:
            return
        # Imported here (and typed Any: distributed ships no annotations): a local batch
        # never loads it.
        require("dask", "--engine dask")
        distributed: Any = importlib.import_module("distributed")
        try:
            client = distributed.Client(self.scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise BatchError(f"--scheduler {self.scheduler}: cannot connect ({exc})") from exc
        try:
            self._check_workers(client)
            futures = {
                client.submit(
                    fn,
                    job,
                    key=f"perfagent-{job.label.replace(' ', '-')}-{secrets.token_hex(4)}",
                    resources={RESOURCE: 1},
                    retries=DASK_RETRIES,
                    pure=False,
                ): job
                for job in jobs
            }
            try:
                for future in distributed.as_completed(futures):
                    try:
                        result = future.result()
                    except Exception as exc:  # the job's own error, or KilledWorker
                        yield futures[future], exc
                    else:
                        yield futures[future], result
            finally:
                client.cancel(list(futures))
        finally:
            client.close()

    def _check_workers(self, client: Any) -> None:
        workers = client.scheduler_info().get("workers", {})
        able = [w for w in workers.values() if (w.get("resources") or {}).get(RESOURCE, 0) >= 1]
        if not able:
            raise BatchError(
                f"--scheduler {self.scheduler}: no worker offers the resource {RESOURCE}=1 "
                f"({len(workers)} worker(s)); start them with --resources {RESOURCE}=1"
            )


def make_engine(name: str, workers: int, scheduler: str | None) -> LocalEngine | DaskEngine:
    if name == "local":
        return LocalEngine(workers)
    if name == "dask":
        if not scheduler:
            raise BatchError("--engine dask needs --scheduler tcp://HOST:PORT")
        return DaskEngine(scheduler)
    raise BatchError(f"--engine: {name!r} is not local or dask")
