"""The App as a running service: the webhook server (uvicorn) and ``config.workers`` worker
threads sharing one queue. Jobs left ``running`` by a previous process are re-queued at
start; a job still running at shutdown is left ``running`` and re-queued at the next start.

At start (``prepare``): the data dir is locked for this process (a second service on it is a
``ConfigError``), what a killed process left behind is swept (job work dirs, staging run
dirs, its temporary files), and the process's temporary dir becomes ``<data_dir>/tmp``, so
everything a job writes outside its work dir lands where the next start sweeps it. The
private key is read once, before the port is bound.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from perfagent.agent.app.config import AppConfig, ConfigError
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.server import create_app
from perfagent.agent.app.worker import Worker
from perfagent.tools.github import GitHubApp
from perfagent.tools.runner import hide, use_isolation

logger = logging.getLogger(__name__)

STALE = ("work", "tmp", "runs/.staging")  # under the data dir: only a live job uses them


def serve(
    config: AppConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    config_file: Path | None = None,
) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM)."""
    private_key = config.read_private_key()  # once; fail on a missing key before binding
    with use_isolation(config.isolation):  # "required" fails here, before binding, in one line
        pass
    hide_from_jobs(config, config_file)
    with prepare(config):
        queue = JobQueue(config.queue_path)
        requeued = queue.recover()
        if requeued:
            logger.warning("re-queued %d job(s) interrupted by the last shutdown", requeued)
        stop, wake = threading.Event(), threading.Event()
        with GitHubApp(config.app_id, private_key, base_url=config.api_url) as app:
            del private_key  # the parsed key lives in the client only
            threads = [
                threading.Thread(
                    target=Worker(config, queue, app).serve,
                    args=(stop, wake),
                    name=f"perfagent-worker-{n}",
                    daemon=True,  # a run in progress is recovered at the next start
                )
                for n in range(config.workers)
            ]
            for thread in threads:
                thread.start()
            try:
                uvicorn.run(create_app(config, queue, on_enqueue=wake.set), host=host, port=port)
            finally:
                stop.set()
                wake.set()


def hide_from_jobs(config: AppConfig, config_file: Path | None) -> None:
    """What no job's sandbox may see even where its folder is visible (a key under /etc):
    the private key, the settings file, the queue and the other jobs' runs."""
    for path in (config.private_key_path, config_file, config.queue_path, config.runs_dir):
        if path is not None:
            hide(path)


@contextmanager
def prepare(config: AppConfig) -> Iterator[list[Path]]:
    """Lock ``config.data_dir`` for this process, sweep what a killed one left (yields what
    was removed), and point the process's temporary dir into the data dir; all undone on
    exit."""
    data = config.data_dir
    data.mkdir(parents=True, exist_ok=True)
    with (data / "app.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigError(
                f"data_dir: {data} is in use by another perfagent app serve"
            ) from None
        swept = sweep_stale(data)
        if swept:
            logger.warning("removed %d workspace(s) left by a killed run", len(swept))
        tmp = data / "tmp"
        tmp.mkdir()
        before = tempfile.tempdir, os.environ.get("TMPDIR")
        tempfile.tempdir = str(tmp)
        os.environ["TMPDIR"] = str(tmp)  # for the children too
        try:
            yield swept
        finally:
            tempfile.tempdir = before[0]
            if before[1] is None:
                os.environ.pop("TMPDIR", None)
            else:
                os.environ["TMPDIR"] = before[1]


def sweep_stale(data_dir: Path) -> list[Path]:
    """Remove what jobs of an earlier process left under ``data_dir`` (only call while no job
    runs: at start, under the lock); returns what was removed."""
    removed = []
    for name in STALE:
        folder = data_dir / name
        if folder.is_dir():
            removed += sorted(folder.iterdir())
            shutil.rmtree(folder)
    return removed
