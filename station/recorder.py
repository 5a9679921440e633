"""The recorder: any set of devices (a camera and one or two force plates; real, virtual or from
recordings) captured into ONE trial file at once, every stream on the host time base.

    rec = Recorder(plates=[plate], camera=cam, calibrations={"plate1": cal})
    rec.arm()                       # devices streaming; live force for triggers, nothing written
    rec.live.latest(2.0)            # (t_host_s, fz_n) of the last 2 s, total Fz of all plates
    rec.record(path, metadata)      # from now on (plus `pretrigger_s` before) into the trial
    ...
    result = rec.stop()             # RecordingResult: status, reason, per-stream quality, faults

Threads and memory: one reader thread per device takes the driver's blocks (ForcePlate.read,
Camera.read) and hands them over a bounded queue (`queue_s` seconds of data) to ONE writer
thread, which appends them to the data.trial.TrialWriter (it flushes at least every second).
Nothing is kept beyond the queue, a `pretrigger_s` ring per stream and `live_s` of total Fz.

Time: the drivers map device clocks to the host clock (drivers/clock_sync.py); the recorder
writes their time_host_s untouched, with time_device_s and time_arrival_s beside it.

Quality, written per stream in /quality/streams: samples, dropped (sequence gaps inside the
trial, plus frames the camera driver had to discard), crc_errors (during the trial),
achieved_rate_hz (from the device clock), clock_fit_residual_ms and clock_drift_ppm (plates),
and faults with their host times in /quality/faults (the drivers' faults plus the recorder's).

Ending a trial early (status 'aborted', reason recorded, everything before kept):
  * a device unplugged: the plate's stream ends (read() -> None) or the camera reports removal;
  * a stalled stream: no data from a device for `stall_s` while recording;
  * the disk is almost full: the writer checks the free space of the trial's folder
    (shutil.disk_usage, once per `disk_check_s`) and ends the trial cleanly, before the disk
    fills, when less is left than `disk_min_free_bytes` or `disk_margin_s` seconds of data at
    the rate being written ("disk almost full: N MB left; ..."); record() refuses to start a
    trial on such a disk (UserError) for the nominal rates of the devices;
  * last resort, an actual write error (a disk filled by another program, an I/O error):
    data.trial.TrialWriter marks itself failed (TrialWriteError); nothing more is written, the
    fault is reported in the RecordingResult (the session file lists it), and the writer's
    close() releases the file safely as last flushed (status 'recording', readable; `station
    recover` finishes it) - a plain HDF5 close of such a file segfaults;
  * the writer cannot keep up (the queue stays full for `stall_s`).
"""
from __future__ import annotations

import errno
import math
import os
import queue
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from station.errors import UserError

_STOP = object()
DISK_MIN_FREE_BYTES = 5_000_000     # always left free: closing, results, session.json
DISK_MARGIN_S = 10.0                # plus this many seconds of data at the current rate
DISK_CHECK_S = 1.0


CAMERA_GRACE_S = 1.0     # at the stop, wait at most this for the camera's in-flight frames


def free_bytes(folder) -> int:
    return shutil.disk_usage(folder).free


def disk_almost_full_message(free: int) -> str:
    return (f"disk almost full: {free / 1e6:.0f} MB left; free space or choose another "
            "--data folder")


@dataclass
class RecordingResult:
    path: str
    status: str                        # complete | aborted
    reason: str
    quality: dict                      # stream -> counters
    faults: list                       # [{time_host_s, stream, kind, message}]
    start_host_s: float
    end_host_s: float
    close_error: str = ""              # the trial could not be closed cleanly (e.g. disk full)

    @property
    def duration_s(self) -> float:
        return self.end_host_s - self.start_host_s


