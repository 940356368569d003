"""Starting and stopping a command's process: limits as a command prefix or in the forked
child, death with perfagent, waiting without reaping, signalling the whole group."""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import select
import shutil
import signal
import time
from collections.abc import Callable

from perfagent.tools.runner.isolation import quiet_ok


@functools.cache
def die_with_parent() -> tuple[str, ...]:
    """A prefix that kills the command if perfagent dies first (SIGKILL, a crash): the
    command runs in its own session, so nothing else would stop it. Every wrapper after it
    execs, so the command itself carries the setting."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or not quiet_ok([setpriv, "--pdeathsig", "KILL", "--", "true"])[0]:
        return ()
    return (setpriv, "--pdeathsig", "KILL", "--")


def limit_argv(
    rlimits: list[tuple[int, tuple[int, int]]], cpus: frozenset[int] | None
) -> list[str] | None:
    """Limits and pinning as a command prefix (prlimit, taskset), or None if those tools are
    missing. Without a preexec_fn Python can spawn with vfork, so the child never holds a
    copy of our address space: its peak RSS (``ru_maxrss`` survives exec) is its own."""
    prlimit, taskset = shutil.which("prlimit"), shutil.which("taskset")
    if prlimit is None or (cpus is not None and taskset is None):
        return None
    names = {
        resource.RLIMIT_CORE: "core",
        resource.RLIMIT_AS: "as",
        resource.RLIMIT_FSIZE: "fsize",
        resource.RLIMIT_NPROC: "nproc",
    }
    argv = [prlimit, *(f"--{names[res]}={soft}:{hard}" for res, (soft, hard) in rlimits), "--"]
    if cpus is not None:
        assert taskset is not None
        argv += [taskset, "-c", ",".join(str(c) for c in sorted(cpus))]
    return argv


def apply_in_child(
    rlimits: list[tuple[int, tuple[int, int]]], cpus: frozenset[int] | None
) -> Callable[[], None]:
    # Runs in the forked child: only plain system calls, everything computed beforehand.
    def apply() -> None:
        for res, value in rlimits:
            resource.setrlimit(res, value)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    return apply


def wait_exit(pid: int, pidfd: int | None, timeout: float) -> bool:
    """Wait until ``pid`` has exited, *without reaping it*: the zombie keeps its process group
    id reserved so the group can still be killed safely."""
    if pidfd is not None:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        return bool(poller.poll(max(0, int(timeout * 1000))))
    deadline, pause = time.monotonic() + timeout, 0.001
    while os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(pause, remaining))
        pause = min(pause * 2, 0.05)
    return True


def signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone / not ours
        os.killpg(pgid, sig)
