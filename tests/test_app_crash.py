"""A real ``perfagent app serve`` process, SIGKILLed in the middle of a job and started again:
the job is re-queued, runs to the end once, and leaves one pull request and one finished
check run in the fake GitHub (which checks every request against GitHub's OpenAPI
description), and the killed process's workspaces and temporary files are swept at the
restart."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from perfagent.agent.app.queue import JobQueue
from tests.conftest import ROOT
from tests.github.fake import FakeGitHub
from tests.github.spec import SpecSet
from tests.github.world import APP_ID
from tests.test_agent_loop import GOOD
from tests.test_app_e2e import (
    CALC,
    CALC_FILES,
    SECRET,
    bot_comments,
    comment_payload,
    signed_headers,
)

pytest_plugins = ["tests.github.fixtures"]
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(
    what: str, ready: Callable[[], bool], timeout_s: float, proc: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + timeout_s
    while not ready():
        assert proc.poll() is None, f"perfagent app serve exited ({proc.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture
def fake(tmp_path: Path, openapi: SpecSet, app_key: tuple[bytes, bytes]) -> Iterator[FakeGitHub]:
    # Real time: the service mints its JWTs from the wall clock.
    with FakeGitHub(
        tmp_path / "fake-github", openapi, app_id=APP_ID, public_key_pem=app_key[1]
    ) as gh:
        gh.add_repo(CALC, files=CALC_FILES)
        gh.install("octo", [CALC])
        gh.set_role(CALC, "alice", "write")
        gh.git.commit(CALC, "feature", {"NOTES.md": "speed\n"}, "notes", parent="main")
        yield gh
        assert gh.take_violations() == []


def test_a_job_killed_mid_run_completes_once_after_a_restart(
    fake: FakeGitHub, app_key: tuple[bytes, bytes], tmp_path: Path
) -> None:
    key = tmp_path / "app.pem"
    key.write_bytes(app_key[0])
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    data = tmp_path / "data"
    config = tmp_path / "app.toml"
    config.write_text(
        f"app_id = {APP_ID}\n"
        f'private_key_path = "{key}"\n'
        f'webhook_secret = "{SECRET}"\n'
        f'data_dir = "{data}"\n'
        f'api_url = "{fake.api_url}"\n'
        f'default_model = "fake:{script}"\n'
        "cooldown_s = 0\ncandidates_per_round = 1\nmax_runs = 30\n"
        'allowed_installations = "*"\n'
    )
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "perfagent", "app", "serve", "--config", str(config)]
        proc = subprocess.Popen(
            [*argv, "--port", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # so the kill takes the whole service, as a crash would
        )

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for("/healthz", healthy, 60, proc)
        return proc

    trigger = fake.open_pull(CALC, head="feature", base="main", title="notes", user="alice")
    serve = start()
    try:
        body = comment_payload(
            fake, trigger.number, "alice", "/perfagent optimize --max-iterations 1", True
        )
        assert (
            httpx.post(f"{url}/webhook", content=body, headers=signed_headers(body)).status_code
            == 202
        )
        queue = JobQueue(data / "app.sqlite")
        # Mid-job: the agent has started writing its trajectory (the baseline is being measured).
        wait_for(
            "the agent run to start",
            lambda: any(data.glob("runs/*/*.traj.json")),
            180,
            serve,
        )
        os.killpg(serve.pid, signal.SIGKILL)
        serve.wait(30)
        [job] = queue.jobs()
        assert (job.state, job.attempts) == ("running", 1)
        assert [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")] == []
        # What the killed process left in its temporary dir (inside the data dir), and a
        # workspace of another killed job: both gone once the service has started again.
        stale = [data / "tmp" / name for name in os.listdir(data / "tmp")]
        other = data / "work" / "job-999" / "calc"
        other.mkdir(parents=True)

        serve = start()  # recovers the interrupted job and runs it again
        assert not other.exists() and not [path for path in stale if path.exists()]
        wait_for(
            "the job to finish", lambda: queue.jobs()[0].state in ("done", "failed"), 600, serve
        )
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
        log.close()

    [job] = queue.jobs()
    assert job.result is not None, job
    assert (job.state, job.attempts, job.result["outcome"]) == ("done", 2, "pull"), (
        job.result,
        (tmp_path / "serve.log").read_text(errors="replace")[-3000:],
    )
    [pr] = [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")]
    assert pr.number == job.result["pull"]
    # The interrupted attempt's check run was continued, not left "in progress" beside a new one.
    [check] = [c for c in fake.check_runs.values() if c.head_sha == trigger.head_sha]
    assert (check.status, check.conclusion) == ("completed", "success")
    assert check.external_id == f"job-{job.id}"
    opened = [text for text in bot_comments(fake, trigger.number) if "opened #" in text]
    assert len(opened) == 1
