"""Camera <-> plate time offset measured from the movement itself.

Both devices' clocks are already mapped to the host clock by their drivers; what is left is a
residual offset (USB latency, exposure, the mapping's own error) and, over a session, a slow drift.
Two measurements, both passive or nearly so:

* Passive (OpenCap's approach, Uhlrich et al. 2023, PLOS Comput Biol): the plate's vertical
  acceleration of the centre of mass, a = Fz/m - g, is cross-correlated with the vertical
  acceleration of the centre of mass seen by the camera (second derivative of its height), both
  low-passed with the same zero-lag filter. The lag of the correlation peak is the offset.
* Event (a stomp): the force onset of a foot strike vs the moment the camera sees the foot stop
  on the plate.

Sign convention: offset_s = t_plate - t_camera for the same physical instant, so camera times
are put on the plate's time base by `t_camera + offset_s`. Across a session the offsets of its
trials are fitted with a line (offset and drift in ppm) that is applied per trial.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal
from scipy.interpolate import CubicSpline

from analysis.constants import G


@dataclass(frozen=True)
class SyncEstimate:
    offset_s: float            # t_plate - t_camera
    uncertainty_s: float       # 1-sigma, from the spread of the per-window estimates
    correlation: float         # peak normalised cross-correlation (0..1)
    windows: int               # how many movement windows contributed
    method: str

    def to_dict(self) -> dict:
        return {"offset_s": self.offset_s, "uncertainty_s": self.uncertainty_s,
                "correlation": self.correlation, "windows": self.windows, "method": self.method}


def lowpass_zero_lag(x: np.ndarray, rate_hz: float, cutoff_hz: float) -> np.ndarray:
    """4th-order Butterworth run forwards and backwards (zero lag)."""
    sos = signal.butter(4, cutoff_hz, fs=rate_hz, output="sos")
    return signal.sosfiltfilt(sos, x)


def _lag_by_xcorr(a: np.ndarray, b: np.ndarray, rate_hz: float, max_lag_s: float):
    """Lag (s) that best aligns b onto a: a(t) ~ b(t - lag). Sub-sample by parabolic peak fit."""
    a = (a - a.mean()) / (a.std() + 1e-12)
    b = (b - b.mean()) / (b.std() + 1e-12)
    corr = signal.correlate(a, b, mode="full", method="fft") / len(a)
    lags = signal.correlation_lags(len(a), len(b), mode="full")
    keep = np.abs(lags) <= int(round(max_lag_s * rate_hz))
    corr, lags = corr[keep], lags[keep]
    i = int(np.argmax(corr))
    return (lags[i] + parabolic_peak_shift(corr, i)) / rate_hz, float(corr[i])


def parabolic_peak_shift(y: np.ndarray, i: int) -> float:
    """Sub-sample position of the peak at y[i] (in samples, -0.5..0.5): the vertex of the
    parabola through y[i-1], y[i], y[i+1]; 0 at the ends or when they are not a peak."""
    if 0 < i < len(y) - 1:
        y0, y1, y2 = y[i - 1], y[i], y[i + 1]
        denom = y0 - 2 * y1 + y2
        if denom < 0:
            return float(0.5 * (y0 - y2) / denom)
    return 0.0


def passive_offset(t_plate_s: np.ndarray, fz_n: np.ndarray, mass_kg: float,
                   t_camera_s: np.ndarray, com_z_lab_m: np.ndarray, *,
                   cutoff_hz: float = 4.0, grid_hz: float = 1000.0, max_lag_s: float = 0.25,
                   window_s: float = 4.0) -> SyncEstimate:
    """Offset from cross-correlating force-derived and camera-derived COM vertical acceleration.

    t_plate_s, fz_n: the plate's samples (any rate, host time base). t_camera_s, com_z_lab_m: the
    camera's centre-of-mass height per frame (NaN where not tracked). Both on the host time base.
    """
    t_plate_s = np.asarray(t_plate_s, float)
    fz_n = np.asarray(fz_n, float)
    ok = np.isfinite(com_z_lab_m)
    t_cam, z_cam = np.asarray(t_camera_s, float)[ok], np.asarray(com_z_lab_m, float)[ok]
    if len(t_cam) < 10:
        raise ValueError("too few tracked camera frames for a passive time sync")
    start = max(t_plate_s[0], t_cam[0]) + max_lag_s
    stop = min(t_plate_s[-1], t_cam[-1]) - max_lag_s
    if stop - start < 1.0:
        raise ValueError("camera and plate overlap by less than a second: no passive time sync")
    grid = np.arange(start, stop, 1.0 / grid_hz)
    # Plate: acceleration of the COM, a = Fz/m - g; low-pass on the plate's own grid first.
    rate_plate = 1.0 / np.median(np.diff(t_plate_s))
    acc_plate = lowpass_zero_lag(fz_n / mass_kg - G, rate_plate, cutoff_hz)
    acc_plate_grid = np.interp(grid, t_plate_s, acc_plate)
    # Camera: smooth the height with the same filter, then differentiate twice via a spline.
    rate_cam = 1.0 / np.median(np.diff(t_cam))
    z_smooth = lowpass_zero_lag(z_cam, rate_cam, min(cutoff_hz, 0.45 * rate_cam))
    acc_cam_grid = CubicSpline(t_cam, z_smooth)(grid, 2)
    # a_plate(t) = a_cam(t - offset) : lag of cam onto plate is the offset.
    offset, corr = _lag_by_xcorr(acc_plate_grid, acc_cam_grid, grid_hz, max_lag_s)
    # Per-window estimates give an honest spread wherever the movement repeats.
    n = int(window_s * grid_hz)
    estimates = []
    for i0 in range(0, len(grid) - n + 1, n // 2):
        a, b = acc_plate_grid[i0:i0 + n], acc_cam_grid[i0:i0 + n]
        if np.std(a) < 0.5:   # no movement (m/s^2): nothing to correlate
            continue
        lag, c = _lag_by_xcorr(a, b, grid_hz, max_lag_s)
        if c > 0.5:
            estimates.append(lag)
    if len(estimates) >= 2:
        uncertainty = float(np.std(estimates, ddof=1) / np.sqrt(len(estimates)))
    else:
        uncertainty = float("nan")
    return SyncEstimate(float(offset), uncertainty, corr, len(estimates), "passive_com_acceleration")


def stomp_offset(force_onset_plate_s: float, foot_contact_camera_s: float,
                 camera_frame_period_s: float) -> SyncEstimate:
    """Offset from one event seen by both devices. Its uncertainty is the camera's time
    resolution (uniform over a frame period: period / sqrt(12))."""
    return SyncEstimate(float(force_onset_plate_s - foot_contact_camera_s),
                        camera_frame_period_s / np.sqrt(12.0), 1.0, 1, "stomp")


def foot_contact_time(t_camera_s: np.ndarray, foot_z_lab_m: np.ndarray,
                      contact_height_m: float = 0.02) -> float:
    """First time the foot, descending, reaches contact height; linear interpolation between
    frames (NaN frames ignored)."""
    t = np.asarray(t_camera_s, float)
    z = np.asarray(foot_z_lab_m, float)
    ok = np.isfinite(z)
    t, z = t[ok], z[ok]
    below = z <= contact_height_m
    idx = np.flatnonzero(below[1:] & ~below[:-1])
    if len(idx) == 0:
        raise ValueError("the foot never comes down onto the plate in this trial")
    i = idx[0]
    frac = (z[i] - contact_height_m) / (z[i] - z[i + 1])
    return float(t[i] + frac * (t[i + 1] - t[i]))


@dataclass(frozen=True)
class SessionClockFit:
    offset_at_t0_s: float
    drift_ppm: float
    t0_s: float
    residual_rms_s: float
    n_trials: int

    def offset_at(self, t_s) -> np.ndarray:
        return self.offset_at_t0_s + self.drift_ppm * 1e-6 * (np.asarray(t_s, float) - self.t0_s)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def fit_session_drift(trial_mid_times_s, offsets_s, weights=None) -> SessionClockFit:
    """Offset and drift across a session from the trials' offsets (least squares line; one
    trial gives an offset and zero drift)."""
    t = np.asarray(trial_mid_times_s, float)
    y = np.asarray(offsets_s, float)
    keep = np.isfinite(y)
    t, y = t[keep], y[keep]
    if len(t) == 0:
        raise ValueError("no trial had a usable time sync")
    t0 = float(t[0])
    if len(t) == 1 or np.ptp(t) < 1.0:
        return SessionClockFit(float(np.mean(y)), 0.0, t0, float(np.std(y)), len(t))
    w = None if weights is None else np.asarray(weights, float)[keep]
    slope, intercept = np.polyfit(t - t0, y, 1, w=w)
    resid = y - (intercept + slope * (t - t0))
    return SessionClockFit(float(intercept), float(slope * 1e6), t0, float(np.sqrt(np.mean(resid ** 2))), len(t))
