"""Unified diffs in model output: parsing and applying hunks by their content.

Hunk headers are hints: ``@@ -12,5 +12,6 @@``, ``@@ -12 +12 @@`` and a bare ``@@ @@`` are all
accepted, and a hunk is located by its context and removed lines (``match.find_matches``,
strict to tolerant), the place nearest the stated line winning when several match. Hunk
bodies end at the next hunk, file header, code fence or the end; a body line without a
prefix is taken as context (models drop the space of blank lines), and unprefixed lines at
the end are prose and dropped. ``a/``/``b/`` prefixes are removed when the headers use them
git-style; ``diff --git``, ``index`` and mode lines are skipped.
"""

from __future__ import annotations

import re

from perfagent.tools.edit.errors import BlockProblem
from perfagent.tools.edit.match import Match, find_matches
from perfagent.tools.edit.model import FilePatch, Hunk
from perfagent.tools.edit.text import closest_lines

HUNK_RE = re.compile(r"^@@\s*(?:-(\d+)(?:,(\d+))?\s+\+(\d+)(?:,(\d+))?)?\s*@@.*$")
_FENCE = re.compile(r"^\s*(?:```+|~~~+)[\w+\-. ]*$")  # closing, or opening another block


def _header_pair(lines: list[str], i: int) -> bool:
    return lines[i].startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ ")


def _diff_path(raw: str) -> str | None:
    path = raw.split("\t")[0].strip().strip('"')
    return None if path in ("/dev/null", "dev/null") else path


def _strip_prefixes(old: str | None, new: str | None) -> tuple[str | None, str | None]:
    """Drop git's ``a/``/``b/`` when the headers use them that way."""
    if (old is None or old.startswith("a/")) and (new is None or new.startswith("b/")):
        return (old[2:] if old else None), (new[2:] if new else None)
    return old, new


def _hunk_body(lines: list[str], i: int) -> tuple[list[tuple[str, str]], int]:
    body: list[tuple[str, str, bool]] = []  # (tag, text, explicitly prefixed)
    n = len(lines)
    while i < n:
        line = lines[i]
        if HUNK_RE.match(line) or _header_pair(lines, i) or line.startswith("diff --git "):
            break
        if _FENCE.match(line):
            break
        if line[:1] in (" ", "-", "+"):
            body.append((line[0], line[1:], True))
        elif line.startswith("\\"):  # "\ No newline at end of file"
            pass
        else:
            body.append((" ", line, False))
        i += 1
    while body and not body[-1][2]:
        body.pop()
    return [(tag, text) for tag, text, _ in body], i


def parse_diffs(lines: list[str]) -> list[tuple[int, FilePatch]]:
    """Every file section of every unified diff, with the index of its ``---`` line."""
    found: list[tuple[int, FilePatch]] = []
    i, n = 0, len(lines)
    while i < n:
        if not _header_pair(lines, i):
            i += 1
            continue
        start = i
        old, new = _strip_prefixes(_diff_path(lines[i][4:]), _diff_path(lines[i + 1][4:]))
        i += 2
        hunks: list[Hunk] = []
        while i < n and not (_header_pair(lines, i) or lines[i].startswith("diff --git ")):
            header = HUNK_RE.match(lines[i])
            if header is None and not hunks and lines[i][:1] in (" ", "-", "+"):
                header_text, old_start, old_count = "@@ (no header) @@", None, None
            elif header is not None:
                header_text = lines[i].strip()
                old_start = int(header[1]) if header[1] is not None else None
                old_count = int(header[2]) if header[2] is not None else None
                i += 1
            elif _FENCE.match(lines[i]):
                break
            else:
                i += 1  # prose between hunks
                continue
            body, i = _hunk_body(lines, i)
            if body:
                hunks.append(Hunk(old_start, header_text, tuple(body), old_count))
        found.append((start, FilePatch(old, new, tuple(hunks))))
    return found


def _trimmed(hunk: Hunk) -> list[tuple[str, str]]:
    """The hunk without blank context lines at either end (models add and drop them)."""
    lines = list(hunk.lines)
    while lines and lines[0][0] == " " and not lines[0][1].strip():
        lines.pop(0)
    while lines and lines[-1][0] == " " and not lines[-1][1].strip():
        lines.pop()
    return lines


def _keep_context(file_lines: list[str], body: list[tuple[str, str]], match: Match) -> list[str]:
    """The replacement with context lines as they are in the file: a context line the model
    reformatted matched tolerantly, but it was not meant to change."""
    out: list[str] = []
    old_i = new_i = 0
    for tag, _ in body:
        if tag == " ":
            at = match.lines[old_i] if old_i < len(match.lines) else -1
            out.append(file_lines[at] if at >= 0 else match.replacement[new_i])
        elif tag == "+":
            out.append(match.replacement[new_i])
        old_i += tag != "+"
        new_i += tag != "-"
    return out


def apply_hunk(file_lines: list[str], hunk: Hunk, delta: int) -> tuple[list[str], Match]:
    """``file_lines`` with ``hunk`` applied; ``delta`` is how far earlier hunks moved lines."""
    body = _trimmed(hunk)
    old = [text for tag, text in body if tag != "+"]
    new = [text for tag, text in body if tag != "-"]
    if not any(line.strip() for line in old):
        if hunk.old_start is None:
            raise BlockProblem(
                "malformed",
                "the hunk has no context or removed lines and no line number",
                hint="include a few unchanged lines around the change",
            )
        # "-10,0" inserts after line 10; with a count, the lines start at line 10.
        at = hunk.old_start if hunk.old_count == 0 else hunk.old_start - 1
        at = max(0, min(len(file_lines), at + delta))
        return file_lines[:at] + new + file_lines[at:], Match(at, at, tuple(new), "line number")
    matches = find_matches(file_lines, old, new)
    if not matches:
        raise BlockProblem(
            "not found",
            "the hunk's context and removed lines are not in the file",
            excerpt=_closest(file_lines, old),
            hint="copy the context and '-' lines exactly from the current file",
        )
    if len(matches) > 1:
        expected = (hunk.old_start or 0) - 1 + delta
        matches.sort(key=lambda m: abs(m.start - expected))
        first, second = matches[0], matches[1]
        if hunk.old_start is None or abs(first.start - expected) == abs(second.start - expected):
            where = ", ".join(str(m.start + 1) for m in matches)
            raise BlockProblem(
                "ambiguous",
                f"the hunk matches {len(matches)} places (lines {where})",
                hint="add more context lines, or give the right line number in the @@ header",
            )
    match = matches[0]
    replacement = _keep_context(file_lines, body, match)
    match = Match(match.start, match.end, tuple(replacement), match.how, match.lines)
    return file_lines[: match.start] + replacement + file_lines[match.end :], match


def _closest(file_lines: list[str], wanted: list[str]) -> str:
    text = closest_lines(file_lines, wanted)
    return f"The closest lines in the file:\n{text}" if text else ""
