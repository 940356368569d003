"""From sampled stacks to ranked hotspots.

Only samples taken inside the timed call count (the workload file's ``workload()`` or GSO's
``experiment()``), so imports, ``setup()`` and the harness do not dilute the profile. Each
frame is mapped from file:line to its enclosing qualified name with libcst.
"""

from __future__ import annotations

import sysconfig
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from perfagent.tools.edit.locate import enclosing_function
from perfagent.tools.profile.model import Frame, FrameKind, Hotspot, Stack

ENTRY_NAMES = ("workload", "experiment")
_STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()
_HARNESS = Path(__file__).resolve().parents[1] / "bench" / "child"


def classify(frame: Frame, tree: Path, workload_file: Path | None) -> FrameKind:
    if frame.file.startswith("<frozen"):
        return "stdlib"
    if not frame.file or not frame.file.endswith(".py"):
        return "native"
    path = Path(frame.file)
    if workload_file is not None and path == workload_file:
        return "workload"
    if path.is_relative_to(_HARNESS):
        return "harness"
    if path.is_relative_to(tree):
        return "repo"
    if "site-packages" in path.parts or "dist-packages" in path.parts:
        return "third_party"
    if path.is_relative_to(_STDLIB):
        return "stdlib"
    return "third_party"


def timed_part(stacks: Iterable[Stack], workload_file: Path | None) -> list[Stack]:
    """The part of each stack below the timed entry call; stacks outside it are dropped.

    With no workload file (command and pytest workloads) every non-empty stack counts.
    """
    kept = []
    for stack in stacks:
        if workload_file is None:
            if stack.frames:
                kept.append(stack)
            continue
        for index, frame in enumerate(stack.frames):
            if frame.name in ENTRY_NAMES and Path(frame.file) == workload_file:
                kept.append(Stack(stack.frames[index + 1 :], stack.count))
                break
    return kept


def _function_of(frame: Frame, kind: FrameKind) -> tuple[str, tuple[int, int]]:
    if kind == "native" or not frame.line:
        return frame.name, (0, 0)
    info = enclosing_function(Path(frame.file), frame.line)
    if info is None:
        return "<module>", (0, 0)
    return info.qualname, (info.start_line, info.end_line)


def hotspots(
    stacks: list[Stack], tree: Path, workload_file: Path | None, *, top_lines: int | None = None
) -> tuple[list[Hotspot], list[Hotspot], dict[str, float], int]:
    """Rank functions by inclusive then self share; split repo from external code."""
    total = sum(s.count for s in stacks)
    inclusive: Counter[tuple[str, str]] = Counter()
    own: Counter[tuple[str, str]] = Counter()
    lines: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
    meta: dict[tuple[str, str], tuple[FrameKind, tuple[int, int]]] = {}
    leaf_kinds: Counter[str] = Counter()
    for stack in stacks:
        seen: set[tuple[str, str]] = set()
        seen_lines: set[tuple[tuple[str, str], int]] = set()
        leaf_kind: FrameKind | None = None
        for depth, frame in enumerate(stack.frames):
            kind = classify(frame, tree, workload_file)
            if kind in ("harness", "workload"):
                continue
            qualname, span = _function_of(frame, kind)
            key = (frame.file, qualname)
            meta.setdefault(key, (kind, span))
            if key not in seen:
                inclusive[key] += stack.count
                seen.add(key)
            if frame.line and (key, frame.line) not in seen_lines:
                # once per stack: a generator on the line of its caller is the same time
                lines[key][frame.line] += stack.count
                seen_lines.add((key, frame.line))
            if depth == len(stack.frames) - 1:
                own[key] += stack.count
                leaf_kind = kind
        leaf_kinds[leaf_kind or "workload"] += stack.count
    spots = []
    for key, count in inclusive.items():
        kind, span = meta[key]
        file = key[0]
        if kind == "repo":
            file = str(Path(file).relative_to(tree))
        hot = [(line, n / total) for line, n in lines[key].most_common(top_lines)]
        spots.append(
            Hotspot(key[1], file, span, count / total, own[key] / total, kind, count, own[key], hot)
        )
    spots.sort(key=lambda h: (-h.inclusive, -h.self, h.file, h.qualname))
    repo = [h for h in spots if h.kind == "repo"]
    external = [h for h in spots if h.kind != "repo"]
    shares = {kind: n / total for kind, n in leaf_kinds.items()} if total else {}
    return repo, external, shares, total
