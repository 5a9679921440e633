"""Camera recordings: RealSense files (.db3 written by pyrealsense2 2.59, .bag by older SDKs and
the RealSense Viewer) and the camera's streams in a trial file.

RealSense files:
  * record: `cam = Camera.open_virtual(vcam); cam.record_to("x.db3"); cam.configure(); cam.start()`
    (the same for a real camera) or `record_virtual(path, vcam)`. librealsense's rs.recorder
    wraps the device; everything the sensors deliver goes to the file too. The recorder writes on
    its own thread and silently loses whatever it has not written yet when it is released, so
    Camera.stop() waits (wait_db3_complete) until the file holds every frame the driver received.
  * play: `Camera.open_recording(path)`: ctx.load_device + set_real_time(False) (frame-exact: the
    pipeline + enable_device_from_file route drops and repeats frames), the driver then runs
    lossless, so no frame is dropped or repeated however slow the consumer is.

Trial files: CameraTrialWriter puts the camera's description, its depth and color streams, drop
counts and faults into a data.trial.TrialWriter (schema: depth 'mm' uint16, color 'rgb8'/'bgr8').
"""
from __future__ import annotations

import math
import os
import sqlite3
import time
from pathlib import Path

import pyrealsense2 as rs

from drivers.camera import CameraError, CameraFrame

RECORDING_SUFFIXES = (".db3", ".bag")


def open_playback(ctx: rs.context, path) -> rs.playback:
    p = Path(path)
    if p.suffix.lower() not in RECORDING_SUFFIXES:
        raise CameraError(f"{p} is not a RealSense recording: expected a .db3 or .bag file")
    if not p.is_file():
        raise CameraError(f"recording {p} does not exist")
    try:
        playback = ctx.load_device(str(p))
    except RuntimeError as exc:
        raise CameraError(f"cannot play {p}: {exc}") from None
    playback.set_real_time(False)
    return playback


def check_db3_target(path) -> Path:
    p = Path(path)
    if p.suffix.lower() != ".db3":
        raise CameraError(f"{p}: pyrealsense2 {rs.__version__} records ROS2 .db3 files; "
                          f"name the file *.db3")
    if p.exists():
        raise CameraError(f"{p} already exists; a recording is never overwritten")
    if not p.parent.is_dir():
        raise CameraError(f"{p.parent} is not a directory")
    return p


def db3_frame_counts(path) -> dict:
    """Frames per stream in a .db3 recording (image messages per topic), read-only."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    try:
        rows = con.execute("SELECT t.name, COUNT(*) FROM messages m JOIN topics t "
                           "ON m.topic_id = t.id WHERE t.name LIKE '%/image/data%' "
                           "GROUP BY t.name").fetchall()
    finally:
        con.close()
    counts = {"depth": 0, "color": 0}
    for name, n in rows:
        for stream, tag in (("depth", "/Depth_"), ("color", "/Color_")):
            if tag in name:
                counts[stream] += n
    return counts


def wait_db3_complete(path, expected: dict, timeout_s: float | None = None) -> int:
    """Wait until the .db3 file holds `expected` frames per stream (the recorder's writer runs
    behind). Reads the file only once its size has settled. Returns the number still missing."""
    total = sum(expected.values())
    timeout_s = timeout_s if timeout_s is not None else 10.0 + 0.05 * total
    deadline = time.monotonic() + timeout_s
    last_size, missing = -1, total
    while time.monotonic() < deadline:
        size = os.path.getsize(path) if os.path.exists(path) else -1
        if size == last_size:
            try:
                counts = db3_frame_counts(path)
                missing = sum(max(0, n - counts.get(s, 0)) for s, n in expected.items())
            except sqlite3.Error:
                missing = total
            if missing == 0:
                return 0
        last_size = size
        time.sleep(0.2)
    return missing


def record_virtual(path, vcam, depth=None, color=None):
    """Record a VirtualCamera (unpaced or paced) to a .db3 file until it ends; returns the
    driver's stats. The frames also pass through the driver (and are discarded here)."""
    from drivers.camera import DEFAULT_COLOR_MODE, DEFAULT_DEPTH_MODE, Camera
    cam = Camera.open_virtual(vcam)
    cam.record_to(path)
    cam.configure(depth or DEFAULT_DEPTH_MODE, color or DEFAULT_COLOR_MODE)
    cam.start()
    for _ in cam.frames():
        pass
    cam.stop()
    if any(f["kind"] == "recording_incomplete" for f in cam.faults):
        raise CameraError(f"{path}: the recorder did not write every frame; "
                          f"{cam.faults[-1]['message']}")
    return cam.stats()


