"""What an importer turns one dataset row into, and how a row is refused."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

NoteKind = Literal["refused", "caveat", "translated", "left-out"]

# IMPORT_NOTES.md sections, in this order.
SECTIONS: dict[NoteKind, str] = {
    "refused": "Not translated: do these yourself",
    "caveat": "Caveats",
    "translated": "Translated",
    "left-out": "Left out",
}


class RowError(Exception):
    """A row that cannot become a task. The message is one line naming the field."""


@dataclass(frozen=True)
class Note:
    """One line of a task's IMPORT_NOTES.md."""

    kind: NoteKind
    text: str


@dataclass
class ImportedTask:
    """A task spec (a YAML mapping; paths relative to the task file) plus the side files it
    needs, named relative to ``DIR/<id>/``, and what the import could not carry over."""

    id: str
    spec: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    notes: list[Note] = field(default_factory=list)

    @property
    def not_translated(self) -> int:
        return sum(1 for note in self.notes if note.kind == "refused")
