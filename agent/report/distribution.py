"""The distribution plot of report.html: every fresh process's time, per variant, per workload.

One panel per workload, one row per variant (base, expert, candidate): each run a dot, a box
from the lower to the upper quartile with the median marked, whiskers to the furthest run
within 1.5 interquartile ranges, and a band for the confidence interval of the variant's
speedup drawn as times (base median ÷ the interval's ends), so a reader sees which runs the
verdict rests on. Geometry only; ``templates/distribution.svg.j2`` draws it (no script).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from perfagent.agent.report.cells import dig, interval, median, speedup

WIDTH = 1180
LABEL_W = 96  # variant names, left of the axis
NOTE_W = 280  # median, speedup and runs, right of the axis
ROW_H = 30
TOP = 30  # the panel's title
AXIS_H = 30  # ticks and their labels
_GOLDEN = (math.sqrt(5) - 1) / 2
COLOURS = {"base": "#6e7781", "expert": "#8250df", "candidate": "#1a7f37"}


@dataclass(frozen=True)
class Row:
    variant: str
    y: float  # the row's centre
    colour: str
    dots: list[tuple[float, float]]  # (x, y) of every run
    box: tuple[float, float, float]  # x of the lower quartile, the median, the upper quartile
    whiskers: tuple[float, float]
    band: tuple[float, float] | None  # x range of the CI band
    note: str
    tip: str


@dataclass(frozen=True)
class Panel:
    title: str
    y: float  # top of the panel within the whole SVG
    height: float
    rows: list[Row]
    ticks: list[tuple[float, str]]  # (x, label)
    axis_y: float  # relative to the panel's top


@dataclass
class Plot:
    width: int
    height: float
    panels: list[Panel] = field(default_factory=list)
    confidence: str = "95% CI"
    plot_left: float = LABEL_W
    plot_right: float = WIDTH - NOTE_W


def _nice_ticks(low: float, high: float, count: int = 6) -> list[float]:
    span = high - low
    if span <= 0:
        return [low]
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _numbers(values: Any) -> list[float]:
    if not isinstance(values, list):
        return []
    return [float(v) for v in values if isinstance(v, int | float) and math.isfinite(v)]


def _series(workload: Mapping[str, Any]) -> list[tuple[str, list[float], Any, Any]]:
    """(variant, run values, speedup, CI) in display order; variants without runs left out."""
    out: list[tuple[str, list[float], Any, Any]] = []
    base = _numbers(workload.get("base_values"))
    if base:
        out.append(("base", base, 1.0, None))
    for name in ("expert", "candidate"):
        variant = dig(workload, "variants", name)
        values = _numbers(dig(variant, "values"))
        if values:
            out.append((name, values, dig(variant, "speedup"), dig(variant, "ci")))
    return out


def _band(base_median: Any, ci: Any) -> tuple[float, float] | None:
    if not isinstance(base_median, int | float) or interval(ci) == "—" or min(ci) <= 0:
        return None
    return base_median / ci[1], base_median / ci[0]


def _panel(workload: Mapping[str, Any], metric: Any, top: float) -> Panel | None:
    series = _series(workload)
    if not series:
        return None
    base_median = workload.get("base_median")
    bands = [_band(base_median, ci) for _, _, _, ci in series]
    extent = [v for _, values, _, _ in series for v in values]
    extent += [x for band in bands if band for x in band]
    low, high = min(extent), max(extent)
    pad = (high - low) * 0.05 or abs(high) * 0.05 or 1.0
    low, high = max(0.0, low - pad), high + pad
    left, right = LABEL_W, WIDTH - NOTE_W

    def x(value: float) -> float:
        return left + (value - low) / (high - low) * (right - left)

    rows = []
    for index, ((name, values, gain, ci), band) in enumerate(zip(series, bands, strict=True)):
        centre = TOP + index * ROW_H + ROW_H / 2
        q1, mid, q3 = (float(q) for q in np.percentile(values, [25, 50, 75]))
        reach = 1.5 * (q3 - q1)
        inside = [v for v in values if q1 - reach <= v <= q3 + reach] or values
        # Golden-ratio offsets spread the dots over the row without randomness: the same
        # trajectory always draws the same picture.
        dots = [
            (x(v), centre + ((i * _GOLDEN) % 1.0 - 0.5) * (ROW_H - 12))
            for i, v in enumerate(values)
        ]
        ratio = "" if name == "base" else f" · {speedup(gain)} {interval(ci)}"
        rows.append(
            Row(
                variant=name,
                y=centre,
                colour=COLOURS[name],
                dots=dots,
                box=(x(q1), x(mid), x(q3)),
                whiskers=(x(min(inside)), x(max(inside))),
                band=(x(band[0]), x(band[1])) if band else None,
                note=f"{median(mid, metric)}{ratio} · {len(values)} runs",
                tip=(
                    f"{name}: median {median(mid, metric)}, quartiles {median(q1, metric)} – "
                    f"{median(q3, metric)}, {len(values)} runs"
                ),
            )
        )
    axis_y = TOP + len(rows) * ROW_H + 4
    ticks = [(x(t), median(t, metric)) for t in _nice_ticks(low, high)]
    name = f"{workload.get('name')}{' (hidden)' if workload.get('hidden') else ''}"
    return Panel(title=name, y=top, height=axis_y + AXIS_H, rows=rows, ticks=ticks, axis_y=axis_y)


def distribution_plot(report: Mapping[str, Any], confidence: str) -> Plot | None:
    """The plot's geometry for a final MeasureReport, or None when it recorded no runs."""
    plot = Plot(width=WIDTH, height=0.0, confidence=confidence)
    top = 0.0
    workloads: Sequence[Any] = report.get("workloads") or []
    for workload in workloads:
        panel = _panel(workload, report.get("metric"), top) if isinstance(workload, dict) else None
        if panel is not None:
            plot.panels.append(panel)
            top += panel.height + 12
    plot.height = top
    return plot if plot.panels else None
