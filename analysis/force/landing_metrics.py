"""Landing metrics after initial contact (STATION.md, "Drop jump ... Landing").

- peak landing force (N and x BW) and its time after initial contact, within the landing phase;
- landing phase: initial contact -> COM velocity back to zero, integrating a = (Fz - BW)/m from
  the impact velocity -g * flight / 2 (JumpMetrics integrates from -takeoff velocity); without a
  flight on the plate (landing from a box) the phase is settings.landing_window_s long;
- loading rate (BW/s): (peak force - force at contact) / time to peak / BW, the mean rate from
  initial contact to the peak;
- time to stabilization: from initial contact until Fz enters BW +- 5 % and stays there for
  settings.stabilization_hold_s (STATION.md: "Fz stays within +-5% BW").
Peaks use the low-passed force; the contact instant comes from the raw force (events.py).
"""
from __future__ import annotations

import numpy as np

from analysis.constants import G
from analysis.force.com_kinematics import integrate_com
from analysis.force.settings import ForceSettings
from analysis.force.signal_tools import runs


def landing_metrics(fz_raw: np.ndarray, fz_f: np.ndarray, rate_hz: float, body_weight_n: float,
                    landing: int, landing_s: float, contact_stop: int,
                    flight_time_s: float | None, settings: ForceSettings,
                    impact_velocity_m_s: float | None = None) -> dict:
    """impact_velocity_m_s (downward speed at contact, > 0) defaults to g * flight / 2."""
    stop = contact_stop
    end = min(landing + int(settings.landing_window_s * rate_hz), stop)
    displacement = None
    if impact_velocity_m_s is None and flight_time_s is not None:
        impact_velocity_m_s = G * flight_time_s / 2.0
    if impact_velocity_m_s is not None:
        v, d = integrate_com(fz_raw[landing:stop], rate_hz, body_weight_n,
                             v0=-impact_velocity_m_s)
        up = np.flatnonzero(v >= 0)
        if len(up):
            end = landing + int(up[0])
            displacement = float(d[:max(int(up[0]), 1)].min())
    end = max(end, landing + 2)
    seg_f = np.asarray(fz_f[landing:end], dtype=float)
    k = int(np.argmax(seg_f))
    peak = float(seg_f[k])
    ttp = landing / rate_hz + k / rate_hz - landing_s
    f0 = float(fz_f[landing])
    out = {
        "peak_landing_force_n": peak,
        "peak_landing_force_bw": peak / body_weight_n,
        "time_to_peak_landing_force_s": ttp,
        "loading_rate_bw_s": ((peak - f0) / ttp / body_weight_n) if ttp > 0 else None,
        "landing_phase_time_s": (end - landing) / rate_hz,
        "mean_landing_force_n": float(seg_f.mean()),
        "landing_displacement_m": displacement,
        "time_to_stabilization_s": None,
    }
    band = settings.stabilization_band_bw * body_weight_n
    hold = int(settings.stabilization_hold_s * rate_hz)
    peak_idx = landing + k
    inside = np.abs(np.asarray(fz_f[peak_idx:stop], dtype=float) - body_weight_n) <= band
    for a, b in runs(inside):
        if b - a >= hold:
            out["time_to_stabilization_s"] = (peak_idx + a) / rate_hz - landing_s
            break
    return out
