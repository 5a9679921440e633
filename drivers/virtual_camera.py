"""The virtual RealSense camera: a real `pyrealsense2.software_device` fed with frames.

After `VirtualCamera(...)` the driver (drivers/camera.py) opens it exactly like a D435: it finds a
"Stereo Module" with a z16 depth stream and an "RGB Camera" with an rgb8 color stream, reads
intrinsics, the depth->color extrinsics and the depth scale from librealsense, opens and starts
the sensors with its callbacks. The frames come from a frame source

    source(stream: 'depth' | 'color', frame_number: int, t_s: float) -> np.ndarray

(depth: (H, W) uint16 in depth units, 1 mm by default; color: (H, W, 3) uint8 RGB). Any callable
works: the virtual athlete's renderer (drivers/athlete/) or the built-in `SphereScene` below.

Conventions (those librealsense's syncer and recorder expect):
  * frame numbers start at 1 and count up by one per frame and stream; frame n of a stream at
    `fps` is taken at device time t_s = n / fps (the device clock starts at 0 at `start()`);
  * timestamp domain `global_time`, timestamp = (host_t0 + t_s) * 1000 ms, as a real D400 with
    global time enabled gives (host clock, ms since the epoch); host_t0 = time.time() at start();
    or, with timestamp_domain='hardware_clock' (a D400 without global time), t_s * 1000 ms;
  * frame metadata `frame_timestamp` = the device clock in microseconds and `frame_counter` = the
    frame number, as a real D400 reports them;
  * frames are injected in timestamp order, color before depth at equal timestamps (then the
    syncer pairs depth n*fps_d/fps_c with color n exactly).

Pacing: `speed=1.0` injects each frame at host_t0 + t_s / speed (live use); `speed=None` injects
as fast as possible (tests, benchmarks): the injecting thread then waits for the consumer when the
driver runs lossless.

Fault injection, and how close it is to real:
  * `drop_frames={'depth': [5, 6], 'color': [3]}`: those frames are never delivered; later frames
    keep their numbers. REAL: a D400 that loses frames on USB shows exactly such gaps.
  * `stall=(at_s, length_s)`: no frame of either stream with device time in [at_s, at_s+length_s)
    is delivered (the device clock and frame counters keep running, so they show as a gap);
    with pacing the silence is also real in wall time. REAL: what a USB stall looks like.
  * `disconnect_at_s=t`: from device time t on nothing is injected, `connected` becomes False and
    the device-removed listeners are called (the driver registers one). The silence is REAL; the
    removal event is SIMULATED: librealsense cannot remove a software_device from a context, so
    the event that `rs.context.set_devices_changed_callback` gives for an unplugged camera is
    delivered by this object instead. (A software_notification is not used: in pyrealsense2
    2.59 its `description` string dangles, the driver would read garbage.)
"""
from __future__ import annotations

import threading
import time
from typing import Callable

import numpy as np
import pyrealsense2 as rs

from drivers.camera_model import (D435_COLOR_640x480, D435_DEPTH_848x480, D435_STEREO_BASELINE_M,
                                  T_COLOR_FROM_DEPTH_D435,
                                  Intrinsics, invert_pose)

VIRTUAL_SERIAL = "VIRTUAL-D435"
VIRTUAL_NAME = "Virtual RealSense D435"
DEPTH_SENSOR_NAME = "Stereo Module"
COLOR_SENSOR_NAME = "RGB Camera"
VISUAL_PRESET_DEFAULT = 1.0          # D400 visual preset 1 = "Default"

FrameSource = Callable[[str, int, float], np.ndarray]


