"""When a foot comes down onto the plate, seen in depth (for calibration/event_sync.py).

Points come from calibration/foot_tracking.py (median-filtered depth, lab frame, inside the
plate area, between a cut above the plate and TOP_M). Times are the depth frames' host times.
Measured errors of both methods on virtual trials: docs/EVENT_SYNC.md.

Stomp (stomp_contact): the feet are told apart by lab x (2-means); the stomping foot is the one
whose median point height rises by more than LIFT_M and comes back. Its height marker is the
FOREFOOT: the points within FOREFOOT_LEN_M of the foot's front (found on the frames where it
rests on the plate before the lift), summarised by the mean of the heights ranked 10-60 % from
the top (calibration.foot_tracking.top_ranked_mean). A stomping foot moves straight down, flat,
so that marker moves rigidly with it and is never cut by the plate; its value on the frames at
rest before the lift is its value at contact: the marker calibrates itself, no constant is
needed (virtual D435 at 2.5 m: it follows the true foot height within -1.5..+0.6 mm on average
per trial, 1.0-1.7 mm frame to frame; the rigid shank above the ankle must stay out of it,
hence the short forefoot). The contact is where the descent comes down to the rest value: the
descent frames below FIT_HEIGHT_FRACTION of the lift are fitted with y = v s + k s^3,
s = t_contact - t: a foot driven into the floor is at its fastest (zero acceleration) when it
lands, so there is no s^2 term. Assumption: no braking before the contact. (With a free s^2
term the 30 fps estimate came out 2-9 ms early; over the whole descent the cubic misses the
shape by up to 6 ms: hence the last part of the descent only.)

Landing (landing_contact): a foot landing from a jump lands toes first and pitched, and moves
forward, so no template of the resting foot fits it. Marker: the LANDING_RANK-th lowest point
of both feet above LANDING_CUT_M (lower, the 5x5 median lifts the plate pixels next to a foot by
1-2.4 cm and they pass for a foot). While the feet are in the air that reading is
LANDING_READING_AT_CONTACT_M above the lowest toe (the toe's underside is hidden from a camera
looking down; measured on the virtual D435 at 2.5 m, front view: 10.5 +- 3.3 mm). The contact is
where the line through the last two frames the plate cut does not touch reaches that reading.
Its weakness: those frames are 1-3 frame periods before the contact and the toes slow down
just before it (the legs stop extending), so the estimate comes early (camera contact too
early by ~1.5 ms at 90 fps, ~3.5 ms at 30 fps on the virtual athlete). The reading offset is a
property of the camera, its distance and view and the shoes: re-measure it for a new set-up.
"""
from __future__ import annotations

import numpy as np

from calibration.foot_tracking import (DepthFrames, frames_between, low_points_lab, split_feet_x,
                                       top_ranked_mean)

LIFT_M = 0.03
FOREFOOT_LEN_M = 0.08
NEAR_REST_M = 0.002
FIT_HEIGHT_FRACTION = 0.6   # descent frames fitted: below this fraction of the lift height
REST_BAND_M = 0.01
LANDING_CUT_M = 0.03
LANDING_RANK = 10
LANDING_READING_AT_CONTACT_M = 0.0105
LANDING_READING_SD_M = 0.0033     # spread of that reading frame to frame (same measurement)
LANDING_FIT_SPAN_S = 0.10         # the two descent frames used lie within this before the landing
LANDING_ABOVE_FLOOR_M = 0.008


def _runs(mask):
    e = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return list(zip(e[::2], e[1::2]))


