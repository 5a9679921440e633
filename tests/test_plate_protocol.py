"""Wire protocol: CRC vectors, packet layout, stream parser resync and counters, ASCII decoder."""
import numpy as np
import pytest

from drivers import plate_protocol as pp
from drivers.plate_ascii import AsciiStreamParser, encode_line, xor_checksum


def test_crc16_ccitt_false_check_values():
    assert pp.crc16_ccitt_false(b"123456789") == 0x29B1        # the catalogue check value
    assert pp.crc16_ccitt_false(b"") == 0xFFFF
    assert pp.crc16_ccitt_false(b"\x00") == 0xE1F0


def test_packet_layout_matches_the_documented_example():
    # docs/PLATE_PROTOCOL.md, "Example packet"
    p = pp.encode_packet(1, 1000, [1, -2, 3, 4])
    assert p.hex() == ("a55a" "01" "04" "01000000" "e8030000" "0000"
                       "01000000" "feffffff" "03000000" "04000000" "1d88")
    d = pp.decode_packet(p)
    assert d.sequence.tolist() == [1] and d.time_us.tolist() == [1000]
    assert d.counts.tolist() == [[1, -2, 3, 4]]


def test_decode_rejects_a_flipped_bit():
    p = bytearray(pp.encode_packet(7, 5, [10, 20, 30, 40]))
    p[20] ^= 0x01
    with pytest.raises(ValueError, match="CRC"):
        pp.decode_packet(bytes(p))


def _stream(n=500, ch=8, seed=1):
    rng = np.random.default_rng(seed)
    counts = rng.integers(-(1 << 23), 1 << 23, (n, ch)).astype(np.int32)
    seq = np.arange(n) + (1 << 32) - 100          # wraps inside the stream
    t = np.arange(n) * 500
    return counts, seq, t


def test_vectorised_encoder_equals_single_packets():
    counts, seq, t = _stream(20)
    bulk = pp.encode_packets(seq, t, counts)
    single = b"".join(pp.encode_packet(int(s), int(u), c) for s, u, c in zip(seq, t, counts))
    assert bulk == single


@pytest.mark.parametrize("chunk", [1, 7, 48, 4096])
def test_parser_is_exact_for_any_chunking(chunk):
    counts, seq, t = _stream()
    raw = pp.encode_packets(seq, t, counts)
    parser = pp.StreamParser(8)
    got = [parser.feed(raw[i:i + chunk])[0] for i in range(0, len(raw), chunk)]
    c = np.concatenate([g.counts for g in got])
    assert np.array_equal(c, counts)
    assert np.array_equal(np.concatenate([g.sequence for g in got]), (seq & 0xFFFFFFFF).astype(np.uint32))
    assert (parser.crc_errors, parser.garbage_bytes, parser.packets) == (0, 0, 500)


def test_parser_resyncs_and_counts_garbage_and_crc_errors_exactly():
    counts, seq, t = _stream(300, ch=4, seed=2)
    size = pp.packet_size(4)
    packets = [bytearray(pp.encode_packet(int(s), int(u), c)) for s, u, c in zip(seq, t, counts)]
    corrupt = {10, 11, 150, 299}
    for k in corrupt:
        packets[k][pp.HEADER_SIZE + 3] ^= 0xFF
    garbage = {5: bytes(range(1, 60)), 200: b"\x00" * 13, 201: b"noise without a sync word"}
    raw = bytearray()
    for k, p in enumerate(packets):
        raw += garbage.get(k, b"") + p
    parser = pp.StreamParser(4)
    got = [parser.feed(bytes(raw[i:i + 100]))[0] for i in range(0, len(raw), 100)]
    keep = [k for k in range(300) if k not in corrupt]
    assert np.array_equal(np.concatenate([g.counts for g in got]), counts[keep])
    assert parser.crc_errors == len(corrupt)
    # the last corrupted packet ends the stream: its last bytes wait for more data (a sync word
    # could start there)
    assert parser.garbage_bytes + parser.pending_bytes == sum(map(len, garbage.values())) + len(corrupt) * size


def test_parser_keeps_text_lines_in_stream_order():
    counts, seq, t = _stream(6, ch=4)
    raw = (pp.encode_packets(seq[:2], t[:2], counts[:2]) + b"OK START 2\n"
           + pp.encode_packets(seq[2:], t[2:], counts[2:]) + b"ERR RATE stop first\n")
    parser = pp.StreamParser(4)
    pk, lines = parser.feed(raw)
    assert lines == ["OK START 2", "ERR RATE stop first"]
    assert parser.line_positions == [2, 6]
    assert len(pk) == 6 and parser.garbage_bytes == 0


def test_parser_rejects_other_channel_counts_when_told():
    raw = pp.encode_packet(0, 0, [1] * 8) + pp.encode_packet(1, 1, [2] * 4)
    parser = pp.StreamParser(4)
    pk, _ = parser.feed(raw)
    assert pk.counts.tolist() == [[2] * 4]
    assert parser.crc_errors == 1


def test_ascii_decoder_lines_checksums_and_bad_lines():
    good = [encode_line(k, 1000 * k, [k, -k, 2 * k, 3]) for k in range(5)]
    assert good[1] == b"1 1000 1 -1 2 3*%02X\n" % xor_checksum("1 1000 1 -1 2 3")
    raw = (b"# DIY plate v0.1, 4 channels\r\n" + good[0] + b"5,5000,1,2,3,4\r\n" + good[1]
           + b"2 2000 1 1 1 1*00\n" + b"garbage here\n" + b"3 3000 1 2\n" + good[4])
    parser = AsciiStreamParser(4)
    pk1, comments = parser.feed(raw[:37])
    pk2, _ = parser.feed(raw[37:])
    seq = np.concatenate([pk1.sequence, pk2.sequence]).tolist()
    assert seq == [0, 5, 1, 4]
    assert comments == ["DIY plate v0.1, 4 channels"]
    assert (parser.bad_lines, parser.checksum_errors) == (3, 1)
    assert np.concatenate([pk1.counts, pk2.counts])[1].tolist() == [1, 2, 3, 4]
