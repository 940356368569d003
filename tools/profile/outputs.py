"""Profile outputs: a speedscope file for flame graphs, and a prompt-sized text summary."""

from __future__ import annotations

import json
from pathlib import Path

from perfagent.tools.profile.model import Frame, Profile, Stack

SPEEDSCOPE_SCHEMA = "https://www.speedscope.app/file-format-schema.json"
CHARS_PER_TOKEN = 4  # a rough, conservative budget conversion for code-heavy text


def _sampled(
    name: str, stacks: list[Stack], index: dict[Frame, int], frames: list[dict[str, object]]
) -> dict[str, object]:
    samples: list[list[int]] = []
    weights: list[int] = []
    for stack in stacks:
        ids = []
        for frame in stack.frames:
            if frame not in index:
                index[frame] = len(frames)
                frames.append({"name": frame.name, "file": frame.file, "line": frame.line})
            ids.append(index[frame])
        samples.append(ids)
        weights.append(stack.count)
    return {
        "type": "sampled",
        "name": name,
        "unit": "none",
        "startValue": 0,
        "endValue": sum(weights),
        "samples": samples,
        "weights": weights,
    }


def write_speedscope(profile: Profile, path: Path) -> None:
    """Speedscope 'sampled' profiles: the timed part (py-spy), and perf's native one."""
    index: dict[Frame, int] = {}
    frames: list[dict[str, object]] = []
    profiles = [
        _sampled(f"{profile.workload} (py-spy, timed calls)", profile.stacks, index, frames)
    ]
    if profile.native_stacks:
        profiles.append(
            _sampled(
                f"{profile.workload} (perf, whole process)", profile.native_stacks, index, frames
            )
        )
    document = {
        "$schema": SPEEDSCOPE_SCHEMA,
        "exporter": "perfagent",
        "name": profile.workload,
        "activeProfileIndex": 0,
        "shared": {"frames": frames},
        "profiles": profiles,
    }
    path.write_text(json.dumps(document), encoding="utf-8")


def summary_text(profile: Profile, *, token_budget: int = 800, top: int = 15) -> str:
    """A compact summary for a model prompt; rows are dropped to stay within the budget."""
    budget = token_budget * CHARS_PER_TOKEN
    shares = ", ".join(
        f"{kind} {share:.0%}"
        for kind, share in sorted(profile.outside_share.items(), key=lambda kv: -kv[1])
    )
    lines = [
        f"Profile of {profile.workload} ({profile.backend}, {profile.total_samples} samples "
        f"at {profile.rate_hz} Hz). Where the time is spent (leaf frames): {shares}.",
        "Hot functions in the repository (inclusive% self% qualname file:lines; hottest lines):",
    ]
    used = sum(len(x) + 1 for x in lines)
    shown = 0
    for spot in profile.hotspots[:top]:
        hot = ", ".join(f"L{line} {share:.0%}" for line, share in spot.hot_lines[:3])
        row = (
            f"{spot.inclusive:6.1%} {spot.self:6.1%} {spot.qualname} "
            f"{spot.file}:{spot.lines[0]}-{spot.lines[1]}; {hot}"
        )
        if used + len(row) + 1 > budget:
            break
        lines.append(row)
        used += len(row) + 1
        shown += 1
    if shown < min(top, len(profile.hotspots)):
        lines.append(f"({len(profile.hotspots) - shown} more functions not shown)")
    external = [s for s in profile.external if s.inclusive >= 0.05][:5]
    if external:
        row = "Outside the repo: " + "; ".join(
            f"{s.qualname} ({s.kind}) {s.inclusive:.0%}" for s in external
        )
        if used + len(row) + 1 <= budget:
            lines.append(row)
    return "\n".join(lines)
