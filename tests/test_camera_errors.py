"""Clear one-line errors and the driver's other edges, through pyrealsense2."""
from __future__ import annotations

import pyrealsense2 as rs
import pytest

from drivers.camera import Camera, CameraError, StreamMode, list_cameras
from drivers.virtual_camera import VirtualCamera
from station.cli import main
from station.errors import UserError


def test_an_unsupported_mode_lists_the_valid_ones():
    cam = Camera.open_virtual(VirtualCamera(speed=None, duration_s=0.1))
    with pytest.raises(CameraError) as err:
        cam.configure(depth=StreamMode(1280, 720, 30, "z16"))
    msg = str(err.value)
    assert "depth mode 1280x720@30 z16 is not offered by Virtual RealSense D435" in msg
    assert "valid depth modes: 848x480@90 z16" in msg and "\n" not in msg
    with pytest.raises(CameraError, match="valid color modes: 640x480@30 rgb8"):
        cam.configure(color=StreamMode(640, 480, 60, "rgb8"))
    assert isinstance(err.value, UserError)


def test_a_missing_camera_is_a_clear_error():
    serials = [d.get_info(rs.camera_info.serial_number) for d in rs.context().query_devices()]
    with pytest.raises(CameraError, match="no RealSense camera with serial 000000000000 is "
                                          "connected"):
        Camera.open_real("000000000000")
    if not serials:
        with pytest.raises(CameraError, match="no RealSense camera is connected"):
            Camera.open_real()


def test_cli_reports_a_missing_camera_on_one_line(capsys):
    assert main(["camera-check", "--serial", "000000000000", "--seconds", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("station camera-check: error: no RealSense camera with serial")
    assert "\n" not in err


def test_a_consumer_that_falls_behind_a_live_camera_loses_counted_frames():
    """A live device is never blocked: frames beyond the queue are discarded and counted."""
    vcam = VirtualCamera(speed=None, duration_s=1.0)
    cam = Camera.open_virtual(vcam, lossless=False, max_queue_s=0.1)   # queue of 12 frames
    cam.configure()
    cam.start()
    vcam.wait(30)                       # nobody reads while all 120 frames are injected
    frames = list(cam.frames())
    cam.stop()
    st = cam.stats()
    assert len(frames) == 12
    assert sum(s["dropped_host"] for s in st.values()) == 120 - 12
    assert sum(s["received"] for s in st.values()) == 120
    assert [f["kind"] for f in cam.faults] == ["consumer_overflow"] * 2


def test_list_cameras_describes_virtual_and_recordings():
    cams = list_cameras()
    keys = {"kind", "name", "serial", "model", "firmware", "usb_type", "status", "how_to_use"}
    assert all(keys <= set(c) for c in cams)
    assert all(c["kind"] == "camera" for c in cams)
    how = [c["how_to_use"] for c in cams]
    assert any("--virtual" in h for h in how) and any("--recording" in h for h in how)
    real = [c for c in cams if c["how_to_use"].startswith("station camera-check --serial")]
    assert len(real) == len(rs.context().query_devices())