# ---- the camera in a trial file -----------------------------------------------------------
class CameraTrialWriter:
    """Writes a started-or-not Camera's frames into a data.trial.TrialWriter:
    device `device_name` (description + arrays), streams 'depth' and 'color' (image streams),
    quality counters and faults (written as they happen)."""

    def __init__(self, writer, camera, device_name: str = "camera",
                 stream_names: dict | None = None):
        self.writer = writer
        self.camera = camera
        self.device_name = device_name
        names = {"depth": "depth", "color": "color", **(stream_names or {})}
        scale = camera.depth_scale_m() if "depth" in camera.modes else math.nan
        if "depth" in camera.modes and abs(scale - 0.001) > 1e-7:
            raise CameraError(f"{camera.name} has depth units of {scale} m; the trial stores "
                              f"depth in mm: set the camera's depth units to 0.001")
        writer.add_device(device_name, kind="depth_camera", description=camera.description(),
                          arrays=camera.description_arrays())
        self.streams = {}
        for stream, mode in camera.modes.items():
            if stream == "depth":
                self.streams[stream] = writer.create_stream(
                    names[stream], kind="depth", device=device_name,
                    sample_shape=(mode.height, mode.width), dtype="uint16", unit="mm",
                    frame="camera_depth", nominal_rate_hz=float(mode.fps), image=True)
            else:
                if mode.format not in ("rgb8", "bgr8"):
                    raise CameraError(f"color format {mode.format} cannot be stored in a trial; "
                                      f"use rgb8 or bgr8")
                self.streams[stream] = writer.create_stream(
                    names[stream], kind="color", device=device_name,
                    sample_shape=(mode.height, mode.width, 3), dtype="uint8", unit=mode.format,
                    frame="camera_color", nominal_rate_hz=float(mode.fps), image=True)
        self._faults_written = 0

    def append(self, frame: CameraFrame) -> None:
        self.streams[frame.stream].append(frame.image, sequence=[frame.frame_number],
                                          time_device_s=[frame.time_device_s],
                                          time_host_s=[frame.time_host_s],
                                          time_arrival_s=[frame.time_arrival_s])
        if len(self.camera.faults) > self._faults_written:
            self.write_faults()

    def write_faults(self) -> None:
        faults = list(self.camera.faults)
        for f in faults[self._faults_written:]:
            stream = self.streams[f["stream"]].name if f["stream"] in self.streams else self.device_name
            self.writer.add_fault(stream, f["kind"], f["message"], time_host_s=f["time_host_s"])
        self._faults_written = len(faults)

    def finish(self) -> None:
        """Write the drop counters, achieved rates and any remaining faults."""
        self.write_faults()
        desc = self.camera.description()
        for stream, st in self.camera.stats().items():
            self.writer.set_quality(self.streams[stream].name,
                                    dropped=st["dropped"] + st["dropped_host"],
                                    achieved_rate_hz=st["achieved_rate_hz"],
                                    dropped_device=st["dropped"], dropped_host=st["dropped_host"],
                                    out_of_order=st["out_of_order"],
                                    time_host_source=desc["time_host_source"].get(stream, ""))

    def run(self, until=None) -> None:
        """Append every frame until the camera's stream ends or until() returns True
        (then call camera.stop() and finish())."""
        for frame in self.camera.frames():
            self.append(frame)
            if until is not None and until():
                break
