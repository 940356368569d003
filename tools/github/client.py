"""The GitHub App's REST client: what the App asks of GitHub, as plain typed calls.

``GitHubApp`` speaks as the App (JWT): it finds the installation for a repository and mints
installation tokens, each scoped to one repository and ``TOKEN_PERMISSIONS`` (a token that
leaks reaches one repository, not every one the App is installed on).
``InstallationClient`` (``app.installation(id, repo)``) speaks as one installation on one
repository: the repository, permissions, pull requests, check runs, comments, reactions.
Requests go through githubkit (request bodies checked against GitHub's schema before they
are sent, rate-limit and server-error retries); answers are read into the small models of
``tools.github.models``. Every failure is a one-line ``GitHubError`` naming the endpoint and
status. Calls are synchronous and thread-safe (a worker may share one ``GitHubApp``).
"""

from __future__ import annotations

import functools
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import httpx
from githubkit import GitHub, Response

from perfagent.tools.github.answers import call, parse, read_json, validate
from perfagent.tools.github.auth import AppTokens, Clock, InstallationAuthStrategy, JWTAuthStrategy
from perfagent.tools.github.errors import GitHubError
from perfagent.tools.github.models import (
    BODY_MAX,
    CheckConclusion,
    CheckOutput,
    CheckRun,
    CheckStatus,
    Comment,
    Installation,
    InstallationToken,
    Permission,
    PullRequest,
    ReactionContent,
    RepoRef,
    Repository,
    truncate,
)

if TYPE_CHECKING:
    from githubkit_schemas.v2026_03_10.rest import RestNamespace
    from githubkit_schemas.v2026_03_10.types import AppPermissionsType as AppPermissions
    from githubkit_schemas.v2026_03_10.types import (
        ReposOwnerRepoCheckRunsCheckRunIdPatchBodyPropOutputType as UpdateOutput,
    )
    from githubkit_schemas.v2026_03_10.types import (
        ReposOwnerRepoCheckRunsPostBodyPropOutputType as CreateOutput,
    )

DEFAULT_API_URL = "https://api.github.com"
# The REST API version every request names (X-GitHub-Api-Version); pinned so that a githubkit
# upgrade cannot change what we speak without a test run against the fake.
API_VERSION: Final = "2026-03-10"
# What the App's work needs on the one repository: push a branch, open a pull request,
# comment on issues and pull requests, report a check run, read collaborators' permission.
TOKEN_PERMISSIONS: Final[AppPermissions] = {
    "contents": "write",
    "pull_requests": "write",
    "issues": "write",
    "checks": "write",
    "metadata": "read",
}
_PAGE = 100
_MAX_PAGES = 50


