"""Centre-of-pressure path and sway (one plate).

Over a window (the quiet standing window by default): path length (sum of the distances between
successive COP samples), mean velocity (path / duration), range and RMS distance from the mean in
x and y, and the 95 % confidence ellipse area (Prieto et al. 1996, IEEE Trans Biomed Eng
43:956; area = pi * chi2_0.95(2) * sqrt(det(cov)), chi2 = 5.991). Inputs in metres, plate frame.
"""
from __future__ import annotations

import numpy as np

CHI2_95_2DOF = 5.991


def cop_sway(cop_m: np.ndarray, rate_hz: float, lo: int = 0, hi: int | None = None) -> dict | None:
    c = np.asarray(cop_m, dtype=float)[lo:hi]
    c = c[np.all(np.isfinite(c), axis=1)]
    if len(c) < 3:
        return None
    steps = np.linalg.norm(np.diff(c, axis=0), axis=1)
    path = float(steps.sum())
    dur = (len(c) - 1) / rate_hz
    centred = c - c.mean(axis=0)
    cov = np.cov(centred.T)
    return {
        "cop_path_length_m": path,
        "cop_mean_velocity_m_s": path / dur,
        "cop_range_x_m": float(np.ptp(c[:, 0])),
        "cop_range_y_m": float(np.ptp(c[:, 1])),
        "cop_rms_x_m": float(np.sqrt(np.mean(centred[:, 0] ** 2))),
        "cop_rms_y_m": float(np.sqrt(np.mean(centred[:, 1] ** 2))),
        "cop_ellipse95_area_m2": float(np.pi * CHI2_95_2DOF * np.sqrt(max(np.linalg.det(cov), 0.0))),
        "cop_window_s": [lo / rate_hz, (lo + len(c)) / rate_hz] if hi is None else [lo / rate_hz, hi / rate_hz],
    }
