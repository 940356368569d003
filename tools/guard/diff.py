"""Git-style unified diffs, read strictly: which files change how, and the new text of each.

The guard judges what a candidate diff *would* do to a tree, so it parses the diff itself
instead of trusting a model-tolerant applier: the extended git headers (new, deleted,
renamed, copied, binary, mode) are kept because they decide rejections, and hunks are
applied by their stated line numbers, falling back to the nearest exact match (like
``git apply`` without fuzz). Plain ``---``/``+++`` diffs without ``diff --git`` are read too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_GIT_ESCAPES = {"a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r"}


class DiffError(ValueError):
    """The diff is malformed or does not apply; the message is one line."""


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    lines: tuple[tuple[str, str], ...]  # (tag, text); tag is " ", "-" or "+"


@dataclass
class FileChange:
    """One file section. ``old_path`` is ``None`` for a created file, ``new_path`` for a
    deleted one; a rename or copy has both, different."""

    old_path: str | None
    new_path: str | None
    hunks: list[Hunk] = field(default_factory=list)
    binary: bool = False
    copy: bool = False
    new_mode: str | None = None

    @property
    def path(self) -> str:
        path = self.new_path if self.new_path is not None else self.old_path
        assert path is not None  # a section always names at least one side
        return path


def _unquote(raw: str) -> str:
    """git writes unusual paths as C strings: ``"a/t\\303\\251st.py"``."""
    if not (len(raw) >= 2 and raw[0] == raw[-1] == '"'):
        return raw
    out = bytearray()
    body, i = raw[1:-1], 0
    while i < len(body):
        char = body[i]
        if char != "\\" or i + 1 == len(body):
            out += char.encode("utf-8")
            i += 1
        elif body[i + 1 : i + 4].isdigit() and len(body[i + 1 : i + 4]) == 3:
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out += _GIT_ESCAPES.get(body[i + 1], body[i + 1]).encode("utf-8")
            i += 2
    return out.decode("utf-8", errors="replace")


def _header_path(raw: str, strip: bool) -> str | None:
    path = _unquote(raw.split("\t")[0].rstrip())
    if path == "/dev/null":
        return None
    return path[2:] if strip and path[:2] in ("a/", "b/") else path


def _git_line_paths(rest: str) -> tuple[str, str]:
    """The two paths of ``diff --git a/X b/Y`` (needed when no ``---``/``+++`` follows)."""
    if rest.startswith('"'):
        i = 1
        while i < len(rest) and rest[i] != '"':
            i += 2 if rest[i] == "\\" else 1
        return _unquote(rest[: i + 1])[2:], _unquote(rest[i + 1 :].strip())[2:]
    half = (len(rest) - 1) // 2  # "a/P b/P": the usual case, unambiguous even with spaces
    if rest[half : half + 3] == " b/" and rest[2:half] == rest[half + 3 :]:
        return rest[2:half], rest[half + 3 :]
    old, _, new = rest.rpartition(" b/")
    return old[2:], _unquote(new)


def parse(text: str) -> list[FileChange]:
    """Every file section of ``text``; ``DiffError`` when a hunk is cut short or garbled."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    changes: list[FileChange] = []
    current: FileChange | None = None
    git_style = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("diff --git "):
            git_style = True
            old, new = _git_line_paths(line[len("diff --git ") :])
            current = FileChange(old, new)
            changes.append(current)
        elif line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            strip = git_style or (line[4:6] == "a/" and lines[i + 1][4:6] == "b/")
            old_path, new_path = (
                _header_path(line[4:], strip),
                _header_path(lines[i + 1][4:], strip),
            )
            if current is None or current.hunks:  # a plain diff: every header pair is a file
                current = FileChange(old_path, new_path)
                changes.append(current)
            else:
                current.old_path, current.new_path = old_path, new_path
            i += 1
        elif current is None:
            pass  # text before the first file (a commit message, say)
        elif line.startswith("@@"):
            hunk, i = _read_hunk(lines, i)
            current.hunks.append(hunk)
            continue
        else:
            _extended_header(current, line)
        i += 1
    for change in changes:
        if change.old_path is None and change.new_path is None:
            raise DiffError("a file section names /dev/null on both sides")
    return changes


def _extended_header(change: FileChange, line: str) -> None:
    if line.startswith("new file mode "):
        change.old_path, change.new_mode = None, line.split()[-1]
    elif line.startswith("deleted file mode "):
        change.new_path = None
    elif line.startswith("new mode "):
        change.new_mode = line.split()[-1]
    elif line.startswith(("rename from ", "copy from ")):
        change.old_path = _unquote(line.split(" ", 2)[2])
        change.copy = line.startswith("copy")
    elif line.startswith(("rename to ", "copy to ")):
        change.new_path = _unquote(line.split(" ", 2)[2])
    elif line.startswith(("Binary files ", "GIT binary patch")):
        change.binary = True
    # index, similarity and mode lines (and binary patch data) change nothing we judge


def _read_hunk(lines: list[str], i: int) -> tuple[Hunk, int]:
    header = _HUNK.match(lines[i])
    if header is None:
        raise DiffError(f"malformed hunk header {lines[i][:60]!r}")
    old_start, new_start = int(header[1]), int(header[3])
    old_count = 1 if header[2] is None else int(header[2])
    new_count = 1 if header[4] is None else int(header[4])
    body: list[tuple[str, str]] = []
    old_seen = new_seen = 0
    i += 1
    while old_seen < old_count or new_seen < new_count:
        if i == len(lines):
            raise DiffError(f"hunk at line {new_start} ends early")
        line = lines[i]
        tag, rest = (line[:1], line[1:]) if line else (" ", "")  # blank context lost its space
        if tag == "\\":  # "\ No newline at end of file"
            i += 1
            continue
        if tag not in (" ", "-", "+"):
            raise DiffError(f"hunk at line {new_start} has an unprefixed line {line[:60]!r}")
        body.append((tag, rest))
        old_seen += tag != "+"
        new_seen += tag != "-"
        i += 1
    if old_seen != old_count or new_seen != new_count:
        raise DiffError(f"hunk at line {new_start} does not match its line counts")
    while i < len(lines) and lines[i].startswith("\\"):
        i += 1
    return Hunk(old_start, old_count, tuple(body)), i


def apply(old_lines: list[str], hunks: list[Hunk]) -> tuple[list[str], set[int]]:
    """The new lines and the 1-based numbers of the lines the hunks add."""
    out: list[str] = []
    added: set[int] = set()
    pos = 0
    for hunk in hunks:
        old_block = [text for tag, text in hunk.lines if tag != "+"]
        # "-5,0" inserts after line 5; "-5,3" replaces lines 5-7.
        stated = hunk.old_start if hunk.old_count == 0 else hunk.old_start - 1
        at = _locate(old_lines, old_block, stated, pos)
        if at is None:
            raise DiffError(f"hunk at line {hunk.old_start} does not match the file")
        out.extend(old_lines[pos:at])
        for tag, text in hunk.lines:
            if tag == "+":
                added.add(len(out) + 1)
            if tag != "-":
                out.append(text)
        pos = at + len(old_block)
    out.extend(old_lines[pos:])
    return out, added


def _locate(lines: list[str], block: list[str], stated: int, start: int) -> int | None:
    if not block:
        return stated if start <= stated <= len(lines) else None
    width = len(block)
    candidates = [
        at for at in range(start, len(lines) - width + 1) if lines[at : at + width] == block
    ]
    return min(candidates, key=lambda at: abs(at - stated), default=None)
