"""The App end to end against the fake GitHub: a signed ``/perfagent optimize`` comment on a
pull request → webhook → queue → worker (real clone, real agent run with a scripted model)
→ a branch, a pull request with the measurements, a check run; a second identical comment
opens no second PR; a comment on an issue opens a (draft, when configured) PR against the
default branch; a read-only commenter is refused; a speedup the reward-hack guard flags opens
a draft PR naming the flag. Every installation token the job used reached only the one
repository."""

from __future__ import annotations

import json
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from perfagent.agent.app.config import AppConfig
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.server import create_app
from perfagent.agent.app.webhooks import signature
from perfagent.agent.app.worker import Worker
from perfagent.tools.github import GitHubApp, RepoRef
from perfagent.tools.runner import run
from tests.conftest import SLOW_MODULE, TEST_FILE, WORKLOAD
from tests.github.fake import FakeGitHub
from tests.test_agent_loop import GOOD, edit
from tests.test_app_webhooks import examples

pytest_plugins = ["tests.github.fixtures"]
pytestmark = pytest.mark.slow

SECRET = "e2e webhook secret, 32 bytes or more"
# Faster, equivalent and passing the tests, but special-cased on the workload's input.
SPECIAL_CASED = edit(
    "answer the benchmark's size directly",
    "    if n == 3000:\n        return 8995500500\n    return sum(i * i for i in range(n))\n",
)
CALC = "octo/calc"
PYPROJECT = """\
[project]
name = "calc"
version = "0"

[tool.perfagent]
workload = "bench/workload.py"
tests = ["python -m pytest -q -p no:cacheprovider tests"]
"""

CALC_FILES = {  # a project whose tests and workload the App finds through [tool.perfagent]
    "pyproject.toml": PYPROJECT,
    "calc.py": textwrap.dedent(SLOW_MODULE),
    "tests/test_calc.py": textwrap.dedent(TEST_FILE),
    "bench/workload.py": textwrap.dedent(WORKLOAD),
}


@pytest.fixture
def world(
    fake_github: FakeGitHub, github_app: GitHubApp, tmp_path: Path
) -> Iterator[tuple[FakeGitHub, TestClient, Worker, JobQueue]]:
    fake_github.add_repo(CALC, files=CALC_FILES)
    for inst in fake_github.installations.values():
        inst.repos.add(CALC)
    fake_github.set_role(CALC, "alice", "write")
    fake_github.set_role(CALC, "bob", "read")
    fake_github.git.commit(CALC, "feature", {"NOTES.md": "speed\n"}, "notes", parent="main")
    script = tmp_path / "script.json"
    script.write_text(json.dumps([GOOD]))
    model = f"fake:{script}"
    config = AppConfig(
        app_id=1,
        private_key_path=tmp_path / "unused.pem",
        webhook_secret=SECRET,
        data_dir=tmp_path / "data",
        allowed_installations=frozenset(fake_github.installations),
        default_model=model,
        allowed_models=(model,),
        api_url=fake_github.api_url,
        cooldown_s=0.0,
        candidates_per_round=1,
        max_runs=30,
    )
    queue = JobQueue(config.queue_path)
    worker = Worker(config, queue, github_app)
    with TestClient(create_app(config, queue)) as client:
        yield fake_github, client, worker, queue


def comment_payload(fake: FakeGitHub, number: int, login: str, text: str, pull: bool) -> bytes:
    """A real ``issue_comment`` example, pointed at ``CALC`` and a comment made in the fake."""
    comment = fake.add_comment(CALC, number, text, login)
    payload = json.loads(json.dumps(examples("issue_comment")[3]))
    payload["repository"]["full_name"] = CALC
    payload["installation"]["id"] = next(iter(fake.installations))
    payload["issue"]["number"] = number
    if pull:
        payload["issue"]["pull_request"] = {"url": f"{fake.api_url}/repos/{CALC}/pulls/{number}"}
    else:
        payload["issue"].pop("pull_request", None)
    payload["comment"].update(id=comment.id, body=text)
    payload["comment"]["user"]["login"] = login
    return json.dumps(payload).encode()