def _fit_zero_acceleration(t, y, sigma_y, t_guess):
    """Fit y = v s + k s^3 (s = tc - t >= 0) by least squares; (tc, sigma_tc, v). Times are
    taken relative to t_guess (host epochs are ~1e9 s: finite-difference steps need small
    numbers)."""
    from scipy.optimize import least_squares
    t0 = float(t_guess)
    t = np.asarray(t, float) - t0
    t_guess = 0.0

    def res(p):
        s = np.clip(p[0] - t, 0.0, None)
        return p[1] * s + p[2] * s ** 3 - y
    v0 = max((y[0] - y[-1]) / max(t[-1] - t[0], 1e-3), 0.3)
    fit = least_squares(res, [t_guess, v0, 0.0])
    J = fit.jac
    try:
        cov = np.linalg.inv(J.T @ J) * sigma_y ** 2
        sig = float(np.sqrt(cov[0, 0])) if cov[0, 0] > 0 else float("nan")
    except np.linalg.LinAlgError:
        sig = float("nan")
    return float(fit.x[0]) + t0, sig, float(fit.x[1])


def stomp_contact(frames: DepthFrames, t_guess_host_s: float, before_s: float = 1.8,
                  after_s: float = 0.8) -> dict:
    """The stomping foot's contact seen in depth, camera host time, near t_guess (the plate's
    onset time: the clocks agree to well under a second). ValueError when not seen."""
    idx = frames_between(frames, t_guess_host_s - before_s, t_guess_host_s + after_s)
    if len(idx) < 10:
        raise ValueError("no depth frames around the stomp")
    t = frames.time_host_s[idx]
    pts = [low_points_lab(frames, int(i)) for i in idx]
    mid_x = split_feet_x(pts)
    feet = {"left": [p[p[:, 0] < mid_x] for p in pts], "right": [p[p[:, 0] >= mid_x] for p in pts]}
    g = {s: np.array([np.median(f[:, 2]) if len(f) >= 20 else np.nan for f in fs])
         for s, fs in feet.items()}
    rise = {s: np.nanmax(v) - np.nanmedian(v) if np.any(np.isfinite(v)) else 0.0 for s, v in g.items()}
    side = max(rise, key=rise.get)
    if not rise[side] > LIFT_M:
        raise ValueError("no foot is seen lifted and stomped onto the plate")
    gs, g_rest = g[side], float(np.nanmedian(g[side]))
    runs = [(a, b) for a, b in _runs(np.nan_to_num(gs, nan=-1.0) > g_rest + LIFT_M) if b - a >= 2]
    if not runs:
        raise ValueError("the stomping foot is not seen in the air for two frames")
    a, b = min(runs, key=lambda r: abs(t[min(r[1], len(t) - 1)] - t_guess_host_s))
    still = np.abs(gs - g_rest) < REST_BAND_M
    rest = np.flatnonzero(still & (t >= t[a] - 0.6) & (t <= t[a] - 0.1))
    if len(rest) < 3:
        t_end = t[min(b, len(t) - 1)]
        rest = np.flatnonzero(still & (t >= t_end + 0.25) & (t <= t_end + 0.6))
    if len(rest) < 3:
        raise ValueError("the stomping foot is not seen resting on the plate before the stomp")
    rest_pts = np.concatenate([feet[side][i] for i in rest])
    y_front = float(np.percentile(rest_pts[rest_pts[:, 2] < 0.12, 1], 98))

    def forefoot(p):
        return p[(p[:, 1] > y_front - FOREFOOT_LEN_M) & (p[:, 1] < y_front + 0.03)]
    n_ref = float(np.median([len(forefoot(feet[side][i])) for i in rest]))
    if n_ref < 20:
        raise ValueError("too few depth points on the stomping foot's front part")
    M = np.array([top_ranked_mean(forefoot(p)[:, 2], n_ref) for p in feet[side]])
    m_rest = float(np.nanmedian(M[rest]))
    sd = float(1.4826 * np.nanmedian(np.abs(M[rest] - m_rest)))
    y = M - m_rest
    peak = a + int(np.nanargmax(y[a:b]))
    down = [i for i in range(peak, len(y)) if np.isfinite(y[i]) and y[i] < NEAR_REST_M]
    if not down:
        raise ValueError("the stomping foot is not seen coming back down onto the plate")
    ic = down[0]
    period = frames.period_s
    top = float(y[peak])
    use = np.array([i for i in range(peak, ic) if np.isfinite(y[i])
                    and NEAR_REST_M <= y[i] <= FIT_HEIGHT_FRACTION * top])
    if len(use) < 3:
        use = np.arange(max(peak, ic - 3), ic)
        use = use[np.isfinite(y[use])]
    if len(use) < 3:
        raise ValueError("fewer than three depth frames show the foot coming down")
    tc, sig_fit, v = _fit_zero_acceleration(t[use], y[use], max(sd, 1e-4), t[ic] - 0.5 * period)
    if not (t[use[-1]] - 0.5 * period <= tc <= t[ic] + 0.5 * period) or v <= 0:
        raise ValueError("the foot's descent onto the plate does not fit a stomp")
    return {"time_host_s": tc, "sigma_fit_s": sig_fit,
            "sigma_rest_s": sd / np.sqrt(len(rest)) / v, "speed_m_s": v, "foot": side,
            "frames_fitted": int(len(use)), "marker_sd_m": sd, "frame_period_s": period,
            "marker": "forefoot top-ranked height vs its rest value"}


