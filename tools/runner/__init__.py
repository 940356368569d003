"""The one way perfagent starts a subprocess: limits, a scrubbed environment, no network.

Every command (setup, workloads, tests, probes) runs in its own session with rlimits, an
optional CPU pinning and, unless asked otherwise, in an empty network namespace. Output is
captured through pipes with a bounded buffer, the process is reaped with ``os.wait4`` so its
peak RSS is known, and whatever is left of its process group is killed when it ends. If
perfagent itself is killed, the command is too (``setpriv --pdeathsig``), so a crashed batch
or App leaves no measurement running.

Commands that run code nobody reviewed (the repository's, a model's) pass ``sandbox=``: they
then run under bubblewrap with their own pid, user, mount and network namespaces, a
restricted view of the filesystem and a cgroup bounding process count and memory
(``sandbox.py``, ``cgroups.py``). The network namespace probing lives in ``isolation.py``,
the pipe capture in ``capture.py``, the environment scrub in ``environment.py`` and the
process limits and lifetime helpers in ``process.py``; this module puts them together.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfagent.tools.errors import PerfagentError
from perfagent.tools.runner import cgroups
from perfagent.tools.runner import sandbox as sandboxing
from perfagent.tools.runner.capture import DROPPED_MARK, Capture, feed
from perfagent.tools.runner.environment import command_env, is_secret, scrub_env
from perfagent.tools.runner.isolation import isolated_argv, network_isolation_available
from perfagent.tools.runner.process import (
    apply_in_child,
    die_with_parent,
    limit_argv,
    signal_group,
    wait_exit,
)
from perfagent.tools.runner.sandbox import (
    ISOLATION_LEVELS,
    IsolationFacts,
    IsolationLevel,
    IsolationUnavailableError,
    Sandbox,
    hide,
    isolation_facts,
    isolation_level,
    sandbox_available,
    use_isolation,
)

__all__ = [
    "ISOLATION_LEVELS",
    "IsolationFacts",
    "IsolationLevel",
    "IsolationUnavailableError",
    "Limits",
    "RunResult",
    "RunnerError",
    "Sandbox",
    "hide",
    "is_secret",
    "isolation_facts",
    "isolation_level",
    "network_isolation_available",
    "run",
    "sandbox_available",
    "scrub_env",
    "use_isolation",
]

logger = logging.getLogger(__name__)

_TERM_GRACE_S = 1.0  # between SIGTERM and SIGKILL on timeout
_DRAIN_S = 2.0  # how long to wait for pipes to reach EOF once the group is dead


class RunnerError(PerfagentError):
    """The command could not be started (missing cwd or executable, bad CPU set, ...)."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 600.0
    memory_mb: int | None = 4096  # RLIMIT_AS
    fsize_mb: int | None = 2048  # RLIMIT_FSIZE
    output_bytes: int = 1_000_000  # per stream captured; the rest is drained and dropped
    # A sandboxed command's whole process tree (cgroup pids.max, else RLIMIT_NPROC); its
    # whole memory is bounded by memory_mb as well (a cgroup where the host allows one).
    processes: int | None = 512

    def __post_init__(self) -> None:
        sizes = [n for n in (self.memory_mb, self.fsize_mb, self.processes) if n is not None]
        if self.timeout_s <= 0 or self.output_bytes < 0 or any(n <= 0 for n in sizes):
            raise ValueError(f"invalid limits: {self}")


_DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class RunResult:
    argv: tuple[str, ...]
    returncode: int  # negative signal number when killed by a signal (like subprocess)
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool
    truncated: bool
    max_rss_kb: int
    network_isolated: bool
    sandboxed: bool = False  # ran inside the sandbox (pid/mount/user namespaces, cgroup)
    stdout_sha256: str = ""  # of the whole stdout, also the part not kept in ``stdout``
    stdout_bytes: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def summary(self) -> str:
        """One line for error messages: what happened plus the last line of output."""
        if self.timed_out:
            return f"timed out after {self.duration_s:.1f} s"
        if self.returncode < 0:
            try:
                name = signal.Signals(-self.returncode).name
            except ValueError:
                name = f"signal {-self.returncode}"
            hint = {"SIGKILL": " (memory limit?)", "SIGXFSZ": " (file size limit)"}.get(name, "")
            head = f"killed by {name}{hint}"
        else:
            head = f"exit {self.returncode}"
        line = _last_line(self.stderr) or _last_line(self.stdout)
        return f"{head}: {line}" if line else head