class _SharedTransport(httpx.BaseTransport):
    """One connection pool for the short-lived httpx clients githubkit makes per request
    (building a client's TLS context costs tens of ms); they may not close it."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(request)

    def close(self) -> None:
        pass

    def shutdown(self) -> None:
        self._inner.close()


class GitHubApp:
    """The App itself. ``base_url`` points at the API (the loopback fake in tests);
    ``clock`` (epoch seconds) drives JWT and token lifetimes. ``close()`` (or ``with``)
    releases its connections."""

    def __init__(
        self,
        app_id: int | str,
        private_key: str | bytes,
        *,
        base_url: str = DEFAULT_API_URL,
        clock: Clock = time.time,
        timeout_s: float = 30.0,
        refresh_margin_s: float = 300.0,
        user_agent: str = "perfagent",
        retries: bool = True,
    ) -> None:
        self.base_url = base_url
        self._clock = clock
        self._transport = _SharedTransport()
        self._options: dict[str, Any] = {
            "transport": self._transport,
            "base_url": base_url,
            "timeout": timeout_s,
            "user_agent": user_agent,
            "auto_retry": retries,
            "http_cache": False,  # answers like permissions must never come from a cache
        }
        self.tokens = AppTokens(
            app_id, private_key, self._mint, clock=clock, refresh_margin_s=refresh_margin_s
        )
        self._github = GitHub(JWTAuthStrategy(self.tokens), **self._options)

    @property
    def _rest(self) -> RestNamespace:
        return self._github.rest(API_VERSION)

    def close(self) -> None:
        self._transport.shutdown()

    def __enter__(self) -> GitHubApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def jwt(self) -> str:
        """The App's current JWT (cached until a minute before it expires)."""
        return self.tokens.jwt()

    def repo_installation(self, repo: RepoRef) -> Installation:
        """The App's installation on ``repo`` (``GitHubError`` with status 404 if none)."""
        label = f"GET /repos/{repo}/installation"
        resp = call(label, lambda: self._rest.apps.get_repo_installation(repo.owner, repo.name))
        return parse(label, resp, Installation)

    def installation_token(self, installation_id: int, repo: RepoRef) -> InstallationToken:
        """A token for ``repo`` alone (``TOKEN_PERMISSIONS``) through ``installation_id``,
        valid for at least ``refresh_margin_s`` more."""
        return self.tokens.installation_token(installation_id, repo.name)

    def installation(self, installation_id: int, repo: RepoRef) -> InstallationClient:
        """Calls as ``installation_id`` with a token that reaches ``repo`` only."""
        return InstallationClient(self, installation_id, repo)

    def _installation_github(
        self, installation_id: int, repo: RepoRef
    ) -> GitHub[InstallationAuthStrategy]:
        strategy = InstallationAuthStrategy(self.tokens, installation_id, repo.name)
        return GitHub(strategy, **self._options)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), tz=UTC)

    def _mint(self, installation_id: int, repo_name: str) -> InstallationToken:
        # Called by AppTokens when a token is missing or about to expire; as the App (JWT).
        # The repository is named without its owner: the installation's account owns it.
        label = f"POST /app/installations/{installation_id}/access_tokens"
        resp = call(
            label,
            lambda: self._rest.apps.create_installation_access_token(
                installation_id, repositories=[repo_name], permissions=TOKEN_PERMISSIONS
            ),
        )
        data = read_json(label, resp)
        try:
            token, expires = str(data["token"]), str(data["expires_at"])
            expires_at = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except (KeyError, TypeError, ValueError) as exc:
            raise GitHubError(f"GitHub {label}: unexpected answer ({exc})", endpoint=label) from exc
        return InstallationToken(installation_id, token, expires_at)


