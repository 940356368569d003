"""Visible workload: hourly-window statistics for two days of one-minute readings from
three environmental sensors (temperature, humidity, pressure), plus anomaly flags."""

from __future__ import annotations

import math
import random

from sensorstats import moving_average, rolling_max, rolling_min, rolling_std, zscore_anomalies

CHANNELS: dict[str, list[float]] = {}
WINDOW = 60


def _channel(rng: random.Random, n: int, base: float, swing: float, noise: float) -> list[float]:
    values = []
    drift = 0.0
    for minute in range(n):
        drift += rng.gauss(0.0, noise / 10)
        daily = swing * math.sin(2 * math.pi * (minute % 1440) / 1440 - 1.2)
        value = base + daily + drift + rng.gauss(0.0, noise)
        if rng.random() < 0.002:  # occasional glitch
            value += rng.choice((-1, 1)) * swing * rng.uniform(2, 4)
        values.append(round(value, 2))
    return values


def setup() -> None:
    global CHANNELS
    rng = random.Random(2024)
    n = 2 * 1440
    CHANNELS = {
        "temperature_c": _channel(rng, n, 21.0, 2.5, 0.15),
        "humidity_pct": _channel(rng, n, 45.0, 8.0, 0.6),
        "pressure_hpa": _channel(rng, n, 1013.0, 1.5, 0.08),
    }


def workload() -> dict[str, object]:
    out: dict[str, object] = {}
    for name, values in CHANNELS.items():
        out[name] = {
            "mean": moving_average(values, WINDOW),
            "std": rolling_std(values, WINDOW, ddof=1),
            "max": rolling_max(values, WINDOW),
            "min": rolling_min(values, WINDOW),
            "anomalies": [[a.index, a.value, a.zscore]
                          for a in zscore_anomalies(values, WINDOW, threshold=4.0)],
        }
    return out
