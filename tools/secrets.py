"""Credentials leave the environment once read.

A key in ``os.environ`` is inherited by every process perfagent starts later (the runner
scrubs what it passes, but a library's own subprocess may not), and the process's initial
environment block stays readable as ``/proc/<pid>/environ`` by anything running as the same
user. ``environment()`` therefore moves every variable that looks like a credential (the
runner's rule, ``runner.is_secret``) out of ``os.environ`` into a private map, overwrites it
in the initial block, and returns the environment with the credentials for the caller to
read from. Call it where a credential is needed (making a chat model, loading the App's
settings); later calls still see the credentials already taken.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from perfagent.tools.runner import is_secret

_taken: dict[str, str] = {}
_lock = threading.Lock()


def environment() -> dict[str, str]:
    """``os.environ`` plus every credential taken so far (now and earlier); afterwards no
    credential is left in ``os.environ`` nor in ``/proc/self/environ``."""
    with _lock:
        names = [name for name in os.environ if is_secret(name)]
        for name in names:
            _taken[name] = os.environ.pop(name)
        if names:
            _wipe_initial_block(names)
        return {**os.environ, **_taken}


def take(name: str) -> str | None:
    """One credential's value (``None`` when unset), taken out of the environment."""
    with _lock:
        if name in os.environ:
            _taken[name] = os.environ.pop(name)
            _wipe_initial_block([name])
        return _taken.get(name)


def _wipe_initial_block(names: list[str]) -> None:
    """Overwrite ``NAME=value`` in the environment block the kernel shows as
    ``/proc/self/environ``: unsetting a variable only drops libc's pointer to it. Best
    effort (a hardened kernel may refuse writes to our own memory)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        start, end = int(fields[47]), int(fields[48])  # env_start, env_end (proc(5) 50, 51)
        with open("/proc/self/mem", "r+b", buffering=0) as mem:
            mem.seek(start)
            block = mem.read(end - start)
            for name in names:
                prefix = name.encode() + b"="
                offset = 0
                for entry in block.split(b"\0"):
                    if entry.startswith(prefix):
                        mem.seek(start + offset)
                        mem.write(b"\0" * len(entry))
                    offset += len(entry) + 1
    except (OSError, ValueError, IndexError):
        pass  # the variable is gone from os.environ all the same