def landing_contact(frames: DepthFrames, t_guess_host_s: float, before_s: float = 0.6,
                    after_s: float = 0.5) -> dict:
    """First contact of the feet landing near t_guess (camera host time). ValueError when the
    feet are not seen coming down."""
    idx = frames_between(frames, t_guess_host_s - before_s, t_guess_host_s + after_s)
    if len(idx) < 6:
        raise ValueError("no depth frames around the landing")
    t = frames.time_host_s[idx]
    L = np.full(len(idx), np.nan)
    for k, i in enumerate(idx):
        p = low_points_lab(frames, int(i), cut_m=LANDING_CUT_M)
        if len(p) >= 3 * LANDING_RANK:
            L[k] = np.partition(p[:, 2], LANDING_RANK)[LANDING_RANK]
    if np.sum(np.isfinite(L)) < 4:
        raise ValueError("the feet are not seen on the plate around the landing")
    floor_level = float(np.nanmin(L))
    at_floor = np.nan_to_num(L, nan=np.inf) < floor_level + LANDING_ABOVE_FLOOR_M
    arrivals = [i for i in range(1, len(L)) if at_floor[i] and not at_floor[i - 1]]
    if not arrivals:
        raise ValueError("the feet are not seen coming down onto the plate")
    ic = min(arrivals, key=lambda i: abs(t[i] - t_guess_host_s))
    floor_level = float(np.nanmedian(L[ic:ic + 5]))
    period = frames.period_s
    use = [i for i in range(max(0, ic - 6), ic) if np.isfinite(L[i])
           and L[i] > floor_level + LANDING_ABOVE_FLOOR_M]
    use = [i for i in use if t[i] >= t[ic] - LANDING_FIT_SPAN_S - 0.5 * period][-2:]
    if len(use) < 2:
        raise ValueError("fewer than two depth frames show the feet coming down onto the plate")
    (i0, i1), target = use, LANDING_READING_AT_CONTACT_M
    v = (L[i0] - L[i1]) / (t[i1] - t[i0])
    if v <= 0:
        raise ValueError("the feet are not coming down at the landing")
    tc = float(t[i1] + (L[i1] - target) / v)
    if not t[i1] <= tc <= t[ic] + period:
        raise ValueError("the feet's descent does not reach the plate where the frames say")
    sd = LANDING_READING_SD_M
    lever = (tc - t[i1]) / (t[i1] - t[i0])          # extrapolation beyond the last frame
    sig_fit = sd * np.sqrt((1 + lever) ** 2 + lever ** 2) / v
    return {"time_host_s": tc, "sigma_fit_s": float(sig_fit), "sigma_rest_s": float(sd / v),
            "speed_m_s": float(v), "frames_fitted": 2, "marker_sd_m": sd, "frame_period_s": period,
            "marker": f"{LANDING_RANK}th lowest point of the feet above {LANDING_CUT_M * 100:.0f} cm, "
                      f"reading {target * 1e3:.1f} mm at contact"}
