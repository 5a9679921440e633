"""How a landing's contact frames get their joints (FootSettings.no_interpolation_across_contact)
is chosen per trial from the camera's expected depth noise at the plate: the camera reports its
stereo baseline (a D400's read-only option; the virtual camera's too), the trial keeps it, and the
analysis picks the rule measured for that noise (docs/SKELETON.md, sessions 9-10)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.skeleton.foot import FootSettings, landing_joints_rule
from analysis.skeleton.reconstruct import CameraSetup
from analysis.skeleton_pipeline import camera_setup_from_trial
from data.trial import TrialWriter, open_trial
from drivers.camera import Camera
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  standard_camera_pose)
from drivers.virtual_camera import VirtualCamera
from station.commands.analyze import _kinematics_lines


def _cam(baseline_m, view="front", distance_m=2.5):
    return CameraSetup(D435_DEPTH_848x480, D435_COLOR_640x480, T_COLOR_FROM_DEPTH_D435, 0.001,
                       standard_camera_pose(view, distance_m=distance_m), stereo_baseline_m=baseline_m)


def test_the_d435_at_the_reference_set_up_keeps_the_line_and_a_95_mm_baseline_takes_its_own_side():
    own, why = landing_joints_rule(_cam(0.050), FootSettings())
    assert own is False
    # Intel's formula: 2.69^2 m^2 * 0.08 px / (421 px * 0.050 m) = 27.6 mm
    assert "27.6 mm" in why and "50 mm" in why and ">= 20 mm" in why
    own, why = landing_joints_rule(_cam(0.095, view="45"), FootSettings())
    assert own is True and "14.5 mm" in why and "95 mm" in why
    # the noise grows with the square of the range: a D435 much closer is below the threshold
    assert landing_joints_rule(_cam(0.050, distance_m=1.8), FootSettings())[0] is True


def test_an_unknown_baseline_keeps_the_d435_rule_and_a_given_setting_wins():
    own, why = landing_joints_rule(_cam(None), FootSettings())
    assert own is False and "does not record the camera's stereo baseline" in why
    for given in (True, False):
        own, why = landing_joints_rule(_cam(0.095), FootSettings(no_interpolation_across_contact=given))
        assert own is given and why == "given in the analysis settings"
    # the threshold is a setting
    assert landing_joints_rule(_cam(0.050), FootSettings(own_side_below_depth_rms_m=0.030))[0] is True


def _trial_with_baseline(path, baseline):
    with TrialWriter(path, metadata={"athlete_id": "A", "trial_kind": "cmj"}) as w:
        desc = {"depth_scale_m": 0.001,
                "depth": {"intrinsics": D435_DEPTH_848x480.to_dict()},
                "color": {"intrinsics": D435_COLOR_640x480.to_dict()},
                "T_color_from_depth": T_COLOR_FROM_DEPTH_D435.tolist()}
        if baseline is not None:
            desc["stereo_baseline_m"] = baseline
        w.add_device("camera", kind="depth_camera", description=desc)
        w.add_calibration("camera_pose", {"method": "test"}, arrays={"T_lab_from_depth": np.eye(4)})
    return open_trial(path)


@pytest.mark.parametrize("stored, read", [(0.095, 0.095), (None, None), (95.0, None), ("n/a", None),
                                          (float("nan"), None)])
def test_the_analysis_reads_the_trials_baseline_and_treats_a_wrong_one_as_unknown(tmp_path, stored, read):
    with _trial_with_baseline(tmp_path / "t.h5", stored) as t:
        b = camera_setup_from_trial(t).stereo_baseline_m
    assert b == (pytest.approx(read) if read is not None else None)


def test_the_virtual_camera_reports_its_baseline_through_the_driver_like_a_d400():
    for baseline in (0.050, 0.095):
        cam = Camera.open_virtual(VirtualCamera(speed=None, duration_s=0.1, stereo_baseline_m=baseline))
        try:
            cam.configure()
            assert cam.description()["stereo_baseline_m"] == pytest.approx(baseline)
        finally:
            cam.close()


def test_the_text_report_says_which_rule_a_landing_used_and_why():
    leg = {"dorsiflexion_at_contact_deg": 12.0, "tracking_quality": 1.0, "verdict": {"verdict": "ok"}}
    rule = {"own_side": True, "chosen_by": "expected depth RMS at the plate centre 14.5 mm"}
    lines = _kinematics_lines([{"rep": 1, "kind": "cmj", "left": leg, "right": leg}], landing_joints=rule)
    assert any("own side of the contact" in x and "14.5 mm" in x for x in lines)
    lines = _kinematics_lines([{"rep": 1, "kind": "squat", "left": leg, "right": leg}], landing_joints=rule)
    assert not any("contact" in x and "14.5" in x for x in lines)
    # and how precise that value is (calibration/setup_advice.contact_dorsiflexion_precision)
    precision = {"line": "one depth frame reads a landing foot's pitch to +-0.8 deg at best here"}
    for kind, shown in (("dj", True), ("squat", False)):
        lines = _kinematics_lines([{"rep": 1, "kind": kind, "left": leg, "right": leg}], landing_joints=rule,
                                  contact_precision=precision)
        assert any(x == f"  DF@IC precision: {precision['line']}" for x in lines) == shown
