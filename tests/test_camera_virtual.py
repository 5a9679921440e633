"""Virtual camera -> driver -> trial, through pyrealsense2 itself (a real software_device)."""
from __future__ import annotations

import threading

import numpy as np
import pyrealsense2 as rs
import pytest

from data.trial import TrialWriter, open_trial, validate_trial
from drivers.camera import Camera
from drivers.camera_model import D435_COLOR_640x480, D435_DEPTH_848x480, Intrinsics
from drivers.camera_recording import CameraTrialWriter
from drivers.virtual_camera import SphereScene, VirtualCamera


def capture_to_trial(path, cam, close_status=None):
    with TrialWriter(path, metadata={"athlete_id": "T01", "trial_kind": "camera_test"}) as w:
        ctw = CameraTrialWriter(w, cam)
        cam.start()
        ctw.run()
        cam.stop()
        ctw.finish()
        if close_status:
            w.close(*close_status)
    return open_trial(path)


def assert_trial_matches_injected(trial, vcam, stream):
    st = trial.stream(stream)
    injected = vcam.injected[stream]
    assert len(st) == len(injected) > 0
    n = np.array([i[0] for i in injected])
    assert np.array_equal(st.sequence, n)
    # timestamps: what was injected, as librealsense hands it back (ms -> s)
    assert np.array_equal(st.time_host_s, np.array([i[1] for i in injected]) * 1e-3)
    assert np.array_equal(st.time_device_s, np.array([i[2] for i in injected]) * 1e-6)
    assert np.all(np.isfinite(st.time_arrival_s))
    fps = vcam.fps[stream]
    for k, fn in enumerate(n):                    # every frame, bit for bit
        assert np.array_equal(st.data[k], vcam.source(stream, int(fn), fn / fps)), (stream, fn)


def test_every_injected_frame_reaches_the_trial_bit_for_bit(tmp_path):
    vcam = VirtualCamera(speed=None, duration_s=0.5)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    trial = capture_to_trial(tmp_path / "t.h5", cam)
    assert validate_trial(tmp_path / "t.h5") == []
    with trial:
        assert trial.status == "complete"
        for stream in ("depth", "color"):
            assert_trial_matches_injected(trial, vcam, stream)
        assert len(trial.stream("depth")) == 45 and len(trial.stream("color")) == 15
        q = trial.quality()
        assert q["depth"]["dropped"] == 0 and q["color"]["dropped"] == 0
        assert trial.stream("depth").unit == "mm" and trial.stream("color").unit == "rgb8"
        dev = trial.devices()["camera"]
        assert dev.attrs["serial"] == "VIRTUAL-D435"
        assert dev.attrs["depth"]["intrinsics"] == D435_DEPTH_848x480.to_dict()
        assert dev.attrs["color"]["intrinsics"] == D435_COLOR_640x480.to_dict()
        assert dev.attrs["depth_scale_m"] == pytest.approx(0.001, rel=1e-6)
        assert dev.attrs["stereo_baseline_m"] == pytest.approx(0.050)     # the D435's, as a D400 reports it
        assert dev.attrs["visual_preset"] == "Default"
        assert np.allclose(dev.arrays["T_color_from_depth_m"][:3, 3], [-0.015, 0, 0], atol=1e-7)
    assert cam.faults == []


def test_injected_drops_are_counted_exactly(tmp_path):
    drops = {"depth": [5, 6, 17, 44], "color": [3]}
    vcam = VirtualCamera(speed=None, duration_s=0.5, drop_frames=drops)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    with capture_to_trial(tmp_path / "t.h5", cam) as trial:
        for stream in ("depth", "color"):
            assert_trial_matches_injected(trial, vcam, stream)
            assert vcam.skipped[stream] == drops[stream]
            assert cam.stats()[stream]["dropped"] == len(drops[stream])
            assert trial.quality()[stream]["dropped"] == len(drops[stream])
            assert trial.stream(stream).sequence_gaps == len(drops[stream])


def test_a_stall_is_counted_and_recorded_as_a_fault(tmp_path):
    vcam = VirtualCamera(speed=None, duration_s=0.6, stall=(0.2, 0.25))
    cam = Camera.open_virtual(vcam)
    cam.configure()
    with capture_to_trial(tmp_path / "t.h5", cam) as trial:
        lost_depth = [n for n in range(1, 55) if 0.2 <= n / 90 < 0.45]
        assert vcam.skipped["depth"] == lost_depth
        assert cam.stats()["depth"]["dropped"] == len(lost_depth)
        assert cam.stats()["color"]["dropped"] == len(vcam.skipped["color"]) > 0
        stalls = [f for f in trial.faults() if f.kind == "stall"]
        assert {f.stream for f in stalls} == {"depth", "color"}
        assert f"frames {lost_depth[0]}..{lost_depth[-1]} missing" in \
            next(f.message for f in stalls if f.stream == "depth")


