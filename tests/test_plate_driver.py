"""The real serial path: virtual plate on a pseudo-terminal -> pyserial -> ForcePlate driver."""
import json
import os
import threading
import time

import numpy as np
import pytest

from drivers import plate_protocol as pp
from drivers.force_plate import ForcePlate, PlateBlock, PlateError, list_plates, plate_streams
from drivers.virtual_plate import VirtualPlate, stand_source
from station.errors import UserError


@pytest.fixture
def runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("STATION_RUNTIME_DIR", str(tmp_path / "rt"))
    return tmp_path / "rt"


def _read_all(plate, n, timeout=10.0):
    b = plate.read_until(n, timeout=timeout)
    assert len(b) >= n, f"only {len(b)} of {n} samples arrived"
    return b


def _sent_for(vp, block):
    s = vp.sent()
    idx = np.searchsorted(s["sequence"], block.sequence)
    assert np.array_equal(s["sequence"][idx], block.sequence)
    return s, idx


def test_every_packet_decoded_bit_for_bit():
    src = stand_source(80.0)
    with VirtualPlate(src, rate_hz=2000, realtime=False, register=False, keep_sent=True,
                      start_sequence=(1 << 32) - 1500, clock_offset_s=4294.5) as vp, \
            ForcePlate(vp.port) as plate:
        assert plate.description["serial"] == vp.serial
        assert plate.description["channels"] == 4 and plate.description["rate_hz"] == 2000.0
        plate.start()
        b = _read_all(plate, 6000)
        s, idx = _sent_for(vp, b)
        assert np.array_equal(b.counts, s["counts"][idx])                # bit for bit
        # sequence and device clock unwrap across their uint32 wrap without gaps
        assert np.array_equal(np.diff(b.sequence), np.ones(len(b) - 1))
        assert b.sequence[0] == (1 << 32) - 1500 and b.sequence[-1] > (1 << 32)
        assert np.allclose(np.diff(b.time_device_s), 1 / 2000, atol=1e-6)
        assert b.time_device_s[-1] > 4295.0                                # past 2**32 us
        q = plate.quality()
        assert (q["lost_samples"], q["crc_errors"], q["garbage_bytes"]) == (0, 0, 0)
        assert b.counts.dtype == np.int32 and b.sequence.dtype == np.int64


def test_injected_faults_are_counted_exactly():
    with VirtualPlate(None, rate_hz=2000, realtime=False, register=False, keep_sent=True) as vp:
        corrupt = [3, 100, 101, 2500]
        drop = [0, 50, 51, 52, 3999]
        garbage = {700: bytes(range(1, 100)), 1800: b"\x00" * 17}
        vp.corrupt_packets(corrupt)
        vp.drop_packets(drop)
        for s, g in garbage.items():
            vp.insert_garbage(s, g)
        with ForcePlate(vp.port) as plate:
            plate.start()
            b = _read_all(plate, 5000 - len(corrupt) - len(drop))
            b = PlateBlock.concat([b, plate.read_until(4000, timeout=0.5)])  # run well past them
            s, idx = _sent_for(vp, b)
            assert np.array_equal(b.counts, s["counts"][idx])
            missing = sorted(set(range(int(b.sequence[-1]) + 1)) - set(b.sequence.tolist()))
            assert missing == sorted(corrupt + drop)
            q = plate.quality()
            assert q["crc_errors"] == len(corrupt)
            assert q["lost_samples"] == len(corrupt) + len(drop)
            size = pp.packet_size(4)
            assert q["garbage_bytes"] == sum(map(len, garbage.values())) + len(corrupt) * size
            kinds = [f.kind for f in plate.faults]
            assert kinds.count("lost_samples") == 6    # gaps: 0, 3, 50-52, 100-101, 2500, 3999
            assert "crc_error" in kinds
            assert vp.injected["corrupted"] == len(corrupt) and vp.injected["dropped"] == len(drop)


