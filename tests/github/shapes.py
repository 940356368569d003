"""How the fake's state looks in GitHub's answers: complete objects of the description's
component schemas (``simple-user``, ``repository``, ``pull-request``...) with the fake's
values over the schema's smallest instance."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tests.github.spec import merge
from tests.github.state import FakeCheckRun, FakePull

if TYPE_CHECKING:
    from tests.github.gitserver import GitRepos
    from tests.github.spec import SpecSet
    from tests.github.state import FakeInstallation, FakeRepo, FakeToken

Json = Any


class Shapes:
    # State kept by FakeGitHub (declared here for readers and type checkers).
    specs: SpecSet
    git: GitRepos
    repos: dict[str, FakeRepo]
    installations: dict[int, FakeInstallation]
    tokens: dict[str, FakeToken]
    ids: itertools.count[int]
    app_id: int
    app_slug: str
    api_url: str
    clock: Callable[[], float]
    issue_token: Callable[..., tuple[str, float]]
    clone_url: Callable[[str], str]
    specs_version: str  # the API version of the request being answered (for nested objects)

    # -- objects -------------------------------------------------------------------------
    def _now(self) -> str:
        return datetime.fromtimestamp(self.clock(), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def _full(self, schema: str, overlay: Json) -> Json:
        """A complete object of ``#/components/schemas/<schema>`` with ``overlay`` over it."""
        spec = self.specs.get(self.specs_version)
        return merge(spec.minimal(f"/components/schemas/{schema}", nullable=False), overlay)

    def _user(self, login: str, schema: str = "simple-user", kind: str = "User") -> Json:
        return self._full(
            schema,
            {
                "login": login,
                "id": sum(map(ord, login)),
                "type": "Bot" if login.endswith("[bot]") else kind,
                "html_url": f"https://github.invalid/{login}",
            },
        )

    def _repo_obj(self, repo: FakeRepo, schema: str = "repository") -> Json:
        return self._full(
            schema,
            {
                "id": repo.id,
                "name": repo.full_name.split("/")[1],
                "full_name": repo.full_name,
                "owner": self._user(repo.owner),
                "private": repo.private,
                "html_url": f"https://github.invalid/{repo.full_name}",
                "clone_url": self.clone_url(repo.full_name),
                "url": f"{self.api_url}/repos/{repo.full_name}",
                "default_branch": repo.default_branch,
            },
        )

    def _pull_obj(self, pull: FakePull, schema: str) -> Json:
        repo = self.repos[pull.repo]
        base_sha = self.git.branch_sha(pull.repo, pull.base) or pull.head_sha

        def branch(ref: str, sha: str) -> Json:
            return {
                "label": f"{repo.owner}:{ref}",
                "ref": ref,
                "sha": sha,
                "user": self._user(repo.owner),
                "repo": self._repo_obj(repo),
            }

        return self._full(
            schema,
            {
                "id": pull.id,
                "number": pull.number,
                "state": pull.state,
                "title": pull.title,
                "body": pull.body,
                "draft": pull.draft,
                "user": self._user(pull.user),
                "html_url": f"https://github.invalid/{pull.repo}/pull/{pull.number}",
                "url": f"{self.api_url}/repos/{pull.repo}/pulls/{pull.number}",
                "head": branch(pull.head, pull.head_sha),
                "base": branch(pull.base, base_sha),
                "created_at": self._now(),
                "updated_at": self._now(),
            },
        )

    def _check_obj(self, run: FakeCheckRun) -> Json:
        return {
            "id": run.id,
            "name": run.name,
            "head_sha": run.head_sha,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": run.started_at,
            "completed_at": run.completed_at,
            "details_url": run.details_url,
            "external_id": run.external_id,
            "html_url": f"https://github.invalid/{run.repo}/runs/{run.id}",
            "url": self._run_url(run),
            "output": {
                "title": run.output.get("title"),
                "summary": run.output.get("summary"),
                "text": run.output.get("text"),
                "annotations_count": 0,
                "annotations_url": f"{self._run_url(run)}/annotations",
            },
        }

    def _run_url(self, run: FakeCheckRun) -> str:
        return f"{self.api_url}/repos/{run.repo}/check-runs/{run.id}"
