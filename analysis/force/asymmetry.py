"""Left/right asymmetry with two plates (one foot on each).

Symmetry index (Robinson et al. 1987, J Manipulative Physiol Ther 10:172):
    SI % = 100 * (left - right) / (0.5 * (left + right)),
positive when the left side is larger. Plate order follows docs/CONTRACTS.md: plate1 = left,
plate2 = right (an import can put the columns in that order).
"""
from __future__ import annotations

import numpy as np


def symmetry_index_pct(left: float, right: float) -> float | None:
    s = 0.5 * (left + right)
    return None if s == 0 else 100.0 * (left - right) / s


def jump_asymmetry(plates_f: np.ndarray, rate_hz: float, body_weight_n: float,
                   onset: int | None, propulsion_start: int | None, takeoff: int,
                   landing: int | None, landing_end: int | None) -> dict:
    """Per-plate peak force and impulse of the propulsion phase, peak landing force; SI of each."""
    out: dict = {}
    p = np.asarray(plates_f, dtype=float)
    if p.ndim != 2 or p.shape[1] != 2:
        return out
    start = propulsion_start if propulsion_start is not None else onset
    if start is not None and takeoff > start + 1:
        seg = p[start:takeoff + 1]
        peaks = seg.max(axis=0)
        # each leg's share of the net propulsive impulse: its impulse minus half the body weight's
        imp = np.sum(0.5 * (seg[1:] + seg[:-1]), axis=0) / rate_hz - 0.5 * body_weight_n * (len(seg) - 1) / rate_hz
        out.update({
            "left_peak_propulsive_force_n": float(peaks[0]),
            "right_peak_propulsive_force_n": float(peaks[1]),
            "asymmetry_peak_propulsive_force_pct": symmetry_index_pct(*peaks),
            "left_propulsive_net_impulse_n_s": float(imp[0]),
            "right_propulsive_net_impulse_n_s": float(imp[1]),
            "asymmetry_propulsive_impulse_pct": symmetry_index_pct(*imp),
        })
    if landing is not None and landing_end is not None and landing_end > landing + 1:
        lp = p[landing:landing_end].max(axis=0)
        out.update({
            "left_peak_landing_force_n": float(lp[0]),
            "right_peak_landing_force_n": float(lp[1]),
            "asymmetry_peak_landing_force_pct": symmetry_index_pct(*lp),
        })
    return out
