"""The webhook route: signatures, redeliveries, GitHub's own example payloads (re-signed),
command parsing, and a fuzz of malformed requests (never a 5xx)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from perfagent.agent.app.config import AppConfig, ConfigError, load_config
from perfagent.agent.app.queue import JobQueue
from perfagent.agent.app.server import create_app
from perfagent.agent.app.webhooks import CommandError, parse_command, signature, verify_signature

SECRET = "It's a Secret to Everybody"
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
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    assert signature(SECRET, b"Hello, World!") == expected
    assert verify_signature(SECRET, b"Hello, World!", expected)
    assert not verify_signature(SECRET, b"Hello, World?", expected)
    assert not verify_signature(SECRET, b"Hello, World!", None)
    assert not verify_signature(SECRET, b"Hello, World!", "sha256=é")


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
    # The same request again (another delivery) while the first is pending: no second job.
    again = post(client, "issue_comment", payload)
    assert (again.status_code, again.json()["message"]) == (202, "already queued")
    assert len(queue.jobs()) == 1


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
    only = AppConfig(**{**config.__dict__, "allowed_installations": frozenset({-1})})
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


# -- config ------------------------------------------------------------------------------------
def test_config_from_file_and_environment(tmp_path: Path) -> None:
    path = tmp_path / "app.toml"
    path.write_text(
        'app_id = 5\nprivate_key_path = "k.pem"\ndata_dir = "d"\nworkers = 2\n'
        "allowed_installations = [3, 4]\n"
    )
    env = {"PERFAGENT_APP_WEBHOOK_SECRET": "s", "PERFAGENT_APP_WORKERS": "3"}
    config = load_config(path, env)
    assert (config.app_id, config.webhook_secret, config.workers) == (5, "s", 3)
    assert config.allowed_installations == frozenset({3, 4})
    assert config.allowed_models == ("rules",)
    with pytest.raises(ConfigError, match="webhook_secret: missing"):
        load_config(path, {})
    path.write_text("app_id = 5\nbogus = 1\n")
    with pytest.raises(ConfigError, match="unknown setting 'bogus'"):
        load_config(path, env)
    with pytest.raises(ConfigError, match="workers: expected a whole number"):
        load_config(None, env | {"PERFAGENT_APP_WORKERS": "many", **_required()})


def test_config_sets_drafts_and_the_machine_time_per_job(tmp_path: Path) -> None:
    env = {"PERFAGENT_APP_WEBHOOK_SECRET": "s", **_required()}
    defaults = load_config(None, env)
    assert (defaults.draft_pulls, defaults.candidates_per_round, defaults.max_runs) == (
        False,
        4,
        60,
    )
    path = tmp_path / "app.toml"
    path.write_text("draft_pulls = true\ncandidates_per_round = 2\nmax_runs = 30\n")
    config = load_config(path, env)
    assert (config.draft_pulls, config.candidates_per_round, config.max_runs) == (True, 2, 30)
    assert not load_config(path, env | {"PERFAGENT_APP_DRAFT_PULLS": "false"}).draft_pulls
    with pytest.raises(ConfigError, match="draft_pulls: expected true or false"):
        load_config(None, env | {"PERFAGENT_APP_DRAFT_PULLS": "maybe"})
    with pytest.raises(ConfigError, match="candidates_per_round: 0 is not between 1 and 16"):
        load_config(None, env | {"PERFAGENT_APP_CANDIDATES_PER_ROUND": "0"})
    with pytest.raises(ConfigError, match="max_runs: 2 is not between 5 and 1000"):
        load_config(None, env | {"PERFAGENT_APP_MAX_RUNS": "2"})
    assert (defaults.max_job_time_s, defaults.max_job_cost) == (7200.0, 5.0)
    path.write_text("max_job_time_s = 900\nmax_job_cost = 0.5\n")
    assert (load_config(path, env).max_job_time_s, load_config(path, env).max_job_cost) == (
        900.0,
        0.5,
    )
    with pytest.raises(ConfigError, match=r"max_job_time_s: 0\.0 must be above 0"):
        load_config(None, env | {"PERFAGENT_APP_MAX_JOB_TIME_S": "0"})
    with pytest.raises(ConfigError, match="max_job_cost: expected a number, got 'lots'"):
        load_config(None, env | {"PERFAGENT_APP_MAX_JOB_COST": "lots"})


def _required() -> dict[str, str]:
    return {
        "PERFAGENT_APP_APP_ID": "1",
        "PERFAGENT_APP_PRIVATE_KEY_PATH": "k",
        "PERFAGENT_APP_DATA_DIR": "d",
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
