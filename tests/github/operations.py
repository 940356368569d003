"""What the fake does for each operation it implements, keyed by GitHub's operationId.

A handler gets the path parameters, the query, the (already validated) JSON body and a list
to append response headers to; it returns (status, overlay). The overlay is merged over the
smallest instance of the documented response schema, and the result is checked against that
schema, so a handler only states the fields that carry the fake's state. Errors GitHub would
give (404, 422 with its ``errors`` list) are raised as ``Reject``.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from tests.github.shapes import Shapes
from tests.github.state import FakeCheckRun, FakeComment, FakePull, Reject, invalid

Json = Any
Handler = Callable[
    [dict[str, str], dict[str, list[str]], Json, list[tuple[str, str]]], tuple[int, Json]
]
BODY_MAX = 65536
APP_PERMISSIONS = {  # what the App was granted (an installation token gets at most this)
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
}
_LEVELS = {"none": 0, "read": 1, "write": 2, "admin": 3}
# What an installation token needs per operation (any one of the pairs), as GitHub documents
# for GitHub Apps; git transfers need contents read (fetch) or write (push).
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "repos/get": (("metadata", "read"),),
    "repos/get-collaborator-permission-level": (("metadata", "read"),),
    "pulls/list": (("pull_requests", "read"),),
    "pulls/get": (("pull_requests", "read"),),
    "pulls/create": (("pull_requests", "write"),),
    "checks/create": (("checks", "write"),),
    "checks/update": (("checks", "write"),),
    "issues/create-comment": (("issues", "write"), ("pull_requests", "write")),
    "reactions/create-for-issue-comment": (("issues", "write"), ("pull_requests", "write")),
    "git-upload-pack": (("contents", "read"),),
    "git-receive-pack": (("contents", "write"),),
}


def allows(permissions: dict[str, str], operation: str) -> bool:
    """Whether a token with ``permissions`` may do ``operation`` (an operationId or git)."""
    return any(
        _LEVELS.get(permissions.get(name, "none"), 0) >= _LEVELS[level]
        for name, level in NEEDS.get(operation, (("metadata", "read"),))
    )


_ROLE_PERMISSION = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}


class Operations(Shapes):
    def __init__(self) -> None:
        self.pulls: dict[str, list[FakePull]] = {}
        self.check_runs: dict[int, FakeCheckRun] = {}
        self.comments: dict[int, FakeComment] = {}
        self.issues: dict[str, dict[int, str]] = {}  # repo → issue number → title
        self._numbers: dict[str, itertools.count[int]] = {}
        self.handlers: dict[str, Handler] = {
            "apps/create-installation-access-token": self._create_token,
            "apps/get-repo-installation": self._repo_installation,
            "repos/get": self._get_repo,
            "repos/get-collaborator-permission-level": self._permission,
            "pulls/list": self._list_pulls,
            "pulls/get": self._get_pull,
            "pulls/create": self._create_pull,
            "checks/create": self._create_check_run,
            "checks/update": self._update_check_run,
            "issues/create-comment": self._create_comment,
            "reactions/create-for-issue-comment": self._create_reaction,
        }

    # -- set-up helpers ------------------------------------------------------------------
    def open_pull(self, full_name: str, *, head: str, base: str, title: str, user: str) -> FakePull:
        """A PR opened by someone else (its ``head`` branch must exist)."""
        sha = self.git.branch_sha(full_name, head)
        assert sha is not None, f"no branch {head} in {full_name}"
        return self._add_pull(full_name, title, None, head, sha, base, user, draft=False)

    def _add_pull(self, full_name: str, *fields: Any, draft: bool) -> FakePull:
        """(title, body, head, head_sha, base, user) of a new open PR, numbered like issues."""
        pull = FakePull(self._number(full_name), full_name, *fields, draft=draft, id=next(self.ids))
        self.pulls.setdefault(full_name, []).append(pull)
        return pull

    def open_issue(self, full_name: str, title: str) -> int:
        """An issue (not a pull request); issues and PRs share one numbering, as on GitHub."""
        number = self._number(full_name)
        self.issues.setdefault(full_name, {})[number] = title
        return number

    def add_comment(self, full_name: str, issue_number: int, body: str, user: str) -> FakeComment:
        comment = FakeComment(next(self.ids), full_name, issue_number, body, user)
        self.comments[comment.id] = comment
        return comment

    def _number(self, full_name: str) -> int:
        return next(self._numbers.setdefault(full_name, itertools.count(1)))

    # -- the App -------------------------------------------------------------------------
    def _create_token(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        """As GitHub: ``repositories`` (names under the installation's account) and
        ``repository_ids`` narrow the token to those repositories, ``permissions`` to those
        permissions (never beyond the App's); without them the token gets everything."""
        inst = self.installations.get(int(params["installation_id"]))
        if inst is None:
            raise Reject(404, "Not Found")
        repos = frozenset(inst.repos)
        by_id = {self.repos[name].id: name for name in inst.repos if name in self.repos}
        wanted = {f"{inst.account}/{name}" for name in body.get("repositories") or []}
        wanted |= {by_id.get(i, f"#{i}") for i in body.get("repository_ids") or []}
        if wanted:
            if not wanted <= inst.repos:
                raise Reject(
                    422, "There is at least one repository that does not exist or is not accessible"
                )
            repos = frozenset(wanted)
        permissions = dict(APP_PERMISSIONS)
        if body.get("permissions"):
            asked = dict(body["permissions"])
            for name, level in asked.items():
                if _LEVELS.get(level, 9) > _LEVELS.get(APP_PERMISSIONS.get(name, "none"), 0):
                    raise invalid(
                        "InstallationToken",
                        f"The permissions requested are not "
                        f"granted to this installation ({name}: {level}).",
                    )
            permissions = {"metadata": "read", **asked}
        token, expires_at = self.issue_token(inst.id, repos, permissions)
        expires = datetime.fromtimestamp(expires_at, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {
            "token": token,
            "expires_at": expires,
            "permissions": permissions,
            "repository_selection": "selected",
        }

    def _repo_installation(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        full_name = f"{params['owner']}/{params['repo']}"
        for inst in self.installations.values():
            if full_name in inst.repos:
                account = self._user(inst.account, kind="Organization")
                return 200, {
                    "id": inst.id,
                    "app_id": self.app_id,
                    "app_slug": self.app_slug,
                    "account": account,
                    "target_id": account["id"],
                    "target_type": "Organization",
                    "repository_selection": "selected",
                    "permissions": APP_PERMISSIONS,
                    "events": ["issue_comment", "pull_request"],
                    "access_tokens_url": f"{self.api_url}/app/installations/{inst.id}"
                    "/access_tokens",
                    "repositories_url": f"{self.api_url}/installation/repositories",
                    "created_at": self._now(),
                    "updated_at": self._now(),
                }
        raise Reject(404, "Not Found")

    # -- repositories --------------------------------------------------------------------
    def _get_repo(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        repo = self.repos[f"{params['owner']}/{params['repo']}"]
        return 200, self._repo_obj(repo, "full-repository")

    def _permission(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        repo = self.repos[f"{params['owner']}/{params['repo']}"]
        role = repo.roles.get(params["username"])
        user = self._user(params["username"], "nullable-collaborator")
        user["role_name"] = role or "none"
        return 200, {
            "permission": _ROLE_PERMISSION.get(role or "", "none"),
            "role_name": role or "none",
            "user": user,
        }

    # -- pull requests -------------------------------------------------------------------
    def _list_pulls(
        self,
        params: dict[str, str],
        query: dict[str, list[str]],
        body: Json,
        headers: list[tuple[str, str]],
    ) -> tuple[int, Json]:
        full_name = f"{params['owner']}/{params['repo']}"
        arg = {name: values[-1] for name, values in query.items()}
        state = arg.get("state", "open")
        found = [
            p
            for p in reversed(self.pulls.get(full_name, []))
            if state in ("all", p.state)
            and ("head" not in arg or arg["head"] == f"{params['owner']}:{p.head}")
            and ("base" not in arg or arg["base"] == p.base)
        ]
        per_page, page = min(int(arg.get("per_page", 30)), 100), int(arg.get("page", 1))
        last = max(1, -(-len(found) // per_page))
        if page < last:
            url = f"{self.api_url}/repos/{full_name}/pulls?"
            next_, last_ = (
                urlencode({**arg, "per_page": per_page, "page": n}) for n in (page + 1, last)
            )
            headers.append(("Link", f'<{url}{next_}>; rel="next", <{url}{last_}>; rel="last"'))
        chunk = found[(page - 1) * per_page : page * per_page]
        return 200, [self._pull_obj(p, "pull-request-simple") for p in chunk]

    def _find_pull(self, params: dict[str, str]) -> FakePull:
        full_name = f"{params['owner']}/{params['repo']}"
        for pull in self.pulls.get(full_name, []):
            if pull.number == int(params["pull_number"]):
                return pull
        raise Reject(404, "Not Found")

    def _get_pull(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        return 200, self._pull_obj(self._find_pull(params), "pull-request")

    def _create_pull(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        full_name = f"{params['owner']}/{params['repo']}"
        if "title" not in body and "issue" not in body:
            raise invalid("PullRequest", "title is required unless issue is given")
        owner, _, head = body["head"].rpartition(":")
        if owner and owner != params["owner"]:
            raise invalid("PullRequest", "the fake does not model pull requests from forks")
        head_sha = self.git.branch_sha(full_name, head)
        base_sha = self.git.branch_sha(full_name, body["base"])
        if head_sha is None:
            raise Reject(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
            )
        if base_sha is None:
            raise Reject(
                422,
                "Validation Failed",
                [{"resource": "PullRequest", "field": "base", "code": "invalid"}],
            )
        if head_sha == base_sha:
            raise invalid("PullRequest", f"No commits between {body['base']} and {head}")
        if len(body.get("body") or "") > BODY_MAX:
            raise invalid("PullRequest", f"Body is too long (maximum is {BODY_MAX} characters)")
        for other in self.pulls.get(full_name, []):
            if other.state == "open" and other.head == head and other.base == body["base"]:
                raise invalid(
                    "PullRequest", f"A pull request already exists for {params['owner']}:{head}."
                )
        bot = f"{self.app_slug}[bot]"
        fields = (body.get("title", ""), body.get("body"), head, head_sha, body["base"], bot)
        pull = self._add_pull(full_name, *fields, draft=bool(body.get("draft")))
        return 201, self._pull_obj(pull, "pull-request")

    # -- check runs ----------------------------------------------------------------------
    def _apply_check(self, run: FakeCheckRun, body: Json) -> None:
        for key in ("name", "details_url", "external_id", "started_at", "completed_at"):
            if key in body:
                setattr(run, key, body[key])
        if "output" in body:
            run.output = {
                k: v for k, v in body["output"].items() if k in ("title", "summary", "text")
            }
        if "status" in body:
            run.status = body["status"]
        if "conclusion" in body:
            run.conclusion, run.status = body["conclusion"], "completed"
            run.completed_at = run.completed_at or self._now()
        if run.status == "completed" and run.conclusion is None:
            raise invalid("CheckRun", "conclusion must be given when status is completed")
        if run.status == "in_progress" and run.started_at is None:
            run.started_at = self._now()

    def _create_check_run(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        full_name = f"{params['owner']}/{params['repo']}"
        if not self.git.has_commit(full_name, body["head_sha"]):
            raise Reject(422, f"No commit found for SHA: {body['head_sha']}")
        run = FakeCheckRun(next(self.ids), full_name, body["name"], body["head_sha"])
        self._apply_check(run, body)
        self.check_runs[run.id] = run
        return 201, self._check_obj(run)

    def _update_check_run(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        run = self.check_runs.get(int(params["check_run_id"]))
        if run is None or run.repo != f"{params['owner']}/{params['repo']}":
            raise Reject(404, "Not Found")
        updated = dataclasses.replace(run)  # a refused update changes nothing
        self._apply_check(updated, body)
        self.check_runs[run.id] = updated
        return 200, self._check_obj(updated)

    # -- comments and reactions ----------------------------------------------------------
    def _create_comment(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        full_name, number = f"{params['owner']}/{params['repo']}", int(params["issue_number"])
        is_pull = any(p.number == number for p in self.pulls.get(full_name, []))
        if not is_pull and number not in self.issues.get(full_name, {}):
            raise Reject(404, "Not Found")
        if len(body["body"]) > BODY_MAX:
            raise invalid("IssueComment", f"Body is too long (maximum is {BODY_MAX} characters)")
        comment = self.add_comment(full_name, number, body["body"], f"{self.app_slug}[bot]")
        return 201, {
            "id": comment.id,
            "body": comment.body,
            "user": self._user(comment.user),
            "html_url": f"https://github.invalid/{full_name}/{'pull' if is_pull else 'issues'}"
            f"/{number}#issuecomment-{comment.id}",
            "url": f"{self.api_url}/repos/{full_name}/issues/comments/{comment.id}",
            "created_at": self._now(),
            "updated_at": self._now(),
        }

    def _create_reaction(
        self, params: dict[str, str], query: Json, body: Json, headers: Json
    ) -> tuple[int, Json]:
        comment = self.comments.get(int(params["comment_id"]))
        if comment is None or comment.repo != f"{params['owner']}/{params['repo']}":
            raise Reject(404, "Not Found")
        login = f"{self.app_slug}[bot]"
        status = 200 if (login, body["content"]) in comment.reactions else 201
        if status == 201:
            comment.reactions.append((login, body["content"]))
        return status, {
            "id": comment.id * 10 + len(comment.reactions),
            "content": body["content"],
            "user": self._user(login),
            "created_at": self._now(),
        }
