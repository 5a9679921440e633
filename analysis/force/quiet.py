"""Body weight from a quiet window of vertical force.

STATION.md: body weight = mean Fz over a quiet window (>= 1 s; JumpMetrics uses 0.25-0.5 s);
its SD sets the thresholds; mass = BW / g. The window is found wherever the athlete stands
still: before the jump, or after landing when the trial starts on a box (drop jump).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis.constants import G
from analysis.force.settings import ForceSettings
from analysis.force.signal_tools import rolling_mean_sd


@dataclass
class QuietWindow:
    start: int          # first sample
    stop: int           # one past the last sample
    body_weight_n: float
    sd_n: float

    @property
    def body_mass_kg(self) -> float:
        return self.body_weight_n / G


class NoQuietWindow(ValueError):
    """The trial has no window in which an athlete stands on the plate."""


def quietest_window(fz: np.ndarray, rate_hz: float, settings: ForceSettings,
                    lo: int = 0, hi: int | None = None) -> QuietWindow:
    """The loaded window of settings.quiet_window_s with the lowest SD in fz[lo:hi].
    If the trial has no loaded stretch that long, the window is halved down to 0.25 s."""
    hi = len(fz) if hi is None else hi
    seg = np.asarray(fz[lo:hi], dtype=float)
    length_s = settings.quiet_window_s
    while True:
        n = max(int(round(length_s * rate_hz)), 2)
        if n <= len(seg):
            mean, sd = rolling_mean_sd(seg, n)
            ok = mean >= settings.min_body_weight_n
            if ok.any():
                k = int(np.argmin(np.where(ok, sd, np.inf)))
                w = seg[k:k + n]
                return QuietWindow(lo + k, lo + k + n, float(w.mean()), float(w.std()))
        if length_s <= 0.25:
            raise NoQuietWindow(
                f"no quiet standing found (no {length_s:.2f} s window with mean Fz >= "
                f"{settings.min_body_weight_n:.0f} N)")
        length_s = max(length_s / 2, 0.25)


def window_before(fz: np.ndarray, rate_hz: float, takeoff_index: int,
                  settings: ForceSettings) -> QuietWindow:
    """JumpMetrics' placement: the window that starts quiet_lead_s before takeoff."""
    start = max(takeoff_index - int(settings.quiet_lead_s * rate_hz), 0)
    stop = min(start + int(settings.quiet_window_s * rate_hz), len(fz))
    w = np.asarray(fz[start:stop], dtype=float)
    if len(w) < 2 or w.mean() < settings.min_body_weight_n:
        raise NoQuietWindow("the window before takeoff is not loaded by a standing athlete")
    return QuietWindow(start, stop, float(w.mean()), float(w.std()))
