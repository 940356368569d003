"""Profile outputs: a speedscope file for flame graphs, and a prompt-sized text summary."""

from __future__ import annotations

import json
from pathlib import Path

from perfagent.tools.profile.model import Frame, Hotspot, Profile, Stack

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


def summary_text(
    profile: Profile, *, token_budget: int = 800, top: int = 15, paths: int = 3
) -> str:
    """A compact summary for a model prompt; rows are dropped to stay within the budget.

    Functions come in the profile's order, by savable share (what an edit of the function
    can remove: its own time and its lines' calls into non-repo code); the call paths of the
    first ``paths`` show which repo frames lead there."""
    budget = token_budget * CHARS_PER_TOKEN
    shares = ", ".join(
        f"{kind} {share:.0%}"
        for kind, share in sorted(profile.outside_share.items(), key=lambda kv: -kv[1])
    )
    lines = [
        f"Profile of {profile.workload} ({profile.backend}, {profile.total_samples} samples "
        f"at {profile.rate_hz} Hz). Where the time is spent (leaf frames): {shares}.",
    ]
    if not profile.ranked:
        lines.append(
            f"Only {profile.total_samples} samples (floor {profile.sample_floor}): too few to"
            " rank; the functions below were seen, their order is not reliable."
        )
    lines.append(
        "Hot functions in the repository (savable% = own time + its lines' calls into"
        " non-repo code; inclusive% self% qualname file:lines; lines by savable share):"
    )
    used = sum(len(x) + 1 for x in lines)
    shown = 0
    spots = [s for s in profile.hotspots if not s.passthrough]
    for spot in spots[:top]:
        per_line = spot.savable_lines or spot.hot_lines
        hot = ", ".join(f"L{line} {share:.0%}" for line, share in per_line[:3])
        row = (
            f"{spot.savable:6.1%} {spot.inclusive:6.1%} {spot.self:6.1%} {spot.qualname} "
            f"{spot.file}:{spot.lines[0]}-{spot.lines[1]}; {hot}"
        )
        if used + len(row) + 1 > budget:
            break
        lines.append(row)
        used += len(row) + 1
        shown += 1
    if shown < min(top, len(spots)):
        lines.append(f"({len(spots) - shown} more functions not shown)")
    extra = [*_path_rows(spots[: min(paths, shown)]), *_passthrough_row(profile)]
    for row in extra:
        if used + len(row) + 1 <= budget:
            lines.append(row)
            used += len(row) + 1
    external = [s for s in profile.external if s.inclusive >= 0.05][:5]
    if external:
        row = "Outside the repo: " + "; ".join(
            f"{s.qualname} ({s.kind}) {s.inclusive:.0%}" for s in external
        )
        if used + len(row) + 1 <= budget:
            lines.append(row)
    return "\n".join(lines)


def _path_rows(spots: list[Hotspot]) -> list[str]:
    rows = [
        f"Call path to {s.qualname} ({s.call_path_share:.0%} of samples): "
        + " → ".join(["workload", *s.call_path])
        for s in spots
        if len(s.call_path) > 1
    ]
    return rows


def _passthrough_row(profile: Profile) -> list[str]:
    folded = [s for s in profile.hotspots if s.passthrough][:5]
    if not folded:
        return []
    names = ", ".join(f"{s.qualname} ({s.inclusive:.0%} inclusive)" for s in folded)
    return [f"Pass-through frames (wrappers/dispatchers; time folded into callees): {names}"]
