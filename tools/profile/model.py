"""Profile data: stacks of frames, and hotspots ranked from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

FrameKind = Literal["repo", "workload", "stdlib", "third_party", "native", "harness"]


@dataclass(frozen=True)
class Frame:
    name: str  # function name as the sampler saw it (C symbol for native frames)
    file: str  # absolute path, or the shared object for native frames
    line: int  # 0 when unknown


@dataclass(frozen=True)
class Stack:
    frames: tuple[Frame, ...]  # root first
    count: int


@dataclass
class Hotspot:
    """A function, ranked by its share of the workload's samples."""

    qualname: str
    file: str  # relative to the repo root for repo code
    lines: tuple[int, int]  # first and last line of the function (0, 0 if unknown)
    inclusive: float  # share of samples with this function on the stack
    self: float  # share of samples with this function as the leaf
    kind: FrameKind = "repo"
    samples_inclusive: int = 0
    samples_self: int = 0
    # (line, share of all samples with this function on that line), every sampled line,
    # hottest first: what a rewrite of those lines can save at most.
    hot_lines: list[tuple[int, float]] = field(default_factory=list)
    # Time an edit of this function can remove: samples whose deepest repo frame (pass-through
    # frames skipped) is this function, i.e. its own time plus what its lines spend in
    # non-repo code (builtins, stdlib, third-party, native). The ranking key.
    savable: float = 0.0
    samples_savable: int = 0
    # (line, savable share) per line, hottest first: the lines' own cost, not their callees'.
    savable_lines: list[tuple[int, float]] = field(default_factory=list)
    # A decorator wrapper, cache wrapper or dispatcher whose hot line only delegates to
    # another repo function: its time is folded into that callee, and it is no target.
    passthrough: bool = False
    # The most frequent chain of repo functions from the workload down to this one (root
    # first, pass-through frames left out), and the share of samples on that chain.
    call_path: list[str] = field(default_factory=list)
    call_path_share: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hotspot:
        """The inverse of ``to_json`` after JSON (lists back to tuples); unknown keys of a newer
        or older record are ignored, missing ones take their defaults."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["lines"] = tuple(values.get("lines", (0, 0)))
        for key in ("hot_lines", "savable_lines"):
            values[key] = [(int(a), float(b)) for a, b in values.get(key, [])]
        values["call_path"] = [str(name) for name in values.get("call_path", [])]
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = list(self.lines)
        data["hot_lines"] = [list(pair) for pair in self.hot_lines]
        data["savable_lines"] = [list(pair) for pair in self.savable_lines]
        return data


@dataclass
class Profile:
    backend: str  # "py-spy" or "perf"
    workload: str
    total_samples: int
    rate_hz: int
    duration_s: float
    native: bool
    hotspots: list[Hotspot]  # functions in the repo under test, hottest first
    external: list[Hotspot]  # hottest functions outside it (stdlib, third-party, native)
    outside_share: dict[str, float]  # share of samples whose leaf is in each kind of code
    stacks: list[Stack] = field(default_factory=list)
    # perf's native samples cover the whole process (start-up, setup, timed calls): perf
    # cannot see Python frames, so they cannot be cut to the timed call like py-spy's.
    native_hotspots: list[Hotspot] = field(default_factory=list)
    native_stacks: list[Stack] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # The sample floor the profiler aimed for; below it the ranking is not trustworthy and
    # ``ranked`` is False (the hotspots are then listed by savable time but not ranked).
    sample_floor: int = 0
    ranked: bool = True

    def to_json(self, *, with_stacks: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_stacks:
            data.pop("stacks")
            data.pop("native_stacks")
        for key in ("hotspots", "external", "native_hotspots"):
            data[key] = [spot.to_json() for spot in getattr(self, key)]
        return data
