"""The edit types: what a parser finds in model output and what applying them reports.

Paths are kept as the model wrote them (normalised to ``/``); they are resolved against the
repo only when applied, so a misspelt or missing name can still be recovered from content.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PathSource = Literal["stated", "mentioned", "previous block", "none"]


def first_line(text: str, limit: int = 70) -> str:
    """The first non-blank line, stripped and shortened: how a block is named in feedback."""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return "(empty)"


@dataclass(frozen=True)
class SearchReplace:
    """Replace the lines ``search`` with ``replace`` in ``path``.

    An empty ``search`` creates ``path`` when it does not exist and appends to it when it does.
    ``path_source`` says how sure the parser is about ``path``: only a ``"stated"`` path that
    exists is taken at its word; otherwise the file is recovered from the SEARCH text.
    """

    path: str | None
    search: str
    replace: str
    path_source: PathSource = "stated"

    @property
    def label(self) -> str:
        return first_line(self.search) if self.search.strip() else "(empty SEARCH)"


@dataclass(frozen=True)
class Hunk:
    """One ``@@`` hunk. ``old_start`` (1-based) is only a hint; ``lines`` are (tag, text)
    pairs with tag ``" "`` (context), ``"-"`` (removed) or ``"+"`` (added)."""

    old_start: int | None
    header: str
    lines: tuple[tuple[str, str], ...]
    old_count: int | None = None

    @property
    def old_lines(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "+"]

    @property
    def new_lines(self) -> list[str]:
        return [text for tag, text in self.lines if tag != "-"]

    @property
    def label(self) -> str:
        changed = next((text for tag, text in self.lines if tag != " " and text.strip()), "")
        return f"{self.header} {first_line(changed)}" if changed else self.header


@dataclass(frozen=True)
class FilePatch:
    """A unified diff for one file. ``old_path`` is ``None`` for a new file (``/dev/null``);
    ``new_path`` is ``None`` for a deletion (refused when applied)."""

    old_path: str | None
    new_path: str | None
    hunks: tuple[Hunk, ...]

    @property
    def path(self) -> str | None:
        return self.new_path if self.new_path is not None else self.old_path


@dataclass(frozen=True)
class FunctionRewrite:
    """Replace the function or method ``qualname`` in ``path`` with ``new_source``.

    ``new_source`` may also hold import statements (merged into the module's imports) and
    helper definitions (placed next to the target; see ``tools.edit.rewrite``).
    """

    path: str
    qualname: str
    new_source: str

    @property
    def label(self) -> str:
        return f"rewrite {self.qualname}"


Edit = SearchReplace | FilePatch | FunctionRewrite


_NOT_MATCHES = {"create", "append", "rewrite", "new file", "line number"}


@dataclass(frozen=True)
class AppliedBlock:
    """One block that applied (in the dry run, or for real when the outcome is returned).

    ``how`` names the match that was used: ``exact``, ``trailing whitespace``,
    ``indentation offset``, ``tabs/spaces``, ``whitespace-insensitive``, ``create``, ``append``,
    ``rewrite`` or ``new file``. ``line`` is where it applied in the file as it was then.
    """

    block: int
    path: str
    label: str
    how: str
    line: int | None = None

    def describe(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else self.path
        how = self.how if self.how in _NOT_MATCHES else f"{self.how} match"
        return f"block {self.block} ({self.label!r}) at {where} ({how})"


@dataclass(frozen=True)
class EditOutcome:
    """What ``apply_edits`` wrote. ``diff`` is a unified diff of every change (``a/``/``b/``)."""

    applied: tuple[AppliedBlock, ...]
    changed_files: tuple[str, ...]
    created_files: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    diff: str = ""