# ---- the built-in synthetic scene ---------------------------------------------------------
class SphereScene:
    """A ball bouncing over a floor in front of a wall, rendered exactly (ray casting) for the
    depth and the color camera. Deterministic: the same (stream, frame_number, t_s) always gives
    the same image. Scene in the depth camera frame (x right, y down, z forward, m): floor plane
    y = +floor_m, wall z = wall_m, ball of radius r at x = 0.3 sin(2 pi 0.5 t), z = 2.5,
    bottom bouncing |sin| off the floor once a second."""

    def __init__(self, depth_intrinsics: Intrinsics = D435_DEPTH_848x480,
                 color_intrinsics: Intrinsics = D435_COLOR_640x480,
                 T_color_from_depth: np.ndarray = T_COLOR_FROM_DEPTH_D435,
                 depth_unit_m: float = 0.001, floor_m: float = 1.0, wall_m: float = 3.5,
                 radius_m: float = 0.25):
        self.depth_unit_m = depth_unit_m
        self.floor_m, self.wall_m, self.radius_m = floor_m, wall_m, radius_m
        self._cams = {"depth": (depth_intrinsics, np.eye(4)),
                      "color": (color_intrinsics, np.asarray(T_color_from_depth, float))}
        self._base = {s: self._render_background(s) for s in self._cams}

    def ball_center_depth_m(self, t_s: float) -> np.ndarray:
        h = abs(np.sin(np.pi * t_s)) * 0.6
        return np.array([0.3 * np.sin(np.pi * t_s), self.floor_m - self.radius_m - h, 2.5])

    def _rays(self, stream):
        intr, T = self._cams[stream]
        v, u = np.mgrid[0:intr.height, 0:intr.width].astype(np.float64)
        return np.stack([(u - intr.ppx) / intr.fx, (v - intr.ppy) / intr.fy, np.ones_like(u)], -1)

    def _render_background(self, stream):
        intr, T = self._cams[stream]
        d_cam = self._rays(stream)                       # rays with z = 1 in this camera's frame
        T_depth_from_cam = invert_pose(T)
        d = d_cam @ T_depth_from_cam[:3, :3].T           # directions in the depth frame
        o = T_depth_from_cam[:3, 3]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_floor = np.where(d[..., 1] > 1e-9, (self.floor_m - o[1]) / d[..., 1], np.inf)
            t_wall = np.where(d[..., 2] > 1e-9, (self.wall_m - o[2]) / d[..., 2], np.inf)
        t = np.minimum(t_floor, t_wall)                  # ray parameter = z in this camera
        on_floor = t_floor < t_wall
        hit = o + t[..., None] * d
        checker = ((np.floor(hit[..., 0] / 0.25) + np.floor(hit[..., 2] / 0.25)) % 2).astype(bool)
        rgb = np.empty(t.shape + (3,), np.uint8)
        rgb[...] = (200, 200, 190)                       # wall
        rgb[on_floor & checker] = (90, 90, 100)
        rgb[on_floor & ~checker] = (140, 140, 150)
        depth = np.where(np.isfinite(t), np.round(t / self.depth_unit_m), 0).astype(np.uint16)
        return {"rays": d_cam, "z": t, "depth": depth, "rgb": rgb}

    def __call__(self, stream: str, frame_number: int, t_s: float) -> np.ndarray:
        intr, T = self._cams[stream]
        base = self._base[stream]
        c = (T[:3, :3] @ self.ball_center_depth_m(t_s)) + T[:3, 3]
        r = self.radius_m
        # conservative pixel box around the ball
        u0 = int(max(0, np.floor(intr.fx * (c[0] - r) / (c[2] - r) + intr.ppx) - 2))
        u1 = int(min(intr.width, np.ceil(intr.fx * (c[0] + r) / (c[2] - r) + intr.ppx) + 2))
        v0 = int(max(0, np.floor(intr.fy * (c[1] - r) / (c[2] - r) + intr.ppy) - 2))
        v1 = int(min(intr.height, np.ceil(intr.fy * (c[1] + r) / (c[2] - r) + intr.ppy) + 2))
        out = (base["depth"] if stream == "depth" else base["rgb"]).copy()
        if u1 <= u0 or v1 <= v0:
            return out
        d = base["rays"][v0:v1, u0:u1]
        a = np.einsum("...i,...i", d, d)
        b = d @ c
        disc = b * b - a * (c @ c - r * r)
        hit = disc > 0
        z = np.where(hit, (b - np.sqrt(np.where(hit, disc, 0))) / a, np.inf)
        hit &= z < base["z"][v0:v1, u0:u1]
        if stream == "depth":
            patch = out[v0:v1, u0:u1]
            patch[hit] = np.round(z[hit] / self.depth_unit_m).astype(np.uint16)
        else:
            p = np.where(hit, z, 0.0)[..., None] * d
            n = (p - c) / r
            shade = np.clip(n @ np.array([0.3, -0.6, -0.75]) / 1.0062, 0.15, 1.0)   # light: up-left-front
            patch = out[v0:v1, u0:u1]
            rgb = np.stack([220 * shade, 40 * shade, 30 * shade], -1).astype(np.uint8)
            patch[hit] = rgb[hit]
        return out


# ---- the software device ------------------------------------------------------------------
def _rs_intrinsics(intr: Intrinsics) -> rs.intrinsics:
    i = rs.intrinsics()
    i.width, i.height = intr.width, intr.height
    i.fx, i.fy, i.ppx, i.ppy = intr.fx, intr.fy, intr.ppx, intr.ppy
    i.model = rs.distortion.none
    i.coeffs = [float(c) for c in intr.coeffs]
    return i


