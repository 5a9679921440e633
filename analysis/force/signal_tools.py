"""Small signal helpers: zero-lag low-pass, runs of a boolean, threshold-crossing times."""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt


def lowpass(x: np.ndarray, rate_hz: float, cutoff_hz: float | None, order: int = 4) -> np.ndarray:
    """Zero-lag Butterworth low-pass along axis 0 (STATION.md: zero-lag 4th-order Butterworth).
    cutoff None (or >= Nyquist) returns a float copy of x."""
    x = np.asarray(x, dtype=float)
    if cutoff_hz is None or cutoff_hz >= 0.5 * rate_hz or len(x) < 3 * (2 * order + 1):
        return x.copy()
    sos = butter(order, cutoff_hz, btype="low", fs=rate_hz, output="sos")
    return sosfiltfilt(sos, x, axis=0)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index pairs of the runs of True in a 1-D boolean array."""
    m = np.asarray(mask, dtype=bool)
    if m.size == 0:
        return []
    edges = np.diff(np.concatenate(([0], m.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    return list(zip(starts.tolist(), stops.tolist()))


def crossing_time(f: np.ndarray, i: int, level: float, rate_hz: float) -> float:
    """Time (s from sample 0) where f crosses `level` between samples i-1 and i, by linear
    interpolation; i is the first sample on the new side of the level."""
    if i <= 0:
        return 0.0
    a, b = float(f[i - 1]), float(f[i])
    frac = 0.0 if b == a else (level - a) / (b - a)
    return (i - 1 + min(max(frac, 0.0), 1.0)) / rate_hz


def rolling_mean_sd(x: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SD of every window x[k:k+n], k = 0 .. len(x)-n (cumulative sums, O(T))."""
    x = np.asarray(x, dtype=float)
    c1 = np.concatenate(([0.0], np.cumsum(x - x.mean())))
    c2 = np.concatenate(([0.0], np.cumsum((x - x.mean()) ** 2)))
    s1 = c1[n:] - c1[:-n]
    s2 = c2[n:] - c2[:-n]
    mean = s1 / n + x.mean()
    var = np.maximum(s2 / n - (s1 / n) ** 2, 0.0)
    return mean, np.sqrt(var)