class LiveForce:
    """Ring buffer of the total vertical force (N) of all plates on the host time base."""

    def __init__(self, seconds: float = 10.0, rate_hz: float = 1000.0):
        self.size = int(seconds * rate_hz)
        self._t = np.full(self.size, np.nan)
        self._f = np.full(self.size, np.nan)
        self._i = 0
        self._n = 0
        self._lock = threading.Lock()
        self.total = 0                  # samples ever added (readers track what is new)

    def add(self, t, f) -> None:
        t = np.asarray(t, float)[-self.size:]
        f = np.asarray(f, float)[-self.size:]
        with self._lock:
            n = len(t)
            idx = (self._i + np.arange(n)) % self.size
            self._t[idx] = t
            self._f[idx] = f
            self._i = (self._i + n) % self.size
            self._n = min(self.size, self._n + n)
            self.total += n

    def since(self, total_seen: int):
        """(t, f, total): samples added after `total_seen` (at most the buffer's length)."""
        with self._lock:
            new = min(self.total - total_seen, self._n)
            idx = (self._i - new + np.arange(new)) % self.size
            return self._t[idx].copy(), self._f[idx].copy(), self.total

    def latest(self, seconds: float):
        with self._lock:
            idx = (self._i - self._n + np.arange(self._n)) % self.size
            t, f = self._t[idx].copy(), self._f[idx].copy()
        if len(t):
            keep = t >= t[-1] - seconds
            t, f = t[keep], f[keep]
        return t, f


class _StreamStats:
    def __init__(self, nominal_hz: float):
        self.nominal_hz = nominal_hz
        self.samples = 0
        self.gaps = 0
        self.first_seq = self.last_seq = None
        self.first_dev = self.last_dev = math.nan
        self.first_host = self.last_host = math.nan

    def add(self, seq, t_dev, t_host) -> None:
        seq = np.asarray(seq, np.int64)
        if not len(seq):
            return
        if self.last_seq is None:
            self.first_seq = int(seq[0])
            self.first_dev, self.first_host = float(t_dev[0]), float(t_host[0])
        else:
            self.gaps += max(0, int(seq[0]) - self.last_seq - 1)
        d = np.diff(seq)
        self.gaps += int(np.clip(d - 1, 0, None).sum())
        self.last_seq = int(seq[-1])
        self.last_dev, self.last_host = float(t_dev[-1]), float(t_host[-1])
        self.samples += len(seq)

    def achieved_rate_hz(self) -> float:
        span = self.last_dev - self.first_dev
        if not math.isfinite(span):
            span = self.last_host - self.first_host
        if self.samples < 2 or not span > 0:
            return math.nan
        return (self.samples + self.gaps - 1) / span


class _PlateStream:
    """One plate (4 cells) of a ForcePlate device."""

    def __init__(self, name, device, channels, geometry, calibration):
        self.name = name
        self.device = device
        self.channels = list(channels)
        self.geometry = geometry
        self.calibration = calibration
        if calibration is not None:
            zero = np.asarray(calibration.zero_counts, float)
            gain = np.asarray(calibration.newtons_per_count, float)
            self.zero, self.gain = zero[self.channels], gain[self.channels]
        else:
            self.zero = self.gain = None

    def fz(self, counts) -> np.ndarray | None:
        if self.gain is None:
            return None
        return ((np.asarray(counts, float) - self.zero) * self.gain).sum(axis=1)


