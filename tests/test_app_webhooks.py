"""The webhook route: signatures, redeliveries and replays, GitHub's own example payloads
(re-signed), command parsing, settings, and a fuzz of malformed requests (never a 5xx)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfagent.agent.app.config import ENV_PREFIX, AppConfig, ConfigError, load_config
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.server import create_app
from perfagent.agent.app.webhooks import CommandError, parse_command, signature, verify_signature

SECRET = "a webhook secret of 32+ random bytes: 9f8e7d6c"
EXAMPLES = (
    Path(__file__).parent
    / "github/node_modules/@octokit/webhooks-examples/api.github.com/index.json"
)
FUZZ_CASES = 300


def examples(event: str) -> list[dict[str, Any]]:
    for entry in json.loads(EXAMPLES.read_text(encoding="utf-8")):
        if entry["name"] == event:
            return list(entry["examples"])
    raise AssertionError(f"no examples of {event}")


def all_examples() -> list[tuple[str, dict[str, Any]]]:
    data = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return [(entry["name"], ex) for entry in data for ex in entry["examples"]]


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    return AppConfig(
        app_id=1,
        private_key_path=tmp_path / "key.pem",
        webhook_secret=SECRET,
        data_dir=tmp_path / "data",
        allowed_installations="*",
        allowed_models=("rules", "openai:gpt-4o-mini"),
    )


@pytest.fixture
def queue(config: AppConfig) -> JobQueue:
    return JobQueue(config.queue_path)


@pytest.fixture
def client(config: AppConfig, queue: JobQueue) -> Iterator[TestClient]:
    with TestClient(create_app(config, queue), raise_server_exceptions=False) as c:
        yield c


def post(
    client: TestClient,
    event: str,
    payload: dict[str, Any] | bytes,
    *,
    delivery: str | None = None,
    sign: bool = True,
) -> Any:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }
    if sign:
        headers["X-Hub-Signature-256"] = signature(SECRET, body)
    return client.post("/webhook", content=body, headers=headers)


def comment(body: str, **issue: Any) -> dict[str, Any]:
    payload = examples("issue_comment")[3]  # the one with an installation
    payload = json.loads(json.dumps(payload))
    payload["comment"]["body"] = body
    payload["issue"].update(issue)
    return payload


# -- signatures --------------------------------------------------------------------------------
def test_signature_matches_githubs_documented_example() -> None:
    # https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
    secret = "It's a Secret to Everybody"
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(secret, b"Hello, World!") == expected
    assert verify_signature(secret, b"Hello, World!", expected)
    assert not verify_signature(secret, b"Hello, World?", expected)
    assert not verify_signature(secret, b"Hello, World!", None)
    assert not verify_signature(secret, b"Hello, World!", "sha256=é")


def test_bad_or_missing_signature_is_401_and_nothing_is_recorded(
    client: TestClient, queue: JobQueue
) -> None:
    payload = comment("/perfagent optimize")
    body = json.dumps(payload).encode()
    for sig in (None, "", "sha256=00", signature("other secret", body), "sha1=abc"):
        headers = {"X-GitHub-Event": "issue_comment", "X-GitHub-Delivery": "d-1"}
        if sig is not None:
            headers["X-Hub-Signature-256"] = sig
        assert client.post("/webhook", content=body, headers=headers).status_code == 401
    assert queue.jobs() == []
    assert post(client, "issue_comment", payload, delivery="d-1").status_code == 202


def test_a_redelivery_is_dropped(client: TestClient, queue: JobQueue) -> None:
    payload = comment("/perfagent optimize")
    assert post(client, "issue_comment", payload, delivery="abc-1").status_code == 202
    again = post(client, "issue_comment", payload, delivery="abc-1")
    assert (again.status_code, again.json()["message"]) == (200, "duplicate delivery")
    assert len(queue.jobs()) == 1


def test_redeliveries_are_remembered_across_restarts(
    config: AppConfig, queue: JobQueue, client: TestClient
) -> None:
    assert post(client, "ping", examples("ping")[0], delivery="p-1").status_code == 200
    with TestClient(create_app(config, JobQueue(config.queue_path))) as fresh:
        assert post(fresh, "ping", examples("ping")[0], delivery="p-1").json()["message"] == (
            "duplicate delivery"
        )


# -- events ------------------------------------------------------------------------------------
def test_a_command_comment_queues_one_job_with_its_options(
    client: TestClient, queue: JobQueue
) -> None:
    payload = comment("Looks slow.\n/perfagent optimize --target 1.5x --max-iterations=3")
    answer = post(client, "issue_comment", payload)
    assert answer.status_code == 202
    [job] = queue.jobs()
    assert answer.json()["job"] == job.id
    assert (job.kind, job.state) == ("optimize", "queued")
    assert job.payload == {
        "repo": payload["repository"]["full_name"],
        "installation_id": payload["installation"]["id"],
        "number": payload["issue"]["number"],
        "is_pull": False,
        "trigger": "comment",
        "requester": payload["comment"]["user"]["login"],
        "comment_id": payload["comment"]["id"],
        "options": {"target": 1.5, "max_iterations": 3, "model": "rules"},
    }
    # The same request in another comment while the first is pending: no second job.
    payload["comment"]["id"] += 1
    again = post(client, "issue_comment", payload)
    assert (again.status_code, again.json()["message"]) == (202, "already queued")
    assert len(queue.jobs()) == 1


def test_a_captured_webhook_replayed_with_a_new_delivery_id_is_refused(
    config: AppConfig, queue: JobQueue, client: TestClient
) -> None:
    """Issue 14 hole 7: the signature covers the body, not the delivery id, so a captured
    delivery re-sent under a fresh id verifies; the signed comment id is what is kept."""
    payload = comment("/perfagent optimize")
    assert post(client, "issue_comment", payload, delivery="first").status_code == 202
    job = queue.claim()
    assert job is not None
    queue.finish(job.id, "done", {"outcome": "pull"})  # the job ran: nothing pending any more
    replay = post(client, "issue_comment", payload, delivery="replayed-1")
    assert (replay.status_code, replay.json()["message"]) == (200, "event already handled")
    # Kept for good: a restarted server refuses it too.
    with TestClient(create_app(config, JobQueue(config.queue_path))) as fresh:
        again = post(fresh, "issue_comment", payload, delivery="replayed-2")
        assert (again.status_code, again.json()["message"]) == (200, "event already handled")
    assert [j.id for j in queue.jobs()] == [job.id]
    # A new comment with the same words is a new request.
    payload["comment"]["id"] += 1
    assert post(client, "issue_comment", payload).status_code == 202
    assert len(queue.jobs()) == 2


def test_a_replayed_label_event_is_refused_but_labelling_again_later_is_not(
    client: TestClient, queue: JobQueue
) -> None:
    labeled = [ex for ex in examples("pull_request") if ex["action"] == "labeled"]
    payload = json.loads(json.dumps(labeled[0]))
    payload["installation"] = {"id": 7, "node_id": "x"}
    payload["label"]["name"] = "perfagent"
    assert post(client, "pull_request", payload).status_code == 202
    job = queue.claim()
    assert job is not None
    queue.finish(job.id, "failed", {"outcome": "error"})
    assert post(client, "pull_request", payload).json()["message"] == "event already handled"
    payload["pull_request"]["updated_at"] = "2030-01-01T00:00:00Z"  # labelled again, later
    assert post(client, "pull_request", payload).status_code == 202


def test_a_bad_command_queues_a_refusal_for_the_worker(client: TestClient, queue: JobQueue) -> None:
    answer = post(client, "issue_comment", comment("/perfagent optimize --model gpt-evil"))
    assert answer.status_code == 202
    [job] = queue.jobs()
    assert job.kind == "refuse"
    assert "not allowed" in job.payload["reason"]


def test_pull_request_labeled_perfagent_queues_a_job(client: TestClient, queue: JobQueue) -> None:
    labeled = [ex for ex in examples("pull_request") if ex["action"] == "labeled"]
    payload = json.loads(json.dumps(labeled[0]))
    payload["installation"] = {"id": 7, "node_id": "x"}
    payload["label"]["name"] = "bug"
    assert post(client, "pull_request", payload).status_code == 204
    payload["label"]["name"] = "perfagent"
    assert post(client, "pull_request", payload).status_code == 202
    [job] = queue.jobs()
    assert (job.payload["trigger"], job.payload["is_pull"]) == ("label", True)
    assert job.payload["number"] == payload["pull_request"]["number"]


def test_installation_events_are_recorded_and_removed(client: TestClient, queue: JobQueue) -> None:
    created = next(ex for ex in examples("installation") if ex["action"] == "created")
    deleted = json.loads(json.dumps(created)) | {"action": "deleted"}
    assert post(client, "installation", created).status_code == 202
    inst = created["installation"]
    assert queue.installations() == {inst["id"]: inst["account"]["login"]}
    assert post(client, "installation", deleted).status_code == 202
    assert queue.installations() == {}


def test_installations_outside_the_allow_list_are_refused(
    config: AppConfig, queue: JobQueue
) -> None:
    only = config.model_copy(update={"allowed_installations": frozenset({-1})})
    with TestClient(create_app(only, queue)) as c:
        assert post(c, "issue_comment", comment("/perfagent optimize")).status_code == 403
    assert queue.jobs() == []


def test_comments_by_bots_and_without_a_command_are_ignored(
    client: TestClient, queue: JobQueue
) -> None:
    assert post(client, "issue_comment", comment("great work")).status_code == 204
    bot = comment("/perfagent optimize")
    bot["comment"]["user"]["type"] = "Bot"
    assert post(client, "issue_comment", bot).status_code == 204
    assert queue.jobs() == []


def test_every_example_payload_is_answered_without_error(client: TestClient) -> None:
    answers = [(event, post(client, event, payload)) for event, payload in all_examples()]
    assert len(answers) > 200
    assert [(e, a.status_code) for e, a in answers if a.status_code not in (200, 202, 204)] == []


def test_malformed_requests_are_4xx(client: TestClient) -> None:
    assert post(client, "issue_comment", b"{not json").status_code == 400
    assert post(client, "issue_comment", b"[1, 2]").status_code == 400
    assert post(client, "issue_comment", {"action": "created"}).status_code == 400
    assert post(client, "issue_comment", b"\xff\xfe").status_code == 400
    assert post(client, "ISSUE COMMENT", {}).status_code == 400
    bad_repo = comment("/perfagent optimize")
    bad_repo["repository"]["full_name"] = "../../etc"
    assert post(client, "issue_comment", bad_repo).status_code == 400
    deep = b"[" * 100_000 + b"]" * 100_000
    assert post(client, "issue_comment", deep).status_code == 400


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"ok": True, "queued": 0}


# -- commands ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("/perfagent", "unknown command"),
        ("/perfagent deploy", "unknown command"),
        ("/perfagent optimize --target", "needs a value"),
        ("/perfagent optimize --target 0.5x", "above 1x"),
        ("/perfagent optimize --target fast", "not a speedup"),
        ("/perfagent optimize --max-iterations 0", "1 to 20"),
        ("/perfagent optimize --max-iterations 1e9", "1 to 20"),
        ("/perfagent optimize --model 'rules; rm -rf /'", "not allowed"),
        ("/perfagent optimize --rm", "unknown option"),
        ("/perfagent optimize 'unbalanced", "cannot read"),
    ],
)
def test_bad_commands_are_refused_with_a_reason(line: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(line, default_model="rules", allowed_models=("rules",))


# -- config ----------------------------------------------------------------------------------
LONG = "x" * 32  # the shortest webhook secret allowed


@pytest.fixture
def environ(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set ``PERFAGENT_APP_*`` variables for ``load_config`` (none from the outer shell)."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)

    def put(values: dict[str, str]) -> None:
        for name in list(os.environ):
            if name.startswith(ENV_PREFIX):
                monkeypatch.delenv(name)
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return put


def test_config_from_file_and_environment(tmp_path: Path, environ: Any) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        'app_id = 5\nprivate_key_path = "k.pem"\ndata_dir = "d"\nworkers = 2\n'
        "allowed_installations = [3, 4]\n"
    )
    env = {"PERFAGENT_APP_WEBHOOK_SECRET": LONG, "PERFAGENT_APP_WORKERS": "3"}
    environ(env)
    config = load_config(path)
    assert (config.app_id, config.secret, config.workers) == (5, LONG, 3)
    assert config.allowed_installations == frozenset({3, 4})
    assert config.allowed_models == ("rules",)
    assert LONG not in repr(config)
    environ({})
    with pytest.raises(ConfigError, match="webhook_secret: missing"):
        load_config(path)
    path.write_text("app_id = 5\nbogus = 1\n")
    environ(env)
    with pytest.raises(ConfigError, match="unknown setting 'bogus'"):
        load_config(path)
    environ(env | {"PERFAGENT_APP_WORKERS": "many", **_required()})
    with pytest.raises(ConfigError, match="workers: expected a whole number, got 'many'"):
        load_config(None)


def test_config_sets_drafts_and_the_machine_time_per_job(tmp_path: Path, environ: Any) -> None:
    env = {"PERFAGENT_APP_WEBHOOK_SECRET": LONG, **_required()}
    environ(env)
    defaults = load_config(None)
    assert (defaults.draft_pulls, defaults.candidates_per_round, defaults.max_runs) == (
        False,
        4,
        60,
    )
    assert defaults.on_flagged == "draft"
    path = tmp_path / "app.toml"
    path.write_text("draft_pulls = true\ncandidates_per_round = 2\nmax_runs = 30\n")
    environ(env)
    config = load_config(path)
    assert (config.draft_pulls, config.candidates_per_round, config.max_runs) == (True, 2, 30)
    cases = {
        "PERFAGENT_APP_DRAFT_PULLS=false": None,
        "PERFAGENT_APP_DRAFT_PULLS=maybe": "draft_pulls: expected true or false, got 'maybe'",
        "PERFAGENT_APP_CANDIDATES_PER_ROUND=0": "candidates_per_round: 0 is not between 1 and 16",
        "PERFAGENT_APP_MAX_RUNS=2": "max_runs: 2 is not between 5 and 1000",
        "PERFAGENT_APP_MAX_JOB_TIME_S=0": "max_job_time_s: 0 must be above 0",
        "PERFAGENT_APP_MAX_JOB_COST=lots": "max_job_cost: expected a number, got 'lots'",
        "PERFAGENT_APP_COOLDOWN_S=-1": "cooldown_s: -1 must not be negative",
        "PERFAGENT_APP_ON_FLAGGED=drop": "on_flagged: Input should be 'draft' or 'comment'",
    }
    for setting, message in cases.items():
        name, _, value = setting.partition("=")
        environ(env | {name: value})
        if message is None:
            assert not load_config(path).draft_pulls
            continue
        with pytest.raises(ConfigError) as info:
            load_config(None)
        assert str(info.value) == message
    assert (defaults.max_job_time_s, defaults.max_job_cost) == (7200.0, 5.0)
    path.write_text("max_job_time_s = 900\nmax_job_cost = 0.5\n")
    environ(env)
    budget = load_config(path)
    assert (budget.max_job_time_s, budget.max_job_cost) == (900.0, 0.5)


def test_a_webhook_secret_shorter_than_32_bytes_is_refused(tmp_path: Path, environ: Any) -> None:
    environ({"PERFAGENT_APP_WEBHOOK_SECRET": "s", **_required()})
    with pytest.raises(ConfigError) as info:
        load_config(None)
    assert str(info.value).startswith("webhook_secret: 1 bytes; use at least 32 random bytes")
    environ({"PERFAGENT_APP_WEBHOOK_SECRET": "é" * 16, **_required()})  # 32 bytes in UTF-8
    assert load_config(None).secret == "é" * 16
    with pytest.raises(ValueError, match="use at least 32"):
        AppConfig(
            app_id=1,
            private_key_path=tmp_path / "k",
            webhook_secret="short",
            data_dir=tmp_path,
            allowed_installations="*",
        )


def test_allowed_installations_is_required_and_never_empty_for_all(environ: Any) -> None:
    base = {"PERFAGENT_APP_WEBHOOK_SECRET": LONG, **_required()}
    del base["PERFAGENT_APP_ALLOWED_INSTALLATIONS"]
    environ(base)
    with pytest.raises(ConfigError, match="allowed_installations: missing"):
        load_config(None)
    for empty in ("", " , "):
        environ(base | {"PERFAGENT_APP_ALLOWED_INSTALLATIONS": empty})
        with pytest.raises(ConfigError, match="allowed_installations: empty; list the"):
            load_config(None)
    environ(base | {"PERFAGENT_APP_ALLOWED_INSTALLATIONS": "3, 4"})
    some = load_config(None)
    assert some.installation_allowed(3) and not some.installation_allowed(5)
    environ(base | {"PERFAGENT_APP_ALLOWED_INSTALLATIONS": "*"})
    every = load_config(None)
    assert every.allowed_installations == "*" and every.installation_allowed(5)
    environ(base | {"PERFAGENT_APP_ALLOWED_INSTALLATIONS": "3,x"})
    with pytest.raises(ConfigError, match="allowed_installations: expected"):
        load_config(None)


def test_an_empty_allow_list_in_the_file_is_an_error(tmp_path: Path, environ: Any) -> None:
    path = tmp_path / "app.toml"
    path.write_text('allowed_installations = []\nwebhook_secret = "' + LONG + '"\n')
    required = _required()
    del required["PERFAGENT_APP_ALLOWED_INSTALLATIONS"]
    environ(required)
    with pytest.raises(ConfigError, match="allowed_installations: empty"):
        load_config(path)
    path.write_text('allowed_installations = "*"\nwebhook_secret = "' + LONG + '"\n')
    assert load_config(path).allowed_installations == "*"


def test_the_webhook_secret_leaves_the_environment_once_read(tmp_path: Path) -> None:
    """Also from /proc/<pid>/environ, which any process of the same user can read."""
    secret = "s3cr3t-" + "q" * 40
    code = (
        "import os; from perfagent.agent.app.config import load_config; c = load_config(None);"
        "block = open(f'/proc/{os.getpid()}/environ', 'rb').read();"
        "print(c.secret == os.environ.get('SECRET_COPY'), 'PERFAGENT_APP_WEBHOOK_SECRET' in "
        "os.environ, block.count(c.secret.encode()))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "PERFAGENT_APP_WEBHOOK_SECRET": secret,
        "SECRET_COPY": secret,  # a copy outside the App's names stays: proves the read works
        **_required(),
    }
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "1"]


def _required() -> dict[str, str]:
    return {
        "PERFAGENT_APP_APP_ID": "1",
        "PERFAGENT_APP_PRIVATE_KEY_PATH": "k",
        "PERFAGENT_APP_DATA_DIR": "d",
        "PERFAGENT_APP_ALLOWED_INSTALLATIONS": "*",
    }


# -- fuzz --------------------------------------------------------------------------------------
_header_text = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=80)
_events = st.sampled_from(["issue_comment", "pull_request", "installation", "ping", "push"])
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


def _mutated_example() -> st.SearchStrategy[tuple[str, bytes]]:
    pool = [(e, p) for e, p in all_examples() if e in ("issue_comment", "pull_request")]

    def mutate(
        choice: tuple[str, dict[str, Any]], path_pick: int, value: object
    ) -> tuple[str, bytes]:
        event, payload = choice
        payload = json.loads(json.dumps(payload))
        node: Any = payload
        keys = list(node)
        key = keys[path_pick % len(keys)]
        if isinstance(node[key], dict) and node[key]:
            node = node[key]
            key = list(node)[path_pick % len(node)]
        node[key] = value
        if "comment" in payload and isinstance(payload["comment"], dict):
            payload["comment"].setdefault("body", "/perfagent optimize")
        return event, json.dumps(payload).encode()

    return st.builds(mutate, st.sampled_from(pool), st.integers(0, 50), _json)


_requests = st.one_of(
    st.tuples(_events, st.binary(max_size=300), st.booleans(), _header_text, _header_text),
    st.tuples(
        _events,
        _json.map(lambda v: json.dumps(v).encode()),
        st.just(True),
        _header_text,
        _header_text,
    ),
    _mutated_example().map(lambda ev: (ev[0], ev[1], True, "", "")),
)


@settings(
    max_examples=FUZZ_CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=_requests)
def test_fuzzed_requests_never_get_a_5xx(
    client: TestClient, case: tuple[str, bytes, bool, str, str]
) -> None:
    event, body, sign, junk_header, junk_delivery = case
    headers = {
        "X-GitHub-Event": event.encode(),
        "X-GitHub-Delivery": (junk_delivery or str(uuid.uuid4())).encode("latin-1"),
    }
    if sign:
        headers["X-Hub-Signature-256"] = signature(SECRET, body).encode()
    elif junk_header:
        headers["X-Hub-Signature-256"] = junk_header.encode("latin-1")
    answer = client.post("/webhook", content=body, headers=headers)
    assert answer.status_code < 500, answer.text
    if not sign:
        assert answer.status_code == 401
