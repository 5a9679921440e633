"""Winter's residual analysis: where a joint trajectory's signal ends and its noise begins.

For each candidate cut-off fc the RMS residual R(fc) between the raw series and the series
low-passed at fc (the pipeline's own zero-lag filter, fit.lowpass_zero_lag) is computed. Above
the signal's band R falls only with the noise it removes, almost linearly; the straight line
fitted over the upper candidates (from `fit_from` of the Nyquist frequency) meets fc = 0 at the
noise's RMS, and the first fc whose residual is down to that level is where the signal ends
(Winter, Biomechanics and Motor Control of Human Movement, 4th ed. 2009, section 3.4.4.3).

The skeleton reports it next to the cut-off it used (skeleton_pipeline: result['filter']), so a
reader sees whether the filter sat above the measured motion. It chose nothing by itself: on the
bench's squats it reads 1.0-4.0 Hz, scattered by the depth noise (docs/SKELETON.md, round 8).
"""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, filtfilt

from analysis.joints import JOINT_INDEX, SIDES
from analysis.skeleton.fit import lowpass_zero_lag

LEG_JOINTS = ("hip", "knee", "ankle")


def residual_cutoff_hz(x: np.ndarray, rate_hz: float, **kw) -> float:
    """The residual analysis' cut-off (Hz) of one series x (T,); see residual_cutoffs_hz."""
    return float(residual_cutoffs_hz(np.asarray(x, float)[:, None], rate_hz, **kw)[0])


def residual_cutoffs_hz(X: np.ndarray, rate_hz: float, lowest_hz: float = 1.0, step_hz: float = 0.25,
                        fit_from: float = 0.5, top: float = 0.9, order: int = 4) -> np.ndarray:
    """The residual analysis' cut-off (Hz) of each column of X (T, n): candidates from
    lowest_hz to top x Nyquist in steps of step_hz (lowest_hz means "at or below it"); NaN for
    a column with fewer than ~2 s of finite samples. The filter is fit.lowpass_zero_lag's
    (Butterworth of order/2 run forwards and backwards), applied to all complete columns at once."""
    X = np.asarray(X, float)
    out = np.full(X.shape[1], np.nan)
    nyq = 0.5 * rate_hz
    fcs = np.arange(lowest_hz, top * nyq + 1e-9, step_hz)
    upper = fcs >= fit_from * nyq
    enough = np.isfinite(X).sum(axis=0) >= max(2 * rate_hz, 30)
    if len(fcs) < 4 or upper.sum() < 2 or not enough.any():
        return out
    complete = enough & np.isfinite(X).all(axis=0)
    R = np.full((len(fcs), X.shape[1]), np.nan)
    for i, fc in enumerate(fcs):
        if complete.any():
            b, a = butter(max(order // 2, 1), min(fc / nyq, 0.99))
            R[i, complete] = np.sqrt(np.mean((X[:, complete] - filtfilt(b, a, X[:, complete], axis=0)) ** 2, axis=0))
        for c in np.flatnonzero(enough & ~complete):      # gaps: each finite run on its own
            R[i, c] = np.sqrt(np.nanmean((X[:, c] - lowpass_zero_lag(X[:, c], rate_hz, fc, order)) ** 2))
    for c in np.flatnonzero(enough):
        _, noise_rms = np.polyfit(fcs[upper], R[upper, c], 1)
        below = np.flatnonzero(R[:, c] <= noise_rms)
        out[c] = fcs[below[0]] if len(below) else fcs[-1]
    return out


def leg_residual_analysis(joints: np.ndarray, rate_hz: float) -> dict:
    """Residual analysis of the hips', knees' and ankles' coordinates (joints (T, J, 3), any
    frame, unfiltered): {'median_hz', 'max_hz', 'n_series'} over the series that had enough
    samples (NaN values and n_series 0 when none had)."""
    joints = np.asarray(joints, float)
    cols = [joints[:, JOINT_INDEX[f"{side}_{j}"], c] for side in SIDES for j in LEG_JOINTS
            for c in range(joints.shape[-1])]
    fcs = residual_cutoffs_hz(np.stack(cols, axis=1), rate_hz)
    fcs = fcs[np.isfinite(fcs)]
    if not len(fcs):
        return {"median_hz": float("nan"), "max_hz": float("nan"), "n_series": 0}
    return {"median_hz": float(np.median(fcs)), "max_hz": float(fcs.max()), "n_series": int(len(fcs))}
