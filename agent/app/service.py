"""The App as a running service: the webhook server (uvicorn) and ``config.workers`` worker
threads sharing one queue. Jobs left ``running`` by a previous process are re-queued at
start; a job still running at shutdown is left ``running`` and re-queued at the next start."""

from __future__ import annotations

import logging
import threading

import uvicorn

from perfagent.agent.app.config import AppConfig
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.server import create_app
from perfagent.agent.app.worker import Worker
from perfagent.tools.github import GitHubApp

logger = logging.getLogger(__name__)


def serve(config: AppConfig, *, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve until interrupted (uvicorn handles SIGINT/SIGTERM)."""
    private_key = config.private_key()  # fail on a missing key before binding the port
    queue = JobQueue(config.queue_path)
    requeued = queue.recover()
    if requeued:
        logger.warning("re-queued %d job(s) interrupted by the last shutdown", requeued)
    stop, wake = threading.Event(), threading.Event()
    with GitHubApp(config.app_id, private_key, base_url=config.api_url) as app:
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
