"""RealSense D400 depth-camera driver on pyrealsense2: real cameras, the virtual camera
(drivers/virtual_camera.py) and recordings (.db3/.bag, drivers/camera_recording.py) all run
through the same code once the librealsense device is obtained.

    cam = Camera.open_real(serial)            # or Camera.open_virtual(vcam), open_recording(path)
    cam.configure()                           # depth 848x480@90 z16, color 640x480@30 rgb8
    cam.start()
    for frame in cam.frames():                # CameraFrame, until stop(), unplug or end of file
        ...
    cam.stop(); cam.stats(); cam.faults; cam.description()

Reading: the sensors deliver frames to callbacks on librealsense's threads (the virtual camera's
thread for a software device, the playback thread for a file); each callback copies the image
out (so librealsense's small frame pool is never held) and queues a CameraFrame.
Live devices never block librealsense: if the consumer falls behind by more than
`max_queue_s` of frames, new frames are dropped and counted (`dropped_host`). Recordings and
an unpaced virtual camera run lossless: the callback waits for the consumer instead.

Time of a frame (SI, s):
  time_device_s  the camera's hardware clock (metadata frame_timestamp, us -> s), or the frame
                 timestamp when its domain is the hardware clock; NaN if the camera gives neither;
  time_host_s    host clock, s since the epoch: the frame timestamp if its domain is global time
                 (librealsense maps the device clock to the host clock) or system time; for the
                 hardware-clock domain, the device clock mapped by drivers.clock_sync.ClockSync
                 fitted to arrival times (live) or the device clock itself (recordings: no host
                 clock in the file; `description()['time_host_source']` says which);
  time_arrival_s time.time() when the callback ran.
Drops: gaps in the frame numbers, counted exactly per stream (`dropped`).
Unplugging: the device-removed event (librealsense's devices-changed callback; the virtual
camera's simulated one) or frames stopping while the device is gone ends the stream cleanly:
frames already received stay readable, a 'disconnected' fault is recorded with time and message.
"""
from __future__ import annotations

import math
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import pyrealsense2 as rs

from drivers.camera_model import Intrinsics
from station.errors import UserError

STREAMS = ("depth", "color")
_RS_STREAM = {"depth": rs.stream.depth, "color": rs.stream.color}
_FORMATS = {"z16": rs.format.z16, "rgb8": rs.format.rgb8, "bgr8": rs.format.bgr8,
            "y8": rs.format.y8, "yuyv": rs.format.yuyv, "rgba8": rs.format.rgba8,
            "bgra8": rs.format.bgra8}
_FORMAT_NAMES = {v: k for k, v in _FORMATS.items()}
D400_VISUAL_PRESETS = {0: "Custom", 1: "Default", 2: "Hand", 3: "High Accuracy",
                       4: "High Density", 5: "Medium Density"}
FRAME_TIMEOUT_S = 2.0        # no frame at all for this long (wall clock): a 'frames_timeout' fault
STALL_S = 0.2                # a device-time gap longer than this (and 3 frame periods): a 'stall'


class CameraError(UserError):
    """A camera problem the user can act on (one line: what is wrong; what to do)."""


@dataclass(frozen=True)
class StreamMode:
    width: int
    height: int
    fps: int
    format: str

    def __str__(self) -> str:
        return f"{self.width}x{self.height}@{self.fps} {self.format}"


DEFAULT_DEPTH_MODE = StreamMode(848, 480, 90, "z16")
DEFAULT_COLOR_MODE = StreamMode(640, 480, 30, "rgb8")
ANY = "any"                  # configure(...=ANY): the sensor's default profile (recordings)


@dataclass
class CameraFrame:
    stream: str                 # 'depth' | 'color'
    frame_number: int
    time_device_s: float
    time_host_s: float
    time_arrival_s: float
    image: np.ndarray           # depth (H, W) uint16 in depth units; color (H, W, 3) uint8
    timestamp_domain: str       # 'global_time' | 'hardware_clock' | 'system_time'


