"""Hidden workload: a household power meter sampled every second for an hour.

Long windows (5 minutes) for the smoothed load and peak demand, and a 2-minute z-score
detector that catches appliances switching on and off.
"""

from __future__ import annotations

import random

from sensorstats import moving_average, rolling_max, rolling_min, rolling_std, zscore_anomalies

WATTS: list[float] = []


def setup() -> None:
    global WATTS
    rng = random.Random(555)
    appliances = {"fridge": 120.0, "kettle": 2200.0, "oven": 1800.0, "washer": 500.0,
                  "tv": 90.0, "heater": 1500.0}
    running: set[str] = set()
    values = []
    for _ in range(3600):
        if rng.random() < 0.004:
            name = rng.choice(sorted(appliances))
            running ^= {name}
        load = 240.0 + sum(appliances[a] for a in running)
        values.append(round(load + rng.gauss(0.0, 6.0) + 0.02 * load * rng.random(), 1))
    WATTS = values


def workload() -> dict[str, object]:
    smooth = moving_average(WATTS, 300)
    peak = rolling_max(WATTS, 300)
    trough = rolling_min(WATTS, 300)
    spread = rolling_std(WATTS, 120)
    events = zscore_anomalies(WATTS, 120, threshold=6.0)
    return {
        "smooth": smooth[::3],
        "peak": peak,
        "trough": trough[::5],
        "spread": spread[::2],
        "events": [[e.index, e.value, e.zscore] for e in events],
    }
