"""MediaPipe Pose (legacy `mp.solutions.pose`) as a PoseEstimator.

Video mode (static_image_mode=False: tracking between frames), model_complexity=1: the only
landmark model shipped in the mediapipe 0.10.21 wheel. Complexities 0 and 2 make mediapipe fetch a
model from the internet; this wrapper refuses to construct anything whose model file is not
already on disk, so it can never try to download.
"""
from __future__ import annotations

import os

import numpy as np

from analysis.pose.estimator import Landmarks2D, N_LANDMARKS

# Files the legacy pose graph loads, relative to the mediapipe package root.
_MODEL_FILES = {
    0: "modules/pose_landmark/pose_landmark_lite.tflite",
    1: "modules/pose_landmark/pose_landmark_full.tflite",
    2: "modules/pose_landmark/pose_landmark_heavy.tflite",
}
_DETECTOR_FILE = "modules/pose_detection/pose_detection.tflite"


class PoseModelMissing(RuntimeError):
    pass


def _check_models_present(model_complexity: int) -> None:
    import mediapipe
    root = os.path.dirname(mediapipe.__file__)
    if model_complexity not in _MODEL_FILES:
        raise PoseModelMissing(f"model_complexity must be 0, 1 or 2, got {model_complexity}")
    for rel in (_MODEL_FILES[model_complexity], _DETECTOR_FILE):
        if not os.path.exists(os.path.join(root, rel)):
            raise PoseModelMissing(
                f"MediaPipe model {rel} is not installed (model_complexity={model_complexity}); "
                "the station never downloads models: use model_complexity=1, the model shipped "
                "in the mediapipe wheel")


class MediaPipePose:
    name = "mediapipe"

    def __init__(self, model_complexity: int = 1, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth_landmarks: bool = True):
        _check_models_present(model_complexity)
        import mediapipe as mp
        self.model_complexity = model_complexity
        self._pose = mp.solutions.pose.Pose(
            static_image_mode=False, model_complexity=model_complexity,
            smooth_landmarks=smooth_landmarks, enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence)

    def estimate(self, color_rgb: np.ndarray, t_s: float) -> Landmarks2D:
        img = np.ascontiguousarray(color_rgb, dtype=np.uint8)
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"color image must be (H, W, 3) uint8 RGB, got {img.shape}")
        h, w = img.shape[:2]
        res = self._pose.process(img)
        if res.pose_landmarks is None:
            return Landmarks2D.missing()
        lms = res.pose_landmarks.landmark
        xy = np.array([[p.x * w, p.y * h] for p in lms], dtype=float)
        vis = np.array([p.visibility for p in lms], dtype=float)
        world = None
        if res.pose_world_landmarks is not None:
            world = np.array([[p.x, p.y, p.z] for p in res.pose_world_landmarks.landmark])
        assert xy.shape == (N_LANDMARKS, 2)
        return Landmarks2D(xy, vis, world)

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
