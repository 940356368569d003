"""Cells and tables of a report, and how its numbers are written (not yet escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DASH = "—"
Tone = str  # "good", "bad", "warn" or "" (no colour)
_VERDICT_TONE = {"faster": "good", "slower": "bad", "inconclusive": "warn", "mixed": "warn"}


@dataclass(frozen=True)
class Cell:
    text: str
    code: bool = False  # an identifier, path or id: monospace, never markup
    tone: Tone = ""


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]] = field(default_factory=list)
    numeric: frozenset[str] = frozenset()  # right-aligned columns

    def add(self, *cells: Cell | str) -> None:
        self.rows.append([c if isinstance(c, Cell) else Cell(c) for c in cells])


def dig(data: Any, *keys: str | int) -> Any:
    """``data[k1][k2]...``, or None as soon as a level is missing or null."""
    for key in keys:
        if isinstance(data, Mapping):
            data = data.get(key)
        elif isinstance(data, list) and isinstance(key, int) and -len(data) <= key < len(data):
            data = data[key]
        else:
            return None
    return data


def speedup(value: Any) -> str:
    return f"{value:.3f}×" if isinstance(value, int | float) else DASH


def interval(ci: Any) -> str:
    if (
        isinstance(ci, list | tuple)
        and len(ci) == 2
        and all(isinstance(x, int | float) for x in ci)
    ):
        return f"[{ci[0]:.3f}, {ci[1]:.3f}]"
    return DASH


def speedup_ci(value: Any, ci: Any) -> str:
    text = speedup(value)
    return text if interval(ci) == DASH else f"{text} {interval(ci)}"


def yes_no(value: Any) -> Cell:
    if value is None:
        return Cell("unknown")
    return Cell("yes", tone="good") if value else Cell("NO", tone="bad")


def verdict(value: Any) -> Cell:
    return Cell(str(value), tone=_VERDICT_TONE.get(str(value), "")) if value else Cell(DASH)


def share(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else DASH


def seconds(value: Any) -> str:
    return f"{value:,.1f} s" if isinstance(value, int | float) else DASH


def median(value: Any, metric: Any) -> str:
    if not isinstance(value, int | float):
        return DASH
    if metric == "instructions":
        return f"{value / 1e6:,.1f} M instr"
    return f"{value * 1000:,.2f} ms" if value < 10 else f"{value:,.2f} s"


def text(value: Any) -> str:
    """One line of display text for any scalar; None is a dash."""
    if value is None or value == "":
        return DASH
    return " ".join(str(value).split())