def _video_stream(kind, fmt, intr: Intrinsics, fps: int, uid: int, bpp: int) -> rs.video_stream:
    v = rs.video_stream()
    v.type, v.fmt, v.index, v.uid = kind, fmt, 0, uid
    v.width, v.height, v.fps, v.bpp = intr.width, intr.height, int(fps), bpp
    v.intrinsics = _rs_intrinsics(intr)
    return v


class VirtualCamera:
    """A software RealSense D435 whose frames come from `source` (see the module doc)."""

    def __init__(self, source: FrameSource | None = None, *, speed: float | None = 1.0,
                 duration_s: float | None = None, depth_fps: int = 90, color_fps: int = 30,
                 depth_intrinsics: Intrinsics = D435_DEPTH_848x480,
                 color_intrinsics: Intrinsics = D435_COLOR_640x480,
                 T_color_from_depth: np.ndarray = T_COLOR_FROM_DEPTH_D435,
                 depth_units_m: float = 0.001, serial: str = VIRTUAL_SERIAL,
                 stereo_baseline_m: float = D435_STEREO_BASELINE_M,
                 drop_frames: dict | None = None, stall: tuple | None = None,
                 disconnect_at_s: float | None = None, timestamp_domain: str = "global_time"):
        if timestamp_domain not in ("global_time", "hardware_clock"):
            raise ValueError("timestamp_domain must be 'global_time' or 'hardware_clock'")
        self.timestamp_domain = timestamp_domain
        if speed is not None and not speed > 0:
            raise ValueError("speed must be > 0 (1.0 = real time) or None (as fast as possible)")
        self.source = source if source is not None else SphereScene(
            depth_intrinsics, color_intrinsics, T_color_from_depth, depth_units_m)
        self.speed = speed
        self.duration_s = duration_s
        self.fps = {"depth": int(depth_fps), "color": int(color_fps)}
        self.intrinsics = {"depth": depth_intrinsics, "color": color_intrinsics}
        self.T_color_from_depth = np.asarray(T_color_from_depth, float)
        self.depth_units_m = float(depth_units_m)
        self.stereo_baseline_m = float(stereo_baseline_m)   # reported like a D400's (the
        # read-only stereo_baseline option, mm); the source's depth noise should match it
        self.serial = serial
        self.drop_frames = {k: set(int(n) for n in v) for k, v in (drop_frames or {}).items()}
        bad = set(self.drop_frames) - {"depth", "color"}
        if bad:
            raise ValueError(f"drop_frames: unknown stream(s) {sorted(bad)}; use 'depth', 'color'")
        self.stall = stall
        self.disconnect_at_s = disconnect_at_s

        self.injected = {"depth": [], "color": []}   # (frame_number, timestamp_ms, device_us)
        self.skipped = {"depth": [], "color": []}    # frame numbers not delivered (drops, stall)
        self.connected = True
        self.error: BaseException | None = None
        self.host_t0: float | None = None
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._removal_listeners: list[Callable[[str], None]] = []
        self._build_device()

    def _build_device(self) -> None:
        dev = rs.software_device()
        dev.register_info(rs.camera_info.name, VIRTUAL_NAME)
        dev.register_info(rs.camera_info.serial_number, self.serial)
        dev.register_info(rs.camera_info.product_line, "D400")
        dev.register_info(rs.camera_info.firmware_version, "virtual")
        dev.register_info(rs.camera_info.usb_type_descriptor, "virtual")
        ds = dev.add_sensor(DEPTH_SENSOR_NAME)
        cs = dev.add_sensor(COLOR_SENSOR_NAME)
        dp = ds.add_video_stream(_video_stream(rs.stream.depth, rs.format.z16,
                                               self.intrinsics["depth"], self.fps["depth"], 0, 2),
                                 True).as_video_stream_profile()
        cp = cs.add_video_stream(_video_stream(rs.stream.color, rs.format.rgb8,
                                               self.intrinsics["color"], self.fps["color"], 1, 3),
                                 True).as_video_stream_profile()
        ds.add_read_only_option(rs.option.depth_units, self.depth_units_m)
        ds.add_read_only_option(rs.option.visual_preset, VISUAL_PRESET_DEFAULT)
        ds.add_read_only_option(rs.option.stereo_baseline, self.stereo_baseline_m * 1000.0)
        e = rs.extrinsics()
        T = self.T_color_from_depth
        e.rotation = [float(x) for x in T[:3, :3].T.ravel()]     # librealsense: column-major
        e.translation = [float(x) for x in T[:3, 3]]
        dp.register_extrinsics_to(cp, e)
        self.device = dev
        self.sensors = {"depth": ds, "color": cs}
        self.profiles = {"depth": dp, "color": cp}
        self._bpp = {"depth": 2, "color": 3}
        self._shape = {"depth": (self.intrinsics["depth"].height, self.intrinsics["depth"].width),
                       "color": (self.intrinsics["color"].height, self.intrinsics["color"].width, 3)}
        self._dtype = {"depth": np.dtype(np.uint16), "color": np.dtype(np.uint8)}

    # ---- the device-removed event (simulated, see the module doc) ----------------------------
    def add_removal_listener(self, callback: Callable[[str], None]) -> None:
        self._removal_listeners.append(callback)

    def is_present(self) -> bool:
        return self.connected

    # ---- feeding ------------------------------------------------------------------------
    def schedule(self):
        """(stream, frame_number, t_s) in injection order: by time, color first at ties."""
        fd, fc = self.fps["depth"], self.fps["color"]
        nd = nc = 1
        while True:
            if nc * fd <= nd * fc:                     # color time nc/fc <= depth time nd/fd
                item = ("color", nc, nc / fc)
                nc += 1
            else:
                item = ("depth", nd, nd / fd)
                nd += 1
            if self.duration_s is not None and item[2] > self.duration_s + 1e-9:
                return
            yield item

    def start(self) -> None:
        """Start injecting frames on a thread (the driver calls this once its sensors run)."""
        if self._thread is not None:
            return
        self.host_t0 = time.time()
        self._thread = threading.Thread(target=self._feed, name="virtual camera", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the feeding has ended (duration reached, disconnect, stop)."""
        return self.done.wait(timeout)

    def disconnect(self, message: str = "camera unplugged (virtual disconnect)") -> None:
        """Unplug now: stop injecting, report the device removed."""
        self._stop.set()
        self._remove(message)

    def _remove(self, message: str) -> None:
        if not self.connected:
            return
        self.connected = False
        for cb in list(self._removal_listeners):
            cb(message)

    def _lost(self, stream: str, t: float, n: int) -> bool:
        if n in self.drop_frames.get(stream, ()):
            return True
        if self.stall is not None:
            at, length = self.stall
            return at <= t < at + length
        return False

    def _feed(self) -> None:
        try:
            for stream, n, t in self.schedule():
                if self._stop.is_set():
                    break
                if self.disconnect_at_s is not None and t >= self.disconnect_at_s:
                    self._remove(f"camera unplugged at device time {self.disconnect_at_s:.3f} s "
                                 f"(virtual disconnect)")
                    break
                if self.speed is not None:
                    delay = self.host_t0 + t / self.speed - time.time()
                    if delay > 0 and self._stop.wait(delay):
                        break
                if self._lost(stream, t, n):
                    self.skipped[stream].append(n)
                    continue
                self._inject(stream, n, t)
        except BaseException as exc:        # a failing source ends the stream like an unplug
            self.error = exc
            self._remove(f"virtual camera frame source failed: {type(exc).__name__}: {exc}")
        finally:
            self.done.set()

    def _inject(self, stream: str, n: int, t: float) -> None:
        img = self.source(stream, n, t)
        if not isinstance(img, np.ndarray) or img.shape != self._shape[stream] \
                or img.dtype != self._dtype[stream]:
            got = (f"{img.shape} {img.dtype}" if isinstance(img, np.ndarray)
                   else type(img).__name__)
            raise ValueError(f"frame source gave {got} for {stream}; expected "
                             f"{self._shape[stream]} {self._dtype[stream]}")
        img = np.ascontiguousarray(img)
        if self.timestamp_domain == "global_time":
            ts_ms = (self.host_t0 + t) * 1000.0
        else:
            ts_ms = t * 1000.0
        device_us = int(round(t * 1e6))
        f = rs.software_video_frame()      # a fresh one each time: the binding frees `pixels`
        f.pixels = img                     # (copied) through the frame's deleter
        f.stride = img.shape[1] * self._bpp[stream]
        f.bpp = self._bpp[stream]
        f.timestamp = ts_ms
        f.domain = getattr(rs.timestamp_domain, self.timestamp_domain)
        f.frame_number = n
        f.profile = self.profiles[stream]
        sensor = self.sensors[stream]
        sensor.set_metadata(rs.frame_metadata_value.frame_timestamp, device_us)
        sensor.set_metadata(rs.frame_metadata_value.frame_counter, n)
        self.injected[stream].append((n, ts_ms, device_us))
        sensor.on_video_frame(f)

    def expected_frames(self, stream: str) -> list[int]:
        return [n for n, _, _ in self.injected[stream]]
