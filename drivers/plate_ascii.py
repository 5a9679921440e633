"""Decoder of the simple ASCII line format for DIY boards (docs/PLATE_PROTOCOL.md, section 5).

One sample per line, fields separated by commas, spaces or tabs, ending in LF (CR ignored):

    <sequence> <device_time_us> <count_0> ... <count_N-1> [*HH]

All integers in decimal (counts may be negative). The optional `*HH` is the XOR of every byte
before the `*`, in two hex digits (NMEA style). Lines starting with `#` are comments (the board's
banner, its identify line); empty lines are ignored. A line that does not parse, has the wrong
number of fields or a wrong checksum is counted in `bad_lines` and skipped: the next LF
resynchronises.
"""
from __future__ import annotations

import re

import numpy as np

from drivers.plate_protocol import Packets

_SPLIT = re.compile(r"[,\s]+")
MAX_LINE = 1024


def xor_checksum(text: str | bytes) -> int:
    b = text.encode("ascii") if isinstance(text, str) else text
    c = 0
    for x in b:
        c ^= x
    return c


def encode_line(sequence: int, time_us: int, counts, checksum: bool = True) -> bytes:
    body = " ".join([str(int(sequence)), str(int(time_us))] + [str(int(c)) for c in counts])
    if checksum:
        body += f"*{xor_checksum(body):02X}"
    return (body + "\n").encode("ascii")


class AsciiStreamParser:
    """feed(bytes) -> (Packets, [comment lines]); same Packets as the binary parser."""

    def __init__(self, channels: int | None = None):
        self.channels = channels
        self.packets = 0
        self.bad_lines = 0
        self.checksum_errors = 0
        self.garbage_bytes = 0
        self._buf = bytearray()
        self.line_positions: list[int] = []
        self.crc_errors = 0          # the binary parser's counter; ASCII has checksum_errors

    def feed(self, data: bytes) -> tuple[Packets, list[str]]:
        self._buf += data
        seqs, times, rows, comments = [], [], [], []
        self.line_positions = positions = []
        while True:
            nl = self._buf.find(b"\n")
            if nl < 0:
                if len(self._buf) > MAX_LINE:            # no LF for too long: garbage
                    self.garbage_bytes += len(self._buf)
                    self.bad_lines += 1
                    self._buf.clear()
                break
            raw = bytes(self._buf[:nl]).rstrip(b"\r")
            del self._buf[:nl + 1]
            n_comments = len(comments)
            row = self._parse(raw, comments)
            if len(comments) > n_comments:
                positions.append(len(seqs))
            if row is not None:
                seqs.append(row[0])
                times.append(row[1])
                rows.append(row[2:])
        ch = self.channels or (len(rows[0]) if rows else 0)
        pk = Packets(np.array(seqs, dtype=np.int64).astype(np.uint32),
                     np.array(times, dtype=np.int64).astype(np.uint32),
                     np.zeros(len(seqs), np.uint16),
                     np.array(rows, dtype=np.int32).reshape(len(rows), ch))
        return pk, comments

    def _parse(self, raw: bytes, comments: list[str]):
        if not raw.strip():
            return None
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            self._bad(raw)
            return None
        if text.startswith("#"):
            comments.append(text[1:].strip())
            return None
        if "*" in text:
            body, _, ck = text.rpartition("*")
            try:
                ok = int(ck.strip(), 16) == xor_checksum(body)
            except ValueError:
                ok = False
            if not ok:
                self.checksum_errors += 1
                self._bad(raw)
                return None
            text = body
        fields = [f for f in _SPLIT.split(text.strip()) if f]
        try:
            values = [int(f) for f in fields]
        except ValueError:
            self._bad(raw)
            return None
        n = len(values) - 2
        if n < 1 or (self.channels is not None and n != self.channels):
            self._bad(raw)
            return None
        if self.channels is None:
            self.channels = n
        if not all(-(1 << 31) <= v < (1 << 31) for v in values[2:]):
            self._bad(raw)
            return None
        self.packets += 1
        return [values[0] & 0xFFFFFFFF, values[1] & 0xFFFFFFFF] + values[2:]

    def _bad(self, raw: bytes) -> None:
        self.bad_lines += 1
        self.garbage_bytes += len(raw) + 1
