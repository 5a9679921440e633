"""The board painter (calibration.charuco.paint_board) against the detector: a board painted at
a known pose is found where the geometry puts it."""
from __future__ import annotations

import numpy as np

from calibration.camera_pose import detect_board
from calibration.charuco import STATION_BOARD, corners_lab_m, paint_board
from drivers.camera_model import D435_COLOR_640x480, invert_pose, look_at_pose, transform_points


def _grey(intr):
    return np.full((intr.height, intr.width, 3), 120, np.uint8)


def test_painted_board_is_detected_where_it_was_painted():
    intr = D435_COLOR_640x480
    T_lab_from_color = look_at_pose((0.1, 0.5, 1.3), (0.0, 0.0, 0.0))
    img = paint_board(_grey(intr), intr, T_lab_from_color)
    det = detect_board(img)
    n_corners = len(corners_lab_m())
    assert det.n_corners == n_corners == (STATION_BOARD.squares_x - 1) * (STATION_BOARD.squares_y - 1)
    expected = intr.project(transform_points(invert_pose(T_lab_from_color), corners_lab_m()[det.charuco_ids]))
    err = np.linalg.norm(det.charuco_px - expected, axis=1)
    assert err.max() < 0.3, err


def test_board_fits_on_the_plate_and_is_painted_only_where_visible():
    w, h = STATION_BOARD.size_m
    assert w <= 0.60 + 1e-9 and h <= 0.40 + 1e-9
    c = corners_lab_m()
    assert np.all(np.abs(c[:, 0]) < 0.30) and np.all(np.abs(c[:, 1]) < 0.20) and np.allclose(c[:, 2], 0)
    intr = D435_COLOR_640x480
    T = look_at_pose((0.0, 0.6, 1.5), (0.0, 0.0, 0.0))
    base = _grey(intr)
    full = paint_board(base, intr, T)
    hidden = np.zeros(base.shape[:2], bool)
    hidden[:, : intr.width // 2] = True
    half = paint_board(base, intr, T, visible_mask=~hidden)
    assert np.any(full != base)
    assert np.array_equal(half[hidden], base[hidden])               # nothing painted where hidden
    assert np.array_equal(half[:, intr.width // 2 + 1:], full[:, intr.width // 2 + 1:])
    # a camera looking away paints nothing
    away = look_at_pose((0.0, 0.6, 1.5), (0.0, 5.0, 1.5))
    assert np.array_equal(paint_board(base, intr, away), base)