_ERROR_LINE = re.compile(r"\b(error|Error|ERROR|FAILED|fatal)\b")
_PYTEST_EXCEPTION = re.compile(r"E\s+[\w.]+(Error|Exception|Interrupt|Exit): ")


def _last_line(text: str) -> str:
    """The most telling line: the last one that reads like an error among the final lines
    (pip and pytest end with hints and tallies), else simply the last one."""
    lines = [ln.strip() for ln in text.splitlines()[-40:]]
    lines = [ln for ln in lines if ln and not ln.startswith(DROPPED_MARK)]
    if not lines:
        return ""
    # pytest ends with a tally ("1 error in 0.07s"); its "E   SomeError: ..." line says why.
    line = next(
        (ln for ln in reversed(lines) if _PYTEST_EXCEPTION.match(ln)),
        next((ln for ln in reversed(lines) if _ERROR_LINE.search(ln)), lines[-1]),
    )
    return line if len(line) <= 200 else line[:197] + "..."


# -- checks done before starting ---------------------------------------------------------------
def _check_executable(program: str, cwd: Path, env: Mapping[str, str]) -> None:
    if "/" in program:
        path = cwd / program  # absolute paths stay absolute; relative ones are cwd-relative
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RunnerError(f"executable not found or not executable: {program}")
    elif shutil.which(program, path=env.get("PATH", os.defpath)) is None:
        raise RunnerError(f"executable not found on the command's PATH: {program}")


def _check_cpus(cpus: Collection[int] | None) -> frozenset[int] | None:
    if cpus is None:
        return None
    chosen, allowed = frozenset(cpus), os.sched_getaffinity(0)
    if not chosen or not chosen <= allowed:
        raise RunnerError(f"cannot pin to CPUs {sorted(chosen)}; allowed: {sorted(allowed)}")
    return chosen


def _rlimits(limits: Limits, nproc: int | None = None) -> list[tuple[int, tuple[int, int]]]:
    def capped(res: int, mb: int) -> tuple[int, int]:
        # Never ask for more than the current hard limit (only root could raise it).
        want, hard = mb * 1024 * 1024, resource.getrlimit(res)[1]
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        return (want, want)

    out = [(resource.RLIMIT_CORE, (0, 0))]
    if limits.memory_mb is not None:
        out.append((resource.RLIMIT_AS, capped(resource.RLIMIT_AS, limits.memory_mb)))
    if limits.fsize_mb is not None:
        out.append((resource.RLIMIT_FSIZE, capped(resource.RLIMIT_FSIZE, limits.fsize_mb)))
    if nproc is not None:  # the fallback where no pids cgroup can be made (binds non-root only)
        hard = resource.getrlimit(resource.RLIMIT_NPROC)[1]
        want = nproc if hard == resource.RLIM_INFINITY else min(nproc, hard)
        out.append((resource.RLIMIT_NPROC, (want, want)))
    return out


