"""Contact onsets in the plate's vertical force, for the event time sync (event_sync.py).

Both work on the raw (unfiltered) total Fz and its sample times on the host time base: a filter
smears a step and moves it (STATION.md), and an onset is a step.

* stomp_onset: a foot driven onto the plate while the athlete stands on it gives a sharp rise of
  Fz on top of body weight. From the steepest sample of dFz/dt, walk back to where the slope falls
  under ONSET_SLOPE_FRACTION of that peak, interpolating between samples. (A line fitted to the
  steep part of the rise and extrapolated to the pre-impact level lands late by ~9 % of the
  impact's rise time for a rise that starts smoothly (sin^2: 1.1 ms for a 12 ms pulse), and the
  slope walk-back by 1.6 % (0.2 ms): it is the one used.)
* landing_onset: after an unloaded period (Fz below the threshold for at least MIN_UNLOADED_S:
  flight, or the drop-jump box), the first sample above LANDING_THRESHOLD_N over the unloaded
  level; the onset is the straight line through that rise, extrapolated back to the unloaded
  level (a landing's force starts from zero with a finite slope, so a threshold crossing alone is
  late by threshold / slope).
"""
from __future__ import annotations

import numpy as np

ONSET_SLOPE_FRACTION = 0.10
MIN_STOMP_SLOPE_BW_S = 20.0      # a stomp's rise is steeper than 20 BW/s (squats: a few BW/s)
LANDING_THRESHOLD_N = 20.0       # STATION.md: 10-30 N
MIN_UNLOADED_S = 0.10


def _rate(t):
    return 1.0 / float(np.median(np.diff(t)))


def stomp_onset(t_host_s, fz_n, t_near_host_s: float | None = None, search_s: float = 10.0) -> dict:
    """{'time_host_s', 'peak_slope_n_s', 'pre_level_n', 'rise_n'} of the stomp; the steepest rise
    of Fz (within search_s of t_near_host_s if given) on top of a loaded plate.
    ValueError when there is none."""
    t = np.asarray(t_host_s, float)
    f = np.asarray(fz_n, float)
    if len(t) < 50:
        raise ValueError("too few force samples for a stomp onset")
    dt = np.diff(t)
    slope = np.diff(f) / dt                       # slope[i]: between samples i and i + 1
    bw = float(np.median(f))
    ok = np.ones(slope.shape, bool)
    if t_near_host_s is not None:
        tm = 0.5 * (t[1:] + t[:-1])
        ok &= np.abs(tm - t_near_host_s) <= search_s
    if bw < 100.0:
        raise ValueError("nobody stands on the plate: no stomp to find")
    if not np.any(ok):
        raise ValueError("no force samples near the expected stomp")
    s = np.where(ok, slope, -np.inf)
    i = int(np.argmax(s))
    peak = float(slope[i])
    if peak < MIN_STOMP_SLOPE_BW_S * bw:
        raise ValueError(f"no stomp in the force: the steepest rise is {peak / bw:.0f} BW/s "
                         f"(a stomp rises faster than {MIN_STOMP_SLOPE_BW_S:.0f} BW/s)")
    level = ONSET_SLOPE_FRACTION * peak
    j = i
    while j > 0 and slope[j] >= level:
        j -= 1
    if j == 0:
        raise ValueError("the stomp's force rise starts with the recording")
    # slope[j] < level <= slope[j + 1]; slopes sit at the midpoints of their sample pairs
    m0, m1 = 0.5 * (t[j] + t[j + 1]), 0.5 * (t[j + 1] + t[j + 2])
    frac = (level - slope[j]) / (slope[j + 1] - slope[j])
    onset = m0 + frac * (m1 - m0)
    rate = _rate(t)
    pre = f[max(0, j - int(0.05 * rate)):j + 1]
    pre_level = float(np.mean(pre))
    if pre_level < 0.5 * bw:
        raise ValueError("the steepest rise starts from an unloaded plate (a landing or "
                         "stepping on), not a stomp on top of body weight")
    return {"time_host_s": float(onset), "peak_slope_n_s": peak, "pre_level_n": pre_level,
            "rise_n": float(np.max(f[j:j + int(0.05 * rate)]) - pre_level),
            "sample_period_s": 1.0 / rate}


def landing_onset(t_host_s, fz_n, t_near_host_s: float | None = None, search_s: float = 10.0) -> dict:
    """{'time_host_s', 'unloaded_level_n', 'slope_n_s'}: the first landing after an unloaded
    period of at least MIN_UNLOADED_S (the one nearest t_near_host_s when given). ValueError when
    there is none."""
    t = np.asarray(t_host_s, float)
    f = np.asarray(fz_n, float)
    if len(t) < 50:
        raise ValueError("too few force samples for a landing onset")
    rate = _rate(t)
    loaded = f > LANDING_THRESHOLD_N
    edges = np.flatnonzero(~loaded[:-1] & loaded[1:]) + 1          # first loaded sample
    cands = []
    for k in edges:
        run = np.flatnonzero(loaded[:k])
        start = run[-1] + 1 if len(run) else 0
        if (k - start) / rate >= MIN_UNLOADED_S:
            cands.append((start, k))
    if t_near_host_s is not None:
        cands = [c for c in cands if abs(t[c[1]] - t_near_host_s) <= search_s]
        cands.sort(key=lambda c: abs(t[c[1]] - t_near_host_s))
    if not cands:
        raise ValueError("no landing in the force: the plate is never unloaded for "
                         f"{MIN_UNLOADED_S * 1e3:.0f} ms and then loaded")
    start, k = cands[0]
    level = float(np.median(f[start:k]))
    # the rise: samples from the crossing up to 4x the threshold over the unloaded level
    top = level + 4 * LANDING_THRESHOLD_N
    j = k
    while j + 1 < len(f) and f[j] < top and j - k < int(0.01 * rate):
        j += 1
    idx = np.arange(k, j + 1)
    if len(idx) >= 2:
        slope, icpt = np.polyfit(t[idx] - t[k], f[idx], 1)
    else:
        slope, icpt = (f[k] - f[k - 1]) * rate, f[k] - level
    if slope <= 0:
        onset = t[k - 1] + (LANDING_THRESHOLD_N + level - f[k - 1]) / ((f[k] - f[k - 1]) * rate)
    else:
        onset = t[k] + (level - icpt) / slope
        onset = float(np.clip(onset, t[k - 1] - 1.0 / rate, t[k]))
    return {"time_host_s": float(onset), "unloaded_level_n": level, "slope_n_s": float(slope),
            "sample_period_s": 1.0 / rate}
