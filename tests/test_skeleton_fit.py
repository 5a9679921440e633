"""The skeletal fit: bone lengths from a static trial, constant-length fit of noisy lifted joints
with 2D observations, zero-lag filter, lab transform."""
from __future__ import annotations

import numpy as np

from analysis import angles
from analysis.joints import JOINT_INDEX, JOINT_NAMES
from analysis.skeleton.fit import (BONES, FitSettings, estimate_bone_lengths, fit_frames,
                                   lowpass_zero_lag, to_lab)
from drivers.camera_model import D435_COLOR_640x480 as CI, invert_pose, standard_camera_pose, transform_points


def _squat_truth(n=40):
    from drivers.athlete.render_pose import simple_pose_lab
    s = 0.5 - 0.5 * np.cos(np.linspace(0, 2 * np.pi, n))
    return np.array([simple_pose_lab(squat=0.8 * x) for x in s])


def test_fit_holds_bone_lengths_and_recovers_noisy_joints():
    rng = np.random.default_rng(1)
    T_lab_from_color = standard_camera_pose("45")
    truth_lab = _squat_truth()
    truth_cam = transform_points(invert_pose(T_lab_from_color), truth_lab)
    L_true = {b: float(np.linalg.norm(truth_cam[0, JOINT_INDEX[b[0]]] - truth_cam[0, JOINT_INDEX[b[1]]]))
              for b in BONES}
    xy = CI.project(truth_cam) + rng.normal(0, 1.0, truth_cam.shape[:2] + (2,))
    vis = np.ones(truth_cam.shape[:2])
    lifted = truth_cam + rng.normal(0, 0.015, truth_cam.shape) * np.array([0.2, 0.2, 1.0])
    ok = np.ones(truth_cam.shape[:2], bool)
    ok[:, JOINT_INDEX["left_heel"]] = ok[:, JOINT_INDEX["right_heel"]] = False
    lifted[10:14, JOINT_INDEX["left_knee"], 2] -= 0.25        # a wrong depth (occlusion)
    static_L = estimate_bone_lengths(np.where(ok[..., None], lifted, np.nan)[:5], ok[:5])
    assert abs(static_L[("left_hip", "left_knee")] - L_true[("left_hip", "left_knee")]) < 0.02
    fitted, rms, rejected = fit_frames(xy, vis, np.where(ok[..., None], lifted, np.nan), ok, L_true,
                                       CI, FitSettings(), init_hint_camera_m=truth_cam + 0.03)
    assert rejected[10:14, JOINT_INDEX["left_knee"]].all()
    for (a, b), L in L_true.items():
        d = np.linalg.norm(fitted[:, JOINT_INDEX[a]] - fitted[:, JOINT_INDEX[b]], axis=-1)
        assert np.abs(d - L).max() < 0.01, (a, b)
    err = np.linalg.norm(fitted - truth_cam, axis=-1)
    leg = [JOINT_INDEX[f"{s}_{j}"] for s in ("left", "right") for j in ("hip", "knee", "ankle", "toe")]
    assert np.median(err[:, leg]) < 0.02
    assert err[10:14, JOINT_INDEX["left_knee"]].max() < 0.05     # the bad depth was not followed
    lab = to_lab(fitted, T_lab_from_color)
    kf_err = np.degrees(angles.knee_flexion(lab, "left") - angles.knee_flexion(truth_lab, "left"))
    assert np.sqrt(np.mean(kf_err ** 2)) < 3.0


def test_zero_lag_filter_keeps_the_peak_time_and_leaves_gaps():
    fs = 30.0
    t = np.arange(0, 4, 1 / fs)
    x = np.exp(-((t - 2.0) / 0.3) ** 2)
    noisy = x + np.random.default_rng(0).normal(0, 0.02, t.size)
    y = lowpass_zero_lag(noisy, fs, 6.0)
    assert abs(t[np.argmax(y)] - 2.0) <= 1 / fs
    assert np.std(y - x) < np.std(noisy - x)
    g = noisy.copy()
    g[50:60] = np.nan
    yg = lowpass_zero_lag(g, fs, 6.0)
    assert np.isnan(yg[50:60]).all() and np.isfinite(yg[:50]).all()


