"""Has the camera moved since it was calibrated? A quick depth-only check.

The plate is found in the current depth frames (calibration.boardless, seeded with the stored
pose: ~0.3 s) and its pose as the camera sees it now is compared with the pose the same
estimator saw at calibration time (CameraCalibration.self_check_reference), so the estimator's
own bias cancels and only its noise remains. Reported:
  plate_shift_mm      how far the plate's centre moved in the depth camera's frame,
  plate_rotation_deg  how much the plate turned in the camera's view,
  plane_angle_deg     how much the plate's plane tilted (depth plane only: the most precise),
  plane_offset_mm     how much the plane's distance from the camera changed.
A camera turned by 1 degree moves the plate 2.5 m away by ~45 mm in its view; a camera shifted
by 10 mm moves it by 10 mm. Thresholds: DEFAULT_MAX_SHIFT_MM, DEFAULT_MAX_ROTATION_DEG (chosen
above the no-motion noise measured in tests/test_camera_calibration_self_check.py and
docs/CAMERA_CALIBRATION.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calibration.boardless import solve_boardless_pose
from calibration.camera_calibration_store import CameraCalibration
from drivers.camera_model import invert_pose

DEFAULT_MAX_SHIFT_MM = 6.0
DEFAULT_MAX_ROTATION_DEG = 0.4


@dataclass
class SelfCheck:
    moved: bool
    plate_shift_mm: float
    plate_rotation_deg: float
    plane_angle_deg: float
    plane_offset_mm: float
    message: str

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _rotation_deg(Ra: np.ndarray, Rb: np.ndarray) -> float:
    R = Ra.T @ Rb
    return float(np.degrees(np.arccos(np.clip((np.trace(R) - 1) / 2, -1, 1))))


def check_camera(frames, cal: CameraCalibration, max_shift_mm: float = DEFAULT_MAX_SHIFT_MM,
                 max_rotation_deg: float = DEFAULT_MAX_ROTATION_DEG) -> SelfCheck:
    """Compare the plate seen in `frames` (RgbdFrame or a list of a still camera) with the
    stored calibration. Raises UserError when no plate can be found where it should be (that is
    a moved camera too, or an obstructed view: the message says so)."""
    ref = cal.self_check_reference.get("T_lab_from_depth")
    T_ref = np.asarray(ref, float) if ref is not None else np.asarray(cal.T_lab_from_depth, float)
    from station.errors import UserError
    try:
        now = solve_boardless_pose(frames, T_lab_from_depth_prior=T_ref)
    except UserError as exc:
        raise UserError(f"camera self-check: the plate is not where the calibration expects it ({exc}); "
                        "if the camera was moved, recalibrate: station calibrate camera") from None
    A = invert_pose(T_ref)                    # T_depth_from_lab at calibration
    B = invert_pose(now.T_lab_from_depth)     # now
    shift_mm = float(np.linalg.norm(A[:3, 3] - B[:3, 3]) * 1000.0)
    rot_deg = _rotation_deg(A[:3, :3], B[:3, :3])
    na, nb = A[:3, 2], B[:3, 2]
    plane_angle = float(np.degrees(np.arccos(np.clip(na @ nb, -1, 1))))
    plane_offset_mm = float(((nb @ B[:3, 3]) - (na @ A[:3, 3])) * 1000.0)
    moved = shift_mm > max_shift_mm or rot_deg > max_rotation_deg
    if moved:
        msg = (f"WARNING: the camera has moved since its calibration of {cal.date_utc} (plate shifted "
               f"{shift_mm:.0f} mm and turned {rot_deg:.1f} deg in its view; limits {max_shift_mm:.0f} mm, "
               f"{max_rotation_deg:.1f} deg): recalibrate with `station calibrate camera` before recording")
    else:
        msg = (f"camera calibration still valid (plate shifted {shift_mm:.1f} mm, turned {rot_deg:.2f} deg "
               f"in the camera's view since {cal.date_utc})")
    return SelfCheck(moved, shift_mm, rot_deg, plane_angle, plane_offset_mm, msg)
