"""Whole chain on the virtual athlete: rendered depth + color -> trial file -> analyze_skeleton
-> errors against the truth. The 2D landmarks come from the TEST-ONLY truth-projection detector
(1.5 px noise) so this isolates the depth lifting, the fit and the kinematics from MediaPipe's
own errors (MediaPipe's figures: bench/bench_skeleton.py --accuracy, docs/SKELETON.md)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.skeleton.virtual_check import VirtualSpec, run_case

pytestmark = pytest.mark.slow
REQUIRED = ("dorsiflexion_at_contact_deg", "dorsiflexion_max_deg", "fppa_at_contact_deg",
            "fppa_max_deg", "knee_flexion_max_deg", "tracking_quality")


@pytest.fixture(scope="module")
def squats(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    out = {}
    for ankle in ("normal", "restricted"):
        # from 1.0 s: the last 0.5 s of the quiet stance before the rep (every protocol trial
        # starts standing; the trial's frontal plane is taken from it, analysis/angles.py)
        spec = VirtualSpec(kind="squat", view="front", traits={"ankle": ankle}, depth_fps=30.0,
                           window_s=(1.0, 4.0))
        static = VirtualSpec(kind="static", view="front", traits={"ankle": ankle}, seed=100,
                             depth_fps=30.0, window_s=(0.5, 1.0))
        (d / ankle).mkdir()
        out[ankle] = run_case(d / ankle, spec, static,
                              truth_detector_noise_px=1.5)
    return out


def test_squat_bottom_dorsiflexion_and_fppa_against_truth(squats):
    for ankle, ev in squats.items():
        rep = ev["reps"][0]
        res = ev["result"]["reps"][0]
        for side in ("left", "right"):
            r = rep[side]
            print(ankle, side, {k: round(v, 2) for k, v in r.items() if isinstance(v, float)})
            assert r["verdict"]["verdict"] == "ok"
            assert all(res[side][k] is not None for k in REQUIRED)
            assert res[side]["tracking_quality"] > 0.95
            # issue 8's bar: RMSE and error at the bottom <= 3 deg. Measured (depth-model
            # refinement on, stance frontal plane): DF RMSE 1.8-2.7, DF error at the bottom
            # -0.2..2.4, FPPA RMSE 1.4-2.5 deg
            assert r["dorsiflexion_rmse_deg"] <= 3.0
            assert abs(r["dorsiflexion_err_at_contact_deg"]) <= 3.0
            assert r["fppa_rmse_deg"] <= 3.0
            # FPPA error AT the 95 deg squat bottom (normal left, right, restricted left, right):
            # -0.6, -1.9, -4.1, -1.8 in session 4; 1.0, -1.5, 0.5, -2.1 after the frontal-plane
            # fix (round 6, joints filtered at 7 Hz); 0.9, -1.6, 0.3, -1.2 at the squats' 4 Hz
            # (skeleton_pipeline.SQUAT_CUTOFF_HZ, docs/SKELETON.md round 8)
            assert abs(r["fppa_err_at_contact_deg"]) <= 3.0
            # ours beats MediaPipe-style world landmarks is checked with MediaPipe in the bench


def test_restricted_ankle_is_told_apart(squats):
    for side in ("left", "right"):
        true_n = squats["normal"]["reps"][0][side]["dorsiflexion_max_true_deg"]
        true_r = squats["restricted"]["reps"][0][side]["dorsiflexion_max_true_deg"]
        ours_n = squats["normal"]["result"]["reps"][0][side]["dorsiflexion_max_deg"]
        ours_r = squats["restricted"]["result"]["reps"][0][side]["dorsiflexion_max_deg"]
        print(side, "true", round(true_n, 1), round(true_r, 1), "ours", round(ours_n, 1), round(ours_r, 1))
        assert true_n - true_r > 5.0
        assert ours_n - ours_r > 0.5 * (true_n - true_r)


def test_output_keys_and_arrays(squats):
    res = squats["normal"]["result"]
    for k in ("reps", "tracking_quality", "verdict", "static_reference", "bone_lengths_m",
              "settings", "timings_s", "arrays"):
        assert k in res
    a = res["arrays"]
    T = len(a["time_s"])
    assert a["joints_lab_m"].shape == (T, 18, 3)
    assert np.isfinite(a["joints_lab_m"]).all()
    assert res["static_reference"]["source"] == "static trial"
    assert res["settings"]["estimator"] == "truth_projection"
    # the cut-off the joints were filtered with is recorded: a squat's (SQUAT_CUTOFF_HZ)
    assert res["settings"]["fit"]["cutoff_hz"] == 4.0


@pytest.fixture(scope="module")
def mediapipe_squat(tmp_path_factory):
    """The front squat through the whole chain with MediaPipe (the product's estimator), with the
    foot registration (analysis/skeleton/foot.py, on by default) and without it (the old method:
    the foot from MediaPipe's heel and toe landmarks)."""
    pytest.importorskip("mediapipe")
    d = tmp_path_factory.mktemp("chain_mp")
    spec = VirtualSpec(kind="squat", view="front", depth_fps=30.0, window_s=(1.0, 4.6))
    static = VirtualSpec(kind="static", view="front", seed=100, depth_fps=30.0, window_s=(0.5, 1.5))
    return {"foot": run_case(d, spec, static),      # the second call reuses the renders
            "no_foot": run_case(d, spec, static, settings={"foot": {"enabled": False}})}


def test_mediapipe_squat_dorsiflexion_meets_3_deg_with_the_foot_registration(mediapipe_squat):
    new, old = mediapipe_squat["foot"]["reps"][0], mediapipe_squat["no_foot"]["reps"][0]
    res = mediapipe_squat["foot"]["result"]
    assert res["settings"]["foot"]["enabled"] is True
    assert mediapipe_squat["no_foot"]["result"]["settings"]["foot"]["enabled"] is False
    for side in ("left", "right"):
        n, o = new[side], old[side]
        print(side, "DF RMSE old %.1f new %.1f; at the bottom old %.1f new %.1f deg" % (
            o["dorsiflexion_rmse_deg"], n["dorsiflexion_rmse_deg"],
            o["dorsiflexion_err_at_contact_deg"], n["dorsiflexion_err_at_contact_deg"]))
        assert n["verdict"]["verdict"] == "ok"
        # issue 8's bar. Measured (bench, 2026-11-27): RMSE 1.4 / 1.0, bottom -0.1 / -0.3 deg;
        # the old method (MediaPipe's heel) 5.9 / 5.5 and -5.9 / -7.1: these checks fail on it
        assert n["dorsiflexion_rmse_deg"] <= 3.0
        assert abs(n["dorsiflexion_err_at_contact_deg"]) <= 3.0
        assert o["dorsiflexion_rmse_deg"] > 4.0
        assert n["fppa_rmse_deg"] <= 3.0            # the foot does not touch the FPPA
        assert n["fppa_rmse_deg"] == pytest.approx(o["fppa_rmse_deg"], abs=1e-6)
    fit = res["arrays"]["foot_fitness"]
    assert (fit > 0.5).mean() > 0.95               # registered in (nearly) every frame


# The settings of the chain before round 2 of issue 8 (no depth smoothing for the legs and the
# feet, the foot registered in the depth frame nearest to each color frame only)
OLD_ROUND1 = {"foot": {"smooth_px": 0, "dense_window_s": 0.0},
              "refine": {"smooth_px": 0, "far_leg_again_m": 0.0, "despike_tol_m": 0.0, "pelvis_tol_m": 0.0,
                         "multi_start": False, "pelvis_competes": False, "first_leg_again": False,
                         "thigh_alone": False}}
# ... before round 3 (no far-leg pass, no despiking of the legs' joints, no pelvis-width outlier test)
OLD_ROUND2 = {"refine": {"far_leg_again_m": 0.0, "despike_tol_m": 0.0, "pelvis_tol_m": 0.0, "multi_start": False,
                         "pelvis_competes": False, "first_leg_again": False, "thigh_alone": False}}


def _event_errors(r, name):
    return [r.get(f"{name}_err_at_{e}_deg") for e in ("contact", "peak_force", "peak_knee_flexion")
            if r.get(f"{name}_err_at_{e}_deg") is not None and np.isfinite(r[f"{name}_err_at_{e}_deg"])]


@pytest.fixture(scope="module")
def mediapipe_drop_jump(tmp_path_factory):
    """A front-view drop jump with the station's streams (depth 90 fps, color 30 fps) through the
    whole chain with MediaPipe, with round 2's settings (the defaults) and with round 1's."""
    pytest.importorskip("mediapipe")
    d = tmp_path_factory.mktemp("chain_dj")
    spec = VirtualSpec(kind="dj", view="front", color_fps=30.0, depth_fps=90.0, window_s=(1.6, 3.4))
    static = VirtualSpec(kind="static", view="front", seed=100, color_fps=30.0, depth_fps=30.0,
                         window_s=(0.5, 1.5))
    return {"new": run_case(d, spec, static), "old": run_case(d, spec, static, settings=OLD_ROUND1)}


def test_mediapipe_drop_jump_dorsiflexion_meets_3_deg_at_the_events(mediapipe_drop_jump):
    new, old = mediapipe_drop_jump["new"], mediapipe_drop_jump["old"]
    assert new["result"]["settings"]["foot"]["dense_window_s"] > 0
    assert new["result"]["settings"]["refine"]["smooth_px"] == 1
    assert new["result"]["arrays"]["foot_dense"].sum() > 0      # every depth frame near the events
    for side in ("left", "right"):                              # IC from the 90 fps approach
        assert "depth frames" in new["result"]["reps"][0][side]["dorsiflexion_at_contact_from"]
    a = new["result"]["arrays"]                                 # ... whose samples are kept
    ic = new["result"]["reps"][0]["events"]["contact_s"]
    near = np.abs(a["depth_frames_time_s"] - ic) < 0.05
    assert near.sum() >= 8 and np.isfinite(a["depth_frames_left_dorsiflexion"][near]).all()
    old_worst = 0.0
    for side in ("left", "right"):
        n, o = new["reps"][0][side], old["reps"][0][side]
        print(side, "DF RMSE old %.1f new %.1f; IC PF PK old %s new %s; FPPA RMSE old %.1f new %.1f" % (
            o["dorsiflexion_rmse_deg"], n["dorsiflexion_rmse_deg"],
            [round(x, 1) for x in _event_errors(o, "dorsiflexion")], [round(x, 1) for x in _event_errors(n, "dorsiflexion")],
            o["fppa_rmse_deg"], n["fppa_rmse_deg"]))
        assert n["verdict"]["verdict"] == "ok"
        # issue 8's bar for the dorsiflexion over the landing and at IC, PF, PK
        assert n["dorsiflexion_rmse_deg"] <= 3.0
        assert all(abs(e) <= 3.0 for e in _event_errors(n, "dorsiflexion"))
        assert len(_event_errors(n, "dorsiflexion")) == 3
        assert n["fppa_rmse_deg"] <= 3.0
        old_worst = max([old_worst, o["dorsiflexion_rmse_deg"]] + [abs(e) for e in _event_errors(o, "dorsiflexion")])
    # round 1's settings on the same trial miss the bar somewhere (measured: IC +6.6 right)
    assert old_worst > 3.0


@pytest.fixture(scope="module")
def mediapipe_squat_45(tmp_path_factory):
    pytest.importorskip("mediapipe")
    d = tmp_path_factory.mktemp("chain_sq45")
    spec = VirtualSpec(kind="squat", view="45", depth_fps=30.0, window_s=(1.0, 4.6))
    static = VirtualSpec(kind="static", view="45", seed=100, depth_fps=30.0, window_s=(0.5, 1.5))
    return {"new": run_case(d, spec, static), "old": run_case(d, spec, static, settings=OLD_ROUND1),
            "old2": run_case(d, spec, static, settings=OLD_ROUND2)}


def test_mediapipe_squat_45_fppa_meets_3_deg_round_3(mediapipe_squat_45):
    """Round 3: far-leg pass from the near hip's correction, despiking, pelvis-width outliers:
    FPPA <= 3 deg (RMSE and at the bottom) in both legs at 45 deg; round 2 missed it (far leg)."""
    assert mediapipe_squat_45["new"]["result"]["settings"]["refine"]["far_leg_again_m"] > 0
    for side in ("left", "right"):
        n = mediapipe_squat_45["new"]["reps"][0][side]
        o = mediapipe_squat_45["old2"]["reps"][0][side]
        print(side, "FPPA RMSE round 2 %.1f round 3 %.1f, bottom %.1f -> %.1f; DF RMSE %.1f -> %.1f, bottom %.1f -> %.1f" % (
            o["fppa_rmse_deg"], n["fppa_rmse_deg"], o["fppa_err_at_contact_deg"], n["fppa_err_at_contact_deg"],
            o["dorsiflexion_rmse_deg"], n["dorsiflexion_rmse_deg"], o["dorsiflexion_err_at_contact_deg"],
            n["dorsiflexion_err_at_contact_deg"]))
        assert n["fppa_rmse_deg"] <= 3.0
        assert abs(n["fppa_err_at_contact_deg"]) <= 3.0
        assert n["dorsiflexion_rmse_deg"] <= 3.0
        assert abs(n["dorsiflexion_err_at_contact_deg"]) <= 3.0
    assert mediapipe_squat_45["old2"]["reps"][0]["left"]["fppa_rmse_deg"] > 3.0     # round 2: 6.2 (bench)


def test_mediapipe_squat_45_far_leg_dorsiflexion(mediapipe_squat_45):
    """At 45 deg the left leg is the far one, partly behind the near leg."""
    n, o = mediapipe_squat_45["new"]["reps"][0]["left"], mediapipe_squat_45["old"]["reps"][0]["left"]
    print("far leg DF RMSE old %.1f new %.1f, bottom old %.1f new %.1f; FPPA RMSE old %.1f new %.1f, "
          "bottom old %.1f new %.1f" % (o["dorsiflexion_rmse_deg"], n["dorsiflexion_rmse_deg"],
                                        o["dorsiflexion_err_at_contact_deg"], n["dorsiflexion_err_at_contact_deg"],
                                        o["fppa_rmse_deg"], n["fppa_rmse_deg"],
                                        o["fppa_err_at_contact_deg"], n["fppa_err_at_contact_deg"]))
    assert n["verdict"]["verdict"] == "ok"
    assert n["dorsiflexion_rmse_deg"] <= 3.0
    assert abs(n["dorsiflexion_err_at_contact_deg"]) <= 3.0
    assert o["dorsiflexion_rmse_deg"] > 4.0          # round 1: 4.9 (bench)
    # FPPA of the far leg: better (round 3: <= 3, the test above)
    assert n["fppa_rmse_deg"] < o["fppa_rmse_deg"]
    assert n["fppa_rmse_deg"] <= 3.0


def test_mediapipe_squat_45_second_noise_realisation_needs_the_second_start(tmp_path):
    """Seed 2 of the 45-deg squat: the first fit put both hips 18-32 cm towards the camera for a
    few frames at ~50 deg knee flexion, and the refinement started there folded the leg (knee and
    ankle 10-20 cm off their own 2D landmarks): FPPA RMSE 5.1 (near leg), DF RMSE 4.2 with DF max
    41.5 vs 30.9 (far leg). Round 4 refines each leg from a second start too (the hip at the
    previous frame's refined depth) and keeps the cheaper: every leg within 3 deg."""
    pytest.importorskip("mediapipe")
    spec = VirtualSpec(kind="squat", view="45", depth_fps=30.0, window_s=(1.0, 4.6), seed=2)
    static = VirtualSpec(kind="static", view="45", seed=102, depth_fps=30.0, window_s=(0.5, 1.5))
    new = run_case(tmp_path, spec, static)
    old = run_case(tmp_path, spec, static, settings={"refine": {"multi_start": False}})   # same renders
    worst_old = 0.0
    for side in ("left", "right"):
        n, o = new["reps"][0][side], old["reps"][0][side]
        print(side, "FPPA RMSE without %.1f with %.1f; DF RMSE without %.1f with %.1f" % (
            o["fppa_rmse_deg"], n["fppa_rmse_deg"], o["dorsiflexion_rmse_deg"], n["dorsiflexion_rmse_deg"]))
        assert n["verdict"]["verdict"] == "ok"
        assert n["fppa_rmse_deg"] <= 3.0 and n["dorsiflexion_rmse_deg"] <= 3.0
        assert abs(n["fppa_err_at_contact_deg"]) <= 3.0 and abs(n["dorsiflexion_err_at_contact_deg"]) <= 3.0
        worst_old = max(worst_old, o["fppa_rmse_deg"], o["dorsiflexion_rmse_deg"])
    assert worst_old > 3.0
