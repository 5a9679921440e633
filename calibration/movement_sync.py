"""The passive camera->plate time sync of one trial (OpenCap's method): the plate's COM
acceleration Fz/m - g against the camera's, the second derivative of the athlete's COM height
seen in the depth images (camera_com_height), cross-correlated in each movement window the plate
sees (movement_windows). station/capture_session.py runs it after every camera trial and fits
the session's clock line through the trials; calibration/event_sync.py is the event-based
alternative (a stomp, a landing)."""
from __future__ import annotations

import math

import numpy as np

from analysis.constants import G
from calibration.foot_tracking import depth_camera_pose, depth_intrinsics
from calibration.time_sync import lowpass_zero_lag, parabolic_peak_shift

SYNC_CUTOFF_HZ = 4.0
SYNC_PAD_S = 0.75            # a movement window: the movement +- this (s)
SYNC_MIN_WINDOW_S = 1.5      # the shortest window worth a cross-correlation (s)
MAX_FLIGHT_S = 1.2           # unloaded longer than this: the athlete is off the plate (box, floor)
SYNC_MIN_CORRELATION = 0.9   # a window counts only if camera and plate agree this well
SYNC_SPLIT_S = 4.0           # a longer movement (a set of squats) is cut into pieces of 2-4 s


def movement_windows(t_s, fz_n, mass_kg, *, threshold_ms2: float = 0.3,
                     flight_n: float = 20.0, merge_s: float = 0.3):
    """[(t0, t1)] host-time windows around each movement seen on the plate, where Fz/m - g is
    the athlete's COM acceleration: the low-passed |Fz/m - g| exceeds `threshold_ms2`, merged
    across pauses < `merge_s`, split at the middle of each flight (Fz < `flight_n` for at most
    MAX_FLIGHT_S), padded by SYNC_PAD_S, longer ones cut into pieces of at most SYNC_SPLIT_S.
    While the athlete is off the plate (unloaded for longer than a flight: before stepping on,
    on the drop jump's box) the plate says nothing about his COM: no window reaches into that
    time or less than 0.3 s after it (the filter's reach). A CMJ gives two windows (push-off,
    landing), a drop jump two (landing from the box, the rebound's landing), five squats ~3."""
    t = np.asarray(t_s, float)
    f = np.asarray(fz_n, float)
    rate = 1.0 / np.median(np.diff(t))
    acc = lowpass_zero_lag(f / mass_kg - G, rate, SYNC_CUTOFF_HZ)
    unloaded = f < flight_n
    splits, off = [], []
    e = np.flatnonzero(np.diff(np.concatenate([[0], unloaded.astype(np.int8), [0]])))
    for i0, i1 in zip(e[::2], e[1::2]):                # unloaded runs [i0, i1)
        if t[i1 - 1] - t[i0] > MAX_FLIGHT_S or i0 == 0 or i1 == len(t):
            off.append((t[i0] - 0.3, t[i1 - 1] + 0.3))
        else:
            splits.append(0.5 * (t[i0] + t[i1 - 1]))
    moving = np.abs(acc) > threshold_ms2
    for o0, o1 in off:
        moving[(t >= o0) & (t <= o1)] = False
    runs = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], moving.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2]):
        if runs and t[a] - runs[-1][1] < merge_s and not any(runs[-1][1] <= x <= t[a] for x in splits):
            runs[-1][1] = t[b - 1]
        else:
            runs.append([t[a], t[b - 1]])
    bounds_all = sorted(splits + [x for o in off for x in o])
    out = []
    for r0, r1 in runs:
        cut = [x for x in splits if r0 < x < r1]
        marks = [r0, *cut, r1]
        for a, b in zip(marks[:-1], marks[1:]):
            lo = max([x for x in bounds_all if x <= a] + [t[0]])
            hi = min([x for x in bounds_all if x >= b] + [t[-1]])
            w0, w1 = max(lo, a - SYNC_PAD_S), min(hi, b + SYNC_PAD_S)
            if w1 - w0 < SYNC_MIN_WINDOW_S:
                grow = 0.5 * (SYNC_MIN_WINDOW_S - (w1 - w0))
                w0, w1 = max(lo, w0 - grow), min(hi, w1 + grow)
            if w1 - w0 < SYNC_MIN_WINDOW_S - 1e-6:
                continue
            k = int(np.ceil((w1 - w0) / SYNC_SPLIT_S))
            edges_w = np.linspace(w0, w1, k + 1)
            out.extend((float(x), float(y)) for x, y in zip(edges_w[:-1], edges_w[1:]))
    return out


