"""MediaPipe's 33 landmarks -> the station's joint centres (analysis.joints.JOINT_NAMES).

Most joints are one landmark (foot_index is the toe). 'neck' is the midpoint of the shoulders
and 'head' the midpoint of the ears (nearer the head's centre than the nose).
"""
from __future__ import annotations

import numpy as np

from analysis.joints import JOINT_NAMES
from analysis.pose.estimator import MP_INDEX

# joint name -> the MediaPipe landmarks averaged to make it
JOINT_SOURCES = {
    "head": ("left_ear", "right_ear"),
    "neck": ("left_shoulder", "right_shoulder"),
    **{f"{s}_{j}": (f"{s}_{j}",) for s in ("left", "right")
       for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel")},
    "left_toe": ("left_foot_index",),
    "right_toe": ("right_foot_index",),
}
assert set(JOINT_SOURCES) == set(JOINT_NAMES)


def landmarks_to_joints(xy_px: np.ndarray, visibility: np.ndarray):
    """(..., 33, 2) landmarks and (..., 33) visibilities -> (..., J, 2), (..., J) in
    JOINT_NAMES order. Averaged joints take the smallest visibility of their sources."""
    xy = np.stack([np.mean([xy_px[..., MP_INDEX[s], :] for s in JOINT_SOURCES[n]], axis=0)
                   for n in JOINT_NAMES], axis=-2)
    vis = np.stack([np.min([visibility[..., MP_INDEX[s]] for s in JOINT_SOURCES[n]], axis=0)
                    for n in JOINT_NAMES], axis=-1)
    return xy, vis


def joints_to_landmarks(xy_joints_px: np.ndarray, visibility_joints: np.ndarray):
    """Inverse, for the test detector: each landmark a joint is made of is put on that joint
    (both ears on the head; the shoulders then overwritten by their own joints, so 'neck' maps
    back to their midpoint). Landmarks no joint covers (face, hands) are NaN, visibility 0."""
    shape = xy_joints_px.shape[:-2]
    xy = np.full(shape + (33, 2), np.nan)
    vis = np.zeros(shape + (33,))
    for single in (False, True):
        for j, n in enumerate(JOINT_NAMES):
            src = JOINT_SOURCES[n]
            if (len(src) == 1) != single:
                continue
            for s in src:
                xy[..., MP_INDEX[s], :] = xy_joints_px[..., j, :]
                vis[..., MP_INDEX[s]] = visibility_joints[..., j]
    return xy, vis
