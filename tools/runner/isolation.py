"""Network isolation for the runner: an empty network namespace per command, probed once.

``unshare -n`` (as root) or ``unshare -rn`` (in a user namespace) puts a command in a network
namespace of its own; ``lo`` is brought up inside it when ``ip`` can, so a test suite's local
server still works. Whether that works is probed once per process and logged once, since it
depends only on the host. ``quiet_ok`` is also how the runner probes its other wrappers.
Kept apart from ``run()`` because it is host probing, not process handling.
"""

from __future__ import annotations

import functools
import logging
import shlex
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence

# The runner's one logger, so its messages keep the name users see (and filter on).
logger = logging.getLogger("perfagent.tools.runner")

_probe_lock = threading.Lock()


def network_isolation_available() -> bool:
    """Whether ``run(..., network=False)`` can put commands in an empty network namespace."""
    return _isolation() is not None


def _isolation() -> tuple[tuple[str, ...], tuple[str, str] | None] | None:
    """``unshare`` argv prefix, plus (sh, command) that brings ``lo`` up when that works."""
    with _probe_lock:  # probe (and warn) once even when first called from several threads
        return _probe_isolation()


def isolated_argv(argv: Sequence[str], env: Mapping[str, str]) -> list[str]:
    """``argv`` run in a new, empty network namespace (only when that is available)."""
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


def quiet_ok(argv: Sequence[str]) -> tuple[bool, str]:
    """Whether a probe command succeeds, with its last line of stderr (why, when it fails)."""
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
            ok, why = quiet_ok([unshare, flags, "--", "true"])
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
        ok, why = quiet_ok([*prefix, sh, "-c", up])
        if ok:
            return sh, up
    else:
        why = "`ip` (iproute2) is not installed"
    logger.info("isolated commands run with the loopback interface down: %s", why)
    return None
