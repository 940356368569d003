"""Published reference figures of a row → the task's ``reference`` (never re-measured here).

- SWE-fficiency: ``speedup`` (the expert's speedup the collection measured), and
  SWE-fficiency-style ``notes`` holding ``Before Mean: …`` / ``After Mean: …`` (seconds, or
  with a unit: ``s``, ``ms``, ``us``/``µs``, ``ns``);
- SWE-Perf: ``duration_changes`` (base and head seconds of the efficiency tests; see
  ``sweperf``), with ``human_performance`` kept in the note;
- any row: ``expert_speedup`` or ``gt_speedup`` when a collection publishes one (GSO's rows do
  not carry one).
"""

from __future__ import annotations

import math
import re
from typing import Any

from perfagent.tools.tasksets.fields import Row
from perfagent.tools.tasksets.model import Note

SPEEDUP_FIELDS = ("expert_speedup", "gt_speedup", "speedup")
_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
_NUMBER = r"([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"
_MEAN = r"{which}\s*mean\s*(?:\(s\))?\s*[:=]\s*" + _NUMBER + r"\s*(µs|us|ms|ns|sec|s)?\b"


def _positive(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def _mean(text: str, which: str) -> float | None:
    match = re.search(_MEAN.format(which=which), text, re.IGNORECASE)
    if match is None:
        return None
    value = _positive(match.group(1))
    return None if value is None else value * _UNITS[(match.group(2) or "").lower()]


def from_row(row: Row, source: str) -> tuple[dict[str, Any] | None, list[Note]]:
    """The ``reference`` mapping of a row (None without figures) and a note saying so."""
    reference: dict[str, Any] = {"source": source}
    said = []
    for name in SPEEDUP_FIELDS:
        value = _positive(row.get(name))
        if value is not None:
            reference["expert_speedup"] = value
            said.append(f"`{name}` {value:g}×")
            break
    notes = row.get("notes")
    if isinstance(notes, str):
        before, after = _mean(notes, "before"), _mean(notes, "after")
        if before is not None and after is not None:
            reference |= {"base_s": before, "expert_s": after}
            said.append(f"`notes` Before Mean {before:.6g} s / After Mean {after:.6g} s")
    if len(reference) == 1:
        return None, []
    text = f"{source}'s published figures → `reference` ({', '.join(said)}): `batch --oracle` "
    text += "sets what it measures beside them."
    return reference, [Note("translated", text)]


def from_timings(source: str, base_s: float, expert_s: float, note: str) -> dict[str, Any]:
    return {
        "source": source,
        "base_s": float(f"{base_s:.6g}"),
        "expert_s": float(f"{expert_s:.6g}"),
        "note": note,
    }
