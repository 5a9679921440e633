"""The plate/board plane in depth (calibration.plane_fit) and the frame choice for detection
(calibration.camera_pose.detection_frames): regions, the tilt's standard error."""
from __future__ import annotations

import dataclasses

import numpy as np

from calibration.camera_pose import detection_frames
from calibration.charuco import STATION_BOARD
from calibration.plane_fit import board_region, pixel_rays, plate_top_region, refit_plane_inverse_depth
from drivers.camera_model import D435_DEPTH_848x480, invert_pose, standard_camera_pose


def test_plate_top_region_is_larger_than_the_board_region_and_a_thick_board_limits_it():
    T_depth_from_lab = invert_pose(standard_camera_pose("front", 3.0))
    rays = pixel_rays(D435_DEPTH_848x480)
    board, _ = board_region(T_depth_from_lab @ STATION_BOARD.T_lab_from_board, STATION_BOARD)(rays)
    plate, z = plate_top_region(T_depth_from_lab, STATION_BOARD)(rays)
    assert board.sum() > 300 and plate.sum() > 1.2 * board.sum()
    assert np.all(plate[board])                          # the board's inner part is on the plate top
    assert np.all((z[plate] > 2.5) & (z[plate] < 3.8))
    thick = dataclasses.replace(STATION_BOARD, thickness_m=0.005)
    plate_thick, _ = plate_top_region(T_depth_from_lab, thick)(rays)
    assert 0 < plate_thick.sum() < plate.sum()           # only the board's surface, not the plate beside it


def test_tilt_standard_error_matches_the_scatter_of_repeated_fits():
    """Points of a plane 3 m away seen at ~20 deg, with stereo noise (constant in inverse depth):
    the reported tilt standard error is the actual scatter of the fitted normal."""
    rng = np.random.default_rng(5)
    n_true = np.array([0.0, -np.cos(np.radians(20)), -np.sin(np.radians(20))])
    n_true /= np.linalg.norm(n_true)
    d_true = 1.0                                                  # plane n.p + d = 0
    u, v = np.meshgrid(np.linspace(-0.1, 0.1, 60), np.linspace(0.05, 0.12, 12))
    rays = np.column_stack([u.ravel(), v.ravel(), np.ones(u.size)])
    z = -d_true / (rays @ n_true)
    tilts, ses = [], []
    for _ in range(200):
        zn = 1.0 / (1.0 / z + rng.normal(0.0, 0.004, z.size))     # noise in inverse depth
        pl = refit_plane_inverse_depth(rays * zn[:, None])
        n = pl.normal if pl.normal @ n_true > 0 else -pl.normal
        tilts.append(n - n_true)
        ses.append(pl.tilt_se_rad)
    scatter = np.sqrt(np.max(np.linalg.eigvalsh(np.cov(np.array(tilts).T))))
    assert 0.7 * scatter < np.median(ses) < 1.3 * scatter, (scatter, np.median(ses))


def test_detection_frames_are_spread_over_the_capture():
    frames = list(range(90))
    picked = detection_frames(frames, max_frames=10)
    assert len(picked) == 10 and picked[0] == 0 and picked[-1] == 89
    assert np.all(np.diff(picked) >= 9)
    assert detection_frames(frames[:6], max_frames=10) == frames[:6]
