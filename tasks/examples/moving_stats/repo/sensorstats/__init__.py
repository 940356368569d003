"""Rolling-window statistics and anomaly flags for sensor time series."""

from sensorstats.anomaly import Anomaly, zscore_anomalies
from sensorstats.smoothing import exponential_moving_average
from sensorstats.window import moving_average, rolling_max, rolling_min, rolling_std

__all__ = [
    "Anomaly",
    "exponential_moving_average",
    "moving_average",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "zscore_anomalies",
]

__version__ = "1.2.0"