def test_unplugging_mid_capture_keeps_every_frame_before_it(tmp_path):
    vcam = VirtualCamera(speed=None, duration_s=2.0, disconnect_at_s=0.3)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    trial = capture_to_trial(tmp_path / "t.h5", cam, close_status=("aborted", "camera unplugged"))
    assert validate_trial(tmp_path / "t.h5") == []
    with trial:
        assert trial.status == "aborted"
        for stream in ("depth", "color"):
            assert_trial_matches_injected(trial, vcam, stream)
        assert trial.stream("depth").sequence[-1] == 26      # 27/90 s >= 0.3 s: not sent
        faults = [f for f in trial.faults() if f.kind == "disconnected"]
        assert len(faults) == 1 and "unplugged" in faults[0].message
        assert faults[0].time_host_s > 0
    assert cam.ended and cam.end_reason == "camera disconnected"


def test_a_failing_frame_source_ends_the_stream_with_a_fault():
    def source(stream, n, t):
        if n == 4:
            raise ValueError("renderer crashed")
        return scene(stream, n, t)
    scene = SphereScene()
    vcam = VirtualCamera(source, speed=None, duration_s=1.0)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    cam.start()
    frames = list(cam.frames())
    cam.stop()
    assert max(f.frame_number for f in frames if f.stream == "depth") == 3
    assert [f["kind"] for f in cam.faults] == ["disconnected"]
    assert "renderer crashed" in cam.faults[0]["message"]


def test_intrinsics_and_extrinsics_come_back_from_librealsense():
    depth = Intrinsics(848, 480, 425.5, 424.25, 421.75, 238.5)
    color = Intrinsics(640, 480, 611.0, 612.5, 318.0, 243.0)
    a = np.deg2rad(2.0)
    T = np.eye(4)
    T[:3, :3] = [[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]]
    T[:3, 3] = [-0.0148, 0.0002, 0.0011]
    vcam = VirtualCamera(speed=None, duration_s=0.1, depth_intrinsics=depth,
                         color_intrinsics=color, T_color_from_depth=T)
    cam = Camera.open_virtual(vcam)
    cam.configure()
    d = cam.description()
    assert d["depth"]["intrinsics"] == depth.to_dict()
    assert d["color"]["intrinsics"] == color.to_dict()
    assert np.allclose(cam.T_color_from_depth(), T, atol=1e-6)     # float32 inside librealsense


def test_virtual_frames_follow_the_syncer_conventions():
    """librealsense's syncer pairs color n with depth 3n (same timestamp) for every color frame."""
    # paced (2x real time) and consumed on a thread: frames held in a syncer come from
    # librealsense's small frame pool; injecting far ahead of the consumer exhausts it
    vcam = VirtualCamera(speed=2.0, duration_s=0.4)
    sync = rs.syncer(1000)
    for stream in ("depth", "color"):
        s = vcam.sensors[stream]
        s.open(vcam.profiles[stream])
        s.start(sync)
    pairs = []

    def consume():
        while True:
            ok, fs = sync.try_wait_for_frames(500)
            if not ok:
                return
            got = {f.profile.stream_name(): f.get_frame_number() for f in fs.as_frameset()}
            if len(got) == 2:
                pairs.append((got["Color"], got["Depth"]))
    reader = threading.Thread(target=consume)
    reader.start()
    vcam.start()
    vcam.wait(10)
    reader.join(10)
    for stream in ("depth", "color"):
        vcam.sensors[stream].stop()
        vcam.sensors[stream].close()
    assert pairs == [(m, 3 * m) for m in range(1, 13)]


def test_hardware_clock_frames_are_mapped_to_the_host_clock_by_the_clock_fit():
    """Without global time the driver fits device time to arrival time (drivers.clock_sync):
    host = device + offset, the offset below every arrival (the least-delay line)."""
    vcam = VirtualCamera(speed=None, duration_s=0.3, timestamp_domain="hardware_clock")
    cam = Camera.open_virtual(vcam)
    cam.configure()
    cam.start()
    frames = [f for f in cam.frames() if f.stream == "depth"]
    cam.stop()
    assert [f.frame_number for f in frames] == list(range(1, 28))
    assert [f.timestamp_domain for f in frames] == ["hardware_clock"] * 27
    assert [f.time_device_s for f in frames] == [us * 1e-6 for _, _, us in vcam.injected["depth"]]
    assert cam.description()["time_host_source"]["depth"].startswith("clock_fit")
    for f in frames:
        assert f.time_host_s <= f.time_arrival_s


def test_a_silent_camera_is_reported_while_it_is_still_connected():
    vcam = VirtualCamera(speed=1.0, duration_s=0.9, stall=(0.1, 0.6))
    cam = Camera.open_virtual(vcam, frame_timeout_s=0.3)
    cam.configure()
    cam.start()
    frames = list(cam.frames())
    cam.stop()
    kinds = [f["kind"] for f in cam.faults]
    assert "frames_timeout" in kinds and "disconnected" not in kinds
    assert kinds.count("stall") == 2
    assert len(frames) == len(vcam.injected["depth"]) + len(vcam.injected["color"])
