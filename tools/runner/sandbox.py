"""The sandbox for code nobody reviewed: bubblewrap namespaces around one command.

A command that runs a repository's or a model's code (setup, build, tests, workloads,
profiling) is started with ``run(..., sandbox=Sandbox(...))`` and then:

- has its own pid namespace: it sees no other process (so no ``/proc/<pid>/environ`` of
  perfagent), and every process in it dies when the command ends or perfagent dies;
- has its own user, IPC, UTS and (unless the call allows network) network namespaces;
- sees the system directories, the interpreter and the paths named ``readable`` read-only,
  the paths named ``writable`` (the variant's tree, its scratch folder) writable, and a
  private ``/tmp``; nothing else exists in it: no home, no perfagent data or run folders, no
  keys. Paths passed to ``hide()`` (the App's key file, config) are masked even where they lie
  under a visible directory.

Process-count and memory limits for the whole sandbox come from ``cgroups.py``. How strict to
be is the caller's ``level``: ``required`` (an error when bubblewrap does not work here),
``best-effort`` (warn once and run with the runner's other protections) or ``off``.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import shutil
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from perfagent.tools.errors import PerfagentError
from perfagent.tools.runner.isolation import quiet_ok

logger = logging.getLogger("perfagent.tools.runner")

IsolationLevel = Literal["required", "best-effort", "off"]
ISOLATION_LEVELS: tuple[IsolationLevel, ...] = ("required", "best-effort", "off")

# What a command may read of the host: programs, libraries, configuration. /etc can hold
# secrets of other software; perfagent's own go through hide().
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt")
_SYSTEM_FILES = ("/sys/devices/system/cpu",)  # CPU topology (BLAS, os.cpu_count helpers)

# The level of the run in progress: set by the entry point (the CLI's --isolation, a batch
# job, an App job) for everything it calls, so no call site has to pass it along.
_level: contextvars.ContextVar[IsolationLevel] = contextvars.ContextVar(
    "perfagent_isolation", default="best-effort"
)
_hidden: set[Path] = set()
_hidden_lock = threading.Lock()
_warned = threading.Event()


class IsolationUnavailableError(PerfagentError):
    """``--isolation required`` on a host where the sandbox cannot be set up."""


@dataclass(frozen=True)
class Sandbox:
    """What one sandboxed command may see and change."""

    level: IsolationLevel = "best-effort"
    writable: tuple[Path, ...] = ()
    readable: tuple[Path, ...] = ()


def isolation_level() -> IsolationLevel:
    """The isolation level of the run in progress (``best-effort`` unless one was set)."""
    return _level.get()


@contextmanager
def use_isolation(level: IsolationLevel) -> Iterator[None]:
    """Run the body (and what it calls in this context) at ``level``; ``required`` fails
    here at once, in one line, when this host cannot sandbox."""
    if level not in ISOLATION_LEVELS:
        raise ValueError(f"unknown isolation level {level!r}")
    if level == "required":
        available, why = sandbox_available()
        if not available:
            raise IsolationUnavailableError(f"isolation is required but unavailable: {why}")
    token = _level.set(level)
    try:
        yield
    finally:
        _level.reset(token)


@dataclass(frozen=True)
class IsolationFacts:
    """What a report or trajectory says about isolation: the level asked for, whether
    commands really ran in the sandbox, and how the whole sandbox is bounded."""

    level: IsolationLevel
    sandboxed: bool
    detail: str  # why not sandboxed, or what bounds process count and memory


def isolation_facts(level: IsolationLevel | None = None) -> IsolationFacts:
    from perfagent.tools.runner.cgroups import cgroup_support

    chosen = level or isolation_level()
    available, why = sandbox_available()
    if chosen == "off":
        return IsolationFacts(chosen, False, "isolation turned off")
    if not available:
        return IsolationFacts(chosen, False, why)
    return IsolationFacts(chosen, True, f"bubblewrap; {cgroup_support().describe()}")


def hide(path: Path | str) -> None:
    """Never show ``path`` inside a sandbox, even under a visible directory (e.g. a key in
    /etc or /opt). For the App's key and config files; process-wide by design."""
    with _hidden_lock:
        _hidden.add(Path(path).resolve())


@functools.cache
def _probe() -> tuple[str | None, str]:
    """(bwrap path, "") when a full sandbox starts here, else (None, why not)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return None, "bubblewrap (`bwrap`) is not installed; run scripts/setup.sh"
    ok, why = quiet_ok(
        [bwrap, "--unshare-all", "--die-with-parent", "--ro-bind", "/", "/", "--", "true"]
    )
    if not ok:
        return None, f"`bwrap --unshare-all` fails here: {why}"
    return bwrap, ""


_probe_lock = threading.Lock()


def sandbox_available() -> tuple[bool, str]:
    """Whether ``run(..., sandbox=...)`` can isolate commands here, and if not, why."""
    with _probe_lock:
        bwrap, why = _probe()
    return bwrap is not None, why


def resolve(sandbox: Sandbox | None) -> str | None:
    """The bwrap executable to use for ``sandbox``, None to run without one. Raises when
    isolation is required but unavailable; warns once when it is best-effort."""
    if sandbox is None or sandbox.level == "off":
        return None
    with _probe_lock:
        bwrap, why = _probe()
    if bwrap is not None:
        return bwrap
    if sandbox.level == "required":
        raise IsolationUnavailableError(f"isolation is required but unavailable: {why}")
    if not _warned.is_set():
        _warned.set()
        logger.warning("sandbox unavailable (%s); untrusted code runs unisolated", why)
    return None


def bwrap_argv(
    bwrap: str, sandbox: Sandbox, cwd: Path, argv: Sequence[str], *, network: bool
) -> list[str]:
    """``argv`` wrapped in bubblewrap with the view described in the module docstring."""
    out = [bwrap, "--unshare-all", "--die-with-parent", "--new-session"]
    if network:
        out.append("--share-net")
    for name in _SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():  # merged /usr: /bin -> usr/bin
            out += ["--symlink", str(path.readlink()), name]
        elif path.is_dir():
            out += ["--ro-bind", name, name]
    out += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/var/tmp"]
    for name in _SYSTEM_FILES:
        if Path(name).exists():
            out += ["--ro-bind", name, name]
    visible: list[Path] = []
    # Writable first: a read-only path inside a writable one (a stored reference in the
    # scratch folder) is mounted over it and stays read-only.
    for flag, paths in (("--bind", sandbox.writable), ("--ro-bind", sandbox.readable)):
        for path in paths:
            real = Path(path).resolve()
            if real.exists():
                out += [flag, str(real), str(real)]
                visible.append(real)
    with _hidden_lock:
        hidden = sorted(_hidden)
    shown = [Path(d) for d in _SYSTEM_DIRS] + visible
    for path in hidden:
        if path.exists() and any(path.is_relative_to(v) for v in shown):
            mask = ["--tmpfs"] if path.is_dir() else ["--ro-bind", "/dev/null"]
            out += [*mask, str(path)]
    out += ["--chdir", str(cwd.resolve()), "--", *argv]
    return out


def exit_code(returncode: int) -> int:
    """bubblewrap reports a command killed by signal N as exit 128+N; map it back to -N
    (like subprocess), so ``RunResult`` reads the same with and without a sandbox."""
    return -(returncode - 128) if 128 < returncode < 128 + 65 else returncode
