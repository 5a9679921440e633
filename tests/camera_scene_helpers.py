"""Helpers for the camera-calibration tests: the simulated camera (calibration.camera_wizard.
SimulatedCamera on the shared renderer drivers/athlete: floor, plate 50 mm thick with its top at
z = 0, walls, the ChArUco board painted on the plate top, D400 depth noise) at known poses."""
from __future__ import annotations

import functools

import numpy as np

from calibration.camera_wizard import SimulatedCamera
from drivers.camera_model import standard_camera_pose


def pose(view="front", distance_m=2.5, height_m=1.0, target_height_m=0.8):
    return standard_camera_pose(view, distance_m=distance_m, height_m=height_m,
                                target_height_m=target_height_m)


@functools.lru_cache(maxsize=8)
def _camera(view, distance_m, height_m, target_height_m, board):
    return SimulatedCamera(pose(view, distance_m, height_m, target_height_m), board=board)


def frames(view="front", distance_m=2.5, n=10, seed=0, board=True, height_m=1.0, target_height_m=0.8):
    """n noisy frames of the plate scene; the scene is rendered once per pose (cached)."""
    cam = _camera(view, distance_m, height_m, target_height_m, board)
    cam.rng = np.random.default_rng([seed, 17])
    return cam.grab(n)


def errors_mm_deg(T_est, T_true):
    """(camera position error mm, rotation error deg)."""
    dp = np.linalg.norm(T_est[:3, 3] - T_true[:3, 3]) * 1000.0
    R = T_est[:3, :3].T @ T_true[:3, :3]
    return float(dp), float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))
