"""The expert model: a scripted chat model that answers with the task's expert patch.

``--model expert`` runs the whole agent (profile, propose, parse, apply, guard, screen,
verdict, expert comparison) with a "perfect model": every proposal is the expert's own diff,
given as a unified diff in the answer, the way a model would write it. A task set run this
way shows which tasks the pipeline itself can win (the ceiling of any model), next to the
oracle (the expert patch measured alone).

The expert's changes to protected files (tests, the task's workloads) are left out of the
answer: a model may not edit them, and the edit tools would refuse them. The model answers
the same text to every call, repairs included; once the diff is in the code, the later
rounds' answers no longer apply and the run stops for want of candidates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from perfagent.agent.models.base import (
    DEFAULT_MAX_TOKENS,
    ChatResponse,
    Message,
    ModelError,
    ToolSpec,
)
from perfagent.tools.edit.paths import default_protected, matches_glob
from perfagent.tools.errors import PerfagentError
from perfagent.tools.taskspec import Task, load_task
from perfagent.tools.workspace import Workspace

SUMMARY = "Summary: the task's expert patch (the ceiling benchmark's answer)"
_FILE_SECTION = re.compile(r"^diff --git ", re.MULTILINE)


def expert_diff(task: Task) -> str:
    """The expert's change against the task's base: its patch file, or ``ref..commit``."""
    if task.spec.expert is None:
        raise ModelError(f"{task.path}: the expert model needs a task with an expert")
    if task.spec.expert.patch is not None:
        repo = None if task.repo_is_url else Path(task.repo_location())
        path = task.expert_patch_path(repo)
        assert path is not None
        return path.read_text(encoding="utf-8")
    with Workspace(task.repo_location(), task.spec.ref) as ws:
        return ws.commit_diff(task.spec.expert.commit or "")


def _section_path(section: str) -> str:
    head = section.split("\n", 1)[0]  # "a/x.py b/x.py"
    parts = head.split(" b/", 1)
    return parts[1].strip() if len(parts) == 2 else head.removeprefix("a/").strip()


def answerable(diff: str, protected: Sequence[str]) -> tuple[str, list[str]]:
    """The diff without its sections for protected or binary files; and the paths dropped."""
    sections = _FILE_SECTION.split(diff)
    if len(sections) == 1:  # a plain ---/+++ diff: nothing to tell files apart by
        return diff, []
    kept, dropped = [], []
    for section in sections[1:]:
        path = _section_path(section)
        binary = "\nGIT binary patch" in section or "\nBinary files " in section
        if binary or any(matches_glob(path, pattern) for pattern in protected):
            dropped.append(path)
        else:
            kept.append("diff --git " + section)
    return "".join(kept), dropped


class ExpertChatModel:
    """A ``ChatModel`` whose every answer is the expert diff (free, instant)."""

    provider = "expert"

    def __init__(self, diff: str, *, model: str = "expert", dropped: Sequence[str] = ()) -> None:
        if not diff.strip():
            raise ModelError("expert model: the expert patch changes no file a model may edit")
        self.model = model
        self.diff = diff
        self.dropped = list(dropped)  # protected files the expert also changed
        self.calls = 0

    @classmethod
    def for_task(cls, task_file: str | Path) -> ExpertChatModel:
        try:
            task = load_task(task_file)
            diff = expert_diff(task)
        except ModelError:
            raise
        except PerfagentError as exc:  # a task or workspace error, named as the model's
            raise ModelError(f"expert model: {exc}") from exc
        protected = default_protected([w.file for w in task.workloads() if w.file])
        kept, dropped = answerable(diff, protected)
        return cls(kept, model=f"expert:{task.id}", dropped=dropped)

    def answer(self) -> str:
        return f"{SUMMARY}\n\n```diff\n{self.diff.rstrip()}\n```\n"

    def complete(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSpec] = (),
        temperature: float = 0.2,
        max_tokens: int = DEFAULT_MAX_TOKENS,
    ) -> ChatResponse:
        self.calls += 1
        return ChatResponse(text=self.answer(), model=self.model, stop_reason="stop", cost_usd=0.0)