def test_unplugging_ends_the_stream_and_keeps_what_came_before():
    with VirtualPlate(None, rate_hz=1000, register=False, keep_sent=True) as vp:
        vp.unplug(at_sequence=400)
        plate = ForcePlate(vp.port)
        plate.start()
        blocks = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            b = plate.read(timeout=0.5)
            if b is None:
                break
            blocks.append(b)
        assert plate.ended
        b = PlateBlock.concat(blocks)
        # the plate sent 0..399 and waited until the pty had handed them over before hanging up;
        # only bytes still inside the kernel at that moment could be lost (like a real unplug):
        # what arrived is a gap-free, bit-exact prefix, and nothing received was discarded
        assert b.sequence.tolist() == list(range(len(b)))
        assert 300 <= len(b) <= 400
        assert plate.quality()["garbage_bytes"] == 0 and plate.quality()["lost_samples"] == 0
        s, idx = _sent_for(vp, b)
        assert np.array_equal(b.counts, s["counts"][idx])
        f = plate.faults[-1]
        assert f.kind == "disconnected" and vp.port in f.message and f.time_host_s > 0
        assert plate.read(timeout=0.1) is None
        with pytest.raises(PlateError):
            plate.stop()
        plate.close()


def test_a_stall_is_reported_and_the_backlog_kept():
    with VirtualPlate(None, rate_hz=1000, register=False) as vp:
        vp.stall(at_sequence=200, seconds=0.6)
        with ForcePlate(vp.port, stall_timeout_s=0.3) as plate:
            plate.start()
            b = _read_all(plate, 1000)
            kinds = [f.kind for f in plate.faults]
            assert "stall" in kinds and "resumed" in kinds
            assert plate.quality()["lost_samples"] == 0
            assert np.array_equal(b.sequence[:1000], np.arange(1000))


def test_clock_mapping_through_the_pty_with_offset_and_drift():
    with VirtualPlate(None, rate_hz=1000, register=False, keep_sent=True, clock_offset_s=123.456,
                      clock_drift_ppm=50.0) as vp, ForcePlate(vp.port) as plate:
        plate.start()
        b = _read_all(plate, 2500)
        truth = vp.host_time_s(b.time_device_s)
        late = slice(1500, None)               # after the first windows of the fit
        assert np.abs(b.time_host_s[late] - truth[late]).max() < 1e-3
        assert np.all(b.time_arrival_s >= truth - 1e-6)             # arrival never precedes truth
        q = plate.quality()
        assert np.isfinite(q["clock_fit_residual_ms"])
        assert abs(q["achieved_rate_hz"] - 1000.0 * (1 + 50e-6)) < 0.5


def test_eight_channels_two_plates_and_rate_setting():
    with VirtualPlate(stand_source(70.0, channels=8), channels=8, rate_hz=1000, realtime=False,
                      register=False, keep_sent=True) as vp, ForcePlate(vp.port, rate_hz=500) as plate:
        assert vp.rate_hz == 500.0 and plate.description["rate_hz"] == 500.0
        streams = plate_streams([plate])
        assert [s["name"] for s in streams] == ["plate1", "plate2"]
        assert streams[1]["channels"] == [4, 5, 6, 7]
        plate.start()
        b = _read_all(plate, 1000)
        s, idx = _sent_for(vp, b)
        right = b.select(streams[1]["channels"])
        assert np.array_equal(right.counts, s["counts"][idx][:, 4:])


def test_device_tare_flags_packets():
    with VirtualPlate(None, rate_hz=1000, register=False, noise_counts=0) as vp, \
            ForcePlate(vp.port) as plate:
        offsets = plate.tare()
        assert offsets == [int(v) for v in vp.offsets]
        plate.start()
        b = _read_all(plate, 50)
        assert np.all(b.flags & pp.FLAG_TARED) and np.abs(b.counts).max() <= 1


def test_refused_command_is_a_clear_error():
    with VirtualPlate(None, register=False) as vp, ForcePlate(vp.port) as plate:
        with pytest.raises(PlateError, match="refused RATE"):
            plate.set_rate(0)


