"""Text helpers shared by the edit stages: newline handling and numbered excerpts.

All matching works on ``\\n``-joined lines; a file's CRLF and BOM are remembered and restored
when it is written, so a CRLF file stays CRLF whatever the model sent.
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass

_BOM = "\ufeff"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class FileText:
    """A file's text with ``\\n`` newlines, plus what is needed to write it back the same way."""

    text: str
    crlf: bool = False
    bom: bool = False

    @classmethod
    def decode(cls, raw: bytes) -> FileText:
        text = raw.decode("utf-8")  # UnicodeDecodeError is the caller's to report
        bom = text.startswith(_BOM)
        if bom:
            text = text[1:]
        crlf = "\r\n" in text
        return cls(normalize_newlines(text), crlf=crlf, bom=bom)

    def encode(self, text: str) -> bytes:
        if self.crlf:
            text = text.replace("\n", "\r\n")
        return ((_BOM if self.bom else "") + text).encode("utf-8")


def split_lines(text: str) -> list[str]:
    """Lines without their newline; ``""`` has no lines (unlike ``"".split("\\n")``)."""
    if not text:
        return []
    lines = text.split("\n")
    return lines[:-1] if text.endswith("\n") else lines


def join_lines(lines: list[str], trailing_newline: bool = True) -> str:
    if not lines:
        return ""
    return "\n".join(lines) + ("\n" if trailing_newline else "")


def numbered(lines: list[str], start: int, end: int, marked: range | None = None) -> str:
    """Lines ``start..end`` (0-based, end exclusive) as ``  12 | text``; ``marked`` get ``>``."""
    start, end = max(0, start), min(len(lines), end)
    width = len(str(end))
    out = []
    for i in range(start, end):
        mark = ">" if marked is not None and i in marked else " "
        out.append(f"{mark}{i + 1:>{width}} | {lines[i]}")
    return "\n".join(out)


def closest_lines(file_lines: list[str], wanted: list[str], context: int = 2) -> str:
    """The stretch of ``file_lines`` most like ``wanted``, numbered, or ``""`` if nothing is.

    Candidate starts get one vote per wanted line found (stripped, exactly or as a close
    match) at the matching offset; the best few are then ranked by ``SequenceMatcher`` on
    the whole window. This stays fast on long files, unlike ranking every window.
    """
    wanted_idx = [(j, line.strip()) for j, line in enumerate(wanted) if line.strip()]
    if not wanted_idx or not file_lines:
        return ""
    positions: dict[str, list[int]] = {}
    for i, line in enumerate(file_lines):
        if line.strip():
            positions.setdefault(line.strip(), []).append(i)
    votes: Counter[int] = Counter()
    for j, line in wanted_idx[:40]:
        hits = positions.get(line)
        if hits is None:
            close = difflib.get_close_matches(line, list(positions), n=3, cutoff=0.6)
            hits = [i for key in close for i in positions[key]]
        for i in hits:
            votes[i - j] += 1
    if not votes:
        return ""
    size = len(wanted)
    target = "\n".join(line.strip() for line in wanted)

    def score(start: int) -> float:
        window = file_lines[max(0, start) : max(0, start) + size]
        text = "\n".join(line.strip() for line in window)
        return difflib.SequenceMatcher(None, target, text, autojunk=False).ratio()

    best = max((start for start, _ in votes.most_common(5)), key=score)
    if score(best) < 0.3:
        return ""
    lo, hi = max(0, best), min(len(file_lines), best + size)
    return numbered(file_lines, lo - context, hi + context, marked=range(lo, hi))