class StreamCounters:
    """Per-stream counts; frame-number gaps are drops."""

    def __init__(self, fps: float):
        self.fps = fps
        self.received = 0
        self.dropped = 0             # frames missing from the frame-number sequence
        self.dropped_host = 0        # frames discarded because the consumer fell behind
        self.out_of_order = 0        # frame numbers that went backwards or repeated
        self.first_frame_number: int | None = None
        self.last_frame_number: int | None = None
        self.first_time_host_s = math.nan
        self.last_time_host_s = math.nan
        self.last_time_device_s = math.nan
        self.last_arrival_s = math.nan

    def as_dict(self) -> dict:
        span = self.last_time_host_s - self.first_time_host_s
        rate = (self.received - 1) / span if self.received > 1 and span > 0 else math.nan
        return {"received": self.received, "dropped": self.dropped,
                "dropped_host": self.dropped_host, "out_of_order": self.out_of_order,
                "first_frame_number": self.first_frame_number,
                "last_frame_number": self.last_frame_number,
                "achieved_rate_hz": rate, "nominal_rate_hz": float(self.fps)}


def _info(obj, key, default=""):
    try:
        return obj.get_info(key) if obj.supports(key) else default
    except RuntimeError:
        return default


def _mode_of(profile) -> StreamMode:
    vp = profile.as_video_stream_profile()
    return StreamMode(vp.width(), vp.height(), vp.fps(),
                      _FORMAT_NAMES.get(vp.format(), str(vp.format()).split(".")[-1]))


def _intrinsics(profile) -> Intrinsics:
    i = profile.as_video_stream_profile().get_intrinsics()
    return Intrinsics(i.width, i.height, float(i.fx), float(i.fy), float(i.ppx), float(i.ppy),
                      model=str(i.model).split(".")[-1], coeffs=tuple(float(c) for c in i.coeffs))


# ---- discovery ----------------------------------------------------------------------------
def _real_devices(ctx: rs.context) -> list:
    return [d for d in ctx.query_devices() if not d.is_playback()]


def list_cameras() -> list[dict]:
    """Cameras the station can use: connected D400s, the virtual camera and recordings."""
    found = []
    try:
        devices = _real_devices(rs.context())
    except RuntimeError as exc:
        devices = []
        found.append({"kind": "camera", "name": "RealSense (USB)", "serial": "", "model": "",
                      "firmware": "", "usb_type": "", "status": f"cannot query devices: {exc}",
                      "how_to_use": "check libusb and the udev rules for RealSense"})
    for d in devices:
        name = _info(d, rs.camera_info.name)
        serial = _info(d, rs.camera_info.serial_number)
        usb = _info(d, rs.camera_info.usb_type_descriptor)
        line = _info(d, rs.camera_info.product_line)
        if line != "D400":
            status = f"not supported (product line {line or 'unknown'}; the station needs a D400)"
        elif usb and not usb.startswith("3"):
            status = (f"connected over USB {usb}: depth 848x480@90 needs USB 3; "
                      f"move it to a USB 3 port")
        else:
            status = "ready"
        found.append({"kind": "camera", "name": name, "serial": serial,
                      "model": name.replace("Intel RealSense ", ""),
                      "firmware": _info(d, rs.camera_info.firmware_version), "usb_type": usb,
                      "status": status,
                      "how_to_use": f"station camera-check --serial {serial}"})
    from drivers.virtual_camera import VIRTUAL_NAME, VIRTUAL_SERIAL
    found.append({"kind": "camera", "name": VIRTUAL_NAME, "serial": VIRTUAL_SERIAL,
                  "model": "virtual D435 (pyrealsense2 software_device)", "firmware": "",
                  "usb_type": "", "status": "available",
                  "how_to_use": "station camera-check --virtual  (depth 848x480@90, color "
                                "640x480@30, synthetic scene)"})
    found.append({"kind": "camera", "name": "RealSense recording", "serial": "", "model": "",
                  "firmware": "", "usb_type": "", "status": "available",
                  "how_to_use": "station camera-check --recording FILE.db3  (or .bag from older "
                                "SDKs / RealSense Viewer); played frame-exact"})
    return found


