"""The recorder with a camera: a real pyrealsense2 software_device (drivers/virtual_camera.py)
at the real camera's rates (depth 848x480@90, color 640x480@30) and the virtual plate on a pty,
recorded together into one trial file; frames the camera never delivered are counted as drops
per stream; the stop waits for the camera's in-flight frames. And a camera unplugged mid-trial in a session: the trial is aborted with the reason,
what came before is kept, the session goes on with the next trial."""
import time

import numpy as np
import pytest

from data.trial import open_trial
from drivers.camera import Camera
from drivers.force_plate import ForcePlate
from drivers.virtual_camera import VirtualCamera
from drivers.virtual_plate import VirtualPlate, stand_source
from station.capture_session import CaptureOptions, CaptureSession
from station.protocol import load_protocol
from station.recorder import Recorder
from station.session import Athlete, load_session
from station.simulated_station import SimulatedStation

DROP_DEPTH, DROP_COLOR = [200, 201, 240], [70]


@pytest.mark.slow
def test_camera_and_plate_recorded_together_with_drops_counted_per_stream(tmp_path):
    with VirtualPlate(stand_source(75.0), seed=4) as vp:
        plate = ForcePlate(vp.port)
        vcam = VirtualCamera(speed=1.0, duration_s=30.0,
                             drop_frames={"depth": DROP_DEPTH, "color": DROP_COLOR})
        cam = Camera.open_virtual(vcam)
        cam.configure()
        try:
            rec = Recorder([plate], cam, pretrigger_s=0.0)
            rec.arm()
            rec.record(tmp_path / "t.h5", {"athlete_id": "C01", "protocol": "test",
                                           "step": "camera", "trial_kind": "stand"})
            time.sleep(3.5)                            # device time ~3.5 s: past every drop
            result = rec.stop()
        finally:
            cam.close()
            plate.close()
    assert result.status == "complete", result.reason
    q = result.quality
    assert q["depth"]["dropped"] == len(DROP_DEPTH) and q["color"]["dropped"] == len(DROP_COLOR)
    assert q["plate1"]["dropped"] == 0
    assert q["depth"]["nominal_rate_hz"] == 90 and q["color"]["nominal_rate_hz"] == 30
    # achieved rate from the device clock counts the dropped frames' slots: the nominal rate
    assert q["depth"]["achieved_rate_hz"] == pytest.approx(90.0, rel=1e-3)
    with open_trial(tmp_path / "t.h5") as t:
        assert t.status == "complete"
        d, c = t.stream("depth"), t.stream("color")
        assert d.data.shape[1:] == (480, 848) and c.data.shape[1:] == (480, 640, 3)
        seq = np.asarray(d.sequence)
        missing = sorted(set(range(int(seq[0]), int(seq[-1]) + 1)) - set(seq.tolist()))
        assert missing == DROP_DEPTH
        seq_c = np.asarray(c.sequence)
        assert sorted(set(range(int(seq_c[0]), int(seq_c[-1]) + 1)) - set(seq_c.tolist())) == DROP_COLOR
        # every stream on the host time base: the camera's and the plate's times overlap
        tp = np.asarray(t.stream("plate1").time_host_s)
        td = np.asarray(d.time_host_s)
        assert tp[0] < td[-1] and td[0] < tp[-1]
        # the stop waited for the camera's in-flight frames: both camera streams reach the stop
        tc = np.asarray(c.time_host_s)
        assert td[-1] >= result.end_host_s and tc[-1] >= result.end_host_s
        assert not [f for f in result.faults if f["kind"] == "late_frames"]
        fq = t.quality()
        assert fq["depth"]["dropped"] == len(DROP_DEPTH) and fq["color"]["dropped"] == len(DROP_COLOR)
        assert fq["plate1"]["samples"] == len(tp)


@pytest.mark.slow
def test_camera_unplugged_mid_trial_aborts_it_and_the_session_goes_on(tmp_path):
    def hook(st, rec, step, attempt):
        if attempt == 1:                 # unplug 1 s into the recording (device time)
            vcam = st._trial["vcam"]
            vcam.disconnect_at_s = time.time() - vcam.host_t0 + 1.0
    said = []
    # reduced camera rates, an explicit option of the simulation, keep this test short
    with SimulatedStation(seed=1, depth_fps=15, color_fps=None, say=said.append) as st:
        cs = CaptureSession(st, load_protocol("jumps"), Athlete("U01", mass_kg=75.0), tmp_path,
                            None, CaptureOptions(steps=["cmj"], trials=2, skip_rest=True,
                                                 fault_hook=hook), out=said.append)
        session = cs.run()
    data = load_session(session.folder)
    first, second = data["trials"]
    assert first["status"] == "aborted" and not first["verdict"]["ok"]
    assert "camera" in first["verdict"]["reasons"][0] and "disconnected" in first["verdict"]["reasons"][0]
    assert any("USB 3 cable" in s for s in said)
    with open_trial(session.folder / first["file"]) as t:
        assert t.status == "aborted" and "camera" in t.status_reason
        assert len(t.stream("depth").time_host_s) >= 12           # ~1 s at 15 fps kept
        assert len(t.stream("plate1").time_host_s) > 900
        assert any(f.kind == "device_lost" for f in t.faults())
        assert t.metadata["settings"]["simulation"]["camera_rates_reduced"] is True
    assert second["status"] == "complete" and "depth" in second["key_numbers"]["quality"]
