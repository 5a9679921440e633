"""Camera -> plate calibration with the ChArUco board (calibration.camera_pose) on the virtual
camera's scene at known poses (tests/camera_scene_helpers.py: the shared renderer)."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.camera_pose import solve_board_pose
from calibration.camera_wizard import DEFAULT_FRAMES
from drivers.camera_model import T_COLOR_FROM_DEPTH_D435
from station.errors import UserError

import camera_scene_helpers as h


@pytest.mark.parametrize("view, distance_m, target_height_m", [
    ("front", 2.5, 0.8),        # standard_camera_pose('front')
    ("45", 2.5, 0.8),           # standard_camera_pose('45')
    ("front", 2.0, 0.5),        # 2 m: aimed lower so the plate is in the color image
])
def test_board_pose_within_5mm_and_half_degree(view, distance_m, target_height_m):
    T_true = h.pose(view, distance_m, target_height_m=target_height_m)
    pose = solve_board_pose(h.frames(view, distance_m, n=8, seed=1, target_height_m=target_height_m))
    pos_mm, ang_deg = h.errors_mm_deg(pose.T_lab_from_depth, T_true)
    assert pos_mm <= 5.0 and ang_deg <= 0.5, (pos_mm, ang_deg, pose.errors)
    # the color camera's pose follows through the reported extrinsic
    T_true_color = T_true @ np.linalg.inv(T_COLOR_FROM_DEPTH_D435)
    assert h.errors_mm_deg(pose.T_lab_from_color, T_true_color)[0] <= 5.0
    # the checks it reports are those of a good calibration
    assert pose.errors["reprojection_px"] < 0.5
    assert pose.errors["plane_angle_deg"] < 1.0 and abs(pose.errors["plane_distance_mm"]) < 20.0


@pytest.mark.slow
@pytest.mark.parametrize("view", ["front", "45"])
def test_board_pose_at_3m_within_5mm_and_half_degree(view):
    """At 3 m the camera position's error is the plate plane's tilt x 3 m; the wizard's capture
    (DEFAULT_FRAMES, 3 s) and the second plane pass over the plate top bring it within 5 mm
    (bench/bench_camera_calibration.py: more seeds)."""
    T_true = h.pose(view, 3.0)
    pose = solve_board_pose(h.frames(view, 3.0, n=DEFAULT_FRAMES, seed=1))
    pos_mm, ang_deg = h.errors_mm_deg(pose.T_lab_from_depth, T_true)
    assert pos_mm <= 5.0 and ang_deg <= 0.5, (pos_mm, ang_deg, pose.errors)
    # the camera-position uncertainty it reports from the plane's depth noise is within 5 mm too
    assert 0.0 < pose.errors["position_se_from_tilt_mm"] < 5.0, pose.errors


def test_no_board_in_view_is_a_clear_error():
    with pytest.raises(UserError, match="no calibration board in view"):
        solve_board_pose(h.frames("front", 2.5, n=1, board=False))


def test_board_at_grazing_angle_is_a_clear_error():
    # camera 0.3 m above the plate, 1.5 m away: the board is seen ~79 deg from face-on
    frames = h.frames("front", 1.5, n=1, height_m=0.3, target_height_m=0.2)
    with pytest.raises(UserError, match="grazing angle"):
        solve_board_pose(frames)


def test_missing_depth_is_a_clear_error():
    frames = h.frames("45", 2.5, n=2)
    for f in frames:
        f.depth_m = np.zeros_like(f.depth_m)
    with pytest.raises(UserError, match="no depth"):
        solve_board_pose(frames)
