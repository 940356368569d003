import random

import pytest

from sensorstats import Anomaly, exponential_moving_average, zscore_anomalies


def noisy_series(n: int, seed: int = 3) -> list[float]:
    rng = random.Random(seed)
    return [20.0 + rng.gauss(0.0, 0.2) for _ in range(n)]


def test_spike_is_flagged() -> None:
    values = noisy_series(300)
    values[200] = 27.0
    anomalies = zscore_anomalies(values, window=50, threshold=5.0)
    assert [a.index for a in anomalies] == [200]
    assert anomalies[0].value == 27.0
    assert anomalies[0].zscore > 5.0


def test_negative_deviation_has_negative_zscore() -> None:
    values = noisy_series(120)
    values[100] = 15.0
    (anomaly,) = zscore_anomalies(values, window=30, threshold=6.0)
    assert anomaly.index == 100
    assert anomaly.zscore < -6.0


def test_flat_history_is_not_scored() -> None:
    values = [10.0] * 40 + [12.0]
    assert zscore_anomalies(values, window=20) == []


def test_short_series_and_bad_threshold() -> None:
    assert zscore_anomalies([1.0, 2.0], window=5) == []
    with pytest.raises(ValueError):
        zscore_anomalies([1.0, 2.0, 3.0], window=2, threshold=0)


def test_anomaly_is_a_value_object() -> None:
    assert Anomaly(3, 1.5, 4.0) == Anomaly(3, 1.5, 4.0)


def test_exponential_moving_average() -> None:
    assert exponential_moving_average([10.0, 20.0, 20.0], 0.5) == pytest.approx([10.0, 15.0, 17.5])
    assert exponential_moving_average([], 0.3) == []
    with pytest.raises(ValueError):
        exponential_moving_average([1.0], 0.0)
