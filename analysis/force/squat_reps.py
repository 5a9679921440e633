"""Squat repetitions from vertical force alone.

A squat seen by a force plate: Fz < BW while the body accelerates down, Fz > BW around the
bottom (decelerating the descent, then accelerating up), Fz < BW again as the rise slows, then
BW. Each rep therefore has exactly one excursion above BW (the bottom) framed by dips below BW,
also when reps follow each other without a pause. A rep is counted for each excursion above
BW + band whose preceding dip went below BW - band (band = settings.squat_band_bw x BW) on
force low-passed at settings.squat_lowpass_hz (squat movements are below 2 Hz).
Depth: COM displacement by double integration from rep start (v = 0), with the velocity drift
removed linearly so that v = 0 again at rep end (the athlete is still at both ends).
"""
from __future__ import annotations

import numpy as np

from analysis.force.com_kinematics import integrate_com
from analysis.force.settings import ForceSettings
from analysis.force.signal_tools import lowpass, runs


def stomp_index(fz_raw: np.ndarray, rate_hz: float, body_weight_n: float,
                settings: ForceSettings, lo: int = 0, hi: int | None = None) -> int | None:
    """Sample of the first stomp (a foot struck onto the plate to time-sync the camera,
    calibration/event_sync.py) in [lo, hi): Fz low-passed at 50 Hz rising faster than
    settings.stomp_slope_bw_s BW/s on top of the standing load and reaching
    settings.stomp_peak_bw x BW within 0.1 s (the virtual athlete's stomp: 2.45 BW). A squat
    neither rises that fast nor that high. None: no stomp."""
    hi = len(fz_raw) if hi is None else hi
    if hi - lo < 10:
        return None
    f = lowpass(np.asarray(fz_raw[lo:hi], dtype=float), rate_hz, min(50.0, 0.4 * rate_hz), 2)
    slope = np.diff(f) * rate_hz / body_weight_n
    # on top of the standing load only: stepping onto the plate rises as fast, from 0
    from scipy.ndimage import minimum_filter1d
    w = max(1, int(0.3 * rate_hz))
    loaded_before = minimum_filter1d(f, size=w, origin=(w - 1) // 2)[:-1] > 0.5 * body_weight_n
    hit = np.flatnonzero((slope > settings.stomp_slope_bw_s) & loaded_before)
    reach = max(1, int(0.1 * rate_hz))
    for i in hit:                 # an impact: well above body weight within 0.1 s
        if f[i:i + reach].max() > settings.stomp_peak_bw * body_weight_n:
            return lo + int(i)
    return None


def find_squat_reps(fz_raw: np.ndarray, rate_hz: float, body_weight_n: float,
                    settings: ForceSettings, lo: int = 0, hi: int | None = None) -> list[dict]:
    """Squat reps in samples [lo, hi); a stomp (time-sync event) and what precedes it, up to
    settings.stomp_settle_s after it, are no reps. Reps descending less than
    settings.squat_min_depth_m (sway, shifting the weight) are dropped."""
    hi = len(fz_raw) if hi is None else hi
    stomp = stomp_index(fz_raw, rate_hz, body_weight_n, settings, lo, hi)
    if stomp is not None:
        lo = min(hi, stomp + int(settings.stomp_settle_s * rate_hz))
    if hi - lo < 2:
        return []
    f = lowpass(np.asarray(fz_raw[lo:hi], dtype=float), rate_hz, settings.squat_lowpass_hz, 2)
    dev = (f - body_weight_n) / body_weight_n
    band = settings.squat_band_bw
    humps = runs(dev > band)
    dips = runs(dev < -band)
    # each hump with the dip that opens it (last dip before it, after the previous hump) and
    # the dip that closes it (first dip after it)
    framed = []
    prev_end = 0
    for a, b in humps:
        opening = [i for i, d in enumerate(dips) if d[1] <= a and d[0] >= prev_end]
        prev_end = b
        if not opening:
            continue            # an excursion above BW with no descent before it (e.g. a push)
        closing = [i for i, d in enumerate(dips) if d[0] >= b]
        framed.append((opening[-1], a, b, closing[0] if closing else None))
    reps = []
    for k, (i_open, a, b, i_close) in enumerate(framed):
        shared_before = k > 0 and framed[k - 1][3] == i_open
        shared_after = k + 1 < len(framed) and framed[k + 1][0] == i_close
        d0, d1 = dips[i_open]
        if shared_before:       # reps without a pause: they meet at the force minimum (the top)
            start = d0 + int(np.argmin(f[d0:d1]))
        else:
            start = d0
            while start > 0 and dev[start - 1] < 0:
                start -= 1
        if i_close is None:
            end = b
        else:
            c0, c1 = dips[i_close]
            if shared_after:
                end = c0 + int(np.argmin(f[c0:c1]))
            else:
                end = c1
                while end < len(dev) - 1 and dev[end] < 0:
                    end += 1
        if (end - start) < settings.squat_min_rep_s * rate_hz:
            continue
        reps.append((start, a, b, end))
    out = []
    for k, (start, a, b, end) in enumerate(reps):
        seg = np.asarray(fz_raw[lo + start:lo + end + 1], dtype=float)
        v, _ = integrate_com(seg, rate_hz, body_weight_n)
        v = v - np.linspace(0.0, v[-1], len(v))
        d = np.concatenate(([0.0], np.cumsum(0.5 * (v[1:] + v[:-1]) / rate_hz)))
        bottom = int(np.argmin(d))
        if -d.min() < settings.squat_min_depth_m:
            continue
        fseg = f[start:end + 1]
        out.append({
            "kind": "squat",
            "rep": len(out) + 1,
            "start_s": (lo + start) / rate_hz,
            "bottom_s": (lo + start + bottom) / rate_hz,
            "end_s": (lo + end) / rate_hz,
            "duration_s": (end - start) / rate_hz,
            "countermovement_depth_m": float(-d.min()),
            "peak_force_n": float(fseg.max()),
            "min_force_n": float(fseg.min()),
            "peak_force_bw": float(fseg.max() / body_weight_n),
        })
    return out
