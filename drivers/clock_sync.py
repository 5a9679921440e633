"""Robust online mapping of a device clock to the host clock (offset and drift).

Model: a sample stamped t_dev by the device was taken at host time
    t_host = t_dev + offset + drift * (t_dev - t_ref)
and reached the host at t_arrival = t_host + latency with latency >= 0 (USB/serial transfer,
scheduling: jitters by milliseconds on a loaded machine, rarely small, never negative). So the
*lower envelope* of (t_arrival - t_dev) over t_dev is the line we want: the minimal-delay line.

Online estimate: device time is cut into windows (default 1 s); each window keeps its least
(t_arrival - t_dev). A straight line is fitted to the window minima of the last `history_s`
seconds (least squares, then windows lying more than `reject_s` above the line, e.g. a stall
that delivered a burst late, are dropped and the line refitted). With a single window only the
offset is known (drift 0), and so it stays until `min_windows_for_drift` windows exist; the
slope is bounded by `max_drift_ppm` (crystals are within ~100 ppm). The constant transport latency floor cannot be observed from one
clock pair; `min_latency_s` (default 0) is subtracted if known.

Used by the force plate driver (drivers/force_plate.py); usable for any device clock (camera
hardware timestamps): feed (device_s, arrival_s) pairs, read `to_host(device_s)`.
"""
from __future__ import annotations

import math

import numpy as np


class ClockSync:
    def __init__(self, window_s: float = 1.0, history_s: float = 120.0, reject_s: float = 0.002,
                 min_latency_s: float = 0.0, min_windows_for_drift: int = 5,
                 max_drift_ppm: float = 1000.0):
        self.window_s = float(window_s)
        self.history_s = float(history_s)
        self.reject_s = float(reject_s)
        self.min_latency_s = float(min_latency_s)
        self.min_windows_for_drift = max(3, int(min_windows_for_drift))
        self.max_drift = float(max_drift_ppm) * 1e-6
        self._t_ref: float | None = None
        self._minima: dict[int, tuple[float, float]] = {}   # window -> (x, y) of its minimum
        self._offset = 0.0          # y at t_ref
        self._drift = 0.0           # dy/dx
        self._residual_s = math.nan
        self._n_used = 0
        self._last_fit_x = -math.inf
        self.pairs = 0

    # ---- feeding -------------------------------------------------------------------------
    def add(self, device_s, arrival_s) -> None:
        """Add pairs (scalars or arrays) of device time and host arrival time."""
        if np.ndim(device_s) == 0 and np.ndim(arrival_s) == 0:
            self._add_one(float(device_s), float(arrival_s))
            return
        x = np.atleast_1d(np.asarray(device_s, dtype=float))
        t = np.atleast_1d(np.asarray(arrival_s, dtype=float))
        if x.size == 0:
            return
        if t.size == 1 and x.size > 1:
            t = np.full_like(x, t[0])
        if self._t_ref is None:
            self._t_ref = float(x[0])
        y = t - x
        w = np.floor((x - self._t_ref) / self.window_s).astype(np.int64)
        changed = False
        for win in np.unique(w):
            sel = np.nonzero(w == win)[0]
            k = sel[np.argmin(y[sel])]
            old = self._minima.get(int(win))
            if old is None or y[k] < old[1]:
                self._minima[int(win)] = (float(x[k]), float(y[k]))
                changed = True
        self.pairs += int(x.size)
        if changed:
            self._refit()

    def _add_one(self, x: float, t: float) -> None:
        if self._t_ref is None:
            self._t_ref = x
        y = t - x
        win = math.floor((x - self._t_ref) / self.window_s)
        self.pairs += 1
        old = self._minima.get(win)
        if old is None or y < old[1]:
            self._minima[win] = (x, y)
            # refit on every new window; within one, at most every tenth of a window
            if old is None or x - self._last_fit_x >= 0.1 * self.window_s:
                self._refit()
                self._last_fit_x = x
            elif len(self._minima) < self.min_windows_for_drift:
                self._offset = min(self._offset, y)

    def _refit(self) -> None:
        wins = sorted(self._minima)
        newest = wins[-1]
        keep_from = newest - int(math.ceil(self.history_s / self.window_s))
        for w in [w for w in wins if w < keep_from]:
            del self._minima[w]
        pts = np.array([self._minima[w] for w in sorted(self._minima)])
        x = pts[:, 0] - self._t_ref
        y = pts[:, 1]
        if len(pts) < self.min_windows_for_drift:
            # too short for a drift (a few windows' minima would make a noisy slope, and
            # 50 ppm over 5 s is only 0.25 ms): the offset is the least delay seen so far
            self._offset, self._drift = float(y.min()), 0.0
            self._residual_s = 0.0 if len(pts) == 1 else float(np.ptp(y))
            self._n_used = len(pts)
            return
        mask = np.ones(len(x), bool)
        for _ in range(3):
            A = np.column_stack([np.ones(mask.sum()), x[mask]])
            (a, b), *_ = np.linalg.lstsq(A, y[mask], rcond=None)
            if abs(b) > self.max_drift:          # no crystal is that far off: hold the slope
                b = float(np.clip(b, -self.max_drift, self.max_drift))
                a = float(np.median(y[mask] - b * x[mask]))
            r = y - (a + b * x)
            new = r < self.reject_s + 3.0 * _mad(r[mask])
            if new.sum() < 3 or np.array_equal(new, mask):
                break
            mask = new
        # lower envelope: shift the line down to the lowest accepted minimum
        r = y - (a + b * x)
        a += float(np.min(r[mask]))
        r = y[mask] - (a + b * x[mask])
        self._offset, self._drift = float(a), float(b)
        self._residual_s = float(np.sqrt(np.mean((r - r.mean()) ** 2)))
        self._n_used = int(mask.sum())

    # ---- results -------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self._t_ref is not None

    def to_host(self, device_s):
        """Host time (s since the epoch) of device time(s)."""
        if self._t_ref is None:
            raise RuntimeError("ClockSync has no data yet")
        x = np.asarray(device_s, dtype=float)
        return x + self._offset + self._drift * (x - self._t_ref) - self.min_latency_s

    @property
    def drift_ppm(self) -> float:
        """How much faster the host clock runs than the device clock, in ppm."""
        return self._drift * 1e6

    @property
    def offset_s(self) -> float:
        """host - device at the first device time seen."""
        return self._offset - self.min_latency_s

    @property
    def residual_ms(self) -> float:
        """RMS scatter of the window minima about the fitted line (ms); NaN before any data."""
        return self._residual_s * 1e3

    @property
    def windows_used(self) -> int:
        return self._n_used

    def state(self) -> dict:
        return {"offset_s": self.offset_s, "drift_ppm": self.drift_ppm,
                "residual_ms": self.residual_ms, "windows": self._n_used,
                "window_s": self.window_s, "t_ref_device_s": self._t_ref}


def _mad(r: np.ndarray) -> float:
    if r.size == 0:
        return 0.0
    return float(1.4826 * np.median(np.abs(r - np.median(r))))


def fit_clock(device_s, arrival_s, window_s: float = 1.0) -> ClockSync:
    """Offline fit over a whole recording (same estimator, all windows)."""
    x = np.asarray(device_s, float)
    cs = ClockSync(window_s=window_s, history_s=max(1.0, float(np.ptp(x)) + 2 * window_s))
    cs.add(x, arrival_s)
    return cs
