"""`station calibrate camera` (calibration.camera_wizard) on the simulated camera: calibrate,
save, self-check, and the technician's errors."""
from __future__ import annotations

import json

import pytest

from calibration.camera_calibration_store import CameraCalibration
from calibration.camera_wizard import SimulatedCamera, _moved_pose, calibrate
from station.errors import UserError

import camera_scene_helpers as h


class _MovingCamera:
    """Two simulated cameras 10 mm apart: the first half of a capture from one, the rest from
    the other (the technician bumped the tripod)."""

    def __init__(self):
        T = h.pose("45", 2.5)
        self.a, self.b = SimulatedCamera(T), SimulatedCamera(_moved_pose(T, 0.0, 10.0))

    def grab(self, n):
        return self.a.grab(n // 2) + self.b.grab(n - n // 2)


def test_camera_moving_during_capture_is_refused():
    with pytest.raises(UserError, match="moved during the capture"):
        calibrate(_MovingCamera(), "board", n_frames=6, say=lambda *a: None)


@pytest.mark.slow
def test_wizard_calibrates_saves_and_checks(tmp_path, capsys):
    from station.cli import main
    out = str(tmp_path)
    assert main(["calibrate", "camera", "--simulate", "--view", "45", "--frames", "4",
                 "--out", out, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["truth"]["position_error_mm"] <= 5.0 and res["truth"]["angle_error_deg"] <= 0.5
    assert res["setup"]["plate_distance_m"] == pytest.approx(2.5, abs=0.01)
    assert res["setup"]["foot_pitch_bound_deg"] == pytest.approx(1.52, abs=0.02) and res["setup"]["warning"] is None
    assert res["setup"]["framing"]["warnings"] == [] and res["setup"]["framing"]["feet_margin"] == pytest.approx(0.05, abs=0.005)
    saved = CameraCalibration.load(res["path"])
    assert saved.camera_serial == "SIM-D435-0001" and "T_lab_from_depth" in saved.self_check_reference
    assert main(["calibrate", "camera", "--simulate", "--view", "45", "--check", "--frames", "4",
                 "--out", out]) == 0
    assert "still valid" in capsys.readouterr().out
    assert main(["calibrate", "camera", "--simulate", "--view", "45", "--check", "--frames", "4",
                 "--sim-turn-deg", "1", "--out", out]) == 1
    assert "WARNING" in capsys.readouterr().out
    assert main(["calibrate", "camera", "--simulate", "--distance", "3", "--frames", "4", "--out", out]) == 0
    said = capsys.readouterr().out
    assert "camera 3.00 m from the plate centre" in said and "WARNING: the camera is 3.00 m" in said
    assert "framing: an athlete's feet on the plate 14.4 %" in said
    assert main(["calibrate", "camera", "--simulate", "--no-board", "--frames", "2", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert "no calibration board in view" in err and len(err.splitlines()) == 1
