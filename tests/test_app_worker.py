"""The worker's decisions against the fake GitHub, with the agent run replaced by a recorded
result (the whole run is in ``test_app_e2e``): nothing kept → a comment and a neutral check,
bad commands → a refusal comment, the per-repository cooldown, and ``app serve`` settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from perfagent.agent.app.config import AppConfig, ConfigError
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.worker import Worker
from perfagent.agent.cli.app import app_group
from perfagent.agent.context import RunContext
from perfagent.tools.github import GitHubApp
from tests.github.fake import FakeGitHub
from tests.github.world import REPO

pytest_plugins = ["tests.github.fixtures"]

PYPROJECT = '[tool.perfagent]\nworkload = "bench.py"\n'
BENCH = "import widgets\n\ndef setup():\n    pass\n\ndef workload():\n    return widgets.X\n"


def config(tmp_path: Path, fake: FakeGitHub, cooldown_s: float = 0.0) -> AppConfig:
    return AppConfig(
        app_id=1,
        private_key_path=tmp_path / "k.pem",
        webhook_secret="s",
        data_dir=tmp_path / "data",
        api_url=fake.api_url,
        cooldown_s=cooldown_s,
    )


def recorded(doc: dict[str, Any]) -> Any:
    def run(ctx: RunContext) -> dict[str, Any]:
        assert ctx.task_file.is_file() and ctx.run_dir.is_dir()
        return {"run_id": ctx.run_id, "task_id": "widgets", **doc}

    return run


NOTHING = {
    "status": "done",
    "stop_reason": "no gain in 2 rounds",
    "final": {"patch": "", "verdict": None, "speedup": None},
    "candidates": [
        {"id": "c1", "round": 1, "source": "rule", "rule_id": "join", "qualname": "f",
         "stage": "verdict", "outcome": "rejected", "reason": "not faster", "speedup": 1.01,
         "ci": [0.98, 1.03], "verdict": "same"},
    ],
}  # fmt: skip


def job(queue: JobQueue, fake: FakeGitHub, number: int, login: str, kind: str = "optimize") -> None:
    payload = {
        "repo": REPO,
        "installation_id": next(iter(fake.installations)),
        "number": number,
        "is_pull": True,
        "trigger": "comment",
        "requester": login,
        "comment_id": None,
        "options": {"target": None, "max_iterations": 1, "model": "rules"},
        "reason": "--model 'x' is not allowed here",
    }
    queue.enqueue(kind, f"{kind}-{number}-{len(queue.jobs())}", payload)


@pytest.fixture
def pull(fake_github: FakeGitHub) -> int:
    fake_github.git.commit(REPO, "feature", {"pyproject.toml": PYPROJECT, "bench.py": BENCH}, "b")
    return fake_github.open_pull(REPO, head="feature", base="main", title="t", user="alice").number


def comments(fake: FakeGitHub, number: int) -> list[str]:
    return [c.body for c in fake.comments.values() if c.issue_number == number]


def test_nothing_kept_is_a_comment_with_what_was_tried_and_a_neutral_check(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    worker = Worker(config(tmp_path, fake_github), queue, github_app, run=recorded(NOTHING))
    job(queue, fake_github, pull, "alice")
    done = worker.run_once()
    assert done is not None and done.result is not None
    assert (done.state, done.result["outcome"]) == ("done", "nothing kept")
    assert done.result["reason"] == "no edit was kept"
    [text] = comments(fake_github, pull)
    assert "no edit was kept" in text and "What was tried" in text and "not faster" in text
    [check] = fake_github.check_runs.values()
    assert check.conclusion == "neutral"
    assert not (tmp_path / "data" / "work").exists() or not any((tmp_path / "data/work").iterdir())


def test_a_refused_command_is_answered_with_its_reason(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    worker = Worker(config(tmp_path, fake_github), queue, github_app, run=recorded(NOTHING))
    job(queue, fake_github, pull, "alice", kind="refuse")
    done = worker.run_once()
    assert done is not None and done.result is not None
    assert done.result["outcome"] == "refused"
    assert any("is not allowed here" in text for text in comments(fake_github, pull))


def test_a_second_run_on_the_same_repo_waits_for_the_cooldown(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    cfg = config(tmp_path, fake_github, cooldown_s=3600.0)
    worker = Worker(cfg, queue, github_app, run=recorded(NOTHING))
    job(queue, fake_github, pull, "alice")
    job(queue, fake_github, pull, "alice")
    first, second = worker.run_once(), worker.run_once()
    assert (
        first is not None
        and first.result is not None
        and first.result["outcome"] == ("nothing kept")
    )
    assert second is not None and second.result is not None
    assert second.result["outcome"] == "cooldown"
    assert "try again in 60 min" in comments(fake_github, pull)[-1]


def test_unverified_reasons() -> None:
    worker = Worker.__new__(Worker)
    worker.config = AppConfig(1, Path("k"), "s", Path("d"), min_speedup=1.1)
    good = {"patch": "d", "verdict": "faster", "equivalent": True, "tests_passed": True,
            "flags": [], "speedup": 1.5}  # fmt: skip
    assert worker.unverified_reason({"status": "done", "final": good}) is None
    cases = {
        "the run failed: boom": {"status": "failed", "error": "boom", "final": good},
        "the final verdict was same, not faster": {"final": good | {"verdict": "same"}},
        "the outputs were not shown": {"final": good | {"equivalent": None}},
        "the tests did not pass": {"final": good | {"tests_passed": False}},
        "the reward-hack guard flagged": {"final": good | {"flags": ["cache"]}},
        "the speedup 1.06 is below 1.1": {"final": good | {"speedup": 1.06}},
    }
    for expected, doc in cases.items():
        reason = worker.unverified_reason({"status": "done", **doc})
        assert reason is not None and reason.startswith(expected), (expected, reason)


def test_app_serve_reports_bad_settings_in_one_line(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "app.toml"
    bad.write_text("app_id = 'x'\n")
    result = runner.invoke(app_group, ["serve", "--config", str(bad)], env={})
    assert isinstance(result.exception, ConfigError)
    assert "private_key_path: missing" in str(result.exception)
    bad.write_text(
        f'app_id = 1\nprivate_key_path = "{tmp_path}/none.pem"\nwebhook_secret = "s"\n'
        f'data_dir = "{tmp_path}/d"\n'
    )
    result = runner.invoke(app_group, ["serve", "--config", str(bad)], env={})
    assert isinstance(result.exception, ConfigError)
    assert "private_key_path: cannot read" in str(result.exception)


def test_app_serve_answers_healthz_and_a_signed_ping(tmp_path: Path, app_key: Any) -> None:
    import json
    import socket
    import subprocess
    import sys
    import time

    import httpx

    from perfagent.agent.app.webhooks import signature

    key = tmp_path / "key.pem"
    key.write_bytes(app_key[0])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = tmp_path / "app.toml"
    settings.write_text(
        f'app_id = 1\nprivate_key_path = "{key}"\nwebhook_secret = "s"\n'
        f'data_dir = "{tmp_path}/data"\nworkers = 2\n'
    )
    code = "import sys; from perfagent.agent.cli.app import app_group; app_group(sys.argv[1:])"
    argv = [sys.executable, "-c", code, "serve", "--config", str(settings), "--port", str(port)]
    process = subprocess.Popen(
        argv,
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                health = httpx.get(f"{url}/healthz", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert health.json() == {"ok": True, "queued": 0}
        body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
        headers = {
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "1",
            "X-Hub-Signature-256": signature("s", body),
        }
        assert httpx.post(f"{url}/webhook", content=body, headers=headers).status_code == 200
        assert httpx.post(f"{url}/webhook", content=body).status_code == 401
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (exit status -15).
    assert process.returncode in (0, -15), err.decode()[-2000:]
    assert "Application shutdown complete" in err.decode()