def run(
    cmd: Sequence[str] | str,
    *,
    cwd: Path | str,
    env: Mapping[str, str] | None = None,
    limits: Limits = _DEFAULT_LIMITS,
    cpus: Collection[int] | None = None,
    network: bool = False,
    stdin: bytes | None = None,
    inherit_env: bool = True,
    sandbox: Sandbox | None = None,
    stdout_path: Path | None = None,
) -> RunResult:
    """Run ``cmd`` (a string goes through ``bash -c``) to completion or timeout; with
    ``sandbox``, inside the sandbox its level asks for (``IsolationUnavailableError`` when
    it is required and this host cannot provide it). ``stdout_path`` receives the whole
    stdout (the result keeps only its first and last part)."""
    argv = ("bash", "-c", cmd) if isinstance(cmd, str) else tuple(cmd)
    if not argv:
        raise RunnerError("empty command")
    workdir = Path(cwd)
    if not workdir.is_dir():
        raise RunnerError(f"working directory does not exist: {workdir}")
    child_env = command_env(env, inherit_env)
    _check_executable(argv[0], workdir, child_env)
    bwrap = sandboxing.resolve(sandbox)
    group = None
    if bwrap is not None:
        # The host's TMPDIR and HOME do not exist inside; the private /tmp serves both.
        child_env.update(TMPDIR="/tmp", HOME="/tmp")
        group = cgroups.create(limits.processes, limits.memory_mb)
    # Without a pids cgroup, RLIMIT_NPROC is the fallback bound on the sandbox's processes.
    nproc = None
    if bwrap is not None and (group is None or "pids" not in cgroups.limited_resources()):
        nproc = limits.processes
    rlimits, pinned = _rlimits(limits, nproc), _check_cpus(cpus)
    prefix = limit_argv(rlimits, pinned)
    preexec = apply_in_child(rlimits, pinned) if prefix is None else None
    if bwrap is not None:
        assert sandbox is not None
        isolated = not network
        full_argv = sandboxing.bwrap_argv(bwrap, sandbox, workdir, argv, network=network)
    else:
        isolated = not network and network_isolation_available()
        full_argv = isolated_argv(argv, child_env) if isolated else list(argv)
    join = group.join_argv() if group is not None else []
    full_argv = [*die_with_parent(), *join, *(prefix or []), *full_argv]

    start = time.perf_counter()
    try:
        return _run_started(
            full_argv,
            argv,
            workdir,
            child_env,
            limits,
            stdin,
            preexec,
            start,
            isolated=isolated,
            sandboxed=bwrap is not None,
            stdout_path=stdout_path,
        )
    finally:
        if group is not None:
            group.kill_and_remove()


def _run_started(
    full_argv: list[str],
    argv: tuple[str, ...],
    workdir: Path,
    child_env: dict[str, str],
    limits: Limits,
    stdin: bytes | None,
    preexec: Callable[[], None] | None,
    start: float,
    *,
    isolated: bool,
    sandboxed: bool,
    stdout_path: Path | None,
) -> RunResult:
    try:
        proc = subprocess.Popen(
            full_argv,
            cwd=workdir,
            env=child_env,
            bufsize=0,
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            preexec_fn=preexec,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise RunnerError(f"cannot start {argv[0]}: {exc}") from exc

    timed_out, pidfd = False, None
    try:
        assert proc.stdout is not None and proc.stderr is not None
        spill = stdout_path.open("wb") if stdout_path is not None else None
        out = Capture(proc.stdout, limits.output_bytes, spill)
        err = Capture(proc.stderr, limits.output_bytes)
        threads = [out.thread, err.thread]
        if proc.stdin is not None and stdin is not None:
            threads.append(threading.Thread(target=feed, args=(proc.stdin, stdin), daemon=True))
            threads[-1].start()
        with contextlib.suppress(AttributeError, OSError):  # else _wait_exit polls
            pidfd = os.pidfd_open(proc.pid)
        if not wait_exit(proc.pid, pidfd, limits.timeout_s):
            timed_out = True
            signal_group(proc.pid, signal.SIGTERM)
            if not wait_exit(proc.pid, pidfd, _TERM_GRACE_S):
                signal_group(proc.pid, signal.SIGKILL)  # reaped below
        duration = time.perf_counter() - start
    finally:
        if pidfd is not None:
            os.close(pidfd)
        # Kill stragglers (``cmd &``) while the unreaped leader still pins the group id, then
        # reap it ourselves: wait4 also reports peak RSS. Popen must not wait again.
        signal_group(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if sandboxed:
            proc.returncode = sandboxing.exit_code(proc.returncode)

    # A process that left the group (setsid) may still hold a pipe; don't wait for it forever.
    deadline = time.monotonic() + _DRAIN_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(t.is_alive() for t in threads):
        logger.debug("%s: a process outside its group still holds a pipe", argv[0])

    return RunResult(
        argv=argv,
        returncode=proc.returncode,
        stdout=out.text(),
        stderr=err.text(),
        duration_s=duration,
        timed_out=timed_out,
        truncated=bool(out.dropped or err.dropped),
        max_rss_kb=usage.ru_maxrss,
        network_isolated=isolated,
        sandboxed=sandboxed,
        stdout_sha256=out.sha256(),
        stdout_bytes=out.total,
    )