class InstallationClient:
    """Calls made as one installation of the App on one repository ``repo`` (a token scoped
    to it, refreshed when needed); calls about another repository are refused by GitHub."""

    def __init__(self, app: GitHubApp, installation_id: int, repo: RepoRef) -> None:
        self.app = app
        self.installation_id = installation_id
        self.repo = repo
        self._github = app._installation_github(installation_id, repo)

    @property
    def _rest(self) -> RestNamespace:
        return self._github.rest(API_VERSION)

    def token(self) -> str:
        """A current token for git over HTTPS (``clone``/``push_branch``). Ask right before
        each git command: a token held across a long run expires (1 h on GitHub)."""
        return self.app.installation_token(self.installation_id, self.repo).token

    def repository(self, repo: RepoRef) -> Repository:
        label = f"GET /repos/{repo}"
        resp = call(label, lambda: self._rest.repos.get(repo.owner, repo.name))
        return parse(label, resp, Repository)

    def permission(self, repo: RepoRef, username: str) -> Permission:
        """``username``'s permission on ``repo``: admin, write, read or none."""
        label = f"GET /repos/{repo}/collaborators/{username}/permission"
        resp = call(
            label,
            lambda: self._rest.repos.get_collaborator_permission_level(
                repo.owner, repo.name, username
            ),
        )
        value = read_json(label, resp).get("permission")
        if value not in ("admin", "write", "read", "none"):
            raise GitHubError(f"GitHub {label}: unknown permission {value!r}", endpoint=label)
        permission: Permission = value
        return permission

    def pull(self, repo: RepoRef, number: int) -> PullRequest:
        label = f"GET /repos/{repo}/pulls/{number}"
        resp = call(label, lambda: self._rest.pulls.get(repo.owner, repo.name, number))
        return parse(label, resp, PullRequest)

    def open_pulls(
        self, repo: RepoRef, *, head_prefix: str = "", base: str | None = None
    ) -> list[PullRequest]:
        """Open PRs of ``repo`` whose head branch is in ``repo`` itself (not a fork) and
        starts with ``head_prefix``; only those into ``base`` when given. GitHub's own
        ``head`` filter matches one exact branch, so the prefix is applied here."""
        found: list[PullRequest] = []
        for page in range(1, _MAX_PAGES + 1):
            label = f"GET /repos/{repo}/pulls"
            resp = call(label, functools.partial(self._list_pulls, repo, base, page))
            items = read_json(label, resp)
            if not isinstance(items, list):
                raise GitHubError(f"GitHub {label}: expected a list", endpoint=label)
            for item in items:
                pr = validate(label, item, PullRequest)
                same_repo = pr.head.repo is not None and pr.head.repo.full_name == str(repo)
                if same_repo and pr.head.ref.startswith(head_prefix):
                    found.append(pr)
            if 'rel="next"' not in resp.headers.get("link", ""):
                break
        return found

    def _list_pulls(self, repo: RepoRef, base: str | None, page: int) -> Response[Any, Any]:
        if base is None:
            return self._rest.pulls.list(
                repo.owner, repo.name, state="open", per_page=_PAGE, page=page
            )
        return self._rest.pulls.list(
            repo.owner, repo.name, state="open", base=base, per_page=_PAGE, page=page
        )

    def create_pull(
        self,
        repo: RepoRef,
        *,
        title: str,
        head: str,
        base: str,
        body: str = "",
        draft: bool = False,
    ) -> PullRequest:
        """Open a PR from branch ``head`` (pushed to ``repo``) into ``base``."""
        label = f"POST /repos/{repo}/pulls"
        text = truncate(body, BODY_MAX)
        resp = call(
            label,
            lambda: self._rest.pulls.create(
                repo.owner, repo.name, title=title, head=head, base=base, body=text, draft=draft
            ),
        )
        return parse(label, resp, PullRequest)

    def create_check_run(
        self,
        repo: RepoRef,
        *,
        name: str,
        head_sha: str,
        status: CheckStatus = "queued",
        output: CheckOutput | None = None,
        details_url: str | None = None,
        external_id: str | None = None,
    ) -> CheckRun:
        """Start a check run on ``head_sha``; finish it with ``update_check_run(conclusion=)``."""
        label = f"POST /repos/{repo}/check-runs"
        extra: dict[str, Any] = {}
        if output is not None:
            payload = output.payload()
            out: CreateOutput = {"title": payload["title"], "summary": payload["summary"]}
            if "text" in payload:
                out["text"] = payload["text"]
            extra["output"] = out
        if details_url is not None:
            extra["details_url"] = details_url
        if external_id is not None:
            extra["external_id"] = external_id
        if status == "in_progress":
            extra["started_at"] = self.app._now()
        resp = call(
            label,
            lambda: self._rest.checks.create(
                repo.owner, repo.name, name=name, head_sha=head_sha, status=status, **extra
            ),
        )
        return parse(label, resp, CheckRun)

    def update_check_run(
        self,
        repo: RepoRef,
        check_run_id: int,
        *,
        status: CheckStatus | None = None,
        conclusion: CheckConclusion | None = None,
        output: CheckOutput | None = None,
        details_url: str | None = None,
    ) -> CheckRun:
        """Move a check run on: ``status="in_progress"``, or finish it with a ``conclusion``
        (GitHub then sets status ``completed``; ``completed_at`` is the client's clock)."""
        label = f"PATCH /repos/{repo}/check-runs/{check_run_id}"
        extra: dict[str, Any] = {}
        if status is not None:
            extra["status"] = status
        if conclusion is not None:
            extra["conclusion"] = conclusion
            extra["completed_at"] = self.app._now()
        if output is not None:
            payload = output.payload()
            out: UpdateOutput = {"title": payload["title"], "summary": payload["summary"]}
            if "text" in payload:
                out["text"] = payload["text"]
            extra["output"] = out
        if details_url is not None:
            extra["details_url"] = details_url
        resp = call(
            label, lambda: self._rest.checks.update(repo.owner, repo.name, check_run_id, **extra)
        )
        return parse(label, resp, CheckRun)

    def create_comment(self, repo: RepoRef, issue_number: int, body: str) -> Comment:
        """Comment on an issue or pull request (``body`` is cut to GitHub's limit)."""
        label = f"POST /repos/{repo}/issues/{issue_number}/comments"
        text = truncate(body, BODY_MAX)
        resp = call(
            label,
            lambda: self._rest.issues.create_comment(
                repo.owner, repo.name, issue_number, body=text
            ),
        )
        return parse(label, resp, Comment)

    def add_reaction(
        self, repo: RepoRef, comment_id: int, content: ReactionContent = "eyes"
    ) -> None:
        """React to an issue or PR comment (e.g. 👀 on the comment that asked for a run)."""
        label = f"POST /repos/{repo}/issues/comments/{comment_id}/reactions"
        call(
            label,
            lambda: self._rest.reactions.create_for_issue_comment(
                repo.owner, repo.name, comment_id, content=content
            ),
        )
