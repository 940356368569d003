"""Flame graphs from the stacks we already hold: folded text, and a self-contained SVG.

``collapsed()`` writes Brendan Gregg's folded format (``root;...;leaf count``, one line per
distinct stack, sorted) with py-spy's frame labels ``name (file:line)``; a trajectory stores
it so a report can be redrawn from the trajectory alone. ``flamegraph_svg()`` draws folded
stacks as plain rectangles and text: no script, no external reference, so the SVG can be
inlined in a report that must render offline.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from html import escape

from perfagent.tools.profile.model import Frame, Profile, Stack

FRAME_HEIGHT = 16
MIN_SHARE = 0.001  # frames narrower than this share of all samples are not drawn
_PAD = 10  # left and right margin
_HEADER = 44  # room for the title and the subtitle
_FOOTER = 8
_CHAR_W = 6.6  # average advance of an 11 px monospace glyph, for truncating labels
_FONT = "ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace"


def frame_label(frame: Frame) -> str:
    """py-spy's label for a frame: ``name (file:line)``; ``;`` is reserved by the format."""
    if not frame.file:
        label = frame.name
    elif frame.line:
        label = f"{frame.name} ({frame.file}:{frame.line})"
    else:
        label = f"{frame.name} ({frame.file})"
    return " ".join(label.replace(";", ":").split())


def collapsed(profile_or_stacks: Profile | Iterable[Stack]) -> list[str]:
    """Folded stacks, root first, duplicates merged, sorted; empty stacks are dropped."""
    stacks = (
        profile_or_stacks.stacks if isinstance(profile_or_stacks, Profile) else profile_or_stacks
    )
    counts: Counter[str] = Counter()
    for stack in stacks:
        if stack.frames and stack.count > 0:
            counts[";".join(frame_label(f) for f in stack.frames)] += stack.count
    return [f"{path} {count}" for path, count in sorted(counts.items())]


@dataclass
class _Node:
    count: int = 0
    children: dict[str, _Node] = field(default_factory=dict)


def _tree(lines: Iterable[str]) -> _Node:
    root = _Node()
    for line in lines:
        path, _, count = line.rstrip().rpartition(" ")
        if not path or not count.isdigit() or int(count) == 0:
            continue
        root.count += int(count)
        node = root
        for name in path.split(";"):
            node = node.children.setdefault(name, _Node())
            node.count += int(count)
    return root


def _colour(label: str) -> str:
    """A warm colour fixed by the function's name (not its line), like flamegraph.pl's."""
    name = label.split(" (", 1)[0]
    digest = hashlib.sha256(name.encode()).digest()
    red = 205 + digest[0] * 50 // 255
    green = digest[1] * 190 // 255
    blue = digest[2] * 55 // 255
    return f"rgb({red},{green},{blue})"


def _fit(label: str, width: float) -> str:
    chars = int((width - 6) / _CHAR_W)
    if chars < 3:
        return ""
    return label if len(label) <= chars else label[: chars - 2] + ".."


def _visible(root: _Node, total: int) -> list[tuple[str, _Node, float, int]]:
    """(label, node, x in samples, depth) of every frame wide enough to draw, in order.

    Iterative: recursive code gives stacks deeper than Python's recursion limit.
    """
    out: list[tuple[str, _Node, float, int]] = []
    todo: list[tuple[str, _Node, float, int]] = [("all", root, 0.0, 0)]
    while todo:
        label, node, x, depth = todo.pop()
        out.append((label, node, x, depth))
        children = []
        for name in sorted(node.children):
            child = node.children[name]
            if child.count / total >= MIN_SHARE:
                children.append((name, child, x, depth + 1))
            x += child.count
        todo.extend(reversed(children))
    return out


def flamegraph_svg(collapsed: list[str], *, title: str, width: int = 1200) -> str:
    """An SVG flame graph (root at the bottom), one ``<title>`` tooltip per frame."""
    root = _tree(collapsed)
    total = root.count
    frames = _visible(root, total) if total else []
    levels = max((depth for *_, depth in frames), default=0) + 1
    height = _HEADER + levels * FRAME_HEIGHT + _FOOTER
    scale = (width - 2 * _PAD) / total if total else 0.0
    subtitle = f"{total:,} samples; width is share of samples, hover for details"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flamegraph" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" style="max-width:100%;height:auto" '
        f'font-family="{escape(_FONT)}" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fdfaf3"/>',
        f'<text x="{width / 2:.0f}" y="18" text-anchor="middle" font-size="14" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<text x="{width / 2:.0f}" y="34" text-anchor="middle" fill="#555">'
        f"{escape(subtitle if total else 'no samples')}</text>",
    ]
    for label, node, start, depth in frames:
        x, w = _PAD + start * scale, node.count * scale
        y = height - _FOOTER - (depth + 1) * FRAME_HEIGHT
        tip = f"{label} — {node.count:,} samples ({node.count / total:.2%})"
        fill = "rgb(220,220,220)" if depth == 0 else _colour(label)
        out.append(
            f'<g><title>{escape(tip)}</title><rect x="{x:.2f}" y="{y}" width="{w:.2f}" '
            f'height="{FRAME_HEIGHT - 1}" rx="2" fill="{fill}"/>'
        )
        if text := _fit(label, w):
            out.append(f'<text x="{x + 3:.2f}" y="{y + 11.5}">{escape(text)}</text>')
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)
