"""Profile data: stacks of frames, and hotspots ranked from them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["lines"] = list(self.lines)
        data["hot_lines"] = [list(pair) for pair in self.hot_lines]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Hotspot:
        """The inverse of ``to_json`` (KeyError, TypeError or ValueError when malformed)."""
        return cls(
            qualname=str(data["qualname"]),
            file=str(data["file"]),
            lines=(int(data["lines"][0]), int(data["lines"][1])),
            inclusive=float(data["inclusive"]),
            self=float(data["self"]),
            kind=data.get("kind", "repo"),
            samples_inclusive=int(data.get("samples_inclusive", 0)),
            samples_self=int(data.get("samples_self", 0)),
            hot_lines=[(int(a), float(b)) for a, b in data.get("hot_lines", [])],
        )


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

    def to_json(self, *, with_stacks: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not with_stacks:
            data.pop("stacks")
            data.pop("native_stacks")
        for key in ("hotspots", "external", "native_hotspots"):
            data[key] = [spot.to_json() for spot in getattr(self, key)]
        return data