class Recorder:
    def __init__(self, plates=(), camera=None, calibrations: dict | None = None, *,
                 queue_s: float = 2.0, pretrigger_s: float = 0.5, stall_s: float = 1.0,
                 live_s: float = 10.0, write_hook=None, extra_calibrations: dict | None = None,
                 disk_min_free_bytes: int = DISK_MIN_FREE_BYTES, disk_margin_s: float = DISK_MARGIN_S,
                 disk_check_s: float = DISK_CHECK_S, camera_grace_s: float = CAMERA_GRACE_S):
        """plates: open drivers.force_plate.ForcePlate devices (one device may carry two
        plates). camera: an open, configured drivers.camera.Camera (started by arm()).
        calibrations: plate stream name (plate1, plate2) -> calibration.plate.PlateCalibration
        (counts -> N for the live force and the trial's /calibration/<stream>).
        write_hook: optional callable(stream, n) run by the writer thread before each append
        (the file-write seam: tests use it only for faults that cannot be made real)."""
        from drivers.force_plate import plate_streams
        if not plates and camera is None:
            raise UserError("nothing to record: no force plate and no camera")
        self.devices = list(plates)
        self.camera = camera
        calibrations = calibrations or {}
        self.plate_streams = [_PlateStream(p["name"], p["plate"], p["channels"], p["geometry"],
                                           calibrations.get(p["name"]))
                              for p in plate_streams(self.devices)]
        self.queue_s = queue_s
        self.pretrigger_s = pretrigger_s
        self.stall_s = stall_s
        self.write_hook = write_hook
        self.disk_min_free_bytes = int(disk_min_free_bytes)
        self.disk_margin_s = float(disk_margin_s)
        self.disk_check_s = float(disk_check_s)
        self.camera_grace_s = float(camera_grace_s)
        self._camera_last_t: dict[str, float] = {}   # stream -> host time of its newest frame
        self.disk_free_bytes = None            # at the last check (live status)
        self.extra_calibrations = extra_calibrations or {}   # name -> (attrs, arrays)
        rate = max([float(d.description.get("rate_hz") or 1000.0) for d in self.devices] or [1000.0])
        self.live = LiveForce(live_s, rate)
        # plate devices hand over a block per read (every few ms); cameras a frame at a time
        n_items = int(queue_s * (len(self.devices) * 600 + (sum(
            m.fps for m in camera.modes.values()) if camera is not None else 0))) + 16
        self._queue: queue.Queue = queue.Queue(maxsize=n_items)
        self._pre: dict[str, deque] = {}
        self._lock = threading.Lock()
        self._recording = False
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._writer_thread = None
        self._writer = None
        self._streams = {}
        self._stats: dict[str, _StreamStats] = {}
        self._faults: list[dict] = []
        self._abort_reason = ""
        self.aborted = threading.Event()
        self._fault_marks = {}
        self._crc_marks = {}
        self._camera_marks = {}
        self.start_host_s = math.nan
        self.path = None
        self.last_data = {}                   # device label -> host time of its last block
        self.rates = {}                       # stream -> samples/s over the last second (live)
        self._rate_win: dict[str, deque] = {}

    # ---- arming: devices streaming, live force, pre-trigger rings -------------------------
    def arm(self) -> None:
        for d in self.devices:
            self._fault_marks[id(d)] = len(d.faults)
            self._crc_marks[id(d)] = d.quality().get("crc_errors", 0)
        if self.camera is not None:
            self._camera_marks = {s: dict(c) for s, c in self.camera.stats().items()}
            self._fault_marks["camera"] = len(self.camera.faults)
            self.camera.start()
            t = threading.Thread(target=self._camera_loop, name="recorder camera", daemon=True)
            self._threads.append(t)
        for d in self.devices:
            # samples the device sent after the previous trial stopped reading are not this
            # trial's: hand them out and drop them before the stream starts again
            while True:
                b = d.read(timeout=0)
                if b is None or not len(b):
                    break
            d.start()
            t = threading.Thread(target=self._plate_loop, args=(d,), name=f"recorder {d.port}",
                                 daemon=True)
            self._threads.append(t)
        now = time.time()
        for label in self._device_labels():
            self.last_data[label] = now
        for t in self._threads:
            t.start()

    def _device_labels(self):
        return [d.port for d in self.devices] + (["camera"] if self.camera is not None else [])

    @property
    def has_force(self) -> bool:
        return any(s.gain is not None for s in self.plate_streams)

    def _rate(self, stream: str, t_host_last: float, n: int) -> None:
        w = self._rate_win.setdefault(stream, deque())
        w.append((t_host_last, n))
        while w and w[0][0] < t_host_last - 1.0:
            w.popleft()
        if len(w) > 1:
            span = w[-1][0] - w[0][0]
            self.rates[stream] = sum(k for _, k in list(w)[1:]) / span if span > 0 else math.nan

    def _plate_loop(self, dev) -> None:
        mine = [s for s in self.plate_streams if s.device is dev]
        while not self._stopping.is_set():
            block = dev.read(timeout=0.1)
            now = time.time()
            if block is None:
                if not self._stopping.is_set():
                    self._abort(dev.port, "device_lost",
                                f"force plate on {dev.port} disconnected (its stream ended)")
                return
            if not len(block):
                if self._recording and now - self.last_data[dev.port] > self.stall_s:
                    self._abort(dev.port, "stall", f"force plate on {dev.port}: no data for "
                                f"{now - self.last_data[dev.port]:.1f} s")
                    return
                continue
            self.last_data[dev.port] = now
            fz_total = None
            for s in mine:
                b = block.select(s.channels) if len(mine) > 1 or \
                    len(s.channels) != block.counts.shape[1] else block
                fz = s.fz(b.counts)
                if fz is not None:
                    fz_total = fz if fz_total is None else fz_total + fz
                self._rate(s.name, float(b.time_host_s[-1]), len(b))
                self._hand_over(s.name, ("plate", s.name, b), float(b.time_host_s[-1]))
            if fz_total is not None:
                self.live.add(block.time_host_s, fz_total)

    def _camera_loop(self) -> None:
        cam = self.camera
        while not self._stopping.is_set():
            frame = cam.read(timeout=0.1)
            now = time.time()
            if frame is None:
                if cam.ended and not self._stopping.is_set():
                    self._abort("camera", "device_lost",
                                f"camera stream ended: {cam.end_reason or 'no more frames'}")
                    return
                if self._recording and now - self.last_data["camera"] > self.stall_s:
                    self._abort("camera", "stall", f"camera: no frames for "
                                f"{now - self.last_data['camera']:.1f} s")
                    return
                continue
            self.last_data["camera"] = now
            self._camera_last_t[frame.stream] = frame.time_host_s
            self._rate(frame.stream, frame.time_host_s, 1)
            self._hand_over(frame.stream, ("camera", frame.stream, frame), frame.time_host_s)

    def _hand_over(self, stream: str, item, t_host: float) -> None:
        with self._lock:
            if not self._recording:
                ring = self._pre.setdefault(stream, deque())
                ring.append((t_host, item))
                while ring and ring[0][0] < t_host - self.pretrigger_s:
                    ring.popleft()
                return
        deadline = time.monotonic() + self.stall_s
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                if time.monotonic() > deadline:
                    self._abort(stream, "writer_overrun", "the writer cannot keep up: the "
                                f"hand-over queue stayed full for {self.stall_s:g} s")
                    return

    # ---- recording ------------------------------------------------------------------------
    def record(self, path, metadata: dict) -> None:
        """Create the trial file and write from now on (and the pre-trigger ring before)."""
        from data.trial import TrialWriter
        folder = os.path.dirname(os.path.abspath(str(path)))
        need = self._disk_needed(self.nominal_bytes_per_s())
        try:
            free = free_bytes(folder)
        except OSError:
            free = None
        if free is not None and free < need:
            raise UserError(disk_almost_full_message(free))
        self.path = str(path)
        w = TrialWriter(path, metadata=metadata)
        self._writer = w
        for s in self.plate_streams:
            desc = {k: v for k, v in s.device.description.items() if k != "plates"}
            desc.update({"channels_used": s.channels, **s.geometry.to_dict()})
            w.add_device(s.name, kind="force_plate", description=desc,
                         arrays={"cell_positions_plate_m": s.geometry.cell_positions_plate_m})
            self._streams[s.name] = w.create_stream(
                s.name, kind="force", device=s.name, sample_shape=(len(s.channels),),
                dtype="int32", unit="count", frame=None,
                nominal_rate_hz=float(s.device.description.get("rate_hz") or math.nan),
                columns=[f"cell{i}" for i in range(len(s.channels))])
            self._stats[s.name] = _StreamStats(float(s.device.description.get("rate_hz") or 0))
            if s.calibration is not None:
                cal = s.calibration
                d = cal.to_dict()
                geo = {**s.geometry.to_dict(), "channels": list(range(len(s.channels)))}
                w.add_calibration(s.name, {"kind": "force_plate_calibration", "version": 1,
                                           "device_serial": cal.device_serial,
                                           "device_model": cal.device_model,
                                           "channels": len(s.channels), "date_utc": cal.date_utc,
                                           "plates": [geo], "source": cal.path or "",
                                           "report": d.get("report", {}),
                                           "channels_of_device": s.channels},
                                  arrays={"zero_counts": np.asarray(cal.zero_counts, float)[s.channels],
                                          "newtons_per_count":
                                              np.asarray(cal.newtons_per_count, float)[s.channels]})
        for name, (attrs, arrays) in self.extra_calibrations.items():
            w.add_calibration(name, attrs, arrays)
        if self.camera is not None:
            from drivers.camera_recording import CameraTrialWriter
            self._camera_writer = CameraTrialWriter(w, self.camera)
            for stream, sw in self._camera_writer.streams.items():
                self._streams[stream] = sw
                self._stats[stream] = _StreamStats(float(self.camera.modes[stream].fps))
        w.start()
        self.start_host_s = time.time()
        self._writer_thread = threading.Thread(target=self._write_loop, name="recorder writer",
                                               daemon=True)
        self._writer_thread.start()
        with self._lock:
            pre = sorted((x for ring in self._pre.values() for x in ring), key=lambda x: x[0])
            self._pre.clear()
            for _, item in pre:
                self._queue.put(item)
            self._recording = True

    def nominal_bytes_per_s(self) -> float:
        """Raw bytes per second the devices will hand over at their nominal rates (samples
        plus sequence and three times; images uncompressed: an upper bound)."""
        total = 0.0
        for s in self.plate_streams:
            rate = float(s.device.description.get("rate_hz") or 1000.0)
            total += rate * (4 * len(s.channels) + 32)
        if self.camera is not None:
            for m in self.camera.modes.values():
                bpp = 2 if m.format == "z16" else 3
                total += m.fps * (m.width * m.height * bpp + 32)
        return total

    def _disk_needed(self, bytes_per_s: float) -> float:
        return self.disk_min_free_bytes + self.disk_margin_s * bytes_per_s

    def _check_disk(self, folder, written: int, since: float) -> bool:
        """True when the disk is too full to go on (the trial is then aborted)."""
        now = time.monotonic()
        rate = max(written / max(now - since, 1e-3), 0.0)
        try:
            free = free_bytes(folder)
        except OSError:
            return False
        self.disk_free_bytes = free
        if free < self._disk_needed(max(rate, self.nominal_bytes_per_s())):
            self._abort("disk", "disk_full", disk_almost_full_message(free))
            return True
        return False

    def _write_loop(self) -> None:
        from data.trial import TrialError
        w = self._writer
        broken = False
        folder = os.path.dirname(os.path.abspath(self.path))
        t_check, written = time.monotonic(), 0
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if broken:
                continue
            if time.monotonic() - t_check >= self.disk_check_s:
                if self._check_disk(folder, written, t_check):
                    broken = True          # ended cleanly: what is written stays, the file closes
                    continue
                t_check, written = time.monotonic(), 0
            kind, stream, obj = item
            written += (obj.counts.nbytes + 32 * len(obj)) if kind == "plate" else obj.image.nbytes
            try:
                if self.write_hook is not None:
                    self.write_hook(stream, len(obj) if kind == "plate" else 1)
                if kind == "plate":
                    self._streams[stream].append(obj.counts, sequence=obj.sequence,
                                                 time_device_s=obj.time_device_s,
                                                 time_host_s=obj.time_host_s,
                                                 time_arrival_s=obj.time_arrival_s)
                    self._stats[stream].add(obj.sequence, obj.time_device_s, obj.time_host_s)
                else:
                    self._streams[stream].append(obj.image, sequence=[obj.frame_number],
                                                 time_device_s=[obj.time_device_s],
                                                 time_host_s=[obj.time_host_s],
                                                 time_arrival_s=[obj.time_arrival_s])
                    self._stats[stream].add([obj.frame_number], [obj.time_device_s],
                                            [obj.time_host_s])
            except (OSError, RuntimeError, TrialError) as exc:   # TrialWriteError: the writer
                broken = True                                   # is failed and writes no more
                text = str(exc).lower()
                full = getattr(exc, "errno", None) == errno.ENOSPC or "no space left" in text \
                    or "errno = 28" in text or "errno 28" in text
                what = ("the disk is full (a write failed: no space left on device)" if full
                        else f"cannot write the trial ({_short(exc)})")
                self._abort(stream, "disk_full" if full else "write_error", what)

    # ---- faults and the end ----------------------------------------------------------------
    def _abort(self, stream: str, kind: str, message: str) -> None:
        with self._lock:
            first = not self._abort_reason
            if first:
                self._abort_reason = message
            self._faults.append({"time_host_s": time.time(), "stream": stream, "kind": kind,
                                 "message": message})
        if first:
            self.aborted.set()

    @property
    def abort_reason(self) -> str:
        return self._abort_reason

    @property
    def recording(self) -> bool:
        return self._recording

    def device_faults(self) -> list[dict]:
        out = []
        for d in self.devices:
            for f in d.faults[self._fault_marks.get(id(d), 0):]:
                out.append({"time_host_s": f.time_host_s, "stream": d.name, "kind": f.kind,
                            "message": f"{d.port}: {f.message}"})
        if self.camera is not None:
            out.extend(dict(f) for f in self.camera.faults[self._fault_marks.get("camera", 0):])
        return out

    def stop(self, reason: str = "") -> RecordingResult:
        """Stop the devices, write what was handed over, the quality records and the faults,
        and close the trial: 'complete', or 'aborted' with the reason (an abort by a fault, or
        `reason` given by the caller, e.g. a timeout or an interrupted session)."""
        end = time.time()
        if self.camera is not None and self._recording and not self._abort_reason:
            self._wait_for_camera(end)
        self._stopping.set()
        for d in self.devices:
            try:
                d.stop()
            except UserError:
                pass                     # unplugged: nothing to stop
        if self.camera is not None:
            self.camera.stop()
        for t in self._threads:
            t.join(timeout=3.0)
        if self._writer is not None and self._writer_thread is not None:
            self._queue.put(_STOP)                 # write what was handed over, then count it
            self._writer_thread.join(timeout=30.0)
        status = "aborted" if (self._abort_reason or reason) else "complete"
        why = self._abort_reason or reason
        faults = self.device_faults() + list(self._faults)
        quality = self._quality()
        close_error = ""
        if self._writer is not None:
            close_error = self._finish_file(status, why, faults, quality)
            if getattr(self._writer, "failed", False):
                close_error = (f"the trial file keeps what was written before the write error "
                               f"(status 'recording'; `station recover {self.path}` finishes it)")
            if close_error and not why:
                status, why = "aborted", close_error
        return RecordingResult(self.path or "", status, why, quality, faults,
                               self.start_host_s, end, close_error)

    def _wait_for_camera(self, end: float) -> None:
        """A camera delivers each frame some tens of ms after its exposure (USB transfer, the
        SDK's queues; a virtual camera's renderer): wait until every camera stream has handed
        over a frame taken at or after the stop, so the trial's camera streams cover the same
        span as the force. Not waited for longer than `camera_grace_s`; a stream that did not
        catch up by then is recorded as a fault (its last frames are missing, nothing else)."""
        streams = list(self._camera_last_t) or list(getattr(self.camera, "modes", {}) or {})
        deadline = time.monotonic() + self.camera_grace_s
        while time.monotonic() < deadline and not self._abort_reason:
            if all(self._camera_last_t.get(s, -math.inf) >= end for s in streams):
                return
            time.sleep(0.005)
        late = [s for s in streams if self._camera_last_t.get(s, -math.inf) < end]
        if late and not self._abort_reason:
            self._faults.append({"time_host_s": end, "stream": ",".join(late), "kind": "late_frames",
                                 "message": f"camera {', '.join(late)}: no frame taken after the "
                                            f"stop arrived within {self.camera_grace_s:g} s; the "
                                            "trial's camera streams end before its force"})

    def _quality(self) -> dict:
        out = {}
        for s in self.plate_streams:
            st = self._stats.get(s.name)
            if st is None:
                continue
            q = s.device.quality()
            out[s.name] = {"samples": st.samples, "dropped": st.gaps,
                           "crc_errors": int(q.get("crc_errors", 0) - self._crc_marks.get(id(s.device), 0)),
                           "achieved_rate_hz": st.achieved_rate_hz(),
                           "nominal_rate_hz": st.nominal_hz,
                           "clock_fit_residual_ms": float(q.get("clock_fit_residual_ms", math.nan)),
                           "clock_drift_ppm": float(q.get("clock_drift_ppm", math.nan))}
        if self.camera is not None:
            cam = self.camera.stats()
            for stream in self.camera.modes:
                st = self._stats.get(stream)
                if st is None:
                    continue
                c0 = self._camera_marks.get(stream, {})
                host_drops = cam[stream]["dropped_host"] - c0.get("dropped_host", 0)
                out[stream] = {"samples": st.samples, "dropped": st.gaps + host_drops,
                               "dropped_host": host_drops, "crc_errors": 0,
                               "achieved_rate_hz": st.achieved_rate_hz(),
                               "nominal_rate_hz": st.nominal_hz}
        return out

    def _finish_file(self, status, reason, faults, quality) -> str:
        w = self._writer
        try:
            for f in faults:
                w.add_fault(f.get("stream", ""), f["kind"], f["message"], time_host_s=f["time_host_s"])
            for stream, q in quality.items():
                w.set_quality(stream, **{k: v for k, v in q.items()
                                         if isinstance(v, (int, float)) and v is not None})
            w.close(status=status, reason=reason)
            return ""
        except Exception as exc:           # h5py raises OSError or RuntimeError on a full disk
            msg = f"the trial could not be closed cleanly ({_short(exc)})"
            try:
                w.close(status="aborted", reason=reason or msg)
            except Exception:              # the file keeps what was flushed before
                pass
            return msg


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:200]
