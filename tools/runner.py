"""The one way perfagent starts a subprocess: limits, a scrubbed environment, no network.

Every command (setup, workloads, tests, probes) runs in its own session with rlimits, an
optional CPU pinning and, unless asked otherwise, in an empty network namespace. Output is
captured through pipes with a bounded buffer, the process is reaped with ``os.wait4`` so its
peak RSS is known, and whatever is left of its process group is killed when it ends. If
perfagent itself is killed, the command is too (``setpriv --pdeathsig``), so a crashed batch
or App leaves no measurement running.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import resource
import select
import shlex
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tools.errors import PerfagentError

logger = logging.getLogger(__name__)

_TERM_GRACE_S = 1.0  # between SIGTERM and SIGKILL on timeout
_DRAIN_S = 2.0  # how long to wait for pipes to reach EOF once the group is dead
_CHUNK = 1 << 16
_DROPPED_MARK = "[perfagent: "

_INHERITED = frozenset(
    {"PATH", "HOME", "LANG", "LANGUAGE", "TERM", "TZ", "TMPDIR", "USER", "LOGNAME", "SHELL"}
)
# Most of these also match the patterns below; listed so the intent survives edits to those.
# GOOGLE_APPLICATION_CREDENTIALS, HF_TOKEN, HUGGING_FACE_HUB_TOKEN and NPM_TOKEN are caught
# by _SECRET_WORDS (tests pin each of them); only the agent socket needs its own entry.
_SECRET_NAMES = frozenset({"SSH_AUTH_SOCK"})
_SECRET_PREFIXES = ("GITHUB_", "GH_", "AWS_", "AZURE_", "OPENAI_", "ANTHROPIC_", "PYPI_", "TWINE_")
_SECRET_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL")
_KEY_QUALIFIERS = ("API", "SECRET", "ACCESS", "PRIVATE")
# Matches *TOKEN* but is a well-known tuning knob (Hugging Face tokenizers), not a secret.
_NOT_SECRET = frozenset({"TOKENIZERS_PARALLELISM"})


class RunnerError(PerfagentError):
    """The command could not be started (missing cwd or executable, bad CPU set, ...)."""


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 600.0
    memory_mb: int | None = 4096  # RLIMIT_AS
    fsize_mb: int | None = 2048  # RLIMIT_FSIZE
    output_bytes: int = 1_000_000  # per stream captured; the rest is drained and dropped

    def __post_init__(self) -> None:
        sizes = [mb for mb in (self.memory_mb, self.fsize_mb) if mb is not None]
        if self.timeout_s <= 0 or self.output_bytes < 0 or any(mb <= 0 for mb in sizes):
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


def _last_line(text: str) -> str:
    """The most telling line: the last one that reads like an error among the final lines
    (pip and pytest end with hints and tallies), else simply the last one."""
    lines = [ln.strip() for ln in text.splitlines()[-40:]]
    lines = [ln for ln in lines if ln and not ln.startswith(_DROPPED_MARK)]
    if not lines:
        return ""
    line = next((ln for ln in reversed(lines) if _ERROR_LINE.search(ln)), lines[-1])
    return line if len(line) <= 200 else line[:197] + "..."


# -- environment -------------------------------------------------------------------------------
def _is_secret(name: str) -> bool:
    upper = name.upper()
    if upper in _NOT_SECRET:
        return False
    return (
        upper in _SECRET_NAMES
        or upper.startswith(_SECRET_PREFIXES)
        or any(word in upper for word in _SECRET_WORDS)
        or (upper.endswith("_KEY") and any(q in upper for q in _KEY_QUALIFIERS))
    )


def scrub_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` without every variable whose name looks like it holds a credential."""
    return {name: value for name, value in env.items() if not _is_secret(name)}


def _child_env(extra: Mapping[str, str] | None, inherit: bool) -> dict[str, str]:
    env: dict[str, str] = {}
    if inherit:
        env = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
    env.update(extra or {})
    return scrub_env(env)


# -- network isolation -------------------------------------------------------------------------
_probe_lock = threading.Lock()


