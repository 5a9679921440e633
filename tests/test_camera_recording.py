"""RealSense recordings through pyrealsense2: the virtual camera recorded to .db3 by rs.recorder,
played back frame-exact through the same driver (and into a trial)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from data.trial import TrialWriter, open_trial
from drivers.camera import ANY, Camera, CameraError
from drivers.camera_recording import CameraTrialWriter, db3_frame_counts, record_virtual
from drivers.virtual_camera import VirtualCamera


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    """0.5 s of the virtual camera with injected drops, recorded to .db3."""
    path = tmp_path_factory.mktemp("rec") / "virtual.db3"
    vcam = VirtualCamera(speed=None, duration_s=0.5, drop_frames={"depth": [7, 8], "color": [4]})
    stats = record_virtual(path, vcam)
    assert stats["depth"]["received"] == len(vcam.injected["depth"])
    return path, vcam


def test_the_recorder_wrote_every_frame(recording):
    path, vcam = recording
    assert db3_frame_counts(path) == {s: len(vcam.injected[s]) for s in ("depth", "color")}


def test_playback_through_the_driver_is_frame_exact(recording):
    path, vcam = recording
    cam = Camera.open_recording(path, max_queue_s=0.01)   # 8 frames: the callback must wait
    cam.configure(ANY, ANY)
    assert {s: str(m) for s, m in cam.modes.items()} == {"depth": "848x480@90 z16",
                                                         "color": "640x480@30 rgb8"}
    cam.start()
    # nobody reads until the queue is full: playback must wait for the consumer, not drop
    deadline = time.monotonic() + 20
    while cam.queue_state()["queued"] < 8 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cam.queue_state()["queued"] == 8 and not cam.ended
    frames = {"depth": [], "color": []}
    for f in cam.frames():
        frames[f.stream].append(f)
    cam.close()
    assert cam.end_reason == "end of recording"
    for stream in ("depth", "color"):
        got = frames[stream]
        injected = vcam.injected[stream]
        assert [f.frame_number for f in got] == [n for n, _, _ in injected]   # none lost/repeated
        assert [f.time_host_s for f in got] == [ts * 1e-3 for _, ts, _ in injected]
        assert [f.time_device_s for f in got] == [us * 1e-6 for _, _, us in injected]
        fps = vcam.fps[stream]
        for f in got:
            assert np.array_equal(f.image, vcam.source(stream, f.frame_number, f.frame_number / fps))
        assert cam.stats()[stream]["dropped"] == len(vcam.skipped[stream])
    d = cam.description()
    assert d["source"] == "recording" and d["serial"] == "VIRTUAL-D435"
    assert d["recording_file"] == str(path)
    assert np.allclose(np.array(d["T_color_from_depth"])[:3, 3], [-0.015, 0, 0], atol=1e-7)


def test_playback_into_a_trial(recording, tmp_path):
    path, vcam = recording
    cam = Camera.open_recording(path)
    cam.configure(ANY, ANY)
    out = tmp_path / "from_recording.h5"
    with TrialWriter(out, metadata={"athlete_id": "T01", "trial_kind": "camera_test"}) as w:
        ctw = CameraTrialWriter(w, cam)
        cam.start()
        ctw.run()
        cam.close()
        ctw.finish()
    with open_trial(out) as trial:
        for stream in ("depth", "color"):
            st = trial.stream(stream)
            assert list(st.sequence) == [n for n, _, _ in vcam.injected[stream]]
            assert trial.quality()[stream]["dropped"] == len(vcam.skipped[stream])
        assert trial.devices()["camera"].attrs["source"] == "recording"


def test_recording_files_are_checked(tmp_path):
    with pytest.raises(CameraError, match="does not exist"):
        Camera.open_recording(tmp_path / "missing.db3")
    with pytest.raises(CameraError, match="not a RealSense recording"):
        Camera.open_recording(tmp_path / "clip.mp4")
    junk = tmp_path / "junk.db3"
    junk.write_bytes(b"not a database")
    with pytest.raises(CameraError, match="cannot play"):
        Camera.open_recording(junk)
    cam = Camera.open_virtual(VirtualCamera(speed=None, duration_s=0.1))
    with pytest.raises(CameraError, match="name the file"):
        cam.record_to(tmp_path / "x.bag")
