"""Angles measured on the 2D image, as a clinician does with Kinovea on a video frame. These are
the 'no depth' comparison, not the station's kinematics (those are 3D: analysis/angles.py).

Image coordinates: u right, v down, pixels. Angles in radians.
"""
from __future__ import annotations

import numpy as np

from analysis.pose.estimator import MP_INDEX


def _cross2(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _angle_between(a, b):
    return np.arctan2(np.abs(_cross2(a, b)), np.sum(a * b, axis=-1))


def fppa_2d_rad(xy_px: np.ndarray, side: str) -> np.ndarray:
    """2D frontal-plane projection angle of one leg from (T, 33, 2) landmarks: the angle between
    the thigh (hip -> knee) and the shank (knee -> ankle) on the image, positive when the knee
    lies medial of the hip-ankle line (towards the other hip), as in Herrington & Munro's
    video method. Meaningful for a camera facing the athlete."""
    other = "right" if side == "left" else "left"
    hip = xy_px[..., MP_INDEX[f"{side}_hip"], :]
    knee = xy_px[..., MP_INDEX[f"{side}_knee"], :]
    ankle = xy_px[..., MP_INDEX[f"{side}_ankle"], :]
    hip_other = xy_px[..., MP_INDEX[f"{other}_hip"], :]
    thigh, shank = knee - hip, ankle - knee
    mag = _angle_between(thigh, shank)
    # which side of the hip->ankle line is the knee, compared with the other hip's side
    line = ankle - hip
    s_knee = _cross2(line, knee - hip)
    s_medial = _cross2(line, hip_other - hip)
    sign = np.where(s_knee * s_medial >= 0, 1.0, -1.0)
    return sign * mag


def knee_angle_2d_rad(xy_px: np.ndarray, side: str) -> np.ndarray:
    """2D knee flexion on the image: 0 when hip, knee and ankle are collinear (the sagittal
    video method; meaningful for a camera seeing the athlete from the side)."""
    hip = xy_px[..., MP_INDEX[f"{side}_hip"], :]
    knee = xy_px[..., MP_INDEX[f"{side}_knee"], :]
    ankle = xy_px[..., MP_INDEX[f"{side}_ankle"], :]
    return _angle_between(knee - hip, ankle - knee)
