"""Exponential smoothing."""

from __future__ import annotations

from typing import Sequence


def exponential_moving_average(values: Sequence[float], alpha: float) -> list[float]:
    """Exponentially weighted moving average, seeded with the first reading.

    ``alpha`` in ``(0, 1]`` is the weight of the newest reading.
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be in (0, 1], got {alpha!r}")
    result: list[float] = []
    level = 0.0
    for i, x in enumerate(values):
        level = x if i == 0 else alpha * x + (1.0 - alpha) * level
        result.append(level)
    return result