# ---- the driver ---------------------------------------------------------------------------
class Camera:
    """One open RealSense device (real, virtual or a recording). Use the open_* constructors."""

    def __init__(self, device, *, source: str, context=None, virtual=None, playback=None,
                 recording_file: str = "", lossless: bool = False, max_queue_s: float = 2.0,
                 frame_timeout_s: float = FRAME_TIMEOUT_S):
        self.device = device
        self.source = source                     # 'real' | 'virtual' | 'recording'
        self._ctx = context
        self._virtual = virtual
        self._playback = playback
        self.recording_file = recording_file
        self.lossless = lossless
        self.max_queue_s = max_queue_s
        self.frame_timeout_s = frame_timeout_s
        self._sensors = {}                       # stream -> rs.sensor
        self._profiles = {}                      # stream -> rs.video_stream_profile
        self._counters: dict[str, StreamCounters] = {}
        self._clock_sync = {}
        self._time_host_source = {}
        self.faults: list[dict] = []
        self._lock = threading.Lock()
        self._queue: queue.Queue | None = None
        self._started = False
        self._stopping = threading.Event()
        self._ended = threading.Event()
        self.end_reason = ""
        self._watchdog: threading.Thread | None = None
        self._last_frame_wall = math.nan
        self.max_queued = 0                      # high-water mark of frames waiting for read()
        self._timeout_reported = False
        self._playback_stopped = threading.Event()
        self._global_time = False
        self._db3_recorder = None
        self._db3_path = ""

    # ---- opening ------------------------------------------------------------------------
    @classmethod
    def open_real(cls, serial: str | None = None, **kw) -> "Camera":
        """Open a connected D400 by serial number (None: the only one connected)."""
        ctx = rs.context()
        try:
            devices = _real_devices(ctx)
        except RuntimeError as exc:
            raise CameraError(f"cannot query RealSense devices ({exc}); check libusb and the "
                              f"udev rules") from None
        serials = [_info(d, rs.camera_info.serial_number) for d in devices]
        if serial is None:
            if not devices:
                raise CameraError("no RealSense camera is connected; plug one into a USB 3 port, "
                                  "or use --virtual or --recording FILE")
            if len(devices) > 1:
                raise CameraError(f"{len(devices)} RealSense cameras are connected "
                                  f"({', '.join(serials)}); choose one with --serial")
            dev = devices[0]
        else:
            matches = [d for d, s in zip(devices, serials) if s == str(serial)]
            if not matches:
                have = ", ".join(serials) if serials else "none"
                raise CameraError(f"no RealSense camera with serial {serial} is connected "
                                  f"(connected: {have}); check the cable or run `station devices`")
            dev = matches[0]
        cam = cls(dev, source="real", context=ctx, **kw)
        ctx.set_devices_changed_callback(cam._on_devices_changed)
        return cam

    @classmethod
    def open_virtual(cls, virtual, **kw) -> "Camera":
        """Open a drivers.virtual_camera.VirtualCamera (lossless unless it is paced)."""
        kw.setdefault("lossless", virtual.speed is None)
        cam = cls(virtual.device, source="virtual", virtual=virtual, **kw)
        virtual.add_removal_listener(cam._device_removed)
        return cam

    @classmethod
    def open_recording(cls, path, **kw) -> "Camera":
        """Open a RealSense recording (.db3, or .bag from older SDKs) for frame-exact playback."""
        from drivers.camera_recording import open_playback
        ctx = rs.context()
        playback = open_playback(ctx, path)
        kw.setdefault("lossless", True)
        cam = cls(playback, source="recording", context=ctx, playback=playback,
                  recording_file=str(path), **kw)
        playback.set_status_changed_callback(cam._on_playback_status)
        return cam

    def record_to(self, path) -> None:
        """Also record everything the sensors deliver to a RealSense .db3 file (call before
        configure()). The file is complete when stop() returns."""
        from drivers.camera_recording import check_db3_target
        if self._sensors:
            raise RuntimeError("record_to() must be called before configure()")
        if self.source == "recording":
            raise CameraError("cannot record while playing a recording; copy the file instead")
        self._db3_path = str(check_db3_target(path))
        self._db3_recorder = rs.recorder(self._db3_path, self.device)

    # ---- configuration ------------------------------------------------------------------
    def _device_for_sensors(self):
        return self._db3_recorder if self._db3_recorder is not None else self.device

    def _sensor_for(self, stream: str):
        for s in self._device_for_sensors().query_sensors():
            for p in s.get_stream_profiles():
                if p.stream_type() == _RS_STREAM[stream]:
                    return s
        return None

    def available_modes(self, stream: str) -> list[StreamMode]:
        s = self._sensor_for(stream)
        if s is None:
            return []
        modes = {_mode_of(p) for p in s.get_stream_profiles()
                 if p.stream_type() == _RS_STREAM[stream] and p.is_video_stream_profile()}
        return sorted(modes, key=lambda m: (-m.width * m.height, -m.fps, m.format))

    def configure(self, depth=DEFAULT_DEPTH_MODE, color=DEFAULT_COLOR_MODE, *,
                  global_time: bool = True) -> None:
        """Choose the depth and color modes (StreamMode, ANY = the sensor's default profile,
        None = not this stream). Each must be one the device really offers."""
        if self._started:
            raise RuntimeError("configure() before start()")
        wanted = {"depth": depth, "color": color}
        for stream, mode in wanted.items():
            if mode is None:
                continue
            sensor = self._sensor_for(stream)
            if sensor is None:
                raise CameraError(f"{self.name} has no {stream} stream")
            profiles = [p for p in sensor.get_stream_profiles()
                        if p.stream_type() == _RS_STREAM[stream] and p.is_video_stream_profile()]
            if mode == ANY:
                chosen = next((p for p in profiles if p.is_default()), profiles[0])
            else:
                if isinstance(mode, (tuple, list)):
                    mode = StreamMode(*mode)
                chosen = next((p for p in profiles if _mode_of(p) == mode), None)
                if chosen is None:
                    valid = ", ".join(str(m) for m in self.available_modes(stream))
                    raise CameraError(f"{stream} mode {mode} is not offered by {self.name}; "
                                      f"valid {stream} modes: {valid}")
            self._sensors[stream] = sensor
            self._profiles[stream] = chosen.as_video_stream_profile()
        if not self._profiles:
            raise CameraError("configure(): enable at least one of depth and color")
        if self.source == "real" and global_time:
            for sensor in set(self._sensors.values()):
                if sensor.supports(rs.option.global_time_enabled):
                    sensor.set_option(rs.option.global_time_enabled, 1)
            self._global_time = True
        if "color" in self._sensors and self.source == "real":
            # with auto-exposure priority on (the default), a D400's RGB camera lengthens its
            # exposure in dim light and halves its frame rate; the station needs a steady rate
            cs = self._sensors["color"]
            if cs.supports(rs.option.auto_exposure_priority):
                cs.set_option(rs.option.auto_exposure_priority, 0)
        if "depth" in self._sensors and self.source == "real":
            ds = self._sensors["depth"]
            if ds.supports(rs.option.depth_units) and not ds.is_option_read_only(rs.option.depth_units):
                ds.set_option(rs.option.depth_units, 0.001)
        for stream in self._profiles:
            self._counters[stream] = StreamCounters(self._profiles[stream].fps())

    @property
    def name(self) -> str:
        return (f"{_info(self.device, rs.camera_info.name) or 'RealSense device'} "
                f"(serial {_info(self.device, rs.camera_info.serial_number) or '?'})")

    @property
    def modes(self) -> dict:
        return {s: _mode_of(p) for s, p in self._profiles.items()}

    # ---- streaming ----------------------------------------------------------------------
    def start(self) -> None:
        if not self._profiles:
            self.configure()
        if self._started:
            return
        rate = sum(p.fps() for p in self._profiles.values())
        self._queue = queue.Queue(maxsize=max(8, int(rate * self.max_queue_s)))
        by_sensor: dict = {}
        for stream, p in self._profiles.items():
            by_sensor.setdefault(id(self._sensors[stream]), (self._sensors[stream], []))[1].append(p)
        self._started = True
        self._last_frame_wall = time.time()
        if self._playback is not None:
            self._playback.pause()           # all sensors running before the file plays
        for sensor, profiles in by_sensor.values():
            sensor.open(profiles if len(profiles) > 1 else profiles[0])
            sensor.start(self._on_frame)
        if self._playback is not None:
            self._playback.resume()
        self._watchdog = threading.Thread(target=self._watch, name="camera watchdog", daemon=True)
        self._watchdog.start()
        if self._virtual is not None:
            self._virtual.start()

    def _stream_of(self, f) -> str | None:
        t = f.profile.stream_type()
        return "depth" if t == rs.stream.depth else "color" if t == rs.stream.color else None

    def _on_frame(self, f) -> None:
        arrival = time.time()
        try:
            stream = self._stream_of(f)
            if stream is None or stream not in self._counters:
                return
            image = np.array(f.get_data(), copy=True)
            n = int(f.get_frame_number())
            ts_ms = float(f.get_timestamp())
            domain = f.get_frame_timestamp_domain()
            if f.supports_frame_metadata(rs.frame_metadata_value.frame_timestamp):
                t_dev = f.get_frame_metadata(rs.frame_metadata_value.frame_timestamp) * 1e-6
            elif domain == rs.timestamp_domain.hardware_clock:
                t_dev = ts_ms * 1e-3
            else:
                t_dev = math.nan
            t_host = self._host_time(stream, domain, ts_ms, t_dev, arrival)
            frame = CameraFrame(stream, n, t_dev, t_host, arrival, image,
                                str(domain).split(".")[-1])
            self._count(stream, frame)
            self._last_frame_wall = arrival
            self.max_queued = max(self.max_queued, self._queue.qsize() + 1)
            if self.lossless:
                while not self._stopping.is_set():
                    try:
                        self._queue.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
            else:
                try:
                    self._queue.put_nowait(frame)
                except queue.Full:
                    c = self._counters[stream]
                    c.dropped_host += 1
                    if c.dropped_host == 1:
                        self._fault("consumer_overflow", f"{stream} frame {n} discarded: the "
                                    f"consumer is more than {self.max_queue_s} s behind", stream)
        except Exception as exc:             # never let an exception into librealsense
            self._fault("driver_error", f"{type(exc).__name__}: {exc}")

    def _host_time(self, stream, domain, ts_ms, t_dev, arrival) -> float:
        if domain in (rs.timestamp_domain.global_time, rs.timestamp_domain.system_time):
            self._time_host_source[stream] = str(domain).split(".")[-1]
            return ts_ms * 1e-3
        if self.source == "recording":
            self._time_host_source[stream] = "device_clock (the recording has no host time)"
            return t_dev
        from drivers.clock_sync import ClockSync
        cs = self._clock_sync.setdefault(stream, ClockSync())
        cs.add(t_dev, arrival)
        self._time_host_source[stream] = "clock_fit (device clock fitted to arrival times)"
        return float(cs.to_host(t_dev))

    def _count(self, stream: str, frame: CameraFrame) -> None:
        c = self._counters[stream]
        n = frame.frame_number
        if c.last_frame_number is None:
            c.first_frame_number = n
            c.first_time_host_s = frame.time_host_s
        else:
            gap = n - c.last_frame_number - 1
            if gap > 0:
                c.dropped += gap
                dt = frame.time_device_s - c.last_time_device_s
                if not math.isfinite(dt):        # no device clock: the host clock then
                    dt = frame.time_host_s - c.last_time_host_s
                if dt > max(STALL_S, 3.0 / c.fps):
                    self._fault("stall", f"no {stream} frames for {dt:.3f} s of device time "
                                f"(frames {c.last_frame_number + 1}..{n - 1} missing)", stream,
                                t=frame.time_host_s)
            elif gap < 0:
                c.out_of_order += 1
        c.received += 1
        c.last_frame_number = n if c.last_frame_number is None else max(n, c.last_frame_number)
        c.last_time_host_s = frame.time_host_s
        c.last_time_device_s = frame.time_device_s
        c.last_arrival_s = frame.time_arrival_s

    def read(self, timeout: float | None = None) -> CameraFrame | None:
        """The next frame (either stream, in arrival order), or None on timeout or once the
        stream has ended and every frame before the end has been read."""
        if self._queue is None:
            raise RuntimeError("start() the camera first")
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                return self._queue.get(timeout=0.05)
            except queue.Empty:
                if self._ended.is_set() and self._queue.empty():
                    return None
                if deadline is not None and time.monotonic() >= deadline:
                    return None

    def frames(self):
        """Iterate over frames until the stream ends (stop(), unplug, end of recording)."""
        while True:
            f = self.read(timeout=0.2)
            if f is not None:
                yield f
            elif self._ended.is_set() and self._queue.empty():
                return

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    def wait_ended(self, timeout: float | None = None) -> bool:
        return self._ended.wait(timeout)

    # ---- faults and ends ----------------------------------------------------------------
    def _fault(self, kind: str, message: str, stream: str = "camera", t: float | None = None):
        with self._lock:
            self.faults.append({"time_host_s": time.time() if t is None else float(t),
                                "stream": stream, "kind": kind, "message": message})

    def _end(self, reason: str) -> None:
        if not self._ended.is_set():
            self.end_reason = reason
            self._ended.set()

    def _device_removed(self, message: str) -> None:
        if self._ended.is_set():
            return
        self._fault("disconnected", f"{self.name}: {message}; frames up to the unplug are kept")
        self._end("camera disconnected")

    def _on_devices_changed(self, info) -> None:
        try:
            if info.was_removed(self.device):
                self._device_removed("camera unplugged (device removed)")
        except RuntimeError:
            pass

    def _on_playback_status(self, status) -> None:
        if status == rs.playback_status.stopped and self._started:
            self._playback_stopped.set()

    def _present(self) -> bool:
        if self._virtual is not None:
            return self._virtual.is_present()
        if self.source == "real":
            serial = _info(self.device, rs.camera_info.serial_number)
            try:
                return any(_info(d, rs.camera_info.serial_number) == serial
                           for d in _real_devices(self._ctx))
            except RuntimeError:
                return False
        return True

    def _watch(self) -> None:
        while not self._stopping.wait(0.05):
            if self._ended.is_set():
                return
            if self._playback_stopped.is_set():
                self._stop_sensors()          # returns after the last callback has run
                self._end("end of recording")
                return
            if self._virtual is not None and self._virtual.done.is_set() \
                    and self._virtual.is_present():
                # a virtual run of fixed duration is over; its frames were injected (and
                # queued) synchronously before `done` was set
                self._end("end of the virtual camera's run")
                return
            if self.lossless and self._queue.full():
                self._last_frame_wall = time.time()     # waiting for the consumer, not silent
            silent = time.time() - self._last_frame_wall
            if silent > self.frame_timeout_s:
                if not self._present():
                    self._device_removed(f"camera gone (no frames for {silent:.1f} s and the "
                                         f"device is no longer listed)")
                    return
                if not self._timeout_reported:
                    self._timeout_reported = True
                    self._fault("frames_timeout", f"no frames for {silent:.1f} s; the camera "
                                f"is still connected")
            else:
                self._timeout_reported = False

    def _stop_sensors(self) -> None:
        for sensor in {id(s): s for s in self._sensors.values()}.values():
            for op in (sensor.stop, sensor.close):
                try:
                    op()
                except RuntimeError:
                    pass             # an unplugged or already stopped sensor

    def stop(self) -> None:
        """Stop streaming. Frames already queued stay readable (read()/frames())."""
        if not self._started:
            return
        self._stopping.set()                 # first: releases a callback waiting on a full queue
        if self._virtual is not None:
            self._virtual.stop()
        if self._watchdog is not None and self._watchdog is not threading.current_thread():
            self._watchdog.join(5.0)
        self._stop_sensors()
        self._end(self.end_reason or "stopped")
        if self._db3_recorder is not None:
            # librealsense writes the file on its own thread and loses what is still queued
            # when the recorder is released: wait until every frame is in the file first.
            from drivers.camera_recording import wait_db3_complete
            expected = {s: c.received for s, c in self._counters.items()}
            missing = wait_db3_complete(self._db3_path, expected)
            if missing:
                self._fault("recording_incomplete", f"{self._db3_path} lacks {missing} frames")
            self._db3_recorder = None

    def close(self) -> None:
        self.stop()
        if self._playback is not None and self._ctx is not None:
            try:
                self._ctx.unload_device(self._playback.file_name())
            except RuntimeError:
                pass

    def __enter__(self) -> "Camera":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- reporting ----------------------------------------------------------------------
    def stats(self) -> dict:
        return {s: c.as_dict() for s, c in self._counters.items()}

    def queue_state(self) -> dict:
        """Frames waiting for read() now, the most there ever were, and the limit (the consumer's
        lag: a live display can show it)."""
        q = self._queue
        return {"queued": q.qsize() if q else 0, "max_queued": self.max_queued,
                "capacity": q.maxsize if q else 0}

    def depth_scale_m(self) -> float:
        s = self._sensors.get("depth") or self._sensor_for("depth")
        if s is None:
            return math.nan
        if s.is_depth_sensor():
            return float(s.as_depth_sensor().get_depth_scale())
        return float(s.get_option(rs.option.depth_units))

    def stereo_baseline_m(self) -> float | None:
        """The distance between the depth imagers (a D400's read-only option, in mm), which sets
        the depth noise (drivers.camera_model.d400_depth_rms_m); None where the sensor does not
        report it (a recording's playback may not)."""
        s = self._sensors.get("depth") or self._sensor_for("depth")
        if s is None or not s.supports(rs.option.stereo_baseline):
            return None
        try:
            mm = float(s.get_option(rs.option.stereo_baseline))
        except RuntimeError:            # the device went away while asked: the trial goes on without it
            return None
        return mm / 1000.0 if math.isfinite(mm) and mm > 0 else None

    def _visual_preset(self):
        s = self._sensors.get("depth")
        if s is None or not s.supports(rs.option.visual_preset):
            return None, None
        v = int(round(s.get_option(rs.option.visual_preset)))
        try:
            name = s.get_option_value_description(rs.option.visual_preset, v)
        except RuntimeError:
            name = None
        return v, name or D400_VISUAL_PRESETS.get(v, str(v))

    def T_color_from_depth(self) -> np.ndarray | None:
        if "depth" not in self._profiles or "color" not in self._profiles:
            return None
        e = self._profiles["depth"].get_extrinsics_to(self._profiles["color"])
        T = np.eye(4)
        T[:3, :3] = np.asarray(e.rotation, float).reshape(3, 3).T    # column-major in librealsense
        T[:3, 3] = e.translation
        return T

    def description(self) -> dict:
        """What the trial keeps about the camera (/devices/camera): identity, modes,
        intrinsics of both streams, depth->color extrinsics, depth scale, visual preset, time."""
        preset_value, preset_name = self._visual_preset()
        d = {"source": self.source,
             "model": _info(self.device, rs.camera_info.name),
             "serial": _info(self.device, rs.camera_info.serial_number),
             "firmware": _info(self.device, rs.camera_info.firmware_version),
             "usb_type": _info(self.device, rs.camera_info.usb_type_descriptor),
             "product_line": _info(self.device, rs.camera_info.product_line),
             "recording_file": self.recording_file,
             "sdk_version": rs.__version__,
             "depth_scale_m": self.depth_scale_m(),
             "stereo_baseline_m": self.stereo_baseline_m(),
             "visual_preset": preset_name, "visual_preset_value": preset_value,
             "global_time_enabled": self._global_time,
             "time_host_source": dict(self._time_host_source)}
        for stream, p in self._profiles.items():
            m = _mode_of(p)
            d[stream] = {"width": m.width, "height": m.height, "fps": m.fps, "format": m.format,
                         "intrinsics": _intrinsics(p).to_dict()}
        T = self.T_color_from_depth()
        d["T_color_from_depth"] = None if T is None else T.tolist()
        return d

    def description_arrays(self) -> dict:
        """Arrays for the trial: camera matrices and the depth->color pose."""
        arrays = {f"K_{s}_px": _intrinsics(p).matrix for s, p in self._profiles.items()}
        T = self.T_color_from_depth()
        if T is not None:
            arrays["T_color_from_depth_m"] = T
        return arrays
