"""The 'tracked' verdict through the skeleton pipeline (analysis/skeleton_pipeline via
station/commands/analyze.analyze_trial(..., skeleton=True)): a short simulated static trial with
the virtual camera's color and depth streams (MediaPipe on the rendered color frames), recorded
through the real chain; the session's verdict says tracked, and the skeleton results are in the
trial. Reduced camera rates (an explicit option of the simulation) keep it short."""
import pytest

from data.trial import open_trial
from station.capture_session import CaptureOptions, CaptureSession
from station.protocol import load_protocol
from station.session import Athlete, load_session
from station.simulated_station import SimulatedStation


@pytest.mark.slow
def test_static_trial_is_tracked_by_the_skeleton_pipeline(tmp_path):
    pytest.importorskip("mediapipe")
    said = []
    with SimulatedStation(seed=2, depth_fps=15, color_fps=15, say=said.append) as st:
        cs = CaptureSession(st, load_protocol("full"), Athlete("TR01", mass_kg=75.0, height_m=1.75),
                            tmp_path, None, CaptureOptions(steps=["static"], trials=1,
                                                           skip_rest=True, skeleton=True),
                            out=said.append)
        session = cs.run()
    o = cs.outcomes[0]
    assert o.record.status == "complete"
    kin = o.force["kinematics"]
    assert kin["verdict"]["ok"], kin["verdict"]
    assert o.record.verdict.tracked is True and o.record.verdict.ok
    data = load_session(session.folder)
    assert data["trials"][0]["verdict"]["tracked"] is True
    with open_trial(session.folder / o.record.file) as t:
        assert "skeleton" in t.results()
        assert t.metadata["settings"]["simulation"]["camera_color_fps"] == 15
        cam = t.calibrations()["camera_pose"]
        assert cam.attrs["kind"] == "camera_pose" and "T_lab_from_color" in cam.arrays
        # the camera's stereo baseline, as the virtual D435 reports it through the driver, picks
        # the landing rule from its depth noise at the calibrated range
        assert t.devices()["camera"].attrs["stereo_baseline_m"] == pytest.approx(0.050)
    lj = kin["landing_joints"]
    assert lj["own_side"] is False and "stereo baseline 50 mm" in lj["chosen_by"], lj
