"""Does a 2D pose estimator see the rendered athlete? MediaPipe Pose on rendered color frames.

Uses the legacy `mediapipe.solutions.pose.Pose(static_image_mode=False, model_complexity=1)`:
complexity 1 is the only model in the wheel (0 and 2 would try to download).
A frame counts as detected when every lower-limb landmark (hips, knees, ankles, heels, foot
indices, both sides) has visibility > `min_visibility`. The 2D error is the pixel distance
between MediaPipe's landmark and the projection of the truth joint centre into the color image
(it includes the offset between MediaPipe's surface-ish landmarks and joint centres).
"""
from __future__ import annotations

import numpy as np

from analysis.joints import JOINT_INDEX

# MediaPipe Pose landmark index for each of our joints that it has.
MP_INDEX = {
    "left_shoulder": 11, "right_shoulder": 12, "left_elbow": 13, "right_elbow": 14,
    "left_wrist": 15, "right_wrist": 16, "left_hip": 23, "right_hip": 24,
    "left_knee": 25, "right_knee": 26, "left_ankle": 27, "right_ankle": 28,
    "left_heel": 29, "right_heel": 30, "left_toe": 31, "right_toe": 32,
}
LOWER = [f"{s}_{j}" for s in ("left", "right") for j in ("hip", "knee", "ankle", "heel", "toe")]


def mediapipe_detection(renderer, joints_lab_seq: np.ndarray, min_visibility: float = 0.5,
                        keep_frames: bool = False) -> dict:
    """Run MediaPipe Pose (video mode) on the renderer's color frames of a pose sequence
    (T, J, 3) lab frame. Returns detection rate, per-joint median 2D errors (px) over detected
    frames, the overall median and 90th percentile of the lower-limb errors."""
    import mediapipe as mp

    T = len(joints_lab_seq)
    view = renderer.color_view
    detected = np.zeros(T, dtype=bool)
    errs = {n: [] for n in MP_INDEX}
    frames = []
    vis = {n: [] for n in LOWER}
    with mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1,
                                enable_segmentation=False) as pose:
        for i in range(T):
            img = renderer.color(joints_lab_seq[i], i)
            if keep_frames:
                frames.append(img)
            res = pose.process(img)
            if res.pose_landmarks is None:
                continue
            lm = res.pose_landmarks.landmark
            truth_px = view.intr.project(view.to_camera(joints_lab_seq[i]))
            for n in LOWER:
                vis[n].append(lm[MP_INDEX[n]].visibility)
            detected[i] = all(lm[MP_INDEX[n]].visibility > min_visibility for n in LOWER)
            if not detected[i]:
                continue
            for n, k in MP_INDEX.items():
                uv = np.array([lm[k].x * view.W, lm[k].y * view.H])
                errs[n].append(float(np.linalg.norm(uv - truth_px[JOINT_INDEX[n]])))
    lower = np.concatenate([errs[n] for n in LOWER]) if detected.any() else np.array([np.nan])
    out = {
        "frames": T,
        "detection_rate": float(detected.mean()),
        "median_error_px": {n: (float(np.median(v)) if v else float("nan")) for n, v in errs.items()},
        "lower_median_px": float(np.median(lower)),
        "lower_p90_px": float(np.percentile(lower, 90)),
        "min_visibility": {n: (float(np.min(v)) if v else 0.0) for n, v in vis.items()},
    }
    if keep_frames:
        out["frames_rgb"] = frames
    return out
