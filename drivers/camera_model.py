"""Pinhole camera geometry shared by the camera driver, the renderer, calibration and the
skeleton core.

Camera frame (RealSense convention): x right, y down, z forward along the optical axis, metres.
Lab frame: see drivers/plate_geometry.py. Poses are 4x4 homogeneous matrices named
T_<to>_from_<from>, e.g. T_lab_from_camera maps camera-frame points into the lab frame.
"""
from __future__ import annotations

from dataclasses import dataclass, asdict, field

import numpy as np


@dataclass(frozen=True)
class Intrinsics:
    width: int
    height: int
    fx: float
    fy: float
    ppx: float
    ppy: float
    model: str = "none"                 # RealSense distortion model name; rendering assumes none
    coeffs: tuple = (0.0, 0.0, 0.0, 0.0, 0.0)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coeffs"] = list(self.coeffs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Intrinsics":
        d = dict(d)
        d["coeffs"] = tuple(d.get("coeffs", (0.0,) * 5))
        return cls(**d)

    @property
    def matrix(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.ppx], [0, self.fy, self.ppy], [0, 0, 1.0]])

    def project(self, points_camera_m: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixel coordinates (u right, v down)."""
        p = np.asarray(points_camera_m, dtype=float)
        z = p[..., 2]
        u = self.fx * p[..., 0] / z + self.ppx
        v = self.fy * p[..., 1] / z + self.ppy
        return np.stack([u, v], axis=-1)

    def deproject(self, pixels: np.ndarray, depth_m: np.ndarray) -> np.ndarray:
        """(..., 2) pixels and (...) depths (z, metres) -> (..., 3) camera-frame points."""
        px = np.asarray(pixels, dtype=float)
        z = np.asarray(depth_m, dtype=float)
        x = (px[..., 0] - self.ppx) / self.fx * z
        y = (px[..., 1] - self.ppy) / self.fy * z
        return np.stack([x, y, z], axis=-1)


# Typical D435 factory intrinsics (values of this order are reported by real units).
D435_DEPTH_848x480 = Intrinsics(848, 480, 421.0, 421.0, 424.0, 240.0)
D435_COLOR_640x480 = Intrinsics(640, 480, 615.0, 615.0, 320.0, 240.0)
# Depth -> color extrinsic of a D435: color imager ~15 mm to the right of the depth origin.
T_COLOR_FROM_DEPTH_D435 = np.array([[1, 0, 0, -0.015], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])
D435_STEREO_BASELINE_M = 0.050      # between the two infrared imagers (a D455: 0.095)
D400_SUBPIXEL_PX = 0.08             # the stereo matcher's RMS subpixel error, Intel's typical value


def d400_depth_rms_m(z_m, fx_px: float, baseline_m: float, subpixel_px: float = D400_SUBPIXEL_PX):
    """RMS depth error (m) of a D400 stereo camera at depth z (m): z^2 * subpixel / (fx * baseline),
    Intel's depth-RMS formula (fx: the depth stream's focal length in px)."""
    z = np.asarray(z_m, dtype=float)
    return z * z * subpixel_px / (fx_px * baseline_m)


def transform_points(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 4x4 pose to (..., 3) points."""
    p = np.asarray(points, dtype=float)
    return p @ T[:3, :3].T + T[:3, 3]


def invert_pose(T: np.ndarray) -> np.ndarray:
    R, t = T[:3, :3], T[:3, 3]
    Ti = np.eye(4)
    Ti[:3, :3] = R.T
    Ti[:3, 3] = -R.T @ t
    return Ti


def look_at_pose(camera_position_lab_m, target_lab_m, up_lab=(0.0, 0.0, 1.0)) -> np.ndarray:
    """T_lab_from_camera for a camera at a lab position looking at a lab target, image 'up'
    as close to lab `up` as possible (camera y points down)."""
    c = np.asarray(camera_position_lab_m, dtype=float)
    z = np.asarray(target_lab_m, dtype=float) - c
    z /= np.linalg.norm(z)
    up = np.asarray(up_lab, dtype=float)
    x = np.cross(z, up)           # camera x (right) is perpendicular to view and up
    x /= np.linalg.norm(x)
    y = np.cross(z, x)            # camera y points down
    T = np.eye(4)
    T[:3, 0], T[:3, 1], T[:3, 2], T[:3, 3] = x, y, z, c
    return T


def standard_camera_pose(view: str = "front", distance_m: float = 2.5, height_m: float = 1.0,
                         target_height_m: float = 0.8) -> np.ndarray:
    """T_lab_from_camera for the station's reference set-ups: 'front' (camera on +y, facing the
    athlete who faces +y) or '45' (45 degrees to the athlete's right front)."""
    angle = {"front": 0.0, "45": np.deg2rad(45.0)}[view]
    pos = (distance_m * np.sin(angle), distance_m * np.cos(angle), height_m)
    return look_at_pose(pos, (0.0, 0.0, target_height_m))
