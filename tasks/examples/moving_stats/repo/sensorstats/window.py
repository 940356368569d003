"""Trailing-window statistics.

Every function takes a sequence of ``n`` readings and a window length ``w`` and returns
``n - w + 1`` values: element ``i`` of the result describes ``values[i : i + w]``, i.e. the
window that *ends* at reading ``i + w - 1``. A series shorter than the window gives ``[]``.
"""

from __future__ import annotations

import math
from typing import Sequence


def _check_window(window: int) -> None:
    if window < 1:
        raise ValueError(f"window must be a positive integer, got {window!r}")


def moving_average(values: Sequence[float], window: int) -> list[float]:
    """Simple moving average over a trailing window."""
    _check_window(window)
    return [sum(values[i : i + window]) / window for i in range(len(values) - window + 1)]


def rolling_std(values: Sequence[float], window: int, *, ddof: int = 0) -> list[float]:
    """Standard deviation over a trailing window.

    ``ddof`` is the delta degrees of freedom: 0 for the population standard deviation,
    1 for the sample standard deviation (which needs ``window > 1``).
    """
    _check_window(window)
    if window - ddof <= 0:
        raise ValueError(f"window {window} too small for ddof={ddof}")
    result = []
    for i in range(len(values) - window + 1):
        chunk = values[i : i + window]
        mean = sum(chunk) / window
        squares = sum((x - mean) ** 2 for x in chunk)
        result.append(math.sqrt(squares / (window - ddof)))
    return result


def rolling_max(values: Sequence[float], window: int) -> list[float]:
    """Maximum over a trailing window."""
    _check_window(window)
    return [max(values[i : i + window]) for i in range(len(values) - window + 1)]


def rolling_min(values: Sequence[float], window: int) -> list[float]:
    """Minimum over a trailing window."""
    _check_window(window)
    return [min(values[i : i + window]) for i in range(len(values) - window + 1)]