def test_wrong_port_is_a_clear_error():
    with pytest.raises(UserError, match="no serial port /dev/does-not-exist"):
        ForcePlate("/dev/does-not-exist")


class _NotAPlate:
    """A pty whose far end answers every line with garbage (or stays silent)."""

    def __init__(self, garbage: bool):
        self.master, self.slave = os.openpty()
        import tty
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self.garbage = garbage
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        import select
        while not self.stop:
            r, _, _ = select.select([self.master], [], [], 0.05)
            if r:
                try:
                    data = os.read(self.master, 1024)
                except OSError:
                    return
                if self.garbage and data:
                    os.write(self.master, b"\xff\x13hello?\r\n" * 20)

    def close(self):
        self.stop = True
        time.sleep(0.1)
        os.close(self.master)
        os.close(self.slave)


@pytest.mark.parametrize("garbage", [True, False])
def test_a_device_that_is_not_a_plate_is_a_clear_error(garbage):
    dev = _NotAPlate(garbage)
    try:
        with pytest.raises(UserError, match="is not a force plate") as e:
            ForcePlate(dev.port, timeout_s=0.4)
        assert ("not the plate protocol" in str(e.value)) == garbage
        assert "\n" not in str(e.value)
    finally:
        dev.close()


def test_list_plates_shows_running_virtual_plates_and_ignores_stale_ones(runtime_dir):
    runtime_dir.mkdir(parents=True)
    (runtime_dir / "999999999-stale.json").write_text(json.dumps({"port": "/dev/pts/0", "pid": 999999999}))
    with VirtualPlate(None, register=True) as vp:
        found = [d for d in list_plates() if d.get("virtual")]
        assert [d["port"] for d in found] == [vp.port]
        d = found[0]
        assert d["kind"] == "force_plate" and d["name"] and "virtual" in d["status"]
        assert vp.port in d["how_to_use"]
    assert [d for d in list_plates() if d.get("virtual")] == []
    assert not list(runtime_dir.glob(f"{os.getpid()}-*.json"))


def test_two_devices_make_two_plates_and_a_port_is_not_shared():
    with VirtualPlate(None, register=False, realtime=False) as left, \
            VirtualPlate(stand_source(60.0), register=False, realtime=False) as right, \
            ForcePlate(left.port) as p1, ForcePlate(right.port) as p2:
        streams = plate_streams([p1, p2])
        assert [(s["name"], s["plate"], s["channels"]) for s in streams] == \
            [("plate1", p1, [0, 1, 2, 3]), ("plate2", p2, [0, 1, 2, 3])]
        with pytest.raises(UserError, match="in use by another program"):
            ForcePlate(left.port)
        p1.start()
        p2.start()
        assert len(p1.read_until(100)) >= 100 and len(p2.read_until(100)) >= 100


def test_ascii_board_through_a_pty():
    from drivers.plate_ascii import encode_line
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)
    port = os.ttyname(slave)
    rows = [(k, 1000 * k, [k, -k, 7, 100000 + k]) for k in range(300) if k not in (10, 11)]
    data = b"# DIY board v0\n" + b"".join(encode_line(*r) for r in rows[:150]) + b"12 oops\n" \
        + b"".join(encode_line(*r) for r in rows[150:])
    try:
        with ForcePlate(port, protocol="ascii", channels=4, rate_hz=1000.0) as plate:
            os.write(master, data)
            b = plate.read_until(len(rows), timeout=5)
            assert b.sequence.tolist() == [r[0] for r in rows]
            assert b.counts.tolist() == [r[2] for r in rows]
            assert plate.quality()["lost_samples"] == 2
            assert plate.quality()["bad_lines"] == 1
    finally:
        os.close(master)
        os.close(slave)


def test_an_unsupported_rate_is_a_clear_error_and_frees_the_port():
    with VirtualPlate(None, register=False) as vp:
        with pytest.raises(UserError, match="refused RATE"):
            ForcePlate(vp.port, rate_hz=50000)
        with ForcePlate(vp.port) as plate:             # not left locked by the failed open
            assert plate.description["rate_hz"] == 1000.0
