"""The pose seam and the MediaPipe wrapper: never downloads, implements the protocol, finds a
person in a rendered frame, and the test-only detector is only reachable by name."""
from __future__ import annotations

import os

import numpy as np
import pytest

from analysis.pose import mediapipe_pose
from analysis.pose.estimator import N_LANDMARKS, Landmarks2D, PoseEstimator, make_estimator


def test_complexities_without_shipped_model_are_refused_before_any_download(monkeypatch):
    import mediapipe.python.solutions.download_utils as du

    def no_network(*a, **k):
        raise AssertionError("tried to download a model")
    monkeypatch.setattr(du, "download_oss_model", no_network)
    root = os.path.dirname(__import__("mediapipe").__file__)
    for c in (0, 2):
        if os.path.exists(os.path.join(root, mediapipe_pose._MODEL_FILES[c])):
            continue            # a wheel that ships it may use it
        with pytest.raises(mediapipe_pose.PoseModelMissing, match="never downloads"):
            mediapipe_pose.MediaPipePose(model_complexity=c)
    with pytest.raises(mediapipe_pose.PoseModelMissing):
        mediapipe_pose.MediaPipePose(model_complexity=5)


def test_mediapipe_is_a_pose_estimator_and_finds_the_rendered_athlete():
    from drivers.athlete.render import Renderer
    from drivers.athlete.render_pose import simple_pose_lab
    from drivers.camera_model import standard_camera_pose, transform_points, invert_pose
    r = Renderer(standard_camera_pose("front"))
    joints = simple_pose_lab()
    img = r.color(joints, 0)
    with make_estimator("mediapipe") as est:
        assert isinstance(est, PoseEstimator)
        lm = est.estimate(img, 0.0)
        blank = est.estimate(np.zeros_like(img), 1 / 30)
    assert lm.xy_px.shape == (N_LANDMARKS, 2) and lm.visibility.shape == (N_LANDMARKS,)
    assert lm.world_mediapipe_m is not None and lm.world_mediapipe_m.shape == (N_LANDMARKS, 3)
    # knees and ankles land near the projected truth (within 5% of the body's image height)
    px = r.color_view.intr.project(transform_points(invert_pose(r.T_lab_from_color), joints))
    from analysis.joints import JOINT_INDEX
    from analysis.pose.estimator import MP_INDEX
    height_px = px[JOINT_INDEX["left_ankle"], 1] - px[JOINT_INDEX["head"], 1]
    for n in ("left_knee", "right_knee", "left_ankle", "right_ankle"):
        assert np.linalg.norm(lm.xy_px[MP_INDEX[n]] - px[JOINT_INDEX[n]]) < 0.05 * height_px, n
    assert not blank.found and np.isnan(blank.xy_px).all()


def test_truth_detector_only_by_name_and_needs_truth():
    with pytest.raises(TypeError):
        make_estimator("truth_projection")          # no truth given: cannot be used by accident
    with pytest.raises(ValueError, match="unknown pose estimator"):
        make_estimator("openpose")


def test_landmarks_missing_is_empty():
    m = Landmarks2D.missing()
    assert not m.found and m.visibility.sum() == 0
