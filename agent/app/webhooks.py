"""What a webhook delivery asks of the App: its signature checked, its event read into a
decision. Pure functions, no I/O: ``server`` verifies and filters, the worker does the work.

Triggers: a comment ``/perfagent optimize [--target 1.5x] [--max-iterations N] [--model M]``
on an issue or pull request, and the label ``perfagent`` added to a pull request. The
requester's permission is checked by the worker against the API, never taken from the
payload's ``author_association``.

Each decision that acts names the signed event it acts on (``Decision.event_id``: the
comment's id; a label event's pull request, label and time; an installation's id, action
and time), so the server can refuse the same event replayed under a new delivery id.
"""

from __future__ import annotations

import hashlib
import hmac
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from perfagent.tools.github import RepoRef

COMMAND = "/perfagent"
LABEL = "perfagent"
MAX_ITERATIONS = 20
SIGNATURE_PREFIX = "sha256="


class CommandError(ValueError):
    """A ``/perfagent`` comment the App cannot run; the message is shown to its author."""


class PayloadError(ValueError):
    """A payload without the fields its event must carry."""


def signature(secret: str, body: bytes) -> str:
    """What GitHub sends as ``X-Hub-Signature-256`` for ``body``."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` is the HMAC-SHA256 of ``body`` under ``secret`` (constant time)."""
    if not header or not header.isascii():
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


# -- commands ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunOptions:
    target: float | None = None
    max_iterations: int = 4
    model: str = "rules"

    def as_json(self) -> dict[str, Any]:
        return {"target": self.target, "max_iterations": self.max_iterations, "model": self.model}


def find_command(body: str) -> str | None:
    """The first line of ``body`` that starts with ``/perfagent``, or ``None``."""
    for line in body.splitlines():
        if line.strip().startswith(COMMAND):
            return line.strip()
    return None


