"""From sampled stacks to ranked hotspots.

Only samples taken inside the timed call count (the workload file's ``workload()`` or GSO's
``experiment()``), so imports, ``setup()`` and the harness do not dilute the profile. Each
frame is mapped from file:line to its enclosing qualified name with libcst. Repo functions are
ranked by the time an edit of them can remove (``savable.py``), not by inclusive share.
"""

from __future__ import annotations

import sysconfig
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

from perfagent.tools.edit.locate import enclosing_function
from perfagent.tools.profile import savable
from perfagent.tools.profile.model import Frame, FrameKind, Hotspot, Stack
from perfagent.tools.profile.savable import Key

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
    """Rank functions by savable share (``savable.py``), then inclusive and self share; split
    repo from external code. Pass-through frames rank last."""
    total = sum(s.count for s in stacks)
    inclusive: Counter[Key] = Counter()
    own: Counter[Key] = Counter()
    lines: dict[Key, Counter[int]] = defaultdict(Counter)
    meta: dict[Key, tuple[FrameKind, tuple[int, int]]] = {}
    callees: dict[Key, Counter[Key]] = defaultdict(Counter)
    repo_frames: list[tuple[list[tuple[Key, int]], int]] = []
    leaf_kinds: Counter[str] = Counter()
    for stack in stacks:
        seen: set[Key] = set()
        seen_lines: set[tuple[Key, int]] = set()
        leaf_kind: FrameKind | None = None
        chain: list[tuple[Key, int]] = []
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
            if kind == "repo" and qualname != "<module>":
                if chain and chain[-1][0] != key:
                    callees[chain[-1][0]][key] += stack.count
                chain.append((key, frame.line))
        repo_frames.append((chain, stack.count))
        leaf_kinds[leaf_kind or "workload"] += stack.count
    stats = {
        key: savable.FunctionStats(meta[key][1], inclusive[key], own[key], lines[key], callees[key])
        for key in inclusive
        if meta[key][0] == "repo"
    }
    skip = {key for key, st in stats.items() if savable.passthrough(key, st)}
    owned = savable.attribute(repo_frames, skip)
    spots = []
    for key, count in inclusive.items():
        kind, span = meta[key]
        file = key[0]
        if kind == "repo":
            file = str(Path(file).relative_to(tree))
        hot = [(line, n / total) for line, n in lines[key].most_common(top_lines)]
        spot = Hotspot(
            key[1], file, span, count / total, own[key] / total, kind, count, own[key], hot
        )
        if kind == "repo":
            spot.samples_savable = owned.owned[key]
            spot.savable = owned.owned[key] / total
            spot.savable_lines = [
                (line, n / total) for line, n in owned.lines[key].most_common(top_lines)
            ]
            spot.passthrough = key in skip
            paths = owned.paths.get(key)
            if paths:
                path, n = paths.most_common(1)[0]
                spot.call_path, spot.call_path_share = list(path), n / total
        spots.append(spot)
    spots.sort(key=lambda h: (h.passthrough, -h.savable, -h.inclusive, -h.self, h.file, h.qualname))
    repo = [h for h in spots if h.kind == "repo"]
    external = [h for h in spots if h.kind != "repo"]
    shares = {kind: n / total for kind, n in leaf_kinds.items()} if total else {}
    return repo, external, shares, total