def network_isolation_available() -> bool:
    """Whether ``run(..., network=False)`` can put commands in an empty network namespace."""
    return _isolation() is not None


def _isolation() -> tuple[tuple[str, ...], tuple[str, str] | None] | None:
    """``unshare`` argv prefix, plus (sh, command) that brings ``lo`` up when that works."""
    with _probe_lock:  # probe (and warn) once even when first called from several threads
        return _probe_isolation()


def _isolated_argv(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    probe = _isolation()
    assert probe is not None
    prefix, shim = probe
    if shim is None:
        return [*prefix, *argv]
    # The shim execs the command (same pid); it must not add PWD/SHLVL the caller didn't set.
    unset = " ".join(name for name in ("PWD", "SHLVL") if name not in env)
    sh, up = shim
    script = f'{up} 2>/dev/null; {f"unset {unset}; " if unset else ""}exec "$@"'
    return [*prefix, sh, "-c", script, "sh", *argv]


def _quiet_ok(argv: Sequence[str]) -> tuple[bool, str]:
    try:
        proc = subprocess.run(
            argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    return proc.returncode == 0, lines[-1] if lines else f"exit {proc.returncode}"


@functools.cache
def _probe_isolation() -> tuple[tuple[str, ...], tuple[str, str] | None] | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        reason = "the `unshare` command (util-linux) is not installed"
    else:
        # Root can create a network namespace directly; others need a user namespace too.
        reason = ""
        for flags in ("-n", "-rn"):
            ok, why = _quiet_ok([unshare, flags, "--", "true"])
            if ok:
                prefix = (unshare, flags, "--")
                return prefix, _loopback_up(prefix)
            reason += f"`unshare {flags} true` failed: {why}; "
        reason = reason.rstrip("; ")
    logger.warning(
        "network isolation is unavailable (%s); commands run with network access", reason
    )
    return None


def _loopback_up(prefix: tuple[str, ...]) -> tuple[str, str] | None:
    """A new network namespace starts with ``lo`` down, which breaks test suites that talk to
    a local server; returns (sh, command) that brings it up, if that works here."""
    sh, ip = shutil.which("sh"), shutil.which("ip")
    if sh is not None and ip is not None:
        up = f"{shlex.quote(ip)} link set lo up"
        ok, why = _quiet_ok([*prefix, sh, "-c", up])
        if ok:
            return sh, up
    else:
        why = "`ip` (iproute2) is not installed"
    logger.info("isolated commands run with the loopback interface down: %s", why)
    return None


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


def _rlimits(limits: Limits) -> list[tuple[int, tuple[int, int]]]:
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
    return out


@functools.cache
def _die_with_parent() -> tuple[str, ...]:
    """A prefix that kills the command if perfagent dies first (SIGKILL, a crash): the
    command runs in its own session, so nothing else would stop it. Every wrapper after it
    execs, so the command itself carries the setting."""
    setpriv = shutil.which("setpriv")
    if setpriv is None or not _quiet_ok([setpriv, "--pdeathsig", "KILL", "--", "true"])[0]:
        return ()
    return (setpriv, "--pdeathsig", "KILL", "--")


def _limit_argv(
    rlimits: list[tuple[int, tuple[int, int]]], cpus: frozenset[int] | None
) -> list[str] | None:
    """Limits and pinning as a command prefix (prlimit, taskset), or None if those tools are
    missing. Without a preexec_fn Python can spawn with vfork, so the child never holds a
    copy of our address space: its peak RSS (``ru_maxrss`` survives exec) is its own."""
    prlimit, taskset = shutil.which("prlimit"), shutil.which("taskset")
    if prlimit is None or (cpus is not None and taskset is None):
        return None
    names = {resource.RLIMIT_CORE: "core", resource.RLIMIT_AS: "as", resource.RLIMIT_FSIZE: "fsize"}
    argv = [prlimit, *(f"--{names[res]}={soft}:{hard}" for res, (soft, hard) in rlimits), "--"]
    if cpus is not None:
        assert taskset is not None
        argv += [taskset, "-c", ",".join(str(c) for c in sorted(cpus))]
    return argv


def _preexec(
    rlimits: list[tuple[int, tuple[int, int]]], cpus: frozenset[int] | None
) -> Callable[[], None]:
    # Runs in the forked child: only plain system calls, everything computed beforehand.
    def apply() -> None:
        for res, value in rlimits:
            resource.setrlimit(res, value)
        if cpus is not None:
            os.sched_setaffinity(0, cpus)

    return apply


# -- output capture ----------------------------------------------------------------------------
class _Capture:
    """Drains one pipe in a daemon thread, keeping the first and the last half of ``limit``
    bytes (errors usually come last) and counting what falls in between."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        self._stream = stream
        self._head_cap = limit - limit // 2
        self._tail_cap = limit // 2
        self._head = bytearray()
        self._tail = bytearray()
        self.dropped = 0
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._drain, name="runner-capture", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while chunk := os.read(self._stream.fileno(), _CHUNK):
                with self._lock:
                    self._keep(chunk)
        except OSError:
            pass
        finally:
            # The thread owns the pipe: closing it from another thread while a read may still
            # be blocked on it could hand the descriptor number to an unrelated file.
            self._stream.close()

    def _keep(self, chunk: bytes) -> None:
        room = self._head_cap - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        self._tail += chunk
        excess = len(self._tail) - self._tail_cap
        if excess > 0:
            del self._tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        with self._lock:
            head, tail, dropped = bytes(self._head), bytes(self._tail), self.dropped
        if not dropped:
            return (head + tail).decode("utf-8", errors="replace")
        mark = f"\n{_DROPPED_MARK}{dropped} bytes of output dropped]\n"
        return head.decode("utf-8", errors="replace") + mark + tail.decode("utf-8", "replace")


def _feed(stream: IO[bytes], data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(stream.fileno(), view[:_CHUNK]) :]
    except OSError:
        pass  # the command closed its stdin or died: it does not want the rest
    finally:
        stream.close()


# -- process lifetime --------------------------------------------------------------------------
def _wait_exit(pid: int, pidfd: int | None, timeout: float) -> bool:
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


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone / not ours
        os.killpg(pgid, sig)


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
) -> RunResult:
    """Run ``cmd`` (a string goes through ``bash -c``) to completion or timeout."""
    argv = ("bash", "-c", cmd) if isinstance(cmd, str) else tuple(cmd)
    if not argv:
        raise RunnerError("empty command")
    workdir = Path(cwd)
    if not workdir.is_dir():
        raise RunnerError(f"working directory does not exist: {workdir}")
    child_env = _child_env(env, inherit_env)
    _check_executable(argv[0], workdir, child_env)
    rlimits, pinned = _rlimits(limits), _check_cpus(cpus)
    prefix = _limit_argv(rlimits, pinned)
    preexec = _preexec(rlimits, pinned) if prefix is None else None
    isolated = not network and network_isolation_available()
    full_argv = _isolated_argv(argv, child_env) if isolated else list(argv)
    full_argv = [*_die_with_parent(), *(prefix or []), *full_argv]

    start = time.perf_counter()
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
        out = _Capture(proc.stdout, limits.output_bytes)
        err = _Capture(proc.stderr, limits.output_bytes)
        threads = [out.thread, err.thread]
        if proc.stdin is not None and stdin is not None:
            threads.append(threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True))
            threads[-1].start()
        with contextlib.suppress(AttributeError, OSError):  # else _wait_exit polls
            pidfd = os.pidfd_open(proc.pid)
        if not _wait_exit(proc.pid, pidfd, limits.timeout_s):
            timed_out = True
            _signal_group(proc.pid, signal.SIGTERM)
            if not _wait_exit(proc.pid, pidfd, _TERM_GRACE_S):
                _signal_group(proc.pid, signal.SIGKILL)  # reaped below
        duration = time.perf_counter() - start
    finally:
        if pidfd is not None:
            os.close(pidfd)
        # Kill stragglers (``cmd &``) while the unreaped leader still pins the group id, then
        # reap it ourselves: wait4 also reports peak RSS. Popen must not wait again.
        _signal_group(proc.pid, signal.SIGKILL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)

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
    )
