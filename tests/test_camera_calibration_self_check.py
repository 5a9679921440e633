"""Self-check (calibration.self_check): a camera moved since calibration is detected from depth
alone; an unmoved one passes."""
from __future__ import annotations

import pytest

from calibration.camera_pose import CameraPose
from calibration.camera_wizard import SimulatedCamera, _moved_pose, make_calibration
from calibration.self_check import check_camera

import camera_scene_helpers as h

VIEW, DIST = "45", 2.5


@pytest.fixture(scope="module")
def calibration():
    T = h.pose(VIEW, DIST)
    frames = h.frames(VIEW, DIST, n=6, seed=3)
    # the stored pose itself does not matter here: the self-check compares the plate it sees
    # now with what it saw in the calibration frames (self_check_reference)
    pose = CameraPose(T_lab_from_depth=T, T_lab_from_color=T, method="board")
    cal = make_calibration(pose, frames)
    assert "T_lab_from_depth" in cal.self_check_reference
    return cal


def test_unmoved_camera_passes(calibration):
    res = check_camera(h.frames(VIEW, DIST, n=6, seed=11), calibration)
    assert not res.moved, res.message
    assert "still valid" in res.message


@pytest.mark.parametrize("turn_deg, shift_mm", [(1.0, 0.0), (0.0, 10.0)])
def test_moved_camera_is_detected(calibration, turn_deg, shift_mm):
    cam = SimulatedCamera(_moved_pose(h.pose(VIEW, DIST), turn_deg, shift_mm), seed=5)
    res = check_camera(cam.grab(6), calibration)
    assert res.moved, res.message
    assert res.message.startswith("WARNING") and "station calibrate camera" in res.message
    if shift_mm:
        assert res.plate_shift_mm == pytest.approx(shift_mm, abs=4.0)
