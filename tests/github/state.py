"""The fake GitHub's state: what it knows about repositories, installations, tokens, pull
requests, check runs and comments, and ``Reject``, the error answer a handler raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FakeClock:
    """Epoch seconds that only move when the test says so (share it with the client)."""

    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeRepo:
    id: int
    full_name: str
    default_branch: str
    private: bool
    roles: dict[str, str] = field(default_factory=dict)  # login → admin/maintain/write/...

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]


@dataclass
class FakeInstallation:
    id: int
    account: str
    repos: set[str]


@dataclass
class FakeToken:
    installation_id: int
    expires_at: float
    repos: frozenset[str]
    permissions: dict[str, str] = field(default_factory=dict)


@dataclass
class FakePull:
    number: int
    repo: str
    title: str
    body: str | None
    head: str
    head_sha: str
    base: str
    user: str
    draft: bool = False
    state: str = "open"
    id: int = 0


@dataclass
class FakeCheckRun:
    id: int
    repo: str
    name: str
    head_sha: str
    status: str = "queued"
    conclusion: str | None = None
    output: dict[str, str] = field(default_factory=dict)
    details_url: str | None = None
    external_id: str | None = None
    started_at: str | None = None
    completed_at: str | None = None


@dataclass
class FakeComment:
    id: int
    repo: str
    issue_number: int
    body: str
    user: str
    reactions: list[tuple[str, str]] = field(default_factory=list)  # (login, content)


class Reject(Exception):
    """An error answer as GitHub gives it: ``message``, and for 422 its ``errors`` list."""

    def __init__(self, status: int, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors

    def payload(self) -> Any:
        out: dict[str, Any] = {
            "message": self.message,
            "documentation_url": "https://docs.github.com/rest",
        }
        if self.errors:
            out["errors"] = self.errors
            out["status"] = str(self.status)
        return out


def invalid(resource: str, message: str) -> Reject:
    return Reject(
        422, "Validation Failed", [{"resource": resource, "code": "custom", "message": message}]
    )
