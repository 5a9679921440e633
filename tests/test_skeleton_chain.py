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
        spec = VirtualSpec(kind="squat", view="front", traits={"ankle": ankle}, depth_fps=30.0,
                           window_s=(2.0, 4.0))
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
            # issue 8's bar for dorsiflexion: RMSE and error at the bottom <= 3 deg
            assert r["dorsiflexion_rmse_deg"] <= 3.0
            assert abs(r["dorsiflexion_err_at_contact_deg"]) <= 3.0
            # FPPA: measured 2.8-6.1 deg RMSE over runs of this test (issue 8 asks <= 3: NOT met
            # yet at a 95 deg squat bottom, where the thigh points at the camera and the pelvis
            # heading from two hip depths dominates; see docs/SKELETON.md). Guards the present
            # level only.
            assert r["fppa_rmse_deg"] <= 7.0
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