def parse_command(line: str, *, default_model: str, allowed_models: tuple[str, ...]) -> RunOptions:
    """``/perfagent optimize [options]`` → options; ``CommandError`` names what is wrong."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise CommandError(f"cannot read the command ({exc})") from exc
    if words[:1] != [COMMAND]:
        raise CommandError(f"a command starts with {COMMAND}")
    if words[1:2] != ["optimize"]:
        raise CommandError(f"unknown command {' '.join(words[1:2]) or '(none)'!r}; try optimize")
    values: dict[str, str] = {}
    rest = words[2:]
    while rest:
        word = rest.pop(0)
        name, eq, value = word.partition("=")
        if name not in ("--target", "--max-iterations", "--model"):
            raise CommandError(f"unknown option {word[:40]!r}")
        if not eq:
            if not rest:
                raise CommandError(f"{name} needs a value")
            value = rest.pop(0)
        values[name] = value
    options = RunOptions(model=default_model)
    if "--target" in values:
        options = RunOptions(_target(values["--target"]), options.max_iterations, options.model)
    if "--max-iterations" in values:
        text = values["--max-iterations"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_ITERATIONS:
            raise CommandError(f"--max-iterations must be 1 to {MAX_ITERATIONS}, not {text[:20]!r}")
        options = RunOptions(options.target, int(text), options.model)
    if "--model" in values:
        model = values["--model"]
        if model not in allowed_models:
            allowed = ", ".join(allowed_models)
            raise CommandError(f"--model {model[:40]!r} is not allowed here (allowed: {allowed})")
        options = RunOptions(options.target, options.max_iterations, model)
    return options


def _target(text: str) -> float:
    try:
        number = float(text.strip().rstrip("x×"))
    except ValueError:
        raise CommandError(f"--target {text[:20]!r} is not a speedup such as 1.5x") from None
    if not 1.0 < number <= 1000.0:
        raise CommandError(f"--target {text[:20]!r} must be above 1x")
    return number


# -- events ------------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _User(_Model):
    login: str
    type: str = "User"


class _Repo(_Model):
    full_name: str

    @field_validator("full_name")
    @classmethod
    def _owner_name(cls, value: str) -> str:
        RepoRef.parse(value)  # ValueError → a validation error
        return value


class _Inst(_Model):
    id: int


class _Comment(_Model):
    id: int
    body: str | None = None
    user: _User


class _Issue(_Model):
    number: int
    pull_request: dict[str, Any] | None = None


class IssueCommentEvent(_Model):
    action: str
    comment: _Comment
    issue: _Issue
    repository: _Repo
    installation: _Inst | None = None


class _Label(_Model):
    name: str
    id: int | None = None


class _Branch(_Model):
    sha: str
    ref: str


class _Pull(_Model):
    id: int
    number: int
    head: _Branch
    updated_at: str | None = None


class PullRequestEvent(_Model):
    action: str
    pull_request: _Pull
    repository: _Repo
    sender: _User
    label: _Label | None = None
    installation: _Inst | None = None


class _Account(_Model):
    login: str


class _Installation(_Model):
    id: int
    account: _Account | None = None
    updated_at: str | int | None = None


class InstallationEvent(_Model):
    action: str
    installation: _Installation


@dataclass(frozen=True)
class Decision:
    """What to do with one delivery. ``kind``: ``ignore``, ``pong``, ``installation`` (record
    or remove ``installation_id``), ``optimize`` or ``refuse`` (a job for the worker)."""

    kind: Literal["ignore", "pong", "installation", "optimize", "refuse"]
    installation_id: int | None = None
    job: dict[str, Any] = field(default_factory=dict)
    reason: str = ""
    event_id: str | None = None  # the signed event acted on, for replay refusal

    @property
    def key(self) -> str:
        """Identity of a job for de-duplication: repository, target and trigger."""
        j = self.job
        key = f"{j.get('repo')}#{j.get('number')}:{j.get('trigger')}:{j.get('options')}"
        return key if self.kind != "refuse" else f"{key}:{j.get('comment_id')}"


def decide(
    event: str, payload: dict[str, Any], *, default_model: str, allowed_models: tuple[str, ...]
) -> Decision:
    """Read one delivery; ``PayloadError`` if the payload lacks what ``event`` must carry."""
    try:
        if event == "ping":
            return Decision("pong")
        if event == "installation":
            return _installation(InstallationEvent.model_validate(payload))
        if event == "issue_comment":
            parsed = IssueCommentEvent.model_validate(payload)
            return _comment(parsed, default_model, allowed_models)
        if event == "pull_request":
            return _labeled(PullRequestEvent.model_validate(payload), default_model)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(body)"
        raise PayloadError(f"{event}: {where}: {first['msg']}") from None
    return Decision("ignore", reason=f"event {event[:40]!r} is not handled")


def _installation(ev: InstallationEvent) -> Decision:
    inst = ev.installation
    account = inst.account.login if inst.account else ""
    if ev.action in ("created", "deleted", "unsuspend", "suspend"):
        stamp = inst.updated_at
        return Decision(
            "installation",
            installation_id=inst.id,
            job={"action": ev.action, "account": account},
            event_id=None if stamp is None else f"installation:{inst.id}:{ev.action}:{stamp}",
        )
    return Decision("ignore", installation_id=ev.installation.id, reason=f"action {ev.action}")


def _comment(ev: IssueCommentEvent, default_model: str, allowed: tuple[str, ...]) -> Decision:
    inst = ev.installation.id if ev.installation else None
    if ev.action != "created":
        return Decision("ignore", inst, reason=f"comment {ev.action[:20]}")
    if ev.comment.user.type == "Bot":
        return Decision("ignore", inst, reason="comment by a bot")
    line = find_command(ev.comment.body or "")
    if line is None:
        return Decision("ignore", inst, reason="no /perfagent command")
    job = {
        "repo": ev.repository.full_name,
        "installation_id": inst,
        "number": ev.issue.number,
        "is_pull": ev.issue.pull_request is not None,
        "trigger": "comment",
        "requester": ev.comment.user.login,
        "comment_id": ev.comment.id,
    }
    event_id = f"issue_comment:{ev.comment.id}"
    try:
        options = parse_command(line, default_model=default_model, allowed_models=allowed)
    except CommandError as exc:
        refusal = job | {"options": None, "reason": str(exc)}
        return Decision("refuse", inst, refusal, str(exc), event_id=event_id)
    return Decision("optimize", inst, job | {"options": options.as_json()}, event_id=event_id)


def _labeled(ev: PullRequestEvent, default_model: str) -> Decision:
    inst = ev.installation.id if ev.installation else None
    if ev.action != "labeled" or ev.label is None or ev.label.name != LABEL:
        return Decision("ignore", inst, reason=f"pull_request {ev.action[:20]}")
    job = {
        "repo": ev.repository.full_name,
        "installation_id": inst,
        "number": ev.pull_request.number,
        "is_pull": True,
        "trigger": "label",
        "requester": ev.sender.login,
        "comment_id": None,
        "options": RunOptions(model=default_model).as_json(),
    }
    # A label added again later is a new request: the pull request's updated_at moves.
    pr, label = ev.pull_request, ev.label
    event_id = f"pull_request.labeled:{pr.id}:{label.id or label.name}:{pr.updated_at}"
    return Decision("optimize", inst, job, event_id=event_id)
