"""The force plate's binary wire protocol: packet encoder, decoder and incremental stream parser.

Specification for firmware authors: docs/PLATE_PROTOCOL.md. Summary (all integers little-endian):

    offset  size  field
    0       2     sync word, bytes A5 5A
    2       1     packet type, 0x01 = data packet (protocol version 1)
    3       1     N = number of ADC channels (1..32)
    4       4     sequence counter, uint32, +1 per sample, wraps
    8       4     device time of the sample in microseconds, uint32, free-running, wraps
    12      2     status flags, uint16 (bit 0 tared, bit 1 overload/ADC saturated)
    14      4N    raw ADC counts per channel, int32 (24-bit ADCs sign-extend)
    14+4N   2     CRC-16/CCITT-FALSE of bytes 2 .. 13+4N (everything after the sync word)

Between packets the device may send text reply lines ("OK ..." / "ERR ...", ending in LF); the
stream parser hands them out separately. Anything else is garbage: the parser skips it, counts it
and resynchronises on the next sync word whose packet passes the CRC.
"""
from __future__ import annotations

import binascii
import re
import struct
from dataclasses import dataclass

import numpy as np

SYNC = b"\xa5\x5a"
TYPE_DATA = 0x01
HEADER_SIZE = 14          # sync .. flags
CRC_SIZE = 2
MAX_CHANNELS = 32
MAX_LINE = 4096           # longest text reply line accepted by the parser

FLAG_TARED = 0x0001
FLAG_OVERLOAD = 0x0002

_HEADER = struct.Struct("<2sBBIIH")
_CRC = struct.Struct("<H")
_RESYNC = re.compile(rb"\xa5\x5a|OK |ERR ")


