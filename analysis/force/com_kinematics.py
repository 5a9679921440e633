"""Centre-of-mass kinematics from vertical force by impulse-momentum.

a = (Fz - BW) / m, integrated with the trapezoid rule from a start where the velocity is known
(zero at movement onset of a jump from standing; STATION.md: "impulse integration assumes zero
velocity at onset, so the quiet window is critical").
"""
from __future__ import annotations

import numpy as np

from analysis.constants import G


def integrate_com(fz: np.ndarray, rate_hz: float, body_weight_n: float,
                  v0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Velocity (m/s) and displacement (m) of the COM for every sample of fz (first = start)."""
    f = np.asarray(fz, dtype=float)
    m = body_weight_n / G
    acc = (f - body_weight_n) / m
    dt = 1.0 / rate_hz
    v = np.empty_like(acc)
    v[0] = v0
    v[1:] = v0 + np.cumsum(0.5 * (acc[1:] + acc[:-1]) * dt)
    d = np.empty_like(v)
    d[0] = 0.0
    d[1:] = np.cumsum(0.5 * (v[1:] + v[:-1]) * dt)
    return v, d


def net_impulse(fz: np.ndarray, rate_hz: float, body_weight_n: float) -> float:
    """Net vertical impulse (N s) of a stretch of force, trapezoid rule."""
    f = np.asarray(fz, dtype=float) - body_weight_n
    if len(f) < 2:
        return 0.0
    return float(np.sum(0.5 * (f[1:] + f[:-1])) / rate_hz)
