"""`station recover`: a trial whose writer was killed (SIGKILL, real subprocess) is finished into
`<name>.recovered.h5` with every flushed sample, status 'aborted' and a reason, so that analysis
can write results into it; the original is left byte for byte as it was."""
from __future__ import annotations

import argparse
import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from data.trial import TrialError, open_trial, validate_trial, write_results
from data.trial_recover import clear_consistency_flags, lookup3, recover_trial, superblock_flags
from station.commands import recover

REPO = Path(__file__).resolve().parents[1]
T0 = 1_795_000_000.0

# Appends forever: force block b = 10 samples (sample k, channel c = 8 * k + c), depth frame b
# (all pixels 1000 + b); every 20 blocks flush() and print "flushed <samples> <frames>".
WRITER = r"""
import sys, time, numpy as np
from data.trial import TrialWriter
T0 = 1_795_000_000.0
w = TrialWriter(sys.argv[1], metadata={"athlete_id": "K01", "trial_kind": "cmj"})
w.add_device("plate1", kind="force_plate")
w.add_device("camera", kind="depth_camera")
plate = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(8,), dtype="int32",
                        unit="count", nominal_rate_hz=1000.0)
depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(48, 64),
                        dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
w.start()
w.add_fault("plate1", "crc_error", "packet 3", time_host_s=T0)
b = 0
while True:
    k = np.arange(10 * b, 10 * b + 10)
    plate.append(8 * k[:, None] + np.arange(8)[None, :], sequence=k, time_device_s=k / 1000.0,
                 time_host_s=T0 + k / 1000.0)
    depth.append(np.full((48, 64), 1000 + b, np.uint16), sequence=b, time_device_s=b / 90.0,
                 time_host_s=T0 + b / 90.0)
    b += 1
    if b % 20 == 0:
        w.flush()
        print("flushed", len(plate), len(depth), flush=True)
    time.sleep(0.001)
"""


def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _run_recover(argv) -> int:
    parser = argparse.ArgumentParser()
    recover.add_arguments(parser)
    return recover.run(parser.parse_args(argv))


@pytest.fixture
def killed_trial(tmp_trial_path):
    """(path, samples, frames flushed before the kill) of a writer killed while appending."""
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_trial_path)],
                            stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        for _ in range(3):
            line = proc.stdout.readline()
            assert line.startswith("flushed"), f"writer said {line!r}"
        # while it is still writing, recovery must refuse
        with pytest.raises(TrialError, match="still open for writing by process"):
            recover_trial(tmp_trial_path)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    _, samples, frames = line.split()
    return tmp_trial_path, int(samples), int(frames)


def test_recover_finishes_a_killed_trial_without_touching_the_original(killed_trial, capsys):
    path, samples, frames = killed_trial
    assert superblock_flags(path) != 0                   # HDF5 still marks it open for writing
    before = _sha(path)
    with pytest.raises(TrialError, match="still being written"):
        write_results(path, "force", arrays={"x": np.zeros(1)})

    assert _run_recover([str(path)]) == 0
    out = path.with_name("trial.recovered.h5")
    said = capsys.readouterr().out
    assert said.startswith(f"wrote {out}: status aborted (writer killed (recovered on ")
    assert _sha(path) == before                           # the original is untouched
    assert superblock_flags(out) == 0

    write_results(out, "force", arrays={"fz_n": np.arange(3.0)}, attrs={"jump_height_m": 0.3})
    assert validate_trial(out) == []
    with open_trial(out) as t:
        assert not t.swmr                                 # opens as a normal HDF5 file
        assert t.status == "aborted"
        assert t.status_reason.startswith("writer killed (recovered on 20")
        plate, depth = t.stream("plate1"), t.stream("depth")
        n, m = len(plate), len(depth)
        assert n >= samples and m >= frames
        k = np.arange(n)
        np.testing.assert_array_equal(plate.read(), 8 * k[:, None] + np.arange(8)[None, :])
        np.testing.assert_array_equal(plate.sequence, k)
        np.testing.assert_array_equal(plate.time_host_s, T0 + k / 1000.0)
        np.testing.assert_array_equal(depth.read()[:, 0, 0], 1000 + np.arange(m))
        faults = t.faults()
        assert [f.kind for f in faults] == ["crc_error", "writer_killed"]
        assert faults[1].time_host_s == max(plate.time_host_s[-1], depth.time_host_s[-1])
        assert t.metadata["recovered_from"] == "trial.h5"
        assert t.metadata["end_time_utc"] and t.results()["force"].attrs["jump_height_m"] == 0.3
    with open_trial(path) as t:                           # the original still says so
        assert t.status == "recording" and len(t.stream("plate1")) >= n

    with pytest.raises(TrialError, match="already exists"):
        recover_trial(path)
    with pytest.raises(TrialError, match="nothing to recover"):
        recover_trial(out, path.with_name("again.h5"))


def test_recover_refuses_what_is_not_a_killed_trial(small_trial_file, tmp_path):
    with pytest.raises(TrialError, match="status is 'complete'"):
        recover_trial(small_trial_file)
    with pytest.raises(TrialError, match="no such file"):
        recover_trial(tmp_path / "nope.h5")
    assert not list(tmp_path.glob("*.recovered.h5*"))


def test_clearing_the_flags_writes_the_checksum_hdf5_expects(tmp_path):
    """The superblock patch: HDF5 refuses a superblock with a wrong checksum, so opening the
    patched file for writing proves the checksum; the EOF address grows to the file's size."""
    p = tmp_path / "x.h5"
    with h5py.File(p, "w", libver="latest") as f:
        f["a"] = np.arange(10)
    head = p.read_bytes()[:48]
    assert lookup3(head[:44]) == int.from_bytes(head[44:48], "little")
    assert lookup3(b"") == 0xDEADBEEF and lookup3(b"Four score and seven years ago") == 0x17770551
    with open(p, "ab") as fh:                            # data beyond the stored EOF address
        fh.write(b"\0" * 4096)
    data = bytearray(p.read_bytes())
    data[11] = 5                                          # as a killed SWMR writer leaves it
    data[44:48] = lookup3(bytes(data[:44])).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    with pytest.raises(OSError, match="h5clear"):
        h5py.File(p, "r+")
    assert clear_consistency_flags(p) == (5, 4096)
    with h5py.File(p, "r+") as f:
        f["b"] = np.arange(3)
        np.testing.assert_array_equal(f["a"][()], np.arange(10))
