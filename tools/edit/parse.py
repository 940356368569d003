"""From raw model output to edits, whatever the format (or mix of formats).

Three formats are recognised anywhere in the text, and returned in the order they appear:

- SEARCH/REPLACE blocks (``tools.edit.blocks``);
- unified diffs (``tools.edit.udiff``);
- function rewrites: a line ``path/to/file.py::Qualified.name`` (optionally in backticks,
  bold, a heading, or after ``Rewrite``) followed by a fenced code block with the new source.
"""

from __future__ import annotations

import re

from perfagent.tools.edit.blocks import FENCE_RE, parse_blocks
from perfagent.tools.edit.errors import BlockFailure, EditError
from perfagent.tools.edit.model import Edit, FunctionRewrite
from perfagent.tools.edit.paths import normalize_path
from perfagent.tools.edit.text import normalize_newlines, split_lines
from perfagent.tools.edit.udiff import parse_diffs

REWRITE_RE = re.compile(
    r"^\s*(?:#+\s*)?[*`]*(?:rewrite:?\s+)?[*`]*"
    r"(?P<path>[\w.\-/\\]+\.pyi?)::(?P<qualname>[\w.<>]+)[*`]*:?\s*$",
    re.I,
)

FORMATS = (
    "Use SEARCH/REPLACE blocks: the file path on its own line, then '<<<<<<< SEARCH', the exact"
    " current lines, '=======', the new lines, '>>>>>>> REPLACE'; or a unified diff; or a line"
    " 'path/to/file.py::Class.method' followed by a fenced block with the whole new function."
)


def parse_rewrites(lines: list[str]) -> list[tuple[int, FunctionRewrite]]:
    """Function rewrites: a ``path::qualname`` line, then a fenced block."""
    found: list[tuple[int, FunctionRewrite]] = []
    i, n = 0, len(lines)
    while i < n:
        header = REWRITE_RE.match(lines[i])
        if header is None:
            i += 1
            continue
        j = i + 1
        while j < n and not lines[j].strip():
            j += 1
        if j == n or not FENCE_RE.match(lines[j]):
            i += 1  # a mention in prose, not a rewrite
            continue
        k = j + 1
        while k < n and not re.match(r"^\s*(?:```+|~~~+)\s*$", lines[k]):
            k += 1
        target = f"{header['path']}::{header['qualname']}"
        if k == n:
            raise EditError(
                [
                    BlockFailure(
                        "malformed",
                        "the code block has no closing fence: the output was cut off",
                        path=normalize_path(header["path"]),
                        block=len(found) + 1,
                        label=f"rewrite {target}",
                        hint="send the rewrite again, complete",
                    )
                ]
            )
        source = "\n".join(lines[j + 1 : k]) + "\n"
        found.append(
            (i, FunctionRewrite(normalize_path(header["path"]), header["qualname"], source))
        )
        i = k + 1
    return found


def parse_edits(text: str) -> list[Edit]:
    """Every edit in ``text``, in order. Raises ``EditError``: "malformed" for a block that
    cannot be used (e.g. cut off), "no edits" when there is none."""
    lines = split_lines(normalize_newlines(text))
    found: list[tuple[int, Edit]] = [*parse_blocks(lines), *parse_diffs(lines)]
    found += parse_rewrites(lines)
    if not found:
        raise EditError(
            [BlockFailure("no edits", "no edit blocks found in the output", hint=FORMATS)]
        )
    return [edit for _, edit in sorted(found, key=lambda pair: pair[0])]
