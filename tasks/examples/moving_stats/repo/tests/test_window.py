import math
import statistics

import pytest

from sensorstats import moving_average, rolling_max, rolling_min, rolling_std

SERIES = [21.5, 21.7, 21.6, 22.0, 22.4, 22.1, 21.9, 23.5, 22.8, 22.2, 22.0, 21.8]


def test_moving_average_small() -> None:
    assert moving_average([1.0, 2.0, 3.0, 4.0, 5.0], 2) == pytest.approx([1.5, 2.5, 3.5, 4.5])
    assert moving_average([1, 2, 3, 4, 5], 5) == pytest.approx([3.0])


def test_moving_average_matches_mean_of_each_window() -> None:
    expected = [statistics.fmean(SERIES[i : i + 4]) for i in range(len(SERIES) - 3)]
    assert moving_average(SERIES, 4) == pytest.approx(expected, rel=1e-12)


def test_window_longer_than_series_gives_empty_result() -> None:
    assert moving_average([1.0, 2.0], 3) == []
    assert rolling_std([1.0, 2.0], 3) == []
    assert rolling_max([], 1) == []


def test_window_of_one_is_identity() -> None:
    assert moving_average(SERIES, 1) == pytest.approx(SERIES)
    assert rolling_max(SERIES, 1) == SERIES
    assert rolling_std(SERIES, 1) == pytest.approx([0.0] * len(SERIES), abs=1e-12)


@pytest.mark.parametrize("window", [0, -3])
def test_invalid_window(window: int) -> None:
    for func in (moving_average, rolling_std, rolling_max, rolling_min):
        with pytest.raises(ValueError, match="window must be a positive integer"):
            func(SERIES, window)


@pytest.mark.parametrize("ddof", [0, 1])
def test_rolling_std_matches_statistics_module(ddof: int) -> None:
    stdev = statistics.pstdev if ddof == 0 else statistics.stdev
    expected = [stdev(SERIES[i : i + 5]) for i in range(len(SERIES) - 4)]
    assert rolling_std(SERIES, 5, ddof=ddof) == pytest.approx(expected, rel=1e-9)


def test_rolling_std_of_constant_series_is_zero() -> None:
    values = [3.3] * 50 + [3.4, 3.2] + [3.3] * 50
    result = rolling_std(values, 10)
    assert result[:41] == pytest.approx([0.0] * 41, abs=1e-6)
    assert result[-1] == pytest.approx(0.0, abs=1e-6)
    assert all(not math.isnan(x) for x in result)


def test_rolling_std_rejects_ddof_too_large() -> None:
    with pytest.raises(ValueError, match="too small"):
        rolling_std(SERIES, 1, ddof=1)


def test_rolling_max_and_min() -> None:
    values = [5, 1, 4, 4, 2, 8, 3, 3, 0, 7]
    assert rolling_max(values, 3) == [5, 4, 4, 8, 8, 8, 3, 7]
    assert rolling_min(values, 3) == [1, 1, 2, 2, 2, 3, 0, 0]


def test_rolling_extremes_on_a_long_series() -> None:
    values = [math.sin(i / 7.0) * 10 + (i % 13) for i in range(500)]
    window = 37
    assert rolling_max(values, window) == [
        max(values[i : i + window]) for i in range(len(values) - window + 1)
    ]
    assert rolling_min(values, window) == [
        min(values[i : i + window]) for i in range(len(values) - window + 1)
    ]


def test_accepts_tuples() -> None:
    assert moving_average((2.0, 4.0, 6.0), 2) == pytest.approx([3.0, 5.0])
    assert rolling_max((2.0, 4.0, 6.0), 2) == [4.0, 6.0]
