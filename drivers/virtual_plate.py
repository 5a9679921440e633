"""A virtual force plate: a real serial device on a pseudo-terminal speaking docs/PLATE_PROTOCOL.md.

    vp = VirtualPlate(source=forces, rate_hz=1000)   # forces: (T, n_cells) N, or callable
    vp.start()                 # opens the pty, serves commands on its own thread
    vp.port                    # "/dev/pts/N": open it with drivers.force_plate.ForcePlate
    vp.close()

The device answers the text commands (ID, RATE, START, STOP, TARE) and, once started, streams
binary packets paced by the host clock (with catch-up, so the long-run rate is exact) or, with
realtime=False, as fast as the reader takes them. Per-cell forces (N) become counts through
per-channel offsets and gains plus Gaussian ADC noise and a slow linear zero drift. The device
clock is free-running: device_s = clock_offset_s + (host_s - t_start) * (1 + clock_drift_ppm e-6).

Fault injection, addressed by sequence number so tests can count exactly what was injected:
corrupt_packets, drop_packets, insert_garbage, stall, unplug (closes the pty master: the reader
sees an error / EOF). `sent` keeps the counts of every packet put on the wire (keep_sent=True).

Running plates register themselves in the runtime directory (runtime_dir()) as a small JSON file
with port and pid, removed on close; drivers.force_plate.list_plates() lists them.
"""
from __future__ import annotations

import atexit
import errno
import json
import os
import select
import threading
import time
import tty
from pathlib import Path

import numpy as np

from analysis.constants import G
from drivers import plate_protocol as pp
from drivers.plate_geometry import PlateGeometry

MODEL = "station-virtual-plate"
FIRMWARE = "1.0.0"
ADC_MIN, ADC_MAX = -(1 << 23), (1 << 23) - 1      # a 24-bit ADC, sign-extended to int32
BATCH_S = 0.002                                   # real-time mode: at most one write per 2 ms
FAST_BATCH = 256                                  # fast mode: packets per write
MAX_PENDING_BYTES = 256 * 1024                    # output buffer before packets are discarded
_serial_counter = 0


def runtime_dir() -> Path:
    """Where running virtual plates register ($STATION_RUNTIME_DIR or /tmp/station-virtual-plates)."""
    return Path(os.environ.get("STATION_RUNTIME_DIR") or "/tmp/station-virtual-plates")