def test_fit_leaves_a_heel_first_foot_when_the_toe_depth_says_so():
    """Drop jumps start on the box: in the first frames the toe and ankle have no depth and the
    fit can start with a foot turned heel-first. Once the toe's depth is measured (15-20 cm from
    the turned foot's toe) the fit must turn the foot round, not reject the toe's depth as an
    occlusion and keep the foot backwards (issue 8: dorsiflexion -59 deg read 'ok')."""
    rng = np.random.default_rng(3)
    T_lab_from_color = standard_camera_pose("front")
    truth_lab = _squat_truth(12)
    truth_cam = transform_points(invert_pose(T_lab_from_color), truth_lab)
    L_true = {b: float(np.linalg.norm(truth_cam[0, JOINT_INDEX[b[0]]] - truth_cam[0, JOINT_INDEX[b[1]]]))
              for b in BONES}
    xy = CI.project(truth_cam) + rng.normal(0, 0.5, truth_cam.shape[:2] + (2,))
    vis = np.ones(truth_cam.shape[:2])
    ok = np.ones(truth_cam.shape[:2], bool)
    feet = {s: [JOINT_INDEX[f"{s}_{j}"] for j in ("ankle", "heel", "toe")] for s in ("left", "right")}
    for s in ("left", "right"):
        ok[:, JOINT_INDEX[f"{s}_heel"]] = False
    ok[:3, feet["right"]] = False                       # first frames: the right foot has no depth
    lifted = np.where(ok[..., None], truth_cam, np.nan)
    # the start: the right foot mirrored about the ankle along the viewing direction (heel first)
    hint = truth_cam.copy()
    a, h, to = feet["right"]
    for t in range(len(hint)):
        for j in (h, to):
            hint[t, j, 2] = 2 * truth_cam[t, a, 2] - truth_cam[t, j, 2]
    lifted_first = lifted.copy()
    lifted_first[:3, [h, to]] = hint[:3, [h, to]]       # the first frames' fit starts heel-first
    ok_first = ok.copy()
    ok_first[:3, to] = True
    fitted, _, rejected = fit_frames(xy, vis, lifted_first, ok_first, L_true, CI, FitSettings(),
                                     init_hint_camera_m=hint)
    toe_z_err = np.abs(fitted[:, to, 2] - truth_cam[:, to, 2])
    assert toe_z_err[0] > 0.05                          # the set-up: it did start heel-first
    assert toe_z_err[4:].max() < 0.03, toe_z_err.round(3)
    assert not rejected[4:, to].any()


def test_piecewise_filter_does_not_round_the_landing_kink():
    """A V at the contact (the ankle at touchdown): filtered across it the frames next to the
    contact move by ~0.6 deg (60 fps, 12 Hz; 5-6 deg at the contact itself on a 90 fps curve);
    filtered apart either side of the contact they stay."""
    from analysis.skeleton.fit import lowpass_piecewise
    t = np.arange(0, 1, 1 / 60)
    tc = 0.5 + 1 / 120                                   # the contact, between two frames
    y = np.where(t < tc, -40.0 * (tc - t) - 12.0, 400.0 * (t - tc) - 12.0)[:, None]
    across = lowpass_zero_lag(y, 60.0, 12.0)[:, 0]
    apart = lowpass_piecewise(y, t, 60.0, 12.0, 4, breaks_s=[tc])[:, 0]
    near = [np.searchsorted(t, tc) - 1, np.searchsorted(t, tc)]     # the frames either side
    assert np.abs(apart[near] - y[near, 0]).max() < 0.05
    assert np.abs(across[near] - y[near, 0]).min() > 0.4
    assert np.allclose(lowpass_piecewise(y, t, 60.0, 12.0, 4, breaks_s=[]), lowpass_zero_lag(y, 60.0, 12.0))


def test_every_protocol_kind_gets_its_cut_off():
    """The protocol's own kind names (what the capture session writes as trial_kind) choose the
    joints' cut-off: the slow tasks SQUAT_CUTOFF_HZ, the jumps LANDING_CUTOFF_HZ. The single-leg
    squat's "single-leg-squat" and "stand" were once missing and fell to the jumps' 12 Hz."""
    from analysis.skeleton_pipeline import (LANDING_CUTOFF_HZ, SQUAT_CUTOFF_HZ, _skeleton_settings,
                                            cutoff_for_kind)
    from station.protocol import KINDS
    slow = {"stand", "static", "squat", "single-leg-squat"}
    assert slow < set(KINDS)
    for kind in KINDS:
        want = SQUAT_CUTOFF_HZ if kind in slow else LANDING_CUTOFF_HZ
        assert cutoff_for_kind(kind) == want, kind
        assert _skeleton_settings({}, kind, 1.75, 0.0).fit.cutoff_hz == want
    assert SQUAT_CUTOFF_HZ < LANDING_CUTOFF_HZ
    # the setting overrides the kind's default
    assert _skeleton_settings({"cutoff_hz": 9.0}, "squat", 1.75, 0.0).fit.cutoff_hz == 9.0


def test_squat_cut_off_keeps_a_squat_and_drops_faster_noise():
    """At the squats' cut-off a 2 Hz component (a squat's motion; Winter's residual analysis
    of the bench squats' leg joints reads <= 2.5 Hz in 208 of 216 coordinates, ~2x the content's
    frequency) keeps >= 90 % of its amplitude, and a 6 Hz one (depth noise that the old 7 Hz let
    through) is cut to < 25 %."""
    from analysis.skeleton_pipeline import SQUAT_CUTOFF_HZ
    rate = 30.0
    t = np.arange(0, 20, 1 / rate)
    for f, lo, hi in ((2.0, 0.90, 1.0), (6.0, 0.0, 0.25)):
        x = np.sin(2 * np.pi * f * t)
        y = lowpass_zero_lag(x[:, None], rate, SQUAT_CUTOFF_HZ)[:, 0]
        mid = slice(len(t) // 4, 3 * len(t) // 4)
        gain = np.std(y[mid]) / np.std(x[mid])
        assert lo <= gain <= hi, (f, gain)
