"""TEST-ONLY pose detector: projects the virtual athlete's TRUTH joint centres into the color
image and adds pixel noise. It never looks at the image. It exists so that the depth lifting and
the skeletal fit can be tested on their own, without MediaPipe's own errors; the product path
uses it only when it is selected explicitly by name ('truth_projection').
"""
from __future__ import annotations

import numpy as np

from analysis.pose.estimator import Landmarks2D
from analysis.skeleton.mapping import joints_to_landmarks
from drivers.camera_model import Intrinsics, transform_points, invert_pose


class TruthProjectionDetector:
    name = "truth_projection"

    def __init__(self, truth_joints_lab_m: np.ndarray, truth_time_s: np.ndarray,
                 color_intrinsics: Intrinsics, T_lab_from_color: np.ndarray,
                 noise_px: float = 1.5, seed: int = 0):
        self.joints_lab = np.asarray(truth_joints_lab_m, dtype=float)
        self.t = np.asarray(truth_time_s, dtype=float)
        self.intr = color_intrinsics
        self.T_color_from_lab = invert_pose(np.asarray(T_lab_from_color, dtype=float))
        self.noise_px = float(noise_px)
        self.rng = np.random.default_rng(seed)

    def estimate(self, color_rgb: np.ndarray, t_s: float) -> Landmarks2D:
        i = int(np.argmin(np.abs(self.t - t_s)))
        p_cam = transform_points(self.T_color_from_lab, self.joints_lab[i])
        xy = self.intr.project(p_cam) + self.rng.normal(0.0, self.noise_px, (len(p_cam), 2))
        inside = ((xy[:, 0] >= 0) & (xy[:, 0] < self.intr.width) & (xy[:, 1] >= 0)
                  & (xy[:, 1] < self.intr.height) & (p_cam[:, 2] > 0))
        vis = np.where(inside, 1.0, 0.0)
        lxy, lvis = joints_to_landmarks(xy, vis)
        return Landmarks2D(lxy, lvis)

    def close(self) -> None:
        pass
