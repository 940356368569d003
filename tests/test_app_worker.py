"""The worker's decisions against the fake GitHub, with the agent run replaced by a recorded
result (the whole run is in ``test_app_e2e``): nothing kept → a comment and a neutral check,
bad commands → a refusal comment, the per-repository cooldown (failed runs count), a push
from a fresh clone whatever the measured tree's git config says, flagged changes as a draft
or a comment naming each flag, the service's start-up sweep, and ``app serve`` settings."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from perfagent.agent.app.config import AppConfig, ConfigError
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.service import hide_from_jobs, prepare
from perfagent.agent.app.worker import Worker
from perfagent.agent.cli.app import app_group
from perfagent.agent.context import RunContext
from perfagent.tools.errors import EnvironmentSetupError
from perfagent.tools.github import GitHubApp
from perfagent.tools.runner import Sandbox, isolation_level, sandbox_available
from perfagent.tools.runner import run as run_command
from perfagent.tools.runner import sandbox as sandbox_module
from tests.github.fake import FakeGitHub
from tests.github.world import REPO

pytest_plugins = ["tests.github.fixtures"]

PYPROJECT = '[tool.perfagent]\nworkload = "bench.py"\n'
BENCH = "import widgets\n\ndef setup():\n    pass\n\ndef workload():\n    return widgets.X\n"


SECRET = "a webhook secret of 32+ random bytes: 0a1b2c"


def config(tmp_path: Path, fake: FakeGitHub, cooldown_s: float = 0.0, **more: Any) -> AppConfig:
    settings: dict[str, Any] = {
        "app_id": 1,
        "private_key_path": tmp_path / "k.pem",
        "webhook_secret": SECRET,
        "data_dir": tmp_path / "data",
        "allowed_installations": "*",
        "api_url": fake.api_url,
        "cooldown_s": cooldown_s,
    }
    return AppConfig(**(settings | more))


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
    worker.config = AppConfig(
        app_id=1,
        private_key_path=Path("k"),
        webhook_secret=SECRET,
        data_dir=Path("d"),
        allowed_installations="*",
        min_speedup=1.1,
    )
    good = {"patch": "d", "verdict": "faster", "equivalent": True, "tests_passed": True,
            "flags": [], "speedup": 1.5}  # fmt: skip
    assert worker.unverified_reason({"status": "done", "final": good}) is None
    cases = {
        "the run failed: boom": {"status": "failed", "error": "boom", "final": good},
        "the final verdict was same, not faster": {"final": good | {"verdict": "same"}},
        "the outputs were not shown": {"final": good | {"equivalent": None}},
        "the tests did not pass": {"final": good | {"tests_passed": False}},
        "the speedup 1.06 is below 1.1": {"final": good | {"speedup": 1.06}},
    }
    # Flags alone are no reason to drop a change: it becomes a draft (or a comment).
    assert worker.unverified_reason({"status": "done", "final": good | {"flags": ["c"]}}) is None
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
        f'app_id = 1\nprivate_key_path = "{tmp_path}/none.pem"\nwebhook_secret = "{SECRET}"\n'
        f'data_dir = "{tmp_path}/d"\nallowed_installations = [1]\n'
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
        f'app_id = 1\nprivate_key_path = "{key}"\nwebhook_secret = "{SECRET}"\n'
        f'data_dir = "{tmp_path}/data"\nworkers = 2\nallowed_installations = "*"\n'
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
            "X-Hub-Signature-256": signature(SECRET, body),
        }
        assert httpx.post(f"{url}/webhook", content=body, headers=headers).status_code == 200
        assert httpx.post(f"{url}/webhook", content=body).status_code == 401
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    # uvicorn shuts down cleanly, then re-raises the signal it caught (exit status -15).
    assert process.returncode in (0, -15), err.decode()[-2000:]
    assert "Application shutdown complete" in err.decode()


PATCH = """\
diff --git a/widgets.py b/widgets.py
--- a/widgets.py
+++ b/widgets.py
@@ -1 +1 @@
-X = 1
+X = 2
"""
FLAG = "widgets.py:1 in <module>: special-casing: n == 3000"


def kept(flags: list[str]) -> dict[str, Any]:
    final = {"patch": PATCH, "verdict": "faster", "equivalent": True, "tests_passed": True,
             "flags": flags, "speedup": 1.5, "ci": [1.4, 1.6]}  # fmt: skip
    return {**NOTHING, "final": final}


def test_a_failed_run_counts_for_the_cooldown(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    """Issue 14 hole 7: only finished runs used to count, so a failing repository could
    hold the machine again and again."""

    def failing(ctx: RunContext) -> dict[str, Any]:
        raise EnvironmentSetupError("setup command failed: pip install -e . (exit 1)")

    queue = JobQueue(tmp_path / "q.sqlite")
    worker = Worker(
        config(tmp_path, fake_github, cooldown_s=3600.0), queue, github_app, run=failing
    )
    job(queue, fake_github, pull, "alice")
    job(queue, fake_github, pull, "alice")
    first, second = worker.run_once(), worker.run_once()
    assert first is not None and (first.state, (first.result or {})["outcome"]) == (
        "failed",
        "error",
    )
    assert second is not None and second.result is not None
    assert second.result["outcome"] == "cooldown"


def test_the_push_goes_to_the_api_url_whatever_the_measured_tree_says(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    """Issue 14 hole 2: the repository's code can rewrite the measured clone's .git/config
    (insteadOf, pushInsteadOf, the remote's URL); the branch must still land in the repo."""
    evil = "octo/evil"
    fake_github.add_repo(evil)
    next(iter(fake_github.installations.values())).repos.add(evil)

    def hostile(ctx: RunContext) -> dict[str, Any]:
        measured = ctx.workdir_parent / "widgets"
        assert (measured / ".git").is_dir()
        prefix = f"{fake_github.api_url}/"
        for key, value in (
            (f"url.{fake_github.clone_url(evil)}.insteadOf", fake_github.clone_url(REPO)),
            (f"url.{fake_github.clone_url(evil)}.pushInsteadOf", prefix),
            ("remote.origin.url", fake_github.clone_url(evil)),
            ("remote.origin.pushurl", fake_github.clone_url(evil)),
        ):
            done = run_command(["git", "config", key, value], cwd=measured)
            assert done.ok, done.summary()
        return recorded(kept([]))(ctx)

    queue = JobQueue(tmp_path / "q.sqlite")
    worker = Worker(config(tmp_path, fake_github), queue, github_app, run=hostile)
    job(queue, fake_github, pull, "alice")
    done = worker.run_once()
    assert done is not None and done.result is not None, done
    assert done.result["outcome"] == "pull", done.result
    branch = done.result["branch"]
    assert fake_github.git.branch_sha(REPO, branch) is not None
    assert fake_github.git.branch_sha(evil, branch) is None
    shown = run_command(["git", "show", branch, "--", "widgets.py"], cwd=fake_github.git.path(REPO))
    assert "+X = 2" in shown.stdout


def test_a_flagged_change_becomes_a_comment_naming_each_flag_when_so_set(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    cfg = config(tmp_path, fake_github, on_flagged="comment")
    second = "widgets.py:1 in <module>: cache: a dict that outlives the call"
    worker = Worker(cfg, queue, github_app, run=recorded(kept([FLAG, second])))
    job(queue, fake_github, pull, "alice")
    done = worker.run_once()
    assert done is not None and done.result is not None
    assert (done.result["outcome"], done.result["flags"]) == ("flagged", [FLAG, second])
    [text] = comments(fake_github, pull)
    assert "Flagged by the reward-hack guard" in text
    assert f"- `{FLAG}`" in text and f"- `{second}`" in text and "+X = 2" in text
    assert [p for p in fake_github.pulls[REPO] if p.head.startswith("perfagent/")] == []
    [check] = fake_github.check_runs.values()
    assert check.conclusion == "neutral"


def test_a_flagged_change_is_a_draft_pull_request_naming_each_flag_by_default(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    worker = Worker(config(tmp_path, fake_github), queue, github_app, run=recorded(kept([FLAG])))
    job(queue, fake_github, pull, "alice")
    done = worker.run_once()
    assert done is not None and done.result is not None
    assert (done.result["outcome"], done.result["draft"]) == ("pull", True)
    [pr] = [p for p in fake_github.pulls[REPO] if p.head.startswith("perfagent/")]
    assert pr.draft and pr.body is not None and f"- `{FLAG}`" in pr.body
    assert "(flagged: review)" in pr.title
    [check] = fake_github.check_runs.values()
    assert check.conclusion == "neutral"


def test_a_job_for_an_installation_not_served_is_refused(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    queue = JobQueue(tmp_path / "q.sqlite")
    cfg = config(tmp_path, fake_github, allowed_installations=frozenset({-1}))
    worker = Worker(cfg, queue, github_app, run=recorded(NOTHING))
    job(queue, fake_github, pull, "alice")
    done = worker.run_once()
    assert done is not None and done.result is not None
    assert done.result["outcome"] == "refused" and "not served" in done.result["reason"]
    assert fake_github.tokens_issued == 0 and comments(fake_github, pull) == []


def test_the_service_start_sweeps_what_a_killed_process_left_and_locks_the_data_dir(
    tmp_path: Path, fake_github: FakeGitHub
) -> None:
    import tempfile

    cfg = config(tmp_path, fake_github)
    data = cfg.data_dir
    left = [data / "work/job-3/widgets/x.py", data / "tmp/perfagent-scratch-1/f",
            data / "runs/.staging/job-3/task.yaml"]  # fmt: skip
    for path in left:
        path.parent.mkdir(parents=True)
        path.write_text("left by a SIGKILL")
    (data / "runs/calc-1").mkdir()  # a finished run's record stays
    before = tempfile.gettempdir()
    with prepare(cfg) as swept:
        assert sorted(swept) == sorted(
            [data / "work/job-3", data / "tmp/perfagent-scratch-1", data / "runs/.staging/job-3"]
        )
        assert not any(path.exists() for path in left)
        assert (data / "runs/calc-1").is_dir()
        assert tempfile.gettempdir() == str(data / "tmp")
        busy = pytest.raises(ConfigError, match="is in use by another perfagent app serve")
        with busy, prepare(cfg):
            pass
    assert tempfile.gettempdir() == before
    with prepare(cfg) as swept_again:  # the lock went with the first service
        assert swept_again == []


def test_a_job_runs_at_the_apps_isolation_level_in_its_worker_thread(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path, pull: int
) -> None:
    """Worker threads do not inherit the level of the thread that started them: each job
    sets the App's own (required by default)."""
    seen: list[str] = []

    def run(ctx: RunContext) -> dict[str, Any]:
        seen.append(isolation_level())
        return {"run_id": ctx.run_id, "task_id": "widgets", **NOTHING}

    queue = JobQueue(tmp_path / "q.sqlite")
    for level, expected in ((None, "required"), ("off", "off")):
        more = {} if level is None else {"isolation": level}
        worker = Worker(config(tmp_path, fake_github, **more), queue, github_app, run=run)
        job(queue, fake_github, pull, "alice")
        thread = threading.Thread(target=worker.run_once)
        thread.start()
        thread.join(timeout=120)
        assert seen[-1] == expected


def test_the_key_settings_queue_and_runs_are_hidden_from_every_job(
    tmp_path: Path, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key under a folder the sandbox shows (/etc, /opt) is masked, and so are the
    settings file and the data dir's queue and runs."""
    if not sandbox_available()[0]:
        pytest.skip("no sandbox on this machine")
    monkeypatch.setattr(sandbox_module, "_hidden", set())  # process-wide: restore after
    # A stand-in for the key: a readable file under /etc, which every sandbox shows.
    key = next(p for p in map(Path, ("/etc/os-release", "/etc/hostname", "/etc/passwd"))
               if p.is_file() and os.access(p, os.R_OK))  # fmt: skip
    cfg = config(tmp_path, fake_github, private_key_path=key)
    hide_from_jobs(cfg, None)
    inside = run_command(
        ["cat", str(key)],
        cwd=tmp_path,
        sandbox=Sandbox(level="required", writable=(tmp_path,)),
    )
    assert inside.sandboxed and inside.stdout == ""  # /dev/null (unreadable) in its place
    assert key.read_bytes()  # outside the sandbox, the file is what it was