def crc16_ccitt_false(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor.
    crc16_ccitt_false(b"123456789") == 0x29B1."""
    return binascii.crc_hqx(data, crc)


def packet_size(channels: int) -> int:
    return HEADER_SIZE + 4 * channels + CRC_SIZE


def packet_dtype(channels: int) -> np.dtype:
    """numpy structured dtype of one packet (for bulk decoding of validated packets)."""
    return np.dtype([("sync", "S2"), ("type", "u1"), ("channels", "u1"), ("sequence", "<u4"),
                     ("time_us", "<u4"), ("flags", "<u2"), ("counts", "<i4", (channels,)),
                     ("crc", "<u2")])


def encode_packet(sequence: int, time_us: int, counts, flags: int = 0) -> bytes:
    """One data packet. sequence and time_us are taken modulo 2**32."""
    counts = np.asarray(counts, dtype="<i4").ravel()
    n = counts.size
    if not 1 <= n <= MAX_CHANNELS:
        raise ValueError(f"a packet carries 1..{MAX_CHANNELS} channels, not {n}")
    body = _HEADER.pack(SYNC, TYPE_DATA, n, sequence & 0xFFFFFFFF, time_us & 0xFFFFFFFF,
                        flags & 0xFFFF) + counts.tobytes()
    return body + _CRC.pack(crc16_ccitt_false(body[2:]))


def encode_packets(sequence, time_us, counts, flags=None) -> bytes:
    """Many packets at once (vectorised): sequence (n,), time_us (n,), counts (n, N)."""
    counts = np.asarray(counts)
    n, ch = counts.shape
    arr = np.zeros(n, dtype=packet_dtype(ch))
    arr["sync"] = SYNC
    arr["type"] = TYPE_DATA
    arr["channels"] = ch
    arr["sequence"] = np.asarray(sequence, dtype=np.int64) & 0xFFFFFFFF
    arr["time_us"] = np.asarray(time_us, dtype=np.int64) & 0xFFFFFFFF
    arr["flags"] = 0 if flags is None else np.asarray(flags) & 0xFFFF
    arr["counts"] = counts
    raw = bytearray(arr.tobytes())
    size = packet_size(ch)
    for k in range(n):
        o = k * size
        raw[o + size - 2:o + size] = _CRC.pack(crc16_ccitt_false(raw[o + 2:o + size - 2]))
    return bytes(raw)


@dataclass
class Packets:
    """Decoded packets, time first: sequence/time_us are the raw uint32 wire values."""
    sequence: np.ndarray      # (n,) uint32
    time_us: np.ndarray       # (n,) uint32
    flags: np.ndarray         # (n,) uint16
    counts: np.ndarray        # (n, N) int32

    def __len__(self) -> int:
        return int(self.sequence.shape[0])


def decode_packet(data: bytes) -> Packets:
    """Decode exactly one packet; raises ValueError if it is not a valid packet."""
    if len(data) < HEADER_SIZE + CRC_SIZE or data[:2] != SYNC or data[2] != TYPE_DATA:
        raise ValueError("not a data packet (bad sync word or type)")
    n = data[3]
    if len(data) != packet_size(n):
        raise ValueError(f"packet of {n} channels must be {packet_size(n)} bytes, got {len(data)}")
    if crc16_ccitt_false(data[2:-2]) != _CRC.unpack_from(data, len(data) - 2)[0]:
        raise ValueError("CRC mismatch")
    return _bulk_decode(bytes(data), n)


def _bulk_decode(raw: bytes, channels: int) -> Packets:
    arr = np.frombuffer(raw, dtype=packet_dtype(channels))
    return Packets(arr["sequence"].copy(), arr["time_us"].copy(), arr["flags"].copy(),
                   arr["counts"].astype(np.int32, copy=True).reshape(len(arr), channels))


class StreamParser:
    """Incremental parser of the byte stream from a plate.

    feed(bytes) -> (Packets, [text lines]). Keeps partial packets between calls. After a feed,
    `line_positions[i]` is how many of the returned packets came before text line i (the
    stream's order, needed to tell packets sent before "OK START" from those after). Counters:
      packets       valid packets decoded
      crc_errors    frames starting with the sync word that failed validation (CRC, type or
                    channel count). A sync word inside the span of a frame that just failed is
                    taken for data of that frame, not counted again.
      garbage_bytes bytes skipped while resynchronising (including those of failed frames)
    With `channels` given, only packets of that many channels are accepted.
    """

    def __init__(self, channels: int | None = None):
        if channels is not None and not 1 <= channels <= MAX_CHANNELS:
            raise ValueError(f"channels must be 1..{MAX_CHANNELS}")
        self.channels = channels
        self.packets = 0
        self.crc_errors = 0
        self.garbage_bytes = 0
        self._buf = bytearray()
        self._fail_end = 0         # absolute stream offset up to which a failed frame extends
        self._consumed = 0         # absolute stream offset of _buf[0]
        self.line_positions: list[int] = []

    def feed(self, data: bytes) -> tuple[Packets, list[str]]:
        buf = self._buf
        buf += data
        n_buf = len(buf)
        good = bytearray()
        good_ch = None
        lines: list[str] = []
        self.line_positions = positions = []
        n_good = 0
        i = 0
        expect = self.channels
        while True:
            if n_buf - i < 4:
                break
            b0 = buf[i]
            if b0 == 0xA5 and buf[i + 1] == 0x5A:
                ch = buf[i + 2] == TYPE_DATA and buf[i + 3]
                valid_header = bool(ch) and ch <= MAX_CHANNELS and (expect is None or ch == expect)
                size = packet_size(ch if valid_header else (expect or 1))
                if valid_header:
                    if n_buf - i < size:
                        break                                  # wait for the rest
                    end = i + size
                    if binascii.crc_hqx(buf[i + 2:end - 2], 0xFFFF) == \
                            buf[end - 2] | (buf[end - 1] << 8):
                        if good_ch is not None and ch != good_ch:
                            # the channel count changed within one feed (possible only without
                            # `channels`): keep the first kind, count the other as garbage
                            self.garbage_bytes += size
                        else:
                            good_ch = ch
                            good += buf[i:end]
                            self.packets += 1
                            n_good += 1
                        i = end
                        continue
                # a failed frame: count once, skip its sync word and resync
                if self._consumed + i >= self._fail_end:
                    self.crc_errors += 1
                    self._fail_end = self._consumed + i + size
                self.garbage_bytes += 1
                i += 1
                continue
            if b0 == 0x4F or b0 == 0x45:                        # 'O' / 'E'
                head = bytes(buf[i:i + 4])
                if head[:3] == b"OK " or head == b"ERR ":
                    nl = buf.find(b"\n", i, i + MAX_LINE)
                    if nl >= 0:
                        lines.append(buf[i:nl].decode("ascii", "replace").rstrip("\r"))
                        positions.append(n_good)
                        i = nl + 1
                        continue
                    if n_buf - i < MAX_LINE:
                        break                                  # wait for the end of the line
            # garbage: skip to the next candidate
            m = _RESYNC.search(buf, i + 1)
            j = m.start() if m else max(i + 1, n_buf - 3)
            self.garbage_bytes += j - i
            i = j
        del buf[:i]
        self._consumed += i
        if good:
            pk = _bulk_decode(bytes(good), good_ch)
        else:
            ch = good_ch or expect or 1
            pk = Packets(np.zeros(0, np.uint32), np.zeros(0, np.uint32), np.zeros(0, np.uint16),
                         np.zeros((0, ch), np.int32))
        return pk, lines

    @property
    def pending_bytes(self) -> int:
        return len(self._buf)
