"""Z-score anomaly detection against a trailing window."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from sensorstats.window import moving_average, rolling_std


@dataclass(frozen=True)
class Anomaly:
    """A reading that is far from the readings just before it."""

    index: int
    value: float
    zscore: float


def zscore_anomalies(
    values: Sequence[float],
    window: int,
    threshold: float = 3.0,
    *,
    min_std: float = 1e-6,
) -> list[Anomaly]:
    """Flag readings more than ``threshold`` standard deviations from the mean of the
    ``window`` readings before them.

    Readings whose history is flatter than ``min_std`` (a stuck or perfectly steady
    sensor) are not scored, to avoid dividing by a near-zero deviation.
    """
    if threshold <= 0:
        raise ValueError("threshold must be positive")
    means = moving_average(values, window)
    stds = rolling_std(values, window)
    anomalies = []
    # Window j covers values[j : j + window], so it is the history of reading j + window.
    for j in range(len(values) - window):
        std = stds[j]
        if std < min_std:
            continue
        index = j + window
        z = (values[index] - means[j]) / std
        if abs(z) > threshold:
            anomalies.append(Anomaly(index=index, value=values[index], zscore=z))
    return anomalies
