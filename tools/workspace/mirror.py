"""A machine-wide cache of bare mirrors of git URLs, so a repository comes over the network once.

Every run and batch worker on the machine that needs ``URL`` clones from ``mirror_for(URL)``
with ``git clone --shared`` (objects borrowed, nothing copied). The mirror is made with
``git clone --mirror`` the first time and brought up to date with ``git fetch`` afterwards,
unless it already holds the wanted commit (a full commit id), or the ref is a name (which
moves) and the mirror was fetched within ``FRESH_S``. A lock file per
mirror serialises concurrent workers; ``log.jsonl`` records every clone and fetch (what a
batch's "cloned from the network once" is counted from).

The cache lives in ``$PERFAGENT_CACHE_DIR/mirrors`` (default ``~/.cache/perfagent/mirrors``);
deleting it is always safe between runs.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import git

from perfagent.tools.errors import WorkspaceError

GIT_TIMEOUT_S = 1800  # a first clone of a large repository over a slow link
FRESH_S = 300.0  # a mirror fetched this recently is not fetched again for a moving ref
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")

MirrorAction = Literal["clone", "fetch", "reuse"]


@dataclass(frozen=True)
class MirrorEvent:
    """One line of the cache's log."""

    url: str
    action: MirrorAction
    seconds: float
    pid: int


def cache_dir() -> Path:
    """Where perfagent keeps what outlives a run (read when called, never at import)."""
    configured = os.environ.get("PERFAGENT_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "perfagent"


class MirrorCache:
    """Bare mirrors of git URLs under one folder, safe for concurrent processes."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else cache_dir() / "mirrors"

    @property
    def log(self) -> Path:
        return self.root / "log.jsonl"

    def path_for(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()[:12]
        name = re.sub(r"[^A-Za-z0-9._-]+", "-", url.rstrip("/").rsplit("/", 1)[-1])
        return self.root / f"{name.removesuffix('.git')[:40]}-{digest}.git"

    def mirror_for(self, url: str, ref: str = "HEAD") -> Path:
        """The mirror of ``url``, made or updated so that it can be expected to hold ``ref``."""
        path = self.path_for(url)
        self.root.mkdir(parents=True, exist_ok=True)
        with _locked(path.with_name(path.name + ".lock")):
            started = time.monotonic()
            if not (path / "HEAD").is_file():
                self._clone(url, path)
                action: MirrorAction = "clone"
            elif self._holds(path, ref) or (
                not _FULL_SHA.match(ref) and _fetched_within(path, FRESH_S)
            ):
                action = "reuse"
            else:
                self._fetch(url, path)
                action = "fetch"
            self._record(MirrorEvent(url, action, time.monotonic() - started, os.getpid()))
        return path

    def events(self) -> list[MirrorEvent]:
        if not self.log.is_file():
            return []
        rows = [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]
        return [MirrorEvent(r["url"], r["action"], r["seconds"], r["pid"]) for r in rows]

    # -- git ------------------------------------------------------------------------------
    def _clone(self, url: str, path: Path) -> None:
        partial = path.with_name(path.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        try:
            git.Repo.clone_from(
                url,
                partial,
                multi_options=["--mirror", "--quiet"],
                kill_after_timeout=GIT_TIMEOUT_S,
            )
        except git.GitCommandError as exc:
            shutil.rmtree(partial, ignore_errors=True)
            raise WorkspaceError(f"cannot clone {url}: {first_line(exc)}") from exc
        os.replace(partial, path)  # a half-made mirror is never taken for a whole one
        _touch_fetched(path)

    def _fetch(self, url: str, path: Path) -> None:
        try:
            git.Repo(path).git.fetch(
                "--prune", "--quiet", "origin", kill_after_timeout=GIT_TIMEOUT_S
            )
        except git.GitCommandError as exc:
            raise WorkspaceError(f"cannot update the mirror of {url}: {first_line(exc)}") from exc
        _touch_fetched(path)

    @staticmethod
    def _holds(path: Path, ref: str) -> bool:
        """A full commit id already in the mirror never moves: no fetch needed."""
        if not _FULL_SHA.match(ref):
            return False
        try:
            git.Repo(path).git.cat_file("-e", f"{ref}^{{commit}}")
        except git.GitCommandError:
            return False
        return True

    def _record(self, event: MirrorEvent) -> None:
        line = {
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "url": event.url,
            "action": event.action,
            "seconds": round(event.seconds, 3),
            "pid": event.pid,
        }
        with self.log.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")


def first_line(exc: git.GitCommandError) -> str:
    """git's own error line, never empty. gitpython frames the output as
    ``stderr: 'fatal: ...'``: the frame is dropped before looking for ``fatal:``/``error:``."""
    text = exc.stderr or exc.stdout or ""
    lines = [_GIT_FRAME.sub("", ln.strip()).strip("'\" ") for ln in text.splitlines()]
    lines = [ln for ln in lines if ln]
    for line in lines:
        if line.startswith(("error:", "fatal:")):
            return line
    if lines:
        return lines[-1]
    return f"git exited with status {exc.status} and no message"


_GIT_FRAME = re.compile(r"^(stderr|stdout): ")


@contextmanager
def _locked(lock: Path) -> Iterator[None]:
    with lock.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stamp(path: Path) -> Path:
    return path / "perfagent-fetched"


def _touch_fetched(path: Path) -> None:
    _stamp(path).write_text(dt.datetime.now(dt.UTC).isoformat(), encoding="utf-8")


def _fetched_within(path: Path, seconds: float) -> bool:
    try:
        return time.time() - _stamp(path).stat().st_mtime < seconds
    except FileNotFoundError:
        return False
