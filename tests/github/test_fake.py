"""The fake GitHub itself: it refuses what GitHub's API description refuses, and records it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from perfagent.tools.runner import run
from tests.github.fake import JWT_MAX_S, FakeGitHub
from tests.github.spec import SpecSet
from tests.github.state import FakeClock
from tests.github.world import APP_ID, REPO

pytest_plugins = ["tests.github.fixtures"]

V2026 = {"X-GitHub-Api-Version": "2026-03-10"}


@pytest.fixture
def api(fake_github: FakeGitHub) -> Iterator[httpx.Client]:
    """A raw HTTP client holding a valid installation token for octo/widgets."""
    installation = next(iter(fake_github.installations))
    token, _ = fake_github.issue_token(installation, frozenset({REPO}))
    headers = {"Authorization": f"token {token}", **V2026}
    with httpx.Client(base_url=fake_github.api_url, headers=headers) as client:
        yield client


def _app_jwt(key: bytes, now: float, lifetime: int = 600) -> str:
    return jwt.encode(
        {"iat": int(now) - 60, "exp": int(now) - 60 + lifetime, "iss": str(APP_ID)},
        key,
        algorithm="RS256",
    )


# -- requests judged against the description -----------------------------------------------
def test_a_malformed_body_is_refused_and_recorded(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    resp = api.post(f"/repos/{REPO}/pulls", json={"title": "t", "head": "x", "draft": "yes"})
    assert resp.status_code == 422
    assert fake_github.pulls == {}
    assert fake_github.take_violations() == [
        f"POST /repos/{REPO}/pulls (pulls/create): body draft: 'yes' is not of type 'boolean'",
        f"POST /repos/{REPO}/pulls (pulls/create): body (body): 'base' is a required property",
    ]
    assert fake_github.validated == 1


def test_an_unknown_field_where_the_schema_forbids_extras_is_refused(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    body = {"title": "t", "issue_field_values": [{"field_id": 1, "value": "a", "colour": "red"}]}
    assert api.post(f"/repos/{REPO}/issues", json=body).status_code == 422
    (violation,) = fake_github.take_violations()
    assert "issue_field_values/0: Additional properties are not allowed ('colour'" in violation


def test_unknown_endpoint_bad_path_parameter_and_unreadable_json(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    assert api.get(f"/repos/{REPO}/pull-requests").status_code == 404
    assert api.get(f"/repos/{REPO}/pulls/first").status_code == 422
    assert api.post(f"/repos/{REPO}/check-runs", content=b"{nope").status_code == 400
    violations = fake_github.take_violations()
    assert violations[0] == (
        f"GET /repos/{REPO}/pull-requests: no such endpoint in the OpenAPI description"
    )
    assert "path parameter pull_number='first': 'first' is not of type 'integer'" in violations[1]
    assert "body is not JSON" in violations[2]


def test_bad_query_values_are_refused_and_unknown_names_recorded(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    assert api.get(f"/repos/{REPO}/pulls", params={"state": "opened"}).status_code == 422
    assert api.get(f"/repos/{REPO}/pulls", params={"stat": "open"}).status_code == 200
    assert [v.split(": ", 1)[1] for v in fake_github.take_violations()] == [
        "query parameter state='opened': 'opened' is not one of ['open', 'closed', 'all']",
        "unknown query parameter 'stat'",
    ]


def test_an_unknown_api_version_and_an_unimplemented_operation_are_recorded(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    assert api.get("/meta", headers={"X-GitHub-Api-Version": "2021-01-01"}).status_code == 400
    assert api.get(f"/repos/{REPO}/branches").status_code == 501
    assert [v.split(": ", 1)[1] for v in fake_github.take_violations()] == [
        "unknown X-GitHub-Api-Version '2021-01-01'",
        "valid, but the fake does not implement it",
    ]


def test_answers_follow_the_requested_api_version(
    api: httpx.Client, fake_github: FakeGitHub
) -> None:
    fake_github.git.commit(REPO, "feature", {"f.py": "F = 1\n"}, "f", parent="main")
    number = fake_github.open_pull(REPO, head="feature", base="main", title="f", user="bob").number
    old = api.get(f"/repos/{REPO}/pulls/{number}", headers={"X-GitHub-Api-Version": "2022-11-28"})
    new = api.get(f"/repos/{REPO}/pulls/{number}")
    assert "merge_commit_sha" in old.json()  # removed by the 2026-03-10 breaking changes
    assert "merge_commit_sha" not in new.json()
    assert new.json()["head"]["ref"] == "feature"


def test_the_fakes_own_answers_are_checked_against_the_schema(openapi: SpecSet) -> None:
    spec = openapi.get("2026-03-10")
    op = spec.operation("checks/create")
    _, broken = spec.response(op, 201, {"id": 1, "status": "done"})
    assert broken == [
        "status: 'done' is not one of ['queued', 'in_progress', 'completed', "
        "'waiting', 'requested', 'pending']"
    ]


# -- authentication ---------------------------------------------------------------------------
def test_app_endpoints_want_a_valid_jwt(
    fake_github: FakeGitHub, app_key: tuple[bytes, bytes], clock: FakeClock
) -> None:
    installation = next(iter(fake_github.installations))
    path = f"/app/installations/{installation}/access_tokens"

    def post(token: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", **V2026}
        return httpx.post(fake_github.api_url + path, headers=headers)

    good = post(_app_jwt(app_key[0], clock()))
    assert good.status_code == 201 and good.json()["token"].startswith("ghs_")
    assert good.json()["expires_at"] == time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(clock()) + 3600)
    )
    assert post(_app_jwt(app_key[0], clock(), lifetime=JWT_MAX_S + 60)).status_code == 401
    assert post(_app_jwt(app_key[0], clock() - 900)).status_code == 401  # expired
    other = jwt.encode({"iat": 1, "exp": 2, "iss": "x"}, "k" * 32, algorithm="HS256")
    assert post(other).status_code == 401
    assert fake_github.tokens_issued == 1


def test_repository_endpoints_want_a_live_token_for_that_repository(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    fake_github.add_repo("octo/elsewhere")
    installation = next(iter(fake_github.installations))
    token, _ = fake_github.issue_token(installation, frozenset({REPO}))

    def get(path: str, token: str | None) -> int:
        headers = {**V2026, **({"Authorization": f"token {token}"} if token else {})}
        return httpx.get(fake_github.api_url + path, headers=headers).status_code

    assert get(f"/repos/{REPO}", token) == 200
    assert get(f"/repos/{REPO}", None) == 401
    assert get("/repos/octo/elsewhere", token) == 403
    assert get("/repos/octo/nowhere", token) == 404
    clock.advance(3600)
    assert get(f"/repos/{REPO}", token) == 401


def test_git_wants_the_token_as_basic_password(fake_github: FakeGitHub, tmp_path: Path) -> None:
    env = {"GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    argv = ["git", "ls-remote", fake_github.clone_url(REPO)]
    assert not run(argv, cwd=tmp_path, env=env, network=True).ok
    assert fake_github.log[-1] == ("GET", f"/{REPO}.git/info/refs", 401)
    installation = next(iter(fake_github.installations))
    token, _ = fake_github.issue_token(installation, frozenset({REPO}))
    url = fake_github.clone_url(REPO).replace("http://", f"http://x-access-token:{token}@")
    allowed = run(["git", "ls-remote", url], cwd=tmp_path, env=env, network=True)
    assert allowed.ok and "refs/heads/main" in allowed.stdout