class VirtualPlate:
    def __init__(self, source=None, *, rate_hz: float = 1000.0, channels: int = 4,
                 geometry: PlateGeometry | list | None = None, gains_counts_per_n=None,
                 offsets_counts=None, noise_counts: float = 20.0, zero_drift_counts_per_s=None,
                 clock_offset_s: float = 0.0, clock_drift_ppm: float = 0.0,
                 start_sequence: int = 0, realtime: bool = True, loop_source: bool = True,
                 serial: str | None = None, seed: int = 0, register: bool = True,
                 keep_sent: bool = False, name: str | None = None):
        global _serial_counter
        if channels not in (4, 8):
            raise ValueError("a virtual plate has 4 (one plate) or 8 (two plates) channels")
        self.channels = channels
        self.rate_hz = float(rate_hz)
        self.realtime = realtime
        self.loop_source = loop_source
        self.noise_counts = float(noise_counts)
        self.clock_offset_s = float(clock_offset_s)
        self.clock_drift_ppm = float(clock_drift_ppm)
        self.start_sequence = int(start_sequence)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        n_plates = channels // 4
        if geometry is None:
            geometry = [PlateGeometry(name=f"plate{k + 1}",
                                      centre_lab_m=(0.0 if k == 0 else 0.62, 0.0, 0.0))
                        for k in range(n_plates)]
        elif isinstance(geometry, PlateGeometry):
            geometry = [geometry]
        self.geometry = list(geometry)
        rng = np.random.default_rng(seed + 1)
        self.gains = (np.asarray(gains_counts_per_n, float) if gains_counts_per_n is not None
                      else 200.0 * rng.uniform(0.95, 1.05, channels))
        self.offsets = (np.asarray(offsets_counts, float) if offsets_counts is not None
                        else rng.uniform(-50_000, 50_000, channels).round())
        self.zero_drift = (np.asarray(zero_drift_counts_per_s, float)
                           if zero_drift_counts_per_s is not None else np.zeros(channels))
        _serial_counter += 1
        self.serial = serial or f"VP{os.getpid() % 100000:05d}-{_serial_counter}"
        self.name = name or f"virtual plate {self.serial}"
        self.register = register
        self.keep_sent = keep_sent
        self.sent_counts: list[np.ndarray] = []       # (n, channels) per write, if keep_sent
        self.sent_sequence: list[np.ndarray] = []
        self.sent_time_us: list[np.ndarray] = []
        self.sent_host_s: list[np.ndarray] = []       # true host time of each sent sample
        self.set_source(source)
        # state
        self._lock = threading.Lock()
        self._streaming = False
        self._k = 0                  # samples generated since START
        self._t_start_host = None    # host time of device time clock_offset_s
        self._stream_t0_dev = 0.0    # device time of sample 0 of the current stream
        self._tare = np.zeros(channels)
        self._tared = False
        self._pending = bytearray()
        self._last_batch = 0.0
        self._corrupt: set[int] = set()
        self._drop: set[int] = set()
        self._garbage: dict[int, bytes] = {}
        self._stall: dict[int, tuple[float, bool]] = {}
        self._stall_until = 0.0
        self._stall_drop = False
        self._unplug_at: int | None = None
        self._unplug_now = False
        self.injected = {"corrupted": 0, "dropped": 0, "garbage_bytes": 0, "stalls": 0,
                         "overflow_dropped": 0}
        self.master_fd = self.slave_fd = None
        self.port = None
        self._thread = None
        self._stop = threading.Event()
        self.unplugged = False
        self._reg_file = None
        self.commands_seen: list[str] = []

    @property
    def stream_t0_device_s(self) -> float:
        """Device time (s) of sample 0 of the current stream (set at each START)."""
        return self._stream_t0_dev

    @property
    def sequence(self) -> int:
        """The sequence number of the next sample the plate will take."""
        return self.start_sequence + self._k

    # ---- the force source ----------------------------------------------------------------
    def set_source(self, source) -> None:
        """source: None (unloaded), a callable f(t_s array) -> (n, channels) N with t in seconds
        since START on the device clock, or an array (T, channels) N at the device rate."""
        if source is None:
            self._source = lambda t: np.zeros((len(t), self.channels))
        elif callable(source):
            self._source = source
        else:
            arr = np.asarray(source, float)
            if arr.ndim != 2 or arr.shape[1] != self.channels:
                raise ValueError(f"force array must be (T, {self.channels}) N, got {arr.shape}")
            self._source = _ArraySource(arr, self.rate_hz, self.loop_source)

    def set_load(self, mass_kg: float, position_plate_m=(0.0, 0.0), plate: int = 0) -> None:
        """A static mass at a position on plate `plate` (0 or 1), others unloaded."""
        from drivers.plate_geometry import split_load_to_cells
        cells = np.zeros(self.channels)
        if mass_kg:
            cells[4 * plate:4 * plate + 4] = split_load_to_cells(
                np.array([mass_kg * G]), np.array([position_plate_m], float), self.geometry[plate])[0]
        self.set_source(lambda t: np.broadcast_to(cells, (len(t), self.channels)))

    # ---- identity ------------------------------------------------------------------------
    def identity(self) -> dict:
        plates = []
        for k, g in enumerate(self.geometry):
            d = g.to_dict()
            d["channels"] = list(range(4 * k, 4 * k + 4))
            plates.append(d)
        return {"model": MODEL, "serial": self.serial, "firmware": FIRMWARE, "protocol": 1,
                "channels": self.channels, "rate_hz": self.rate_hz, "adc_bits": 24,
                "plates": plates}

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> "VirtualPlate":
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.slave_fd)          # no echo, no line editing before a reader configures it
        tty.setraw(self.master_fd)
        os.set_blocking(self.master_fd, False)
        self.port = os.ttyname(self.slave_fd)
        self._t_start_host = time.time()
        self._thread = threading.Thread(target=self._run, name=f"virtual-plate {self.port}", daemon=True)
        self._thread.start()
        if self.register:
            self._register()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=2.0)
        self._close_fds()
        self._unregister()

    def __enter__(self):
        return self.start() if self.port is None else self

    def __exit__(self, *exc):
        self.close()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the plate's thread ends (close/unplug); True if it ended."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _close_fds(self) -> None:
        for attr in ("master_fd", "slave_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, attr, None)

    def _register(self) -> None:
        d = runtime_dir()
        try:
            d.mkdir(parents=True, exist_ok=True)
            f = d / f"{os.getpid()}-{self.port.replace('/', '_')}.json"
            info = {"port": self.port, "pid": os.getpid(), "name": self.name, "serial": self.serial,
                    "channels": self.channels, "rate_hz": self.rate_hz, "started": time.time()}
            f.write_text(json.dumps(info))
            self._reg_file = f
            atexit.register(self._unregister)
        except OSError:
            self._reg_file = None

    def _unregister(self) -> None:
        if self._reg_file is not None:
            try:
                self._reg_file.unlink()
            except OSError:
                pass
            self._reg_file = None

    # ---- fault injection (thread-safe; by sequence number as sent on the wire) -----------
    def corrupt_packets(self, sequences) -> None:
        """Flip one byte in the counts of each of these packets (the CRC then fails)."""
        with self._lock:
            self._corrupt.update(int(s) for s in sequences)

    def drop_packets(self, sequences) -> None:
        """Never send these packets (the sequence counter shows the gap)."""
        with self._lock:
            self._drop.update(int(s) for s in sequences)

    def insert_garbage(self, before_sequence: int, data: bytes) -> None:
        """Send these bytes just before the packet with this sequence number."""
        with self._lock:
            self._garbage[int(before_sequence)] = bytes(data)

    def stall(self, at_sequence: int, seconds: float, drop: bool = False) -> None:
        """Stop sending for `seconds` from this packet on; then send the backlog in a burst
        (drop=False, like a USB buffer) or discard the samples taken meanwhile (drop=True)."""
        with self._lock:
            self._stall[int(at_sequence)] = (float(seconds), bool(drop))

    def unplug(self, at_sequence: int | None = None) -> None:
        """Close the pty master now (None) or right after sending packet `at_sequence - 1`.
        The plate's own thread closes the descriptors (never closed under its feet)."""
        if at_sequence is not None:
            with self._lock:
                self._unplug_at = int(at_sequence)
            return
        if self._thread is None or not self._thread.is_alive():
            self._do_unplug()
            return
        self._unplug_now = True
        self._thread.join(timeout=2.0)

    def _do_unplug(self) -> None:
        self.unplugged = True
        self._stop.set()
        fd, self.master_fd = self.master_fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        # the slave end too, so the kernel hangs the line up for every reader
        fd, self.slave_fd = self.slave_fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass
        self._unregister()

    # ---- clocks --------------------------------------------------------------------------
    def device_time_s(self, host_s):
        return self.clock_offset_s + (np.asarray(host_s, float) - self._t_start_host) * \
            (1.0 + self.clock_drift_ppm * 1e-6)

    def host_time_s(self, device_s):
        """True host time at which the device clock read device_s (ground truth for tests)."""
        return self._t_start_host + (np.asarray(device_s, float) - self.clock_offset_s) / \
            (1.0 + self.clock_drift_ppm * 1e-6)

    # ---- the device's main loop ----------------------------------------------------------
    def _run(self) -> None:
        inbuf = bytearray()
        try:
            while not self._stop.is_set():
                if self._unplug_now:
                    self._do_unplug()
                    break
                fd = self.master_fd
                if fd is None:
                    break
                timeout = 0.05
                if self._streaming:
                    if self.realtime:
                        # send in batches at most every BATCH_S, like USB frames: per-wake costs
                        # would otherwise make a loaded machine fall behind at 2 kHz
                        due = max(self._due_host(self._k), self._last_batch + BATCH_S)
                        timeout = max(0.0, min(0.05, due - time.time()))
                    elif len(self._pending) <= MAX_PENDING_BYTES:
                        timeout = 0.0
                wlist = [fd] if self._pending else []
                r, w, _ = select.select([fd], wlist, [], timeout)
                if r:
                    try:
                        data = os.read(fd, 4096)
                    except OSError as e:
                        if e.errno in (errno.EAGAIN, errno.EINTR):
                            data = b""
                        elif e.errno == errno.EIO:      # no reader has the slave open: fine
                            data = b""
                        else:
                            raise
                    inbuf += data
                    while b"\n" in inbuf:
                        line, _, rest = inbuf.partition(b"\n")
                        inbuf = bytearray(rest)
                        self._command(line.decode("ascii", "replace").strip())
                if self._streaming:
                    self._generate()
                if self._pending:
                    self._flush()
        except OSError:
            pass
        finally:
            if self.unplugged:
                self._close_fds()

    def _due_host(self, k: int) -> float:
        return float(self.host_time_s(self._stream_t0_dev + k / self.rate_hz))

    def _flush(self) -> None:
        fd = self.master_fd
        if fd is None:
            return
        try:
            n = os.write(fd, self._pending)
            del self._pending[:n]
        except BlockingIOError:
            pass

    def _reply(self, text: str) -> None:
        self._pending += (text + "\n").encode("ascii")
        self._flush()

    def _command(self, line: str) -> None:
        if not line:
            return
        self.commands_seen.append(line)
        parts = line.split()
        cmd = parts[0].upper()
        if cmd == "ID":
            self._reply("OK ID " + json.dumps(self.identity(), separators=(",", ":")))
        elif cmd == "RATE":
            try:
                hz = float(parts[1])
                if not 1 <= hz <= 10000:
                    raise ValueError
            except (IndexError, ValueError):
                self._reply("ERR RATE expected a rate in Hz between 1 and 10000")
                return
            if self._streaming:
                self._reply("ERR RATE stop the stream first")
                return
            self.rate_hz = hz
            if isinstance(self._source, _ArraySource):
                self._source.rate_hz = hz
            self._reply(f"OK RATE {hz:g}")
        elif cmd == "START":
            self._streaming = True
            self._k = 0
            now = time.time()
            self._stream_t0_dev = float(self.device_time_s(now))
            self._reply(f"OK START {self.start_sequence & 0xFFFFFFFF}")
        elif cmd == "STOP":
            self._streaming = False
            self._reply("OK STOP")
        elif cmd == "TARE":
            if len(parts) > 1 and parts[1].upper() == "CLEAR":
                self._tare[:] = 0
                self._tared = False
            else:
                t = float(self.device_time_s(time.time())) - self._stream_t0_dev
                tt = t + np.arange(200) / self.rate_hz
                self._tared = False
                self._tare = np.zeros(self.channels)
                self._tare = self._counts(tt, np.full(200, t)).mean(axis=0).round()
                self._tared = True
            self._reply("OK TARE " + " ".join(str(int(v)) for v in self._tare))
        else:
            self._reply(f"ERR {cmd} unknown command (ID, RATE <hz>, START, STOP, TARE)")

    def _counts(self, t_stream_s: np.ndarray, t_since_start_s: np.ndarray) -> np.ndarray:
        forces = np.asarray(self._source(t_stream_s), float).reshape(len(t_stream_s), self.channels)
        c = self.offsets + forces * self.gains + self.zero_drift * t_since_start_s[:, None]
        if self.noise_counts > 0:
            c = c + self._rng.normal(0.0, self.noise_counts, c.shape)
        c = np.clip(np.round(c), ADC_MIN, ADC_MAX)
        return (c - self._tare).astype(np.int32)

    def _generate(self) -> None:
        if len(self._pending) > MAX_PENDING_BYTES:
            # nobody reads: a real device's buffer overflows; samples are lost (seq shows it)
            if self.realtime:
                n = self._n_due()
                self.injected["overflow_dropped"] += n
                self._k += n
            return
        now = time.time()
        if now < self._stall_until:
            if self._stall_drop:
                self._k += self._n_due()
            return
        n = self._n_due() if self.realtime else FAST_BATCH
        if n <= 0:
            return
        k = self._k + np.arange(n)
        seq = self.start_sequence + k
        with self._lock:
            # stalls and unplugging cut the batch at the packet concerned
            cut = n
            for s in list(self._stall):
                if seq[0] <= s <= seq[-1]:
                    cut = min(cut, s - seq[0])
            if self._unplug_at is not None and seq[0] <= self._unplug_at <= seq[-1]:
                cut = min(cut, self._unplug_at - seq[0])
            if cut == 0:
                if self._unplug_at is not None and seq[0] == self._unplug_at:
                    self._flush_all_then_unplug()
                    return
                sec, drop = self._stall.pop(int(seq[0]))
                self._stall_until = now + sec
                self._stall_drop = drop
                self.injected["stalls"] += 1
                return
            k, seq = k[:cut], seq[:cut]
            n = cut
            t_dev = self._stream_t0_dev + k / self.rate_hz
            counts = self._counts(t_dev - self._stream_t0_dev, t_dev - self.clock_offset_s)
            time_us = np.round(t_dev * 1e6).astype(np.int64)
            flags = np.full(n, pp.FLAG_TARED if self._tared else 0)
            keep = np.ones(n, bool)
            if self._drop:
                for j, s in enumerate(seq):
                    if int(s) in self._drop:
                        keep[j] = False
                        self._drop.discard(int(s))
                        self.injected["dropped"] += 1
            raw = bytearray()
            size = pp.packet_size(self.channels)
            block = pp.encode_packets(seq[keep], time_us[keep], counts[keep], flags[keep])
            kept_seq = seq[keep]
            for j, s in enumerate(kept_seq):
                s = int(s)
                if s in self._garbage:
                    g = self._garbage.pop(s)
                    raw += g
                    self.injected["garbage_bytes"] += len(g)
                pkt = bytearray(block[j * size:(j + 1) * size])
                if s in self._corrupt:
                    self._corrupt.discard(s)
                    pkt[pp.HEADER_SIZE + 1] ^= 0x5A
                    self.injected["corrupted"] += 1
                raw += pkt
        self._k += n
        self._last_batch = now
        if self.keep_sent:
            self.sent_sequence.append(seq[keep].astype(np.int64))
            self.sent_counts.append(counts[keep])
            self.sent_time_us.append(time_us[keep])
            self.sent_host_s.append(self.host_time_s(t_dev[keep]))
        self._pending += raw
        if self._unplug_at is not None and self.start_sequence + self._k == self._unplug_at:
            self._flush_all_then_unplug()

    def _flush_all_then_unplug(self) -> None:
        """Send what is pending, wait until the reader has taken it out of the pty (so the test
        of "everything before the unplug is kept" is exact), then hang up."""
        deadline = time.time() + 3.0
        while self._pending and time.time() < deadline and self.master_fd is not None:
            self._flush()
            if self._pending:
                time.sleep(0.001)
        # the kernel moves written bytes to the reader's queue a little later: wait until that
        # queue has stayed empty for 50 ms
        quiet = 0
        while time.time() < deadline and self.slave_fd is not None and quiet < 10:
            quiet = quiet + 1 if _unread(self.slave_fd) == 0 else 0
            time.sleep(0.005)
        self._do_unplug()

    def _n_due(self) -> int:
        if not self.realtime:
            return FAST_BATCH
        now_dev = float(self.device_time_s(time.time()))
        k_due = int(np.floor((now_dev - self._stream_t0_dev) * self.rate_hz)) + 1
        return max(0, k_due - self._k)

    def sent(self) -> dict:
        """Everything put on the wire so far (keep_sent=True): sequence, time_us, counts, host_s."""
        def cat(lst, shape):
            return np.concatenate(lst) if lst else np.zeros(shape)
        return {"sequence": cat(self.sent_sequence, (0,)).astype(np.int64),
                "time_us": cat(self.sent_time_us, (0,)).astype(np.int64),
                "counts": cat(self.sent_counts, (0, self.channels)).astype(np.int32),
                "host_s": cat(self.sent_host_s, (0,))}


def _unread(fd: int) -> int:
    """Bytes waiting in the pty for its reader (FIONREAD on the slave)."""
    import fcntl
    import struct
    import termios
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
    except OSError:
        return 0


class _ArraySource:
    def __init__(self, arr: np.ndarray, rate_hz: float, loop: bool):
        self.arr = arr
        self.rate_hz = rate_hz
        self.loop = loop

    def __call__(self, t):
        idx = np.floor(np.asarray(t) * self.rate_hz + 1e-9).astype(np.int64)
        n = len(self.arr)
        idx = idx % n if self.loop else np.clip(idx, 0, n - 1)
        return self.arr[idx]


def stand_source(mass_kg: float = 75.0, channels: int = 4, geometry=None, sway_m: float = 0.01):
    """A person standing still near the plate centre (a slow sway of the centre of pressure);
    with 8 channels, one foot on each plate."""
    from drivers.plate_geometry import split_load_to_cells
    geoms = geometry or [PlateGeometry()] * (channels // 4)
    w = mass_kg * G / len(geoms)

    def f(t):
        t = np.asarray(t, float)
        cop = np.column_stack([sway_m * np.sin(2 * np.pi * 0.3 * t),
                               sway_m * np.sin(2 * np.pi * 0.21 * t + 1.0)])
        parts = [split_load_to_cells(np.full(len(t), w), cop, g) for g in geoms]
        return np.concatenate(parts, axis=1)
    return f
