"""Process-count and memory limits for a whole sandbox: one cgroup per command.

rlimits bound one process at a time (and ``RLIMIT_NPROC`` does not bind root at all), so a
fork bomb or many mid-sized children escape them. Where this host lets perfagent create
cgroups, each sandboxed command gets its own, with ``pids.max`` and a memory limit: cgroup v2
where the controllers are delegated to our cgroup, else the cgroup v1 ``pids`` / ``memory``
hierarchies. Which of them works is probed once. The command joins its cgroup through a tiny
``sh`` prefix before it execs anything else, so every descendant is counted.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Resource = Literal["pids", "memory"]
_PREFIX = "perfagent-"
# v2 file names first, then v1; the first that exists is written.
_LIMIT_FILES: dict[Resource, tuple[str, ...]] = {
    "pids": ("pids.max",),
    "memory": ("memory.max", "memory.limit_in_bytes"),
}
_JOIN_SCRIPT = (
    'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done; '
    'exec "$@"'
)


@dataclass(frozen=True)
class CgroupSupport:
    """Where a child cgroup can be made for each resource (None: not here, and why)."""

    parents: dict[Resource, Path]
    reason: str  # empty when both resources are covered

    def describe(self) -> str:
        if not self.parents:
            return f"no writable cgroup ({self.reason})"
        kinds = ", ".join(f"{res} in {path}" for res, path in sorted(self.parents.items()))
        return kinds + (f" (missing: {self.reason})" if self.reason else "")


@dataclass
class Cgroup:
    """The cgroup directories (one per hierarchy) of one command."""

    dirs: list[Path]

    def join_argv(self) -> list[str]:
        """A prefix that moves the command into every directory before it execs."""
        procs = [str(d / "cgroup.procs") for d in self.dirs]
        return ["sh", "-c", _JOIN_SCRIPT, "sh", str(len(procs)), *procs]

    def kill_and_remove(self) -> None:
        """Kill whatever is still in the group, then remove it (a cgroup with members
        cannot be removed; their exit is asynchronous, hence the short retry)."""
        deadline = time.monotonic() + 5.0
        for directory in self.dirs:
            kill = directory / "cgroup.kill"
            with contextlib.suppress(OSError):
                if kill.exists():
                    kill.write_text("1")
            while True:
                for pid in _members(directory):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                try:
                    directory.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.01)


def _members(directory: Path) -> list[int]:
    try:
        return [int(line) for line in (directory / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def _mounts() -> list[tuple[Path, Path, str, set[str]]]:
    """(mount point, root inside the hierarchy, fs type, super options) of cgroup mounts."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            sep = fields.index("-")
            fstype, options = fields[sep + 1], set(fields[sep + 3].split(","))
            if fstype in ("cgroup", "cgroup2"):
                found.append((Path(fields[4]), Path(fields[3]), fstype, options))
    return found


def _own_paths() -> dict[str, Path]:
    """Controller (or "" for v2) → our cgroup path, from /proc/self/cgroup."""
    paths: dict[str, Path] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = Path(path)
    return paths


def _inside(mount: Path, root: Path, path: Path) -> Path:
    rel = path.relative_to(root) if path.is_relative_to(root) else Path()
    return mount / rel


def _usable(parent: Path, resource: Resource) -> bool:
    """Whether a child of ``parent`` can be made and limited for ``resource``."""
    probe = parent / f"{_PREFIX}probe-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        name = next((n for n in _LIMIT_FILES[resource] if (probe / n).exists()), None)
        if name is None:
            return False
        (probe / name).write_text((probe / name).read_text())
        return True
    except OSError:
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


@functools.cache
def cgroup_support() -> CgroupSupport:
    mounts, own = _mounts(), _own_paths()
    parents: dict[Resource, Path] = {}
    for resource in ("pids", "memory"):
        candidates = []
        for mount, root, fstype, options in mounts:
            if fstype == "cgroup2" and "" in own:
                parent = _inside(mount, root, own[""])
                with contextlib.suppress(OSError):
                    if resource in (parent / "cgroup.subtree_control").read_text().split():
                        candidates.append(parent)
            elif fstype == "cgroup" and resource in options and resource in own:
                candidates.append(_inside(mount, root, own[resource]))
        chosen = next((p for p in candidates if _usable(p, resource)), None)
        if chosen is not None:
            parents[resource] = chosen
    missing = [r for r in ("pids", "memory") if r not in parents]
    reason = f"{' and '.join(missing)} controller not writable" if missing else ""
    return CgroupSupport(parents, reason)


def create(processes: int | None, memory_mb: int | None) -> Cgroup | None:
    """A fresh cgroup with these limits, or None where the host allows none."""
    support = cgroup_support()
    wanted: dict[Resource, int] = {}
    if processes is not None and "pids" in support.parents:
        wanted["pids"] = processes
    if memory_mb is not None and "memory" in support.parents:
        wanted["memory"] = memory_mb * 1024 * 1024
    if not wanted:
        return None
    name = f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    group = Cgroup([])
    by_parent: dict[Path, list[Resource]] = {}
    for resource in wanted:
        by_parent.setdefault(support.parents[resource], []).append(resource)
    try:
        for parent, resources in by_parent.items():
            directory = parent / name
            directory.mkdir()
            group.dirs.append(directory)
            for resource in resources:
                limit = next(n for n in _LIMIT_FILES[resource] if (directory / n).exists())
                (directory / limit).write_text(str(wanted[resource]))
            with contextlib.suppress(OSError):  # v2: no swap beyond the limit
                if (directory / "memory.swap.max").exists():
                    (directory / "memory.swap.max").write_text("0")
    except OSError:
        group.kill_and_remove()
        return None
    return group


def limited_resources() -> frozenset[Resource]:
    """Which resources ``create`` can limit on this host."""
    return frozenset(cgroup_support().parents)
