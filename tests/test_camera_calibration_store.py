"""Saved camera calibrations (calibration.camera_calibration_store): files, the newest per
camera, the default folder, and the copy every trial keeps in /calibration/camera."""
from __future__ import annotations

import numpy as np
import pytest

from calibration.camera_calibration_store import (CameraCalibration, latest_camera_calibration,
                                                  load_camera_calibration)
from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, T_COLOR_FROM_DEPTH_D435,
                                  standard_camera_pose)
from station.errors import UserError


def _cal(serial="CAM1", date="2026-11-27T10:00:00+00:00", x=0.0):
    T = standard_camera_pose("front")
    T[0, 3] += x
    return CameraCalibration(camera_serial=serial, method="board", T_lab_from_depth=T,
                             T_lab_from_color=T @ np.linalg.inv(T_COLOR_FROM_DEPTH_D435),
                             T_color_from_depth=T_COLOR_FROM_DEPTH_D435,
                             depth_intrinsics=D435_DEPTH_848x480, color_intrinsics=D435_COLOR_640x480,
                             errors={"reprojection_px": 0.2}, date_utc=date)


def test_save_load_latest_and_default_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_HOME", str(tmp_path))
    old = _cal(date="2026-11-01T10:00:00+00:00", x=0.1)
    new = _cal(date="2026-11-27T10:00:00+00:00", x=0.2)
    other = _cal(serial="CAM2", date="2026-11-28T10:00:00+00:00", x=0.3)
    paths = [c.save() for c in (old, new, other)]
    assert all(p.parent == tmp_path / "calibration" for p in paths)
    got = latest_camera_calibration("CAM1")
    assert got.date_utc == new.date_utc
    assert np.allclose(got.T_lab_from_depth, new.T_lab_from_depth)
    assert got.depth_intrinsics == D435_DEPTH_848x480 and got.errors == {"reprojection_px": 0.2}
    with pytest.raises(UserError, match="no camera calibration for camera CAM9"):
        load_camera_calibration("CAM9")
    (tmp_path / "calibration" / "camera_bad.json").write_text("{not json")
    with pytest.raises(UserError, match="cannot read camera calibration"):
        CameraCalibration.load(tmp_path / "calibration" / "camera_bad.json")
    assert latest_camera_calibration("CAM1").date_utc == new.date_utc     # bad file skipped


def test_trial_keeps_the_calibration_it_used(tmp_path):
    from data.trial import TrialWriter, open_trial
    cal = _cal()
    attrs, arrays = cal.trial_record()
    path = tmp_path / "t.h5"
    with TrialWriter(path, metadata={"athlete_id": "A01", "protocol": "p", "step": "s",
                                     "trial_kind": "cmj", "settings": {}}) as w:
        w.add_calibration("camera", attrs, arrays)
        w.close(status="complete")
    entry = open_trial(path).calibrations()["camera"]
    back = CameraCalibration.from_trial_record(dict(entry.attrs))
    assert back.camera_serial == "CAM1"
    assert np.allclose(back.T_lab_from_depth, cal.T_lab_from_depth)
    assert np.allclose(np.asarray(entry.arrays["T_lab_from_color"]), cal.T_lab_from_color)
