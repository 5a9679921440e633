"""Winter's residual analysis (analysis/skeleton/residual_analysis.py) and how the result reports
it next to the cut-off (skeleton_pipeline.filter_summary)."""
import numpy as np

from analysis.joints import JOINT_NAMES
from analysis.skeleton.fit import FitSettings
from analysis.skeleton.residual_analysis import leg_residual_analysis, residual_cutoff_hz
from analysis.skeleton_pipeline import filter_summary

RATE = 30.0


def _squat_like(f_hz, noise_m, seed, seconds=8.0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / RATE)
    return 0.15 * np.sin(2 * np.pi * f_hz * t) + rng.normal(0, noise_m, len(t))


def test_the_cut_off_follows_the_signals_band():
    """A slow movement reads a low cut-off, a faster one a higher; both under the band where
    only white noise is left."""
    slow = [residual_cutoff_hz(_squat_like(0.5, 0.005, s), RATE) for s in range(5)]
    fast = [residual_cutoff_hz(_squat_like(3.0, 0.005, s), RATE) for s in range(5)]
    assert max(slow) <= 2.5, slow
    assert min(fast) >= 3.0, fast
    assert max(fast) <= 8.0, fast


def test_too_short_a_series_gives_nan_and_legs_are_summarised():
    assert np.isnan(residual_cutoff_hz(np.zeros(20), RATE))
    T = 240
    joints = np.zeros((T, len(JOINT_NAMES), 3))
    rng = np.random.default_rng(1)
    joints += _squat_like(0.5, 0.004, 2, T / RATE)[:, None, None] + rng.normal(0, 0.004, joints.shape)
    out = leg_residual_analysis(joints, RATE)
    assert out["n_series"] == 18                      # hips, knees, ankles x 3 coordinates
    assert 1.0 <= out["median_hz"] <= out["max_hz"] <= 2.5
    none = leg_residual_analysis(joints[:10], RATE)
    assert none["n_series"] == 0 and np.isnan(none["max_hz"])


def test_filter_summary_flags_motion_above_the_cut_off():
    fit = FitSettings(cutoff_hz=4.0)
    ok = filter_summary(fit, {"median_hz": 1.2, "max_hz": 2.5, "n_series": 18}, False)
    assert ok["cutoff_hz"] == 4.0 and not ok["above_cutoff"]
    assert ok["cutoff_source"] == "the trial kind's default"
    hi = filter_summary(fit, {"median_hz": 3.0, "max_hz": 6.0, "n_series": 18}, True)
    assert hi["above_cutoff"] and hi["cutoff_source"] == "the cutoff_hz setting"
    nan = filter_summary(fit, {"median_hz": float("nan"), "max_hz": float("nan"), "n_series": 0}, False)
    assert not nan["above_cutoff"]
