"""Force plate driver: a serial device speaking docs/PLATE_PROTOCOL.md (real or virtual).

    with ForcePlate("/dev/ttyACM0", rate_hz=1000) as plate:   # opens, identifies, configures
        plate.description          # model, serial, firmware, channels, rate_hz, plates (geometry)
        plate.start()
        while (block := plate.read(timeout=1.0)) is not None:  # None: the stream has ended
            block.sequence, block.time_device_s, block.time_host_s, block.time_arrival_s, block.counts
        plate.quality()            # crc_errors, lost_samples, garbage_bytes, clock_fit_residual_ms...
        plate.faults               # [Fault(time_host_s, kind, message)]

A thread reads the port, parses packets (resynchronising after garbage with the sync word and
CRC), unwraps the uint32 sequence counter and device clock, counts every lost sample from gaps in
the sequence (never fills them) and maps the device clock to the host clock with
drivers.clock_sync.ClockSync (lower envelope of arrival - device time). A read error (unplugged
cable, closed pty) ends the stream: everything decoded before it stays readable, and a
"disconnected" fault is recorded.

One device may carry two plates (8 channels): description["plates"] lists each plate's geometry
and channel indices; PlateBlock.select(channels) cuts a block to one plate. Two devices: open two
ForcePlate objects (plate_streams() names them plate1/plate2).
"""
from __future__ import annotations

import glob
import json
import os
import queue
import threading
import time
from dataclasses import dataclass

import numpy as np
import serial

from drivers import plate_protocol as pp
from drivers.clock_sync import ClockSync
from station.errors import UserError

DEFAULT_BAUD = 921600            # ignored by USB CDC and ptys; used by UART bridges


class PlateError(UserError):
    """A force plate problem the user can act on (one line: what is wrong; what to do)."""


@dataclass(frozen=True)
class Fault:
    time_host_s: float
    kind: str            # disconnected, crc_error, lost_samples, stall, resumed, sequence_reset, ...
    message: str

    def to_dict(self) -> dict:
        return {"time_host_s": self.time_host_s, "kind": self.kind, "message": self.message}


@dataclass
class PlateBlock:
    """Samples in arrival order, time first. Appends directly to a trial stream:
    stream.append(b.counts, sequence=b.sequence, time_device_s=b.time_device_s,
                  time_host_s=b.time_host_s, time_arrival_s=b.time_arrival_s)"""
    sequence: np.ndarray         # (n,) int64, unwrapped device counter
    time_device_s: np.ndarray    # (n,) float64, unwrapped device clock
    time_host_s: np.ndarray      # (n,) float64, device clock mapped to the host clock (online fit)
    time_arrival_s: np.ndarray   # (n,) float64, when the host read the bytes
    counts: np.ndarray           # (n, channels) int32, raw ADC counts
    flags: np.ndarray            # (n,) uint16 status flags (plate_protocol.FLAG_*)

    def __len__(self) -> int:
        return int(self.sequence.shape[0])

    def select(self, channels) -> "PlateBlock":
        """The same samples with only these channels (e.g. one plate of an 8-channel device)."""
        return PlateBlock(self.sequence, self.time_device_s, self.time_host_s, self.time_arrival_s,
                          self.counts[:, list(channels)], self.flags)

    @staticmethod
    def concat(blocks: list["PlateBlock"]) -> "PlateBlock":
        if len(blocks) == 1:
            return blocks[0]
        return PlateBlock(*(np.concatenate([getattr(b, f) for b in blocks])
                            for f in ("sequence", "time_device_s", "time_host_s",
                                      "time_arrival_s", "counts", "flags")))


