"""SEARCH/REPLACE blocks in model output, parsed tolerantly.

Accepted: 5–9 marker characters (``<<<<<<< SEARCH``, ``=======``, ``>>>>>>> REPLACE``, any
case), code fences around blocks (with or without a language), prose between blocks, CRLF.
The file of a block is, in order: a path on the line just before the block (or just before
its opening fence, or in the fence's info string, or after ``SEARCH`` on the marker line) —
taken as *stated*; else the last file name mentioned in the prose since the previous block —
*mentioned*; else the previous block's file. A block whose ``>>>>>>> REPLACE`` is missing is
accepted when a closing fence ends it (the model forgot the marker) and refused when the
output just stops (it was cut off: applying half a replacement would delete code).
"""

from __future__ import annotations

import re

from perfagent.tools.edit.errors import BlockFailure, EditError
from perfagent.tools.edit.model import PathSource, SearchReplace
from perfagent.tools.edit.paths import normalize_path

SEARCH_RE = re.compile(r"^\s*<{5,9}\s*SEARCH\b\s*(?P<rest>.*?)\s*$", re.I)
DIVIDER_RE = re.compile(r"^\s*={5,9}\s*$")
REPLACE_RE = re.compile(r"^\s*>{5,9}\s*REPLACE\b.*$", re.I)
FENCE_RE = re.compile(r"^\s*(?:```+|~~~+)\s*(?P<info>[^`]*?)\s*$")
_PATHISH = re.compile(r"^(?:[\w.\-]+/)*[\w.\-]*\w\.[A-Za-z]\w*$")
_MENTION = re.compile(
    r"(?<![\w/.\-])((?:[\w.\-]+/)*[\w\-]+\.(?:py|pyi|pyx|pxd|toml|cfg|ini|txt|json|ya?ml|c|h|cpp))\b"
)
_DECORATION = re.compile(r"^(?:#+|\*+|>+|[-+]\s)\s*")
_LABEL = re.compile(r"^(?:file(?:name)?|path)\s*[:=]\s*", re.I)


def as_path(line: str) -> str | None:
    """``line`` if it is just a file name (maybe in backticks, bold, a heading, ``File:``)."""
    text = _DECORATION.sub("", line.strip())
    text = _LABEL.sub("", text.strip("*`'\" ")).strip("*`'\" ").rstrip(":").strip("*`'\" ")
    text = text.replace("\\", "/")
    return normalize_path(text) if _PATHISH.match(text) else None


def is_fence(line: str) -> bool:
    return FENCE_RE.match(line) is not None


def _fence_path(line: str) -> str | None:
    match = FENCE_RE.match(line)
    if match is None:
        return None
    tokens = match["info"].split()
    return next((p for p in map(as_path, tokens) if p is not None), None)


def _find_path(lines: list[str], lo: int, at: int) -> tuple[str | None, PathSource]:
    """The file named for the block starting at ``at`` (see the module docstring)."""
    rest = SEARCH_RE.match(lines[at])
    if rest is not None and rest["rest"] and (path := as_path(rest["rest"])):
        return path, "stated"
    j = at - 1
    for _ in range(2):  # at most: a fence, then the line before it
        while j >= lo and not lines[j].strip():
            j -= 1
        if j < lo:
            break
        if is_fence(lines[j]):
            if path := _fence_path(lines[j]):
                return path, "stated"
            j -= 1
            continue
        if path := as_path(lines[j]):
            return path, "stated"
        break
    for line in reversed(lines[lo:at]):
        mentions = _MENTION.findall(line)
        if mentions:
            return normalize_path(mentions[-1]), "mentioned"
    return None, "none"


def _malformed(block: int, label: str, detail: str, hint: str) -> EditError:
    return EditError([BlockFailure("malformed", detail, block=block, label=label, hint=hint)])


def _ends_at_fence(lines: list[str], j: int) -> bool:
    """A bare closing fence at ``j`` with no REPLACE marker before the next block or the end."""
    fence = FENCE_RE.match(lines[j])
    if fence is None or fence["info"]:
        return False
    for line in lines[j + 1 :]:
        if REPLACE_RE.match(line):
            return False
        if SEARCH_RE.match(line):
            return True
    return True


def parse_blocks(lines: list[str]) -> list[tuple[int, SearchReplace]]:
    """Every SEARCH/REPLACE block, with the index of its first line. Raises ``EditError``
    ("malformed") for a block that is cut off or has its markers out of order."""
    found: list[tuple[int, SearchReplace]] = []
    lo, i, n = 0, 0, len(lines)
    previous: str | None = None
    while i < n:
        if not SEARCH_RE.match(lines[i]):
            i += 1
            continue
        number = len(found) + 1
        path, source = _find_path(lines, lo, i)
        if path is None and previous is not None:
            path, source = previous, "previous block"
        j = i + 1
        search: list[str] = []
        while j < n and not DIVIDER_RE.match(lines[j]):
            if SEARCH_RE.match(lines[j]) or REPLACE_RE.match(lines[j]):
                raise _malformed(
                    number,
                    "(SEARCH)",
                    f"a marker at output line {j + 1} before the ======= line",
                    "each block is SEARCH marker, old lines, =======, new lines, REPLACE marker",
                )
            search.append(lines[j])
            j += 1
        label = SearchReplace(path, "\n".join(search), "").label
        if j == n:
            raise _malformed(
                number, label, "no ======= line: the output was cut off", "send the block again"
            )
        j += 1
        replace: list[str] = []
        while j < n and not REPLACE_RE.match(lines[j]):
            if SEARCH_RE.match(lines[j]):
                raise _malformed(
                    number,
                    label,
                    f"no >>>>>>> REPLACE line before the next block (output line {j + 1})",
                    "end every block with >>>>>>> REPLACE",
                )
            if _ends_at_fence(lines, j):
                break
            replace.append(lines[j])
            j += 1
        if j == n:
            raise _malformed(
                number,
                label,
                "no >>>>>>> REPLACE line: the output was cut off",
                "send the block again, complete",
            )
        text_s = "\n".join(search) + "\n" if search else ""
        text_r = "\n".join(replace) + "\n" if replace else ""
        found.append((i, SearchReplace(path, text_s, text_r, source)))
        previous = path if path is not None else previous
        lo = i = j + 1
    return found