def _lag_valid(a: np.ndarray, b_ext: np.ndarray, m: int, rate_hz: float):
    """Lag (s) with a(t) ~ b(t - lag), searched over +-m samples, with b_ext = b over a's span
    extended by m samples on each side: every lag compares full-length segments (no zero
    padding at the window's edges), Pearson-normalised per lag; sub-sample by a parabola."""
    n = len(a)
    a = (a - a.mean()) / (a.std() * n + 1e-12)
    raw = np.correlate(b_ext, a, mode="valid")                 # j = 0 .. 2m: lag = m - j
    c1 = np.concatenate([[0.0], np.cumsum(b_ext)])
    c2 = np.concatenate([[0.0], np.cumsum(b_ext ** 2)])
    j = np.arange(len(raw))
    mean = (c1[j + n] - c1[j]) / n
    sd = np.sqrt(np.maximum((c2[j + n] - c2[j]) / n - mean ** 2, 1e-24))
    corr = raw / sd                        # sum(a_norm * (b - mean)) = sum(a_norm * b)
    i = int(np.argmax(corr))
    return (m - (i + parabolic_peak_shift(corr, i))) / rate_hz, float(corr[i])


def movement_sync(t_plate_s, fz_n, mass_kg, t_cam_s, com_z_lab_m, *, grid_hz: float = 1000.0,
                  max_lag_s: float = 0.25) -> dict:
    """The passive offset t_plate - t_camera (OpenCap's method, as in
    calibration.time_sync.passive_offset: the plate's COM acceleration Fz/m - g against the
    camera's, the second derivative of its COM height, both low-passed with the same zero-lag
    4th-order Butterworth at SYNC_CUTOFF_HZ), measured separately in each movement window
    (movement_windows). The signals are filtered over the whole trial and only then cut into
    windows, and each window is compared at every lag with the camera's signal over the full
    window (no edges inside the windows: cutting before filtering biased the landing window
    by ~10 ms on the virtual athlete). The trial's offset is the windows' mean, its
    uncertainty their standard error (1 sigma; NaN with a single window: one movement alone
    says nothing about its own error)."""
    from scipy.interpolate import CubicSpline
    t_plate_s = np.asarray(t_plate_s, float)
    fz_n = np.asarray(fz_n, float)
    ok = np.isfinite(com_z_lab_m)
    t_cam = np.asarray(t_cam_s, float)[ok]
    z_cam = np.asarray(com_z_lab_m, float)[ok]
    if len(t_cam) < 10:
        raise ValueError("too few camera frames with the athlete in view for a time sync")
    wins = movement_windows(t_plate_s, fz_n, mass_kg)
    if not wins:
        raise ValueError("no movement on the plate: nothing to time-sync on")
    start = max(t_plate_s[0], t_cam[0])
    stop = min(t_plate_s[-1], t_cam[-1])
    grid = np.arange(start, stop, 1.0 / grid_hz)
    rate_plate = 1.0 / np.median(np.diff(t_plate_s))
    acc_plate = np.interp(grid, t_plate_s, lowpass_zero_lag(fz_n / mass_kg - G, rate_plate, SYNC_CUTOFF_HZ))
    rate_cam = 1.0 / np.median(np.diff(t_cam))
    z_s = lowpass_zero_lag(z_cam, rate_cam, min(SYNC_CUTOFF_HZ, 0.45 * rate_cam))
    acc_cam = CubicSpline(t_cam, z_s)(grid, 2)
    m = int(round(max_lag_s * grid_hz))
    edge = int(round(0.2 * grid_hz))           # filter and spline transients at the trial's ends
    offs, cors, mids = [], [], []
    for w0, w1 in wins:
        i0 = max(int(np.searchsorted(grid, w0)), m + edge)
        i1 = min(int(np.searchsorted(grid, w1)), len(grid) - m - edge)
        if i1 - i0 < int(0.8 * grid_hz):           # too little left of this window
            continue
        lag, c = _lag_valid(acc_plate[i0:i1], acc_cam[i0 - m:i1 + m], m, grid_hz)
        if c > SYNC_MIN_CORRELATION:
            offs.append(lag)
            cors.append(c)
            mids.append(0.5 * (grid[i0] + grid[i1 - 1]))
    if not offs:
        raise ValueError(f"none of the {len(wins)} movement windows correlates between the "
                         "camera and the plate (athlete not in the camera's view?)")
    n = len(offs)
    unc = float(np.std(offs, ddof=1) / np.sqrt(n)) if n >= 2 else math.nan
    return {"offset_s": float(np.mean(offs)), "uncertainty_s": unc,
            "correlation": float(np.min(cors)), "windows": n, "windows_found": len(wins),
            "method": "passive_com_acceleration", "mid_time_host_s": float(np.mean(mids)),
            "window_offsets_s": [float(x) for x in offs], "window_times_host_s": mids}