def signed_headers(body: bytes) -> dict[str, str]:
    return {
        "X-GitHub-Event": "issue_comment",
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(SECRET, body),
    }


def comment_on(
    fake: FakeGitHub, client: TestClient, number: int, login: str, text: str, pull: bool = True
) -> Any:
    body = comment_payload(fake, number, login, text, pull)
    return client.post("/webhook", content=body, headers=signed_headers(body))


def bot_comments(fake: FakeGitHub, number: int) -> list[str]:
    return [
        c.body for c in fake.comments.values() if c.issue_number == number and "[bot]" in c.user
    ]


def test_a_comment_becomes_one_pull_request_with_measurements_and_a_check(
    world: tuple[FakeGitHub, TestClient, Worker, JobQueue], github_app: GitHubApp
) -> None:
    fake, client, worker, queue = world
    trigger = fake.open_pull(CALC, head="feature", base="main", title="notes", user="alice")

    assert (
        comment_on(
            fake, client, trigger.number, "alice", "/perfagent optimize --max-iterations 1"
        ).status_code
        == 202
    )
    job = worker.run_once()
    assert job is not None and job.state == "done", job
    assert job.result is not None and job.result["outcome"] == "pull", job.result

    ours = [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")]
    assert len(ours) == 1
    pr = ours[0]
    assert pr.head == job.result["branch"] and pr.head.startswith("perfagent/calc-")
    assert pr.base == "feature"  # into the pull request that asked for it
    assert pr.body is not None
    for part in (
        "## Measurements",
        "| workload |",
        "## Tests",
        "## Hotspots before",
        "## Candidates",
        "faster",
    ):
        assert part in pr.body, part
    # The branch holds the kept edit, committed by the bot on top of the PR's head.
    pushed = fake.git.branch_sha(CALC, pr.head)
    assert pushed is not None
    bare = fake.git.path(CALC)
    show = run(["git", "show", "--format=%an <%ae>|%P", pr.head], cwd=bare)
    assert show.ok, show.summary()
    author, parent = show.stdout.splitlines()[0].split("|")
    assert author == "perfagent <perfagent[bot]@users.noreply.github.com>"
    assert parent == trigger.head_sha
    assert "+    return sum(i * i for i in range(n))" in show.stdout
    # The check run on the triggering PR's head succeeded; the trigger got a link.
    [check] = [c for c in fake.check_runs.values() if c.head_sha == trigger.head_sha]
    assert (check.name, check.conclusion) == ("perfagent", "success")
    assert any(f"opened #{pr.number}" in text for text in bot_comments(fake, trigger.number))
    # The installation token was never written under the data dir.
    inst = next(iter(fake.installations))
    token = github_app.installation_token(inst, RepoRef.parse(CALC)).token.encode()
    data_dir = worker.config.data_dir
    assert not [p for p in data_dir.rglob("*") if p.is_file() and token in p.read_bytes()]

    # The same request again: a new job, but no second PR while the first is open.
    assert (
        comment_on(
            fake, client, trigger.number, "alice", "/perfagent optimize --max-iterations 1"
        ).status_code
        == 202
    )
    again = worker.run_once()
    assert again is not None and again.result is not None
    assert (again.state, again.result["outcome"]) == ("done", "already open")
    assert len([p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")]) == 1
    assert worker.run_once() is None
    assert queue.jobs("queued") == []
    # Every token minted reached only this repository.
    assert fake.minted and {grant.repos for grant in fake.minted} == {frozenset({CALC})}
    print(f"fake GitHub validated {fake.validated} requests")
    print(f"the pull request's body:\n{pr.body}")  # shown with pytest -s


def test_a_comment_on_an_issue_opens_a_draft_pull_request_against_the_default_branch(
    world: tuple[FakeGitHub, TestClient, Worker, JobQueue],
) -> None:
    fake, client, worker, _queue = world
    worker.config = worker.config.model_copy(update={"draft_pulls": True})
    issue = fake.open_issue(CALC, "calc.total is slow")
    command = "/perfagent optimize --max-iterations 1"
    assert comment_on(fake, client, issue, "alice", command, pull=False).status_code == 202
    job = worker.run_once()
    assert job is not None and job.result is not None
    assert (job.state, job.result["outcome"]) == ("done", "pull"), job.result
    [pr] = [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")]
    assert (pr.base, pr.draft) == ("main", True)
    # Built on the default branch's head; no check run (an issue has no commit to check).
    parent = run(["git", "rev-parse", f"{pr.head}^"], cwd=fake.git.path(CALC))
    assert parent.stdout.strip() == fake.git.branch_sha(CALC, "main")
    assert fake.check_runs == {}
    [answer] = bot_comments(fake, issue)
    assert f"opened #{pr.number}" in answer


def test_a_read_only_commenter_is_refused_by_the_api_permission(
    world: tuple[FakeGitHub, TestClient, Worker, JobQueue],
) -> None:
    fake, client, worker, _queue = world
    trigger = fake.open_pull(CALC, head="feature", base="main", title="notes", user="bob")
    assert comment_on(fake, client, trigger.number, "bob", "/perfagent optimize").status_code == 202
    job = worker.run_once()
    assert job is not None and job.result is not None
    assert (job.state, job.result["outcome"]) == ("done", "refused")
    assert any("@bob has read permission" in text for text in bot_comments(fake, trigger.number))
    assert [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")] == []
    assert fake.check_runs == {}


def test_a_job_over_its_time_budget_measures_no_candidate_and_says_why(
    world: tuple[FakeGitHub, TestClient, Worker, JobQueue],
) -> None:
    fake, client, worker, _queue = world
    worker.config = worker.config.model_copy(update={"max_job_time_s": 0.001})
    trigger = fake.open_pull(CALC, head="feature", base="main", title="notes", user="alice")
    assert (
        comment_on(fake, client, trigger.number, "alice", "/perfagent optimize").status_code == 202
    )
    job = worker.run_once()
    assert job is not None and job.result is not None
    assert (job.state, job.result["outcome"]) == ("done", "nothing kept"), job.result
    [answer] = bot_comments(fake, trigger.number)
    assert "Stopped: max time." in answer and "not evaluated: max time" in answer
    assert [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")] == []
    [check] = [c for c in fake.check_runs.values() if c.head_sha == trigger.head_sha]
    assert check.conclusion == "neutral"


def test_a_flagged_speedup_becomes_a_draft_pull_request_naming_the_flag(
    world: tuple[FakeGitHub, TestClient, Worker, JobQueue], tmp_path: Path
) -> None:
    fake, client, worker, _queue = world
    (tmp_path / "script.json").write_text(json.dumps([SPECIAL_CASED]))
    trigger = fake.open_pull(CALC, head="feature", base="main", title="notes", user="alice")
    command = "/perfagent optimize --max-iterations 1"
    assert comment_on(fake, client, trigger.number, "alice", command).status_code == 202
    job = worker.run_once()
    assert job is not None and job.result is not None
    assert (job.state, job.result["outcome"], job.result["draft"]) == ("done", "pull", True)
    [flag] = job.result["flags"]
    assert "special-casing: compares n with 3000" in flag
    [pr] = [p for p in fake.pulls[CALC] if p.head.startswith("perfagent/")]
    assert pr.draft and pr.body is not None
    assert "## Flagged by the reward-hack guard" in pr.body and f"- `{flag}`" in pr.body
    [check] = [c for c in fake.check_runs.values() if c.head_sha == trigger.head_sha]
    assert check.conclusion == "neutral"
    assert any("reward-hack guard flagged" in text for text in bot_comments(fake, trigger.number))
