"""A finding of the static checks, and which findings a diff adds."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Literal

Kind = Literal["cache", "special-casing", "introspection", "unchecked"]


@dataclass(frozen=True)
class Finding:
    kind: Kind
    line: int
    scope: str  # the function's __qualname__, or "<module>"
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        """What stays the same when the code around it moves: before and after compare so."""
        return (self.kind, self.scope, self.detail)

    def render(self, path: str) -> str:
        return f"{path}:{self.line} in {self.scope}: {self.kind}: {self.detail}"


def added_findings(
    before: list[Finding], after: list[Finding], added_lines: set[int]
) -> list[Finding]:
    """What ``after`` has more of than ``before``, compared by ``Finding.key``. When a key
    gained fewer than it has, the ones on lines the diff added are the new ones."""
    budget = Counter(f.key for f in after) - Counter(f.key for f in before)
    new = []
    for finding in sorted(after, key=lambda f: (f.line not in added_lines, f.line)):
        if budget[finding.key] > 0:
            budget[finding.key] -= 1
            new.append(finding)
    return sorted(new, key=lambda f: (f.line, f.kind, f.detail))
