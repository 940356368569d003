"""``EditError``: one line for people and logs, a full explanation for the model.

``str(exc)`` is one line (``PerfagentError`` folds whitespace). ``exc.feedback`` is the
multi-line text to send back to the model: for every failed block the file, the block number
and first line, why it failed, the closest lines in the file, and a hint; then which blocks
would have applied. Nothing is written when any block fails, and the feedback says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from perfagent.tools.edit.model import AppliedBlock
from perfagent.tools.errors import PerfagentError

Reason = Literal[
    "not found",  # SEARCH text, hunk or function not in the file
    "ambiguous",  # matches in several places (or several functions of that name)
    "syntax error",  # the edited file (or a rewrite's new source) does not parse
    "protected path",  # a test, workload or other protected file
    "outside repo",  # absolute path or ``..`` escaping the repo
    "no-op edit",  # the edits change nothing but whitespace/comments
    "malformed",  # the model output could not be parsed (e.g. a truncated block)
    "no edits",  # no edit blocks at all in the model output
    "file missing",  # an edit of a file that does not exist
    "file exists",  # a diff creating a file that already exists
    "unreadable",  # the file is not UTF-8 text
    "unsupported",  # e.g. deleting a file
]


class BlockProblem(Exception):
    """Raised by the stages (match, rewrite, paths) and turned into a ``BlockFailure`` by the
    applier, which knows the block's number and file."""

    def __init__(self, reason: Reason, detail: str, excerpt: str = "", hint: str = "") -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail
        self.excerpt = excerpt
        self.hint = hint


@dataclass(frozen=True)
class BlockFailure:
    """Why one block failed. ``excerpt`` is multi-line (numbered file lines); the rest is one
    line each."""

    reason: Reason
    detail: str
    path: str | None = None
    block: int | None = None
    label: str = ""
    excerpt: str = ""
    hint: str = ""

    def headline(self) -> str:
        parts = []
        if self.block is not None:
            parts.append(f"block {self.block}" + (f" ({self.label!r})" if self.label else ""))
        if self.path:
            parts.append(f"in {self.path}")
        where = " ".join(parts)
        why = f"{self.reason}: {self.detail}"
        return f"{where}: {why}" if where else why

    def describe(self) -> str:
        lines = [self.headline()[0].upper() + self.headline()[1:]]
        if self.excerpt:
            lines.append(self.excerpt.rstrip("\n"))
        if self.hint:
            lines.append(f"Hint: {self.hint}")
        return "\n".join(lines)


class EditError(PerfagentError):
    """Edits that could not be applied; nothing was written. See the module docstring."""

    def __init__(
        self, failures: Sequence[BlockFailure], applied: Sequence[AppliedBlock] = ()
    ) -> None:
        if not failures:
            raise ValueError("EditError needs at least one failure")
        self.failures = tuple(failures)
        self.applied = tuple(applied)
        more = len(self.failures) - 1
        line = self.failures[0].headline() + (f" (and {more} more failed)" if more else "")
        super().__init__(line)

    @property
    def reason(self) -> Reason:
        return self.failures[0].reason

    @property
    def path(self) -> str | None:
        return self.failures[0].path

    @property
    def block(self) -> int | None:
        return self.failures[0].block

    @property
    def feedback(self) -> str:
        n = len(self.failures)
        head = "The edit was not applied"
        if all(f.block is not None for f in self.failures):
            head += f": {n} block{'s' if n > 1 else ''} failed"
        out = [head + ". No file was changed.", ""]
        for failure in self.failures:
            out += [failure.describe(), ""]
        if self.applied:
            out.append("These blocks applied cleanly in the dry run (but were not written either):")
            out += [f"- {block.describe()}" for block in self.applied]
        elif any(f.block is not None for f in self.failures):
            out.append("No other block applied in the dry run.")
        out.append("Send the complete corrected set of edits again, including those that applied.")
        return "\n".join(out).rstrip() + "\n"
