"""A full disk (a real 2 MB tmpfs, ENOSPC) while writing: the writer process must not crash
(HDF5 segfaulted when the broken file was closed) nor print an unhandled exception from its
flusher thread; the writer says it failed, and everything flushed before the error is readable.
The writer runs in a subprocess so that a segfault fails the test instead of killing pytest."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from data.trial import open_trial, validate_trial, write_results
from data.trial_recover import recover_trial

REPO = Path(__file__).resolve().parents[1]
T0 = 1_795_000_000.0

# Block b: 10 plate samples (sample k, channel c = 8 * k + c) and one random 480x640 depth frame
# (600 kB, incompressible, pixel [0, 0] = b). Modes:
#   explicit:   flush() every 2 blocks and print "flushed <samples> <frames>".
#   background: never flush; sleep after each block so the writer's own flusher thread meets the
#               error; the next append must report it.
WRITER = r"""
import sys, time, numpy as np
from data.trial import TrialWriter
from data.trial_errors import TrialWriteError
path, mode = sys.argv[1], sys.argv[2]
T0 = 1_795_000_000.0
w = TrialWriter(path, metadata={"athlete_id": "D01", "trial_kind": "cmj"}, flush_interval_s=0.2)
w.add_device("plate1", kind="force_plate")
w.add_device("camera", kind="depth_camera")
plate = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(8,), dtype="int32",
                        unit="count", nominal_rate_hz=1000.0)
depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(480, 640),
                        dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
rng = np.random.default_rng(0)
b = 0
try:
    for b in range(1000):
        k = np.arange(10 * b, 10 * b + 10)
        plate.append(8 * k[:, None] + np.arange(8)[None, :], sequence=k,
                     time_device_s=k / 1000.0, time_host_s=T0 + k / 1000.0)
        frame = rng.integers(0, 65535, (480, 640), dtype=np.uint16)
        frame[0, 0] = b
        depth.append(frame, sequence=b, time_device_s=b / 90.0, time_host_s=T0 + b / 90.0)
        if mode == "explicit" and b % 2 == 1:
            w.flush()
            print("flushed", len(plate), len(depth), flush=True)
        if mode == "background":
            time.sleep(0.5)
    print("disk never filled", flush=True)
except TrialWriteError as exc:
    print("raised", str(exc).replace(chr(10), " "), flush=True)
w.add_fault("", "disk_full", "recorded after the failure")     # kept in memory, no exception
w.close(status="aborted", reason="disk full")                     # safe, does not raise again
w.close()
print("failed", w.failed, "|", w.error, "|", len(w.unwritten_faults), flush=True)
"""


@pytest.fixture
def full_disk(tmp_path):
    """A directory on a real 2 MB tmpfs (needs root to mount; skipped otherwise)."""
    d = tmp_path / "disk"
    d.mkdir()
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs root to mount a 2 MB tmpfs")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(d)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _run_writer(path, mode):
    proc = subprocess.run([sys.executable, "-c", WRITER, str(path), mode], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, f"writer exited {proc.returncode}: {proc.stderr[-2000:]}"
    assert "Traceback" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == ("failed True | no space left on device (errno 28) | 1"), proc.stdout
    raised = [ln for ln in lines if ln.startswith("raised")]
    assert len(raised) == 1 and "no space left on device (errno 28)" in raised[0]
    assert "station recover" in raised[0]
    return lines


def _check_content(path, min_samples, min_frames):
    with open_trial(path) as t:
        plate, depth = t.stream("plate1"), t.stream("depth")
        n, m = len(plate), len(depth)
        assert n >= min_samples and m >= min_frames
        k = np.arange(n)
        np.testing.assert_array_equal(plate.read(), 8 * k[:, None] + np.arange(8)[None, :])
        np.testing.assert_array_equal(plate.sequence, k)
        np.testing.assert_array_equal(depth.data[:m, 0, 0], np.arange(m))
        return t.status, n, m


def test_full_disk_with_explicit_flushes_keeps_everything_flushed(full_disk, tmp_path):
    path = full_disk / "trial.h5"
    lines = _run_writer(path, "explicit")
    flushed = [tuple(map(int, ln.split()[1:])) for ln in lines if ln.startswith("flushed")]
    assert flushed, "the disk filled before the first flush: make the tmpfs bigger"
    samples, frames = flushed[-1]
    status, n, m = _check_content(path, samples, frames)
    assert status == "recording"
    # ... and the trial can be finished elsewhere (the full disk has no room for the copy)
    out = recover_trial(path, tmp_path / "finished.h5")["out"]
    write_results(out, "force", arrays={"fz_n": np.zeros(3)})
    assert validate_trial(out) == []
    assert _check_content(out, n, m) == ("aborted", n, m)


def test_full_disk_met_by_the_background_flusher_is_reported_not_printed(full_disk):
    path = full_disk / "trial.h5"
    _run_writer(path, "background")
    status, n, m = _check_content(path, 0, 0)
    assert status == "recording"
