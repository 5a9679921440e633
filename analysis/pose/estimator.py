"""The seam between the station and a 2D pose estimator.

Any estimator a lab brings plugs in by implementing `PoseEstimator`: one call per color frame,
returning the 33 landmarks in MediaPipe Pose's numbering (pixel coordinates, u right, v down) and
a visibility in [0, 1] per landmark. Landmarks not found are NaN with visibility 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, runtime_checkable

import numpy as np

N_LANDMARKS = 33

# MediaPipe Pose landmark numbering (BlazePose 33 keypoints).
MP_LANDMARK_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
MP_INDEX = {name: i for i, name in enumerate(MP_LANDMARK_NAMES)}
assert len(MP_LANDMARK_NAMES) == N_LANDMARKS


@dataclass
class Landmarks2D:
    """One frame's landmarks.

    xy_px: (33, 2) pixel coordinates in the color image (NaN where not found).
    visibility: (33,) in [0, 1].
    world_mediapipe_m: optional (33, 3) MediaPipe's own 3D 'world landmarks' (metres, origin
        between the hips, x/y/z roughly image right/down/away), RGB only; kept as the baseline the
        depth pipeline must beat. None for estimators that do not provide it.
    """
    xy_px: np.ndarray
    visibility: np.ndarray
    world_mediapipe_m: Optional[np.ndarray] = None

    @classmethod
    def missing(cls) -> "Landmarks2D":
        return cls(np.full((N_LANDMARKS, 2), np.nan), np.zeros(N_LANDMARKS))

    @property
    def found(self) -> bool:
        return bool(np.isfinite(self.xy_px).all(axis=1).any())


@runtime_checkable
class PoseEstimator(Protocol):
    """estimate(color_rgb (H, W, 3) uint8, t_s) -> Landmarks2D. Frames arrive in time order
    (video mode may track between calls); `close()` releases resources."""

    name: str

    def estimate(self, color_rgb: np.ndarray, t_s: float) -> Landmarks2D: ...

    def close(self) -> None: ...


def run_estimator(estimator: PoseEstimator, frames_rgb, times_s) -> dict:
    """Run an estimator over a sequence of frames. Returns stacked arrays, time first:
    xy_px (T, 33, 2), visibility (T, 33), world_mediapipe_m (T, 33, 3) (NaN if not provided)."""
    xy, vis, world = [], [], []
    for frame, t in zip(frames_rgb, times_s):
        lm = estimator.estimate(frame, float(t))
        xy.append(lm.xy_px)
        vis.append(lm.visibility)
        world.append(lm.world_mediapipe_m if lm.world_mediapipe_m is not None
                     else np.full((N_LANDMARKS, 3), np.nan))
    n = len(xy)
    return {
        "xy_px": np.array(xy).reshape(n, N_LANDMARKS, 2),
        "visibility": np.array(vis).reshape(n, N_LANDMARKS),
        "world_mediapipe_m": np.array(world).reshape(n, N_LANDMARKS, 3),
    }


def make_estimator(name: str, **kwargs) -> PoseEstimator:
    """The product's estimator factory. 'mediapipe' is the default; 'truth_projection' is the
    TEST-ONLY detector and must be selected explicitly (it needs the simulator's truth)."""
    if name == "mediapipe":
        from analysis.pose.mediapipe_pose import MediaPipePose
        return MediaPipePose(**kwargs)
    if name == "truth_projection":
        from analysis.pose.truth_projection_detector import TruthProjectionDetector
        return TruthProjectionDetector(**kwargs)
    raise ValueError(f"unknown pose estimator {name!r}; known: 'mediapipe', 'truth_projection'")
