"""`station camera-check` on the virtual camera and on a recording."""
from __future__ import annotations

import re

import cv2
import numpy as np

from drivers.camera_recording import db3_frame_counts, record_virtual
from drivers.virtual_camera import SphereScene, VirtualCamera
from station.cli import main
from station.commands.camera_check import depth_preview


def test_camera_check_plays_a_recording_and_saves_snapshots(tmp_path, capsys):
    rec = tmp_path / "v.db3"
    record_virtual(rec, VirtualCamera(speed=None, duration_s=0.3, drop_frames={"depth": [9]}))
    snap = tmp_path / "snap"
    assert main(["camera-check", "--recording", str(rec), "--snapshot", str(snap)]) == 0
    out = capsys.readouterr().out
    assert "depth: 26 frames, 1 dropped by the camera, 0 by this computer" in out
    assert "color: 9 frames, 0 dropped by the camera" in out
    color = cv2.imread(str(snap / "color.png"))
    expected = SphereScene()("color", 9, 9 / 30)          # the last color frame, RGB
    assert np.array_equal(color[..., ::-1], expected)
    depth = cv2.imread(str(snap / "depth.png"))
    assert depth.shape == (480, 848, 3)
    assert np.array_equal(depth, depth_preview(SphereScene()("depth", 27, 27 / 90), 0.001))


def test_camera_check_streams_and_records_the_virtual_camera(tmp_path, capsys):
    rec = tmp_path / "live.db3"
    assert main(["camera-check", "--virtual", "--seconds", "0.5", "--record", str(rec)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("camera: Virtual RealSense D435 (serial VIRTUAL-D435)  "
                          "depth 848x480@90 z16  color 640x480@30 rgb8")
    received = {s: int(re.search(rf"^{s}: (\d+) frames", out, re.M).group(1))
                for s in ("depth", "color")}
    assert received["depth"] > 0
    assert db3_frame_counts(rec) == received


def test_depth_preview_marks_holes_black():
    depth = np.array([[0, 1000, 5000]], np.uint16)
    img = depth_preview(depth, 0.001)
    assert img[0, 0].tolist() == [0, 0, 0] and img[0, 1].any() and img[0, 2].any()
    assert not np.array_equal(img[0, 1], img[0, 2])