class ForcePlate:
    def __init__(self, port: str, *, name: str = "plate1", rate_hz: float | None = None,
                 timeout_s: float = 1.0, stall_timeout_s: float = 0.5,
                 baudrate: int = DEFAULT_BAUD, clock: ClockSync | None = None, open: bool = True,
                 protocol: str = "binary", channels: int | None = None, serial_number: str | None = None):
        """protocol="binary" (docs/PLATE_PROTOCOL.md) or "ascii" (DIY boards, section 5: no
        commands, so give channels and rate_hz; the board streams all the time)."""
        if protocol not in ("binary", "ascii"):
            raise PlateError(f"unknown plate protocol {protocol!r}; use 'binary' or 'ascii'")
        if protocol == "ascii" and not (channels and rate_hz):
            raise PlateError("an ASCII plate cannot identify itself; give its channels and rate_hz")
        self.protocol = protocol
        self._ascii_channels = channels
        self._serial_number = serial_number
        self.port = port
        self.name = name
        self.requested_rate_hz = rate_hz
        self.timeout_s = float(timeout_s)
        self.stall_timeout_s = float(stall_timeout_s)
        self.baudrate = baudrate
        self.clock = clock or ClockSync()
        self.description: dict = {}
        self.faults: list[Fault] = []
        self.calibration = None
        self._ser = None
        self._parser: pp.StreamParser | None = None
        self._replies: queue.Queue[str] = queue.Queue()
        self._cmd_lock = threading.Lock()
        self._cond = threading.Condition()
        self._blocks: list[PlateBlock] = []
        self._thread = None
        self._closing = False
        self._ended = False          # the stream cannot deliver more (disconnected or closed)
        self._accepting = False      # between "OK START" and "OK STOP"
        self._expect_seq: int | None = None
        self._last_seq_raw = None
        self._seq_base = 0
        self._last_t_raw = None
        self._t_base = 0
        self._last_packet_host = None
        self._stalled = False
        self.samples = 0
        self.lost_samples = 0
        self.stale_packets = 0
        self._crc_seen = 0
        self.reader_cpu_s = 0.0      # CPU time the reader thread spent decoding (not waiting)
        self._first_dev = self._last_dev = None
        if open:
            self.open()

    # ---- opening and commands ------------------------------------------------------------
    def open(self) -> "ForcePlate":
        if not os.path.exists(self.port):
            raise PlateError(f"no serial port {self.port}; plug the plate in or run `station devices` "
                             "to see the plates that are connected")
        try:
            # exclusive: a second opener (another capture, a `station devices` probe) is refused
            # instead of stealing bytes from this one
            self._ser = serial.Serial(self.port, self.baudrate, timeout=0.05, write_timeout=1.0,
                                      exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            busy = "lock" in str(exc).lower() or "busy" in str(exc).lower()
            raise PlateError(f"cannot open {self.port}: " + ("it is in use by another program; close "
                             "that program first" if busy else f"{_short(exc)}; check the port")) from None
        if self.protocol == "ascii":
            from drivers.plate_ascii import AsciiStreamParser
            ch = int(self._ascii_channels)
            self._parser = AsciiStreamParser(ch)
            self._accepting = True            # it streams from power-on; every line is a sample
            self._last_packet_host = time.time()
            self.description = {
                "model": "ascii", "serial": self._serial_number or self.port, "firmware": "unknown",
                "protocol": "ascii", "channels": ch, "rate_hz": float(self.requested_rate_hz),
                "adc_bits": None, "port": self.port, "name": self.name,
                "plates": [{"name": f"plate{k + 1}", "channels": list(range(4 * k, 4 * k + 4))}
                           for k in range(ch // 4)] or [{"name": self.name, "channels": list(range(ch))}]}
            self._thread = threading.Thread(target=self._reader, name=f"plate {self.port}", daemon=True)
            self._thread.start()
            return self
        self._parser = pp.StreamParser()
        self._thread = threading.Thread(target=self._reader, name=f"plate {self.port}", daemon=True)
        self._thread.start()
        try:
            reply = self._command("STOP\nID", expect="ID", timeout=self.timeout_s)
        except PlateError:
            garbage = self._parser.garbage_bytes
            self.close()
            what = f"sent {garbage} bytes that are not the plate protocol" if garbage else "sent nothing"
            raise PlateError(f"{self.port} is not a force plate: no reply to ID within "
                             f"{self.timeout_s:g} s (it {what}); check the port") from None
        try:
            ident = json.loads(reply.split(None, 2)[2])
            channels = int(ident["channels"])
            if not 1 <= channels <= pp.MAX_CHANNELS:
                raise ValueError
        except (IndexError, ValueError, KeyError, TypeError):
            self.close()
            raise PlateError(f"{self.port} answered ID with something that is not a plate "
                             f"description: {reply[:60]!r}") from None
        self._parser.channels = channels
        if self.requested_rate_hz and float(ident.get("rate_hz", 0)) != float(self.requested_rate_hz):
            try:
                self.set_rate(self.requested_rate_hz)
            except PlateError:
                self.close()
                raise
            ident["rate_hz"] = float(self.requested_rate_hz)
        plates = ident.get("plates") or [{"name": self.name, "channels": list(range(channels))}]
        self.description = {
            "model": ident.get("model", "unknown"), "serial": str(ident.get("serial", "unknown")),
            "firmware": ident.get("firmware", "unknown"), "protocol": ident.get("protocol", 1),
            "channels": channels, "rate_hz": float(ident.get("rate_hz", 0.0)),
            "adc_bits": ident.get("adc_bits"), "plates": plates, "port": self.port,
            "name": self.name,
        }
        return self

    def _command(self, text: str, expect: str, timeout: float | None = None) -> str:
        """Send command line(s); wait for the reply line "OK <expect> ..." (or "ERR <expect> ...")."""
        timeout = self.timeout_s if timeout is None else timeout
        with self._cmd_lock:
            while not self._replies.empty():
                self._replies.get_nowait()
            try:
                self._ser.write((text + "\n").encode("ascii"))
                self._ser.flush()
            except (serial.SerialException, OSError) as exc:
                raise PlateError(f"cannot write to {self.port}: {_short(exc)}; is the plate still plugged in?") from None
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if self._ended and self._replies.empty():
                    raise PlateError(f"the plate on {self.port} is disconnected; plug it in and open it again")
                if left <= 0:
                    raise PlateError(f"the plate on {self.port} did not answer {expect} within {timeout:g} s")
                try:
                    line = self._replies.get(timeout=min(left, 0.05))
                except queue.Empty:
                    continue
                parts = line.split(None, 2)
                if len(parts) >= 2 and parts[1].upper() == expect.upper():
                    if parts[0] == "ERR":
                        raise PlateError(f"the plate on {self.port} refused {expect}: "
                                         f"{parts[2] if len(parts) > 2 else 'no reason given'}")
                    return line

    def set_rate(self, rate_hz: float) -> None:
        self._command(f"RATE {rate_hz:g}", "RATE")
        if self.description:
            self.description["rate_hz"] = float(rate_hz)

    def start(self) -> None:
        """Start streaming (an ASCII board streams anyway). Samples decoded before the start
        (the tail of a previous stream still in the serial buffer) are dropped, so read() gives
        only this stream's samples (counted in `stale_packets`)."""
        if self.protocol == "binary":
            self._command("START", "START")       # the reader drops older blocks at the reply
        else:
            self._drop_pending()

    def _drop_pending(self) -> None:
        with self._cond:
            self.stale_packets += sum(len(b) for b in self._blocks)
            self._blocks = []

    def stop(self) -> None:
        if self.protocol == "binary":
            self._command("STOP", "STOP")

    def tare(self) -> list[int]:
        """Ask the device to zero itself (its offsets are subtracted on the device from then on;
        packets carry FLAG_TARED). Returns the device's offsets in counts. Prefer calibration
        zeroing (calibration/plate.py), which keeps the counts raw."""
        line = self._command("TARE", "TARE")
        return [int(v) for v in line.split()[2:]]

    # ---- the reader thread ---------------------------------------------------------------
    def _reader(self) -> None:
        ser = self._ser
        parser = self._parser
        while not self._closing:
            try:
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if not self._closing:
                    self._fault("disconnected", f"read from {self.port} failed: {_short(exc)}")
                break
            now = time.time()
            if not data:
                self._check_stall(now)
                continue
            cpu0 = time.thread_time()
            packets, lines = parser.feed(data)
            if parser.crc_errors != self._crc_seen:
                self._fault("crc_error", f"{parser.crc_errors - self._crc_seen} packet(s) failed the CRC")
                self._crc_seen = parser.crc_errors
            start = 0
            for pos, line in zip(parser.line_positions, lines):
                self._take(packets, start, pos, now)
                start = pos
                self._control_line(line)
                self._replies.put(line)
            self._take(packets, start, len(packets), now)
            self.reader_cpu_s += time.thread_time() - cpu0
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _control_line(self, line: str) -> None:
        parts = line.split()
        if parts[:2] == ["OK", "START"]:
            # bytes arrive in order: every block handed over so far was sent before this START
            # (e.g. the tail of the previous stream): not this stream's, drop it
            self._drop_pending()
            self._accepting = True
            self._expect_seq = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
            self._last_seq_raw = self._last_t_raw = None
            self._last_packet_host = time.time()
            self._stalled = False
        elif parts[:2] == ["OK", "STOP"]:
            self._accepting = False

    def _take(self, pk: pp.Packets, a: int, b: int, now: float) -> None:
        if b <= a:
            return
        if not self._accepting:
            self.stale_packets += b - a
            return
        seq_raw = pk.sequence[a:b].astype(np.int64)
        t_raw = pk.time_us[a:b].astype(np.int64)
        # sequence: unwrap, count gaps
        prev = self._last_seq_raw
        if prev is None:
            prev = (self._expect_seq - 1) if self._expect_seq is not None else seq_raw[0] - 1
            self._seq_base = prev
            self._last_seq_raw = prev & 0xFFFFFFFF
            prev = self._last_seq_raw
        d = np.diff(np.concatenate([[prev], seq_raw])) & 0xFFFFFFFF
        back = d >= (1 << 31)
        if back.any() or (d == 0).any():
            self._fault("sequence_reset", f"sequence went back or repeated near {int(seq_raw[0])}")
            d[back | (d == 0)] = 1
        gaps = d - 1
        seq = self._seq_base + np.cumsum(d)
        self._seq_base = int(seq[-1])
        self._last_seq_raw = int(seq_raw[-1])
        lost = int(gaps.sum())
        if lost:
            for j in np.nonzero(gaps)[0]:
                self._fault("lost_samples", f"{int(gaps[j])} sample(s) lost before sequence {int(seq[j])}")
            self.lost_samples += lost
        # device clock: unwrap the microsecond counter
        if self._last_t_raw is None:
            self._t_base = int(t_raw[0]) - 1
            self._last_t_raw = int(t_raw[0]) - 1
        dt = np.diff(np.concatenate([[self._last_t_raw], t_raw])) & 0xFFFFFFFF
        if (dt >= (1 << 31)).any():
            self._fault("clock_jump", f"the device clock went back near sequence {int(seq[0])}")
        t_us = self._t_base + np.cumsum(dt)
        self._t_base = int(t_us[-1])
        self._last_t_raw = int(t_raw[-1])
        t_dev = t_us * 1e-6
        # the newest sample of a read has the least latency: one clock pair per read
        self.clock.add(t_dev[-1], now)
        block = PlateBlock(seq, t_dev, self.clock.to_host(t_dev), np.full(len(seq), now),
                           pk.counts[a:b], pk.flags[a:b])
        self.samples += len(seq)
        if self._first_dev is None:
            self._first_dev = t_dev[0]
        self._last_dev = t_dev[-1]
        if self._stalled:
            self._fault("resumed", f"data resumed after {now - self._last_packet_host:.2f} s")
            self._stalled = False
        self._last_packet_host = now
        with self._cond:
            self._blocks.append(block)
            self._cond.notify_all()

    def _check_stall(self, now: float) -> None:
        if self._accepting and not self._stalled and self._last_packet_host is not None \
                and now - self._last_packet_host > self.stall_timeout_s:
            self._stalled = True
            self._fault("stall", f"no data from {self.port} for {self.stall_timeout_s:g} s")

    def _fault(self, kind: str, message: str) -> None:
        self.faults.append(Fault(time.time(), kind, message))

    # ---- consuming -----------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> PlateBlock | None:
        """Everything decoded since the last read, as one block. Waits up to `timeout` s for
        data; returns an empty block on timeout and None once the stream has ended (closed or
        disconnected) and every sample has been handed out."""
        with self._cond:
            if not self._blocks and not self._ended:
                self._cond.wait(timeout)
            blocks, self._blocks = self._blocks, []
            if not blocks:
                if self._ended:
                    return None
                return self._empty_block()
        return PlateBlock.concat(blocks)

    def read_until(self, n_samples: int, timeout: float = 5.0) -> PlateBlock:
        """Read blocks until at least n_samples arrived, the stream ended, or timeout."""
        got, n = [], 0
        deadline = time.monotonic() + timeout
        while n < n_samples and time.monotonic() < deadline:
            b = self.read(timeout=min(0.2, max(0.0, deadline - time.monotonic())))
            if b is None:
                break
            if len(b):
                got.append(b)
                n += len(b)
        return PlateBlock.concat(got) if got else self._empty_block()

    def _empty_block(self) -> PlateBlock:
        ch = self.description.get("channels", 0)
        z = np.zeros(0)
        return PlateBlock(np.zeros(0, np.int64), z, z.copy(), z.copy(),
                          np.zeros((0, ch), np.int32), np.zeros(0, np.uint16))

    @property
    def ended(self) -> bool:
        return self._ended

    def quality(self) -> dict:
        p = self._parser
        span = (self._last_dev - self._first_dev) if self._first_dev is not None else 0.0
        rate = (self.samples + self.lost_samples - 1) / span if span > 0 else 0.0
        extra = {"bad_lines": p.bad_lines, "checksum_errors": p.checksum_errors} \
            if p is not None and hasattr(p, "bad_lines") else {}
        return {**extra, "samples": self.samples, "lost_samples": self.lost_samples,
                "dropped": self.lost_samples,
                "crc_errors": p.crc_errors if p else 0, "garbage_bytes": p.garbage_bytes if p else 0,
                "achieved_rate_hz": rate, "clock_fit_residual_ms": self.clock.residual_ms,
                "clock_drift_ppm": self.clock.drift_ppm, "faults": len(self.faults),
                "reader_cpu_s": self.reader_cpu_s}

    @property
    def plates(self) -> list[dict]:
        """[{name, channels, geometry}] for each plate this device carries."""
        from drivers.plate_geometry import PlateGeometry
        out = []
        for k, p in enumerate(self.description.get("plates", [])):
            geo = {k2: v for k2, v in p.items() if k2 != "channels"}
            try:
                g = PlateGeometry.from_dict(geo)
            except TypeError:
                g = PlateGeometry(name=p.get("name", f"plate{k + 1}"))
            out.append({"name": g.name, "channels": list(p["channels"]), "geometry": g})
        return out

    def to_newtons(self, counts: np.ndarray) -> np.ndarray:
        """Counts -> N per channel with the plate's calibration (set plate.calibration first)."""
        if self.calibration is None:
            raise PlateError(f"no calibration for plate {self.description.get('serial')}; "
                             "run `station calibrate plate`")
        return self.calibration.to_newtons(counts)

    # ---- closing -------------------------------------------------------------------------
    def close(self) -> None:
        if self._ser is None:
            return
        if self._accepting and not self._ended and self.protocol == "binary":
            try:
                self._command("STOP", "STOP", timeout=0.3)
            except PlateError:
                pass
        self._closing = True
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        try:
            self._ser.close()
        except Exception:
            pass
        self._ser = None
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _short(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    return msg.splitlines()[0][:160]


def plate_streams(plates: list[ForcePlate]) -> list[dict]:
    """Name the plates of one or two devices: [{name, plate, channels, geometry}], plate1 first
    (plate1 under the left foot, plate2 under the right: CONTRACTS.md)."""
    out = []
    for dev in plates:
        for p in dev.plates:
            out.append({"name": f"plate{len(out) + 1}", "plate": dev, "channels": p["channels"],
                        "geometry": p["geometry"]})
    return out


# ---- discovery -----------------------------------------------------------------------------
def _virtual_plates() -> list[dict]:
    from drivers.virtual_plate import runtime_dir
    found = []
    for f in sorted(glob.glob(str(runtime_dir() / "*.json"))):
        try:
            info = json.loads(open(f).read())
            os.kill(int(info["pid"]), 0)
            if not os.path.exists(info["port"]):
                continue
        except (OSError, ValueError, KeyError, TypeError):
            continue              # stale (process gone) or unreadable: ignore
        found.append({"kind": "force_plate", "name": info.get("name", "virtual plate"),
                      "port": info["port"],
                      "status": f"virtual, running (pid {info['pid']}), {info.get('channels')} channels "
                                f"at {info.get('rate_hz', 0):g} Hz",
                      "how_to_use": f"drivers.force_plate.ForcePlate({info['port']!r})",
                      "virtual": True, "serial": info.get("serial")})
    return found


def _candidate_ports() -> list[str]:
    from serial.tools import list_ports
    ports = []
    for p in list_ports.comports():
        # USB serial (CDC ACM, FTDI/CH340 bridges); built-in UARTs (ttyS*) would each cost a timeout
        if p.vid is not None or "ttyACM" in p.device or "ttyUSB" in p.device:
            ports.append(p.device)
    return ports


def probe(port: str, timeout_s: float = 0.3) -> dict | None:
    """The plate description of the device on `port`; {"busy": True} if another program has it
    open; None if it does not answer ID."""
    try:
        plate = ForcePlate(port, timeout_s=timeout_s)
    except PlateError as exc:
        return {"busy": True} if "in use by another program" in str(exc) else None
    desc = dict(plate.description)
    plate.close()
    return desc


def list_plates(probe_timeout_s: float = 0.3) -> list[dict]:
    """Force plates usable now: real USB serial ports that answer ID, and running virtual plates."""
    found = []
    for port in _candidate_ports():
        d = probe(port, probe_timeout_s)
        if d is None:
            continue
        if d.get("busy"):
            found.append({"kind": "force_plate", "name": f"serial device {port}", "port": port,
                          "status": "busy: open in another program (a capture?)",
                          "how_to_use": "close the other program to use it", "virtual": False})
            continue
        found.append({"kind": "force_plate", "name": f"{d['model']} {d['serial']}", "port": port,
                      "status": f"ready, {d['channels']} channels at {d['rate_hz']:g} Hz, "
                                f"firmware {d['firmware']}",
                      "how_to_use": f"drivers.force_plate.ForcePlate({port!r})",
                      "virtual": False, "serial": d["serial"]})
    return found + _virtual_plates()
