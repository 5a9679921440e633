"""analyze_skeleton on trials it cannot analyse: one-line user errors, not tracebacks."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.skeleton_pipeline import SkeletonError, analyze_skeleton
from data.trial import TrialWriter, open_trial
from drivers.camera_model import D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435
from station.errors import UserError


def _trial(path, camera=True, pose=True):
    with TrialWriter(path, metadata={"athlete_id": "A", "trial_kind": "squat"}) as w:
        if camera:
            w.add_device("camera", kind="depth_camera", description={
                "depth_scale_m": 0.001,
                "depth": {"intrinsics": D435_DEPTH_848x480.to_dict()},
                "color": {"intrinsics": D435_COLOR_640x480.to_dict()},
                "T_color_from_depth": T_COLOR_FROM_DEPTH_D435.tolist()})
        if pose:
            w.add_calibration("camera_pose", {"method": "test"}, arrays={"T_lab_from_depth": np.eye(4)})
    return open_trial(path)


def test_missing_camera_or_pose_is_a_user_error(tmp_path):
    t = _trial(tmp_path / "nocam.h5", camera=False, pose=False)
    with pytest.raises(UserError, match="no depth camera"):
        analyze_skeleton(t, {}, {"reps": []})
    t = _trial(tmp_path / "nopose.h5", camera=True, pose=False)
    with pytest.raises(SkeletonError, match="camera_pose"):
        analyze_skeleton(t, {}, {"reps": []})
