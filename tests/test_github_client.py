"""tools.github against the loopback fake of GitHub (tests/github): every request the client
sends is checked against GitHub's OpenAPI description; git transfers are real."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import jwt
import pytest

from perfagent.tools.github import (
    TOKEN_PERMISSIONS,
    CheckOutput,
    GitHubApp,
    GitHubError,
    GitTransferError,
    InstallationClient,
    RepoRef,
    clone,
    has_write,
    push_branch,
    remote_url,
)
from perfagent.tools.github import client as client_module
from perfagent.tools.github.git import auth_env, basic_header, redact
from perfagent.tools.github.models import BODY_MAX, CHECK_TEXT_MAX
from perfagent.tools.runner import run
from tests.github.fake import TOKEN_LIFETIME_S, FakeGitHub
from tests.github.state import FakeClock
from tests.github.world import APP_ID, REPO

pytest_plugins = ["tests.github.fixtures"]

WIDGETS = RepoRef.parse(REPO)


@pytest.fixture
def gh(github_app: GitHubApp) -> InstallationClient:
    return github_app.installation(github_app.repo_installation(WIDGETS).id, WIDGETS)


def _git(repo: Path, *args: str) -> str:
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}
    ident = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@x", "GIT_COMMITTER_NAME": "t"}
    result = run(["git", *args], cwd=repo, env=env | ident | {"GIT_COMMITTER_EMAIL": "t@x"})
    assert result.ok, result.summary()
    return result.stdout.strip()


# -- auth ----------------------------------------------------------------------------------------
def test_app_jwt_is_rs256_backdated_and_at_most_ten_minutes(
    github_app: GitHubApp, app_key: tuple[bytes, bytes], clock: FakeClock
) -> None:
    token = github_app.jwt()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, app_key[1], algorithms=["RS256"], options={"verify_exp": False})
    assert claims == {"iss": str(APP_ID), "iat": int(clock()) - 60, "exp": int(clock()) + 540}
    clock.advance(7 * 60)
    assert github_app.jwt() == token  # reused while more than a minute is left
    clock.advance(60)
    assert github_app.jwt() != token


def test_installation_token_is_cached_and_refreshed_before_expiry(
    github_app: GitHubApp, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    inst = github_app.repo_installation(WIDGETS)
    assert (inst.app_id, inst.account and inst.account.login) == (APP_ID, "octo")
    gh = github_app.installation(inst.id, WIDGETS)
    first = gh.token()
    assert gh.repository(WIDGETS).default_branch == "main"
    assert gh.permission(WIDGETS, "alice") == "write"
    assert fake_github.tokens_issued == 1

    clock.advance(TOKEN_LIFETIME_S - 300 - 1)  # just outside the 5-minute refresh margin
    assert gh.token() == first
    clock.advance(2)
    second = gh.token()
    assert second != first and fake_github.tokens_issued == 2
    token = github_app.installation_token(inst.id, WIDGETS)
    assert token.expires_at == int(clock()) + TOKEN_LIFETIME_S
    assert "ghs_" not in repr(token)


def test_installation_tokens_reach_one_repository_with_the_permissions_needed(
    github_app: GitHubApp, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """Issue 14 hole 7: a token minted for one job must not reach the installation's other
    repositories (the fake refuses what the token's scope does not cover)."""
    other = RepoRef.parse("octo/other")
    fake_github.add_repo(str(other))
    inst = github_app.repo_installation(WIDGETS).id
    fake_github.installations[inst].repos.add(str(other))
    gh = github_app.installation(inst, WIDGETS)
    assert gh.repository(WIDGETS).full_name == REPO
    [grant] = fake_github.minted
    assert grant.repos == frozenset({REPO})
    assert grant.permissions == dict(TOKEN_PERMISSIONS)
    with pytest.raises(GitHubError) as err:
        gh.repository(other)
    assert err.value.status == 403
    with pytest.raises(GitTransferError, match="exit 128"):
        clone(fake_github.clone_url(str(other)), "main", tmp_path / "o", gh.token())
    # The other repository gets its own token, scoped to it.
    assert github_app.installation(inst, other).repository(other).full_name == "octo/other"
    assert [g.repos for g in fake_github.minted] == [frozenset({REPO}), frozenset({"octo/other"})]


def test_the_fake_holds_tokens_to_their_permissions(
    gh: InstallationClient, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    inst = next(iter(fake_github.installations))
    read_only, _ = fake_github.issue_token(
        inst, frozenset({REPO}), {"contents": "read", "metadata": "read"}
    )
    clone(fake_github.clone_url(REPO), "main", tmp_path / "c", read_only)
    _git(tmp_path / "c", "checkout", "--quiet", "-b", "perfagent/x")
    with pytest.raises(GitTransferError, match="exit 128"):
        push_branch(tmp_path / "c", "perfagent/x", read_only, url=fake_github.clone_url(REPO))
    assert fake_github.git.branch_sha(REPO, "perfagent/x") is None
    headers = {"Authorization": f"token {read_only}", "X-GitHub-Api-Version": "2026-03-10"}
    body = {"title": "t", "head": "main", "base": "main"}
    answer = httpx.post(f"{fake_github.api_url}/repos/{REPO}/pulls", json=body, headers=headers)
    assert answer.status_code == 403


def test_a_revoked_token_is_replaced_once(gh: InstallationClient, fake_github: FakeGitHub) -> None:
    gh.repository(WIDGETS)
    fake_github.revoke_tokens()
    assert gh.repository(WIDGETS).full_name == REPO  # 401 → fresh token → retried
    assert fake_github.tokens_issued == 2
    assert [s for _, p, s in fake_github.log if p == f"/repos/{REPO}"] == [200, 401, 200]


def test_no_installation_is_a_one_line_404(github_app: GitHubApp, fake_github: FakeGitHub) -> None:
    fake_github.add_repo("octo/other")
    with pytest.raises(GitHubError) as err:
        github_app.repo_installation(RepoRef.parse("octo/other"))
    assert err.value.status == 404
    assert str(err.value) == "GitHub GET /repos/octo/other/installation: 404 Not Found"


def test_a_wrong_private_key_is_refused_by_github(
    fake_github: FakeGitHub, clock: FakeClock
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    app = GitHubApp(APP_ID, other, base_url=fake_github.api_url, clock=clock, retries=False)
    with pytest.raises(GitHubError, match="installation: 401 A JSON web token could not be"):
        app.repo_installation(WIDGETS)
    with pytest.raises(GitHubError, match="not a readable PEM key"):
        GitHubApp(APP_ID, "not a key")


# -- repository and people -------------------------------------------------------------------
def test_permissions_write_read_and_none(gh: InstallationClient) -> None:
    got = {user: gh.permission(WIDGETS, user) for user in ("alice", "bob", "mallory")}
    assert got == {"alice": "write", "bob": "read", "mallory": "none"}
    assert [has_write(p) for p in got.values()] == [True, False, False]


def test_repository(gh: InstallationClient, fake_github: FakeGitHub) -> None:
    repo = gh.repository(WIDGETS)
    assert (repo.full_name, repo.default_branch, repo.private) == (REPO, "main", True)
    assert repo.clone_url == fake_github.clone_url(REPO)
    assert repo.ref == WIDGETS


# -- pull requests -------------------------------------------------------------------------------
def test_open_pull_get_it_and_list_by_head_prefix(
    gh: InstallationClient, fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = fake_github.git.commit(REPO, "perfagent/speedup-1", {"w.py": "X = 2\n"}, "faster")
    fake_github.git.commit(REPO, "feature/x", {"f.py": "Y = 1\n"}, "feature", parent="main")
    theirs = fake_github.open_pull(REPO, head="feature/x", base="main", title="x", user="alice")

    pr = gh.create_pull(
        WIDGETS, title="perfagent: 2.1x", head="perfagent/speedup-1", base="main", body="report"
    )
    assert (pr.number, pr.head_sha, pr.head_ref, pr.base.ref) == (
        2,
        sha,
        "perfagent/speedup-1",
        "main",
    )
    assert gh.pull(WIDGETS, theirs.number).head_ref == "feature/x"
    assert gh.pull(WIDGETS, pr.number).body == "report"

    monkeypatch.setattr(client_module, "_PAGE", 1)  # one PR per page: pagination is followed
    assert [p.number for p in gh.open_pulls(WIDGETS, head_prefix="perfagent/")] == [pr.number]
    assert [p.number for p in gh.open_pulls(WIDGETS)] == [pr.number, theirs.number]
    assert gh.open_pulls(WIDGETS, head_prefix="perfagent/", base="dev") == []

    with pytest.raises(GitHubError) as err:
        gh.create_pull(WIDGETS, title="again", head="perfagent/speedup-1", base="main")
    assert err.value.status == 422
    assert "A pull request already exists for octo:perfagent/speedup-1" in str(err.value)


def test_draft_pull_with_a_long_body_is_cut_to_githubs_limit(
    gh: InstallationClient, fake_github: FakeGitHub
) -> None:
    fake_github.git.commit(REPO, "perfagent/long", {"w.py": "X = 3\n"}, "faster")
    pr = gh.create_pull(
        WIDGETS, title="t", head="perfagent/long", base="main", body="x" * 70_000, draft=True
    )
    stored = fake_github.pulls[REPO][-1]
    assert pr.draft and stored.draft
    assert stored.body is not None and len(stored.body) == BODY_MAX
    assert stored.body.endswith("(truncated by perfagent)")


def test_missing_pull_is_404(gh: InstallationClient) -> None:
    with pytest.raises(GitHubError, match=r"GET /repos/octo/widgets/pulls/99: 404"):
        gh.pull(WIDGETS, 99)


# -- check runs, comments, reactions -------------------------------------------------------------
def test_check_run_lifecycle(
    gh: InstallationClient, fake_github: FakeGitHub, clock: FakeClock
) -> None:
    sha = fake_github.git.branch_sha(REPO, "main")
    assert sha is not None
    run_ = gh.create_check_run(WIDGETS, name="perfagent", head_sha=sha, external_id="run-1")
    assert (run_.status, run_.conclusion, run_.head_sha) == ("queued", None, sha)

    started = gh.update_check_run(WIDGETS, run_.id, status="in_progress")
    assert started.status == "in_progress"
    clock.advance(90)
    out = CheckOutput(title="2.1x faster", summary="s" * 70_000, text="details")
    done = gh.update_check_run(WIDGETS, run_.id, conclusion="success", output=out)
    assert (done.status, done.conclusion) == ("completed", "success")

    stored = fake_github.check_runs[run_.id]
    assert len(stored.output["summary"]) == CHECK_TEXT_MAX and stored.output["text"] == "details"
    assert stored.completed_at is not None and stored.completed_at.startswith("2025-06-15")
    assert stored.external_id == "run-1"


def test_check_run_on_an_unknown_commit_is_422(gh: InstallationClient) -> None:
    with pytest.raises(GitHubError, match=r"422 No commit found for SHA: 0{40}$"):
        gh.create_check_run(WIDGETS, name="perfagent", head_sha="0" * 40, status="in_progress")


def test_comment_and_reaction(gh: InstallationClient, fake_github: FakeGitHub) -> None:
    fake_github.git.commit(REPO, "feature/y", {"y.py": "Y = 2\n"}, "y", parent="main")
    pull = fake_github.open_pull(REPO, head="feature/y", base="main", title="y", user="alice")
    asked = fake_github.add_comment(REPO, pull.number, "@perfagent optimize", "alice")

    gh.add_reaction(WIDGETS, asked.id, "eyes")
    gh.add_reaction(WIDGETS, asked.id, "eyes")  # again: 200, nothing added
    assert asked.reactions == [("perfagent[bot]", "eyes")]

    comment = gh.create_comment(WIDGETS, pull.number, "Working on it.")
    assert comment.body == "Working on it." and comment.html_url.endswith(f"-{comment.id}")
    assert fake_github.comments[comment.id].user == "perfagent[bot]"
    with pytest.raises(GitHubError, match="issues/42/comments: 404"):
        gh.create_comment(WIDGETS, 42, "nobody home")


# -- git over HTTP -------------------------------------------------------------------------------
def _files_containing(root: Path, needles: list[bytes]) -> list[Path]:
    return [
        path
        for path in root.rglob("*")
        if path.is_file() and any(n in path.read_bytes() for n in needles)
    ]


def test_clone_and_push_never_write_the_token_down(
    gh: InstallationClient,
    fake_github: FakeGitHub,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="perfagent.tools.github.git")
    url = gh.repository(WIDGETS).clone_url
    dest = tmp_path / "clone"
    token = gh.token()

    sha = clone(url, "main", dest, token)
    assert sha == fake_github.git.branch_sha(REPO, "main")
    assert (dest / "widgets.py").read_text() == "X = 1\n"

    _git(dest, "checkout", "--quiet", "-b", "perfagent/speedup-2")
    (dest / "widgets.py").write_text("X = 2\n")
    _git(dest, "commit", "--quiet", "-am", "faster")
    pushed = push_branch(dest, "perfagent/speedup-2", gh.token(), url=url)
    assert pushed == _git(dest, "rev-parse", "HEAD")
    assert fake_github.git.branch_sha(REPO, "perfagent/speedup-2") == pushed

    secret = basic_header(token).split()[-1]
    assert remote_url(dest) == url == _git(dest, "config", "--get", "remote.origin.url")
    assert _files_containing(dest / ".git", [token.encode(), secret.encode()]) == []
    assert token not in caplog.text and secret not in caplog.text
    git_calls = [(m, s) for m, p, s in fake_github.log if p.startswith(f"/{REPO}.git/")]
    assert ("POST", 200) in git_calls and all(s == 200 for _, s in git_calls)


def test_clone_a_commit_no_branch_points_at(
    gh: InstallationClient, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    sha = fake_github.git.commit(REPO, "gone", {"g.py": "G = 1\n"}, "orphan", parent="main")
    fake_github.git.delete_branch(REPO, "gone")
    assert clone(fake_github.clone_url(REPO), sha, tmp_path / "c", gh.token()) == sha
    assert (tmp_path / "c" / "g.py").is_file()


def test_git_with_a_bad_token_fails_without_showing_it(
    gh: InstallationClient, fake_github: FakeGitHub, tmp_path: Path, clock: FakeClock
) -> None:
    token = gh.token()
    clone(fake_github.clone_url(REPO), "main", tmp_path / "c", token)
    clock.advance(TOKEN_LIFETIME_S + 1)  # the token has expired
    with pytest.raises(GitTransferError) as err:
        push_branch(tmp_path / "c", "main", token, url=fake_github.clone_url(REPO))
    assert token not in str(err.value) and str(err.value).startswith("git push: exit 128")
    with pytest.raises(GitTransferError, match="no local branch 'nope'"):
        push_branch(tmp_path / "c", "nope", gh.token(), url=fake_github.clone_url(REPO))


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://x-access-token:ghs_abc@github.com/o/r.git", "must not carry credentials"),
        ("http://github.com/o/r.git", "not an HTTPS repository URL: http://github.com"),
    ],
)
def test_repository_urls_that_would_leak_a_token_are_refused(
    url: str, message: str, tmp_path: Path
) -> None:
    with pytest.raises(GitTransferError, match=message) as err:
        clone(url, "main", tmp_path / "c", "ghs_secret")
    assert "ghs_" not in str(err.value)


def test_the_token_travels_only_as_a_host_scoped_header_and_is_redacted() -> None:
    env = auth_env("https://github.com/octo/widgets.git", "ghs_secret")
    assert env["GIT_CONFIG_COUNT"] == "1"
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"] == basic_header("ghs_secret")
    b64 = basic_header("ghs_secret").split()[-1]
    assert redact(f"token ghs_secret header {b64}", "ghs_secret") == "token *** header ***"
