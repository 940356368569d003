"""Flame graphs from the stacks we already hold: folded text, and self-contained SVGs.

``collapsed()`` writes Brendan Gregg's folded format (``root;...;leaf count``, one line per
distinct stack, sorted) with py-spy's frame labels ``name (file:line)``; a trajectory stores
it so a report can be redrawn from the trajectory alone. ``flamegraph_svg()`` draws folded
stacks as plain rectangles and text; ``diff_flamegraph_svg()`` draws the "after" stacks
coloured by how each frame's share of the samples changed since "before" (Gregg's
differential flame graph). Both come from one autoescaped Jinja2 template: no script, no
external reference, so the SVG can be inlined in a report that must render offline.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from perfagent.tools.profile.model import Frame, Profile, Stack

FRAME_HEIGHT = 16
MIN_SHARE = 0.001  # frames narrower than this share of all samples are not drawn
_PAD = 10  # left and right margin
_HEADER = 44  # room for the title and the subtitle
_FOOTER = 8
_CHAR_W = 6.6  # average advance of an 11 px monospace glyph, for truncating labels
_FONT = "ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace"
_LINE = re.compile(r":\d+\)$")  # the ":line" of a "name (file:line)" label


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


def _delta_colour(delta: float, scale: float) -> str:
    """Red where a frame's share grew, blue where it shrank, white where it held."""
    strength = min(1.0, abs(delta) / scale) if scale > 0 else 0.0
    if strength < 0.01:
        return "rgb(236,236,236)"
    fade = round(235 - 160 * strength)
    return f"rgb(250,{fade},{fade})" if delta > 0 else f"rgb({fade},{fade},250)"


def _fit(label: str, width: float) -> str:
    chars = int((width - 6) / _CHAR_W)
    if chars < 3:
        return ""
    return label if len(label) <= chars else label[: chars - 2] + ".."


_Visible = tuple[str, _Node, float, int, _Node | None]


def _visible(root: _Node, total: int, twin: _Node | None = None) -> list[_Visible]:
    """(label, node, x in samples, depth, the same path in ``twin``) of every frame wide
    enough to draw, in order.

    Iterative: recursive code gives stacks deeper than Python's recursion limit.
    """
    out: list[_Visible] = []
    todo: list[_Visible] = [("all", root, 0.0, 0, twin)]
    while todo:
        label, node, x, depth, other = todo.pop()
        out.append((label, node, x, depth, other))
        children: list[_Visible] = []
        for name in sorted(node.children):
            child = node.children[name]
            if child.count / total >= MIN_SHARE:
                match = other.children.get(name) if other is not None else None
                children.append((name, child, x, depth + 1, match))
            x += child.count
        todo.extend(reversed(children))
    return out


@dataclass(frozen=True)
class _Drawn:
    x: float
    y: int
    w: float
    fill: str
    tip: str
    text: str


@functools.cache
def _template() -> jinja2.Template:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("flamegraph.svg.j2")


def _draw(
    root: _Node,
    *,
    title: str,
    subtitle: str,
    width: int,
    css_class: str,
    twin: _Node | None = None,
    style: Callable[[str, _Node, _Node | None], tuple[str, str]],
) -> str:
    total = root.count
    frames = _visible(root, total, twin) if total else []
    levels = max((depth for _, _, _, depth, _ in frames), default=0) + 1
    height = _HEADER + levels * FRAME_HEIGHT + _FOOTER
    scale = (width - 2 * _PAD) / total if total else 0.0
    drawn = []
    for label, node, start, depth, other in frames:
        x, w = _PAD + start * scale, node.count * scale
        fill, tip = style(label, node, other)
        drawn.append(
            _Drawn(
                x=x,
                y=height - _FOOTER - (depth + 1) * FRAME_HEIGHT,
                w=w,
                fill="rgb(220,220,220)" if depth == 0 and twin is None else fill,
                tip=tip,
                text=_fit(label, w),
            )
        )
    return (
        _template()
        .render(
            css_class=css_class,
            title=title,
            subtitle=subtitle if total else "no samples",
            width=width,
            height=height,
            font=_FONT,
            frame_height=FRAME_HEIGHT,
            frames=drawn,
        )
        .rstrip("\n")
    )


def flamegraph_svg(collapsed: list[str], *, title: str, width: int = 1200) -> str:
    """An SVG flame graph (root at the bottom), one ``<title>`` tooltip per frame."""
    root = _tree(collapsed)

    def style(label: str, node: _Node, _twin: _Node | None) -> tuple[str, str]:
        return _colour(label), f"{label} — {node.count:,} samples ({node.count / root.count:.2%})"

    return _draw(
        root,
        title=title,
        subtitle=f"{root.count:,} samples; width is share of samples, hover for details",
        width=width,
        css_class="flamegraph",
        style=style,
    )


def by_function(lines: Iterable[str]) -> list[str]:
    """Folded stacks with the line numbers dropped from the labels (``name (file)``): an
    edit moves lines, so only functions can be matched between two versions of the code."""
    counts: Counter[str] = Counter()
    for line in lines:
        path, _, count = line.rstrip().rpartition(" ")
        if path and count.isdigit():
            counts[";".join(_LINE.sub(")", name) for name in path.split(";"))] += int(count)
    return [f"{path} {count}" for path, count in sorted(counts.items())]


def diff_flamegraph_svg(
    before: list[str], after: list[str], *, title: str, width: int = 1200
) -> str:
    """The "after" stacks drawn as a flame graph, each frame coloured by the change in its
    share of all samples since "before" (red: grew, blue: shrank; by function, not line).
    A frame's share is the fraction of samples whose stack passes through it, so the colours
    compare where the time goes, not how much there is (the measurements say that)."""
    old, new = _tree(by_function(before)), _tree(by_function(after))

    def change(node: _Node, twin: _Node | None) -> tuple[float, float]:
        was = twin.count / old.count if twin is not None and old.count else 0.0
        return was, node.count / new.count

    frames = _visible(new, new.count, old) if new.count else []
    scale = max((abs(now - was) for _, n, _, _, t in frames for was, now in [change(n, t)]),
                default=0.0)  # fmt: skip

    def style(label: str, node: _Node, twin: _Node | None) -> tuple[str, str]:
        was, now = change(node, twin)
        tip = (
            f"{label} — before {was:.2%} → after {now:.2%} "
            f"({(now - was) * 100:+.2f} points; {node.count:,} samples after)"
        )
        return _delta_colour(now - was, scale), tip

    return _draw(
        new,
        title=title,
        subtitle=(
            f"after: {new.count:,} samples, before: {old.count:,}; red frames take a larger "
            "share than before, blue a smaller one; hover for details"
        ),
        width=width,
        css_class="flamegraph diff",
        twin=old,
        style=style,
    )