def camera_com_height(trial, stride: int = 2):
    """(t_host_s, z_lab_m, how) per depth frame: the camera's estimate of the athlete's
    centre-of-mass height from the depth image and the camera pose (/calibration/camera_pose).

    The athlete: depth pixels whose lab points lie above the plate's top (z > 0.04 m), within
    0.9 m of the plate's centre and within 0.5 m (horizontally) of their own median. His mass is
    spread like his volume, not like his visible surface: each image row of the athlete is cut
    into runs (the legs, the arms, the trunk each give one), a run of width w (m) is taken as a
    body cross-section of area ~ w^2 (limbs and trunk are roughly as deep as wide), so its mass
    ~ w^2 x the row's height, at the run's mean height. COM height = the mass-weighted mean.
    (The plain centroid of the visible points weights thin legs like the trunk. Measured on a
    virtual CMJ rendered at 90 fps with no time error, passive_offset per window: the plain
    centroid came out -14.7 ms (push-off) and +11.8 ms (landing), the slice-volume estimate
    +0.07 / +0.01 ms for a frontal camera and -4.2 / +3.2 ms at 45 degrees.)"""
    T = depth_camera_pose(trial)
    st = trial.stream("depth")
    intr, scale = depth_intrinsics(trial, st)
    v, u = np.mgrid[0:intr.height:stride, 0:intr.width:stride]
    rays = np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones(u.shape)], -1)
    rays_lab = rays @ T[:3, :3].T            # lab-frame point per metre of depth, per pixel
    ray_x, ray_y, ray_z = (np.ascontiguousarray(rays_lab[..., k]) for k in range(3))
    p = T[:3, 3]
    t = np.asarray(st.time_host_s, float)
    n = min(len(t), st.data.shape[0])
    z_out = np.full(n, np.nan)
    block = 32                               # frames read from the file at a time
    for i0 in range(0, n, block):
        frames = np.asarray(st.data[i0:min(n, i0 + block)])
        for k, frame in enumerate(frames):
            z = frame[::stride, ::stride] * scale
            z_out[i0 + k] = _com_height_of_frame(z, ray_x, ray_y, ray_z, p, intr, stride)
    return t[:n], z_out, "volume-weighted slices of the athlete's depth silhouette (lab frame)"


def _com_height_of_frame(z, ray_x, ray_y, ray_z, p, intr, stride) -> float:
    h = z * ray_z + p[2]                                   # lab height of each pixel (m)
    mask = (z > 0) & (h > 0.04) & (h < 2.5)
    if np.count_nonzero(mask) < 200:
        return math.nan
    rows_in, cols_in = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    box = np.s_[rows_in[0]:rows_in[-1] + 1, cols_in[0]:cols_in[-1] + 1]   # nothing outside counts
    z, h, mask, ray_x, ray_y = z[box], h[box], mask[box], ray_x[box], ray_y[box]
    x = z * ray_x + p[0]
    y = z * ray_y + p[1]
    mask &= x * x + y * y < 0.9 ** 2
    if np.count_nonzero(mask) < 200:
        return math.nan
    mx, my = np.median(x[mask]), np.median(y[mask])
    mask &= (x - mx) ** 2 + (y - my) ** 2 < 0.5 ** 2
    if np.count_nonzero(mask) < 200:
        return math.nan
    edge = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, c0 = np.nonzero(edge == 1)
    _, c1 = np.nonzero(edge == -1)             # runs of each row, in the same order
    npx = c1 - c0
    keep = npx >= 2
    rows, c0, c1, npx = rows[keep], c0[keep], c1[keep], npx[keep]
    if not len(rows):
        return math.nan
    cz = np.cumsum(np.pad(np.where(mask, z, 0.0), ((0, 0), (1, 0))), axis=1)
    ch = np.cumsum(np.pad(np.where(mask, h, 0.0), ((0, 0), (1, 0))), axis=1)
    depth = (cz[rows, c1] - cz[rows, c0]) / npx            # mean distance of the run (m)
    height = (ch[rows, c1] - ch[rows, c0]) / npx           # mean lab height of the run (m)
    width = npx * stride * depth / intr.fx                 # run width (m)
    mass = width ** 2 * (stride * depth / intr.fy)         # ~ cross-section x row height
    return float(np.sum(mass * height) / np.sum(mass))
