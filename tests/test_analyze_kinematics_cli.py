"""`station analyze --json` gives, per rep, `left` and `right` angle objects from the camera,
using the session's static trial as the zero of the dorsiflexion."""
import json
import re
import shutil
import subprocess
import sys

import pytest

REQUIRED = ("dorsiflexion_at_contact_deg", "dorsiflexion_max_deg", "fppa_at_contact_deg",
            "fppa_max_deg", "knee_flexion_max_deg", "tracking_quality")


def _station(*args):
    return subprocess.run([sys.executable, "-m", "station.cli", *args], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.slow
def test_analyze_json_has_left_and_right_per_rep(tmp_path):
    static, cmj = tmp_path / "01_static.h5", tmp_path / "02_cmj.h5"
    assert _station("simulate", "--kind", "static", "--seed", "2", "--duration", "1.5",
                    "--out", str(static)).returncode == 0
    assert _station("simulate", "--kind", "cmj", "--seed", "2", "--out", str(cmj)).returncode == 0
    run = _station("analyze", str(cmj), "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["kind"] == "cmj" and len(out["reps"]) == 1
    rep = out["reps"][0]
    for side in ("left", "right"):
        leg = rep[side]
        for key in REQUIRED:
            assert key in leg, (side, key)
        assert leg["tracking_quality"] > 0.9
        assert 60 < leg["knee_flexion_max_deg"] < 140        # a CMJ landing bends the knee deeply
    assert out["kinematics"]["static_reference"]["source"] == "static trial"
    # how the joints were low-passed, with the residual analysis of the 18 leg coordinates
    f = out["kinematics"]["filter"]
    assert f["cutoff_hz"] == 12.0 and f["cutoff_source"] == "the trial kind's default"
    assert f["residual_analysis_hz"]["n_series"] == 18
    assert 1.0 <= f["residual_analysis_hz"]["median_hz"] <= f["residual_analysis_hz"]["max_hz"] <= 13.5
    assert f["above_cutoff"] == (f["residual_analysis_hz"]["max_hz"] > 12.0)
    assert out["kinematics"]["settings"]["foot"]["no_interpolation_across_contact"] is False
    # chosen from the simulated D435's stereo baseline, which the trial records
    lj = out["kinematics"]["landing_joints"]
    assert lj["own_side"] is False and "stereo baseline 50 mm" in lj["chosen_by"], lj
    # how precise that value can be from this camera where it stood, and was measured to be
    from calibration.setup_advice import foot_pitch_bound_deg
    cp, setup = out["kinematics"]["contact_dorsiflexion_precision"], out["kinematics"]["camera_setup"]
    assert cp["single_frame_bound_deg"] == pytest.approx(foot_pitch_bound_deg(setup["plate_distance_m"]))
    assert setup["within"] and cp["measured_rms_deg"] == 1.79 and cp["measured_at"]["stereo_baseline_m"] == 0.05
    # its foot template: the 1.5 s static trial's frames at 30 fps, enough (>= 30, as measured)
    assert 45 <= cp["template_frames"] <= 46 and cp["measured_over_static_trials"]["templates"] == 6
    text = _station("analyze", str(cmj), "--no-write")
    assert "DF@IC precision: one depth frame reads a landing foot's pitch to +-1.5 deg" in text.stdout, text.stdout
    assert "with 6 static trials' foot templates" in text.stdout and "built from only" not in text.stdout
    # without a static trial beside it the template comes from the trial's first 0.5 s (15-16
    # frames): fewer than the figures were measured with, and the line says so
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(cmj, alone / "02_cmj.h5")
    text = _station("analyze", str(alone / "02_cmj.h5"), "--no-write")
    assert text.returncode == 0, text.stderr[-2000:]
    assert re.search(r"foot template was built from only 1[56] frames", text.stdout), text.stdout
    # the technician's own cut-off, recorded as such, and in the text line
    run = _station("analyze", str(cmj), "--joint-cutoff", "8", "--no-write", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    f8 = json.loads(run.stdout)["kinematics"]["filter"]
    assert f8["cutoff_hz"] == 8.0 and f8["cutoff_source"] == "the cutoff_hz setting"
    # the option for less noisy depth cameras, recorded in the result's settings
    run = _station("analyze", str(cmj), "--landing-joints-own-side", "--no-write", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    own = json.loads(run.stdout)
    assert own["kinematics"]["settings"]["foot"]["no_interpolation_across_contact"] is True
    assert own["kinematics"]["landing_joints"] == {"own_side": True, "chosen_by": "given in the analysis settings"}
    assert own["reps"][0]["left"]["dorsiflexion_at_contact_from"] == rep["left"]["dorsiflexion_at_contact_from"]
    # it reaches the foot's registration at the last depth frame before the contact
    values = [(own["reps"][0][sd]["dorsiflexion_at_contact_deg"], rep[sd]["dorsiflexion_at_contact_deg"])
              for sd in ("left", "right")]
    assert all(isinstance(a, float) and isinstance(b, float) for a, b in values)
    assert any(abs(a - b) > 1e-6 for a, b in values), values
    # and in batch mode, through a worker process
    run = _station("analyze", str(tmp_path), "--workers", "1", "--joint-cutoff", "8", "--no-write", "--json")
    assert run.returncode == 0, run.stderr[-2000:]
    batch = {r["trial_kind_metadata"]: r for r in json.loads(run.stdout)}
    assert batch["cmj"]["kinematics"]["filter"]["cutoff_hz"] == 8.0


def test_a_cut_off_of_zero_is_refused_before_any_work(tmp_path):
    run = _station("analyze", str(tmp_path / "any.h5"), "--joint-cutoff", "0")
    assert run.returncode != 0
    assert "--joint-cutoff 0: give a cut-off above 0 Hz" in run.stderr


def test_the_text_table_shows_each_legs_angles_and_verdict():
    """`station analyze` without --json: the camera's angles per rep and leg under the force
    table, with the tracking quality, the verdict and its reasons."""
    from station.commands.analyze import format_table
    ok = {"dorsiflexion_at_contact_deg": -11.8, "dorsiflexion_max_deg": 24.6, "fppa_at_contact_deg": 1.2,
          "fppa_max_deg": 6.4, "knee_flexion_max_deg": 78.0, "tracking_quality": 0.98,
          "verdict": {"verdict": "ok", "reasons": []}}
    free = {k: None for k in ok} | {"tracking_quality": 0.9, "verdict": {
        "verdict": "free_leg", "reasons": ["left leg is the free (lifted) leg of this single-leg squat"]}}
    out = {"trial": "t.h5", "kind": "single_leg_squat", "kind_detected": "single_leg_squat",
           "body_weight_n": 735.0, "body_mass_kg": 74.9, "quiet_window_s": [0.1, 1.1],
           "reps": [{"rep": 1, "kind": "squat", "left": free, "right": ok}]}
    text = format_table(out)
    assert "kinematics (camera, degrees" in text
    right = next(line for line in text.splitlines() if " right " in line)
    assert "-11.8" in right and "24.6" in right and "78.0" in right and "98%" in right and right.endswith("ok")
    left = next(line for line in text.splitlines() if " left " in line and "free_leg" in line)
    assert "-" in left
    assert "rep 1 left: left leg is the free (lifted) leg" in text
    out["kinematics"] = {"frontal_plane": {"right_axis_lab": [1.0, 0.0, 0.0], "source": (
        "the static reference's stance (this trial has no upright frame with both feet down) (static trial)")}}
    assert "FPPA's frontal plane: the static reference's stance" in format_table(out)
    out["kinematics"]["filter"] = {"cutoff_hz": 4.0, "cutoff_source": "the trial kind's default",
                                   "residual_analysis_hz": {"median_hz": 1.25, "max_hz": 2.5, "n_series": 18},
                                   "above_cutoff": False}
    line = next(x for x in format_table(out).splitlines() if "low-passed" in x)
    assert "4 Hz" in line and "median 1.2 Hz, max 2.5 Hz" in line and "ABOVE" not in line
    out["kinematics"]["filter"].update(above_cutoff=True)
    assert "ABOVE the cut-off" in format_table(out)
    no_camera = dict(out, reps=[{"rep": 1, "kind": "squat"}])
    assert "kinematics" not in format_table(no_camera)
