"""What the client returns: the few fields of GitHub's answers that the App uses.

The models mirror GitHub's JSON names (``pr.head.sha``, ``repo.default_branch``) so GitHub's
REST docs read straight onto them. Unknown fields are ignored: GitHub adds fields often, and
a client that only reads what it needs keeps working when it does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict

# What GET /repos/{owner}/{repo}/collaborators/{username}/permission calls `permission`:
# maintain is reported as write, triage as read (the finer role is in `role_name`).
Permission = Literal["admin", "write", "read", "none"]
CheckStatus = Literal["queued", "in_progress"]
# `stale` is left out: only GitHub itself may set it.
CheckConclusion = Literal[
    "action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out"
]
ReactionContent = Literal["+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]

_NAME = re.compile(r"[A-Za-z0-9_.-]+")
# GitHub's limits on Markdown fields (check run summary/text; issue and PR bodies).
CHECK_TEXT_MAX = 65535
BODY_MAX = 65536
_CUT_MARK = "\n\n… (truncated by perfagent)"


def has_write(permission: Permission) -> bool:
    """Whether ``permission`` allows pushing (admin or write; maintain reports as write)."""
    return permission in ("admin", "write")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to GitHub's ``limit`` characters, with a visible mark when cut."""
    return text if len(text) <= limit else text[: limit - len(_CUT_MARK)] + _CUT_MARK


@dataclass(frozen=True)
class RepoRef:
    """``owner/name`` of a repository; ``RepoRef.parse("octo/widgets")``."""

    owner: str
    name: str

    def __post_init__(self) -> None:
        parts = (self.owner, self.name)
        if not all(_NAME.fullmatch(p) and p not in (".", "..") for p in parts):
            raise ValueError(f"not a repository owner/name: {self.owner!r}/{self.name!r}")

    @classmethod
    def parse(cls, full_name: str) -> RepoRef:
        owner, sep, name = full_name.partition("/")
        if not sep:
            raise ValueError(f"not a repository owner/name: {full_name!r}")
        return cls(owner, name)

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"


@dataclass(frozen=True)
class CheckOutput:
    """A check run's output: Markdown ``summary`` and ``text``, cut to GitHub's limits."""

    title: str
    summary: str
    text: str | None = None

    def payload(self) -> dict[str, str]:
        out = {"title": self.title, "summary": truncate(self.summary, CHECK_TEXT_MAX)}
        if self.text is not None:
            out["text"] = truncate(self.text, CHECK_TEXT_MAX)
        return out


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Account(_Model):
    login: str
    id: int
    type: str = "User"  # User, Organization or Bot


class Installation(_Model):
    id: int
    app_id: int
    target_type: str
    account: Account | None = None  # None for an enterprise installation (not an owner)


class Repository(_Model):
    id: int
    full_name: str
    default_branch: str
    clone_url: str  # token-free HTTPS URL for clone()/push_branch()
    html_url: str
    private: bool
    owner: Account

    @property
    def ref(self) -> RepoRef:
        return RepoRef.parse(self.full_name)


class RepoBrief(_Model):
    full_name: str


class Branch(_Model):
    ref: str  # branch name
    sha: str
    label: str = ""  # "owner:branch"
    repo: RepoBrief | None = None  # None when a fork was deleted


class PullRequest(_Model):
    number: int
    state: str  # open or closed
    title: str
    html_url: str
    head: Branch
    base: Branch
    draft: bool = False
    body: str | None = None
    user: Account | None = None

    @property
    def head_sha(self) -> str:
        return self.head.sha

    @property
    def head_ref(self) -> str:
        return self.head.ref


class CheckRun(_Model):
    id: int
    name: str
    head_sha: str
    status: str
    conclusion: str | None = None
    html_url: str | None = None
    details_url: str | None = None


class Comment(_Model):
    id: int
    html_url: str
    body: str | None = None


@dataclass(frozen=True)
class InstallationToken:
    """An installation access token and when it expires (epoch seconds); never in a repr."""

    installation_id: int
    token: str = field(repr=False)
    expires_at: float
