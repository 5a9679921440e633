"""Faults during a simulated session (real devices of the simulation, real files): the plate
unplugged mid-trial, a stalled stream, a full disk (a real 40 MB tmpfs), a SIGKILLed capture
process. Each leaves the session readable, marks the trial, says so, and the session goes on."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from data.trial import open_trial
from station.capture_session import CaptureOptions, CaptureSession
from station.protocol import load_protocol
from station.session import Athlete, load_session
from station.simulated_station import SimulatedStation

REPO = Path(__file__).resolve().parents[1]


def _session(tmp_path, hook, steps=("cmj",), trials=2, data=None):
    said = []
    st = SimulatedStation(seed=1, camera=False, say=said.append).open()
    try:
        cs = CaptureSession(st, load_protocol("jumps"), Athlete("F01", mass_kg=75.0),
                            data or tmp_path, None,
                            CaptureOptions(steps=list(steps), trials=trials, skip_rest=True,
                                           fault_hook=hook), out=said.append)
        session = cs.run()
    finally:
        st.close()
    return session, said


@pytest.mark.slow
def test_plate_unplugged_mid_trial_keeps_data_and_session_goes_on(tmp_path):
    def hook(st, rec, step, attempt):
        if attempt == 1:
            threading.Timer(1.0, st.unplug_plate).start()
    session, said = _session(tmp_path, hook)
    data = load_session(session.folder)
    first, second = data["trials"]
    assert first["status"] == "aborted" and not first["verdict"]["ok"]
    assert "disconnected" in first["verdict"]["reasons"][0]
    assert any("plug it back in" in s for s in said)
    with open_trial(session.folder / first["file"]) as t:
        assert t.status == "aborted" and "disconnected" in t.status_reason
        assert len(t.stream("plate1").time_host_s) > 500       # what came before is kept
        assert any(f.kind in ("device_lost", "disconnected") for f in t.faults())
    assert second["status"] == "complete" and second["verdict"]["ok"]


@pytest.mark.slow
def test_stalled_plate_stream_aborts_the_trial_with_the_reason(tmp_path):
    def hook(st, rec, step, attempt):
        if attempt == 1:
            st.vplate.stall(at_sequence=st.vplate.sequence + 500, seconds=2.5, drop=True)
    session, said = _session(tmp_path, hook)
    data = load_session(session.folder)
    first, second = data["trials"]
    assert first["status"] == "aborted" and "no data" in first["verdict"]["reasons"][0]
    with open_trial(session.folder / first["file"]) as t:
        assert t.status == "aborted" and len(t.stream("plate1").time_host_s) >= 400
    assert second["status"] == "complete"


@pytest.fixture
def small_disk(tmp_path):
    """A real 40 MB tmpfs (needs root: mount), unmounted afterwards."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here (mount needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


def _fill(mnt, leave_bytes):
    """Another program fills the disk: leave `leave_bytes` free."""
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    with open(mnt / "balloon", "wb") as f:
        f.write(b"\0" * max(0, free - leave_bytes))
        f.flush()
        os.fsync(f.fileno())


def _disk_session(mnt, hook, trials, **opts):
    said = []
    st = SimulatedStation(seed=2, camera=False, say=said.append).open()
    try:
        cs = CaptureSession(st, load_protocol("jumps"), Athlete("F02", mass_kg=75.0), mnt, None,
                            CaptureOptions(steps=["cmj"], trials=trials, skip_rest=True,
                                           fault_hook=hook, **opts), out=said.append)
        session = cs.run()
    finally:
        st.close()
    return cs, session, said


@pytest.mark.slow
def test_disk_almost_full_ends_the_trial_cleanly_before_the_disk_fills(small_disk):
    from station.recorder import DISK_MARGIN_S, DISK_MIN_FREE_BYTES
    mnt = small_disk
    guard = DISK_MIN_FREE_BYTES + DISK_MARGIN_S * 1000 * (4 * 4 + 32)   # plate at 1 kHz

    def hook(st, rec, step, attempt):
        if attempt == 1:       # the trial's own data then crosses the guard within ~2 s
            _fill(mnt, int(guard + 100_000))
    cs, session, said = _disk_session(mnt, hook, trials=2)
    first, second = [o.record for o in cs.outcomes]
    assert first.status == "aborted", first
    assert first.verdict.reasons[0].startswith("disk almost full:")
    assert "free space or choose another --data folder" in first.verdict.reasons[0]
    assert any("disk almost full" in s for s in said)
    # the disk never filled: the trial was closed normally, as aborted, with its data and fault
    free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
    assert free > 1_000_000
    with open_trial(session.folder / first.file) as t:
        assert t.status == "aborted" and t.status_reason.startswith("disk almost full")
        assert len(t.stream("plate1").time_host_s) > 500
        assert any(f.kind == "disk_full" for f in t.faults())
    # the session goes on: the next trial is refused with the reason, nothing is created
    assert second.status == "not_recorded" and "disk almost full" in second.verdict.reasons[0]
    data = load_session(session.folder)
    assert [t["status"] for t in data["trials"]] == ["aborted", "not_recorded"]


@pytest.mark.slow
def test_actual_write_error_on_a_full_disk_does_not_crash_and_keeps_the_data(small_disk):
    """Last resort (the guard off, as if another program filled the disk at once): h5py raises
    errno 28; the recorder stops writing, reports it, and the file keeps what was flushed."""
    mnt = small_disk

    def hook(st, rec, step, attempt):
        _fill(mnt, 150_000)
    cs, session, said = _disk_session(mnt, hook, trials=1, disk_min_free_bytes=0,
                                      disk_margin_s=0.0)
    rec = cs.outcomes[0].record
    assert rec.status == "aborted" and "disk is full" in rec.verdict.reasons[0], rec
    assert any(f["kind"] == "disk_full" for f in rec.faults)
    assert any("Free disk space" in s for s in said)
    # session.json could not be updated on the full disk: it says so and still reads
    assert any("cannot update" in s and "session.json" in s for s in said)
    load_session(session.folder)
    (mnt / "balloon").unlink()
    with open_trial(session.folder / rec.file) as t:     # as last flushed, still readable
        assert t.status in ("recording", "aborted")
        assert len(t.stream("plate1").time_host_s) > 100


@pytest.mark.slow
def test_killed_capture_leaves_session_and_trials_readable(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "station.cli", "capture", "--protocol", "jumps",
                          "--athlete", "K01", "--data", str(tmp_path), "--simulate",
                          "--no-camera", "--steps", "weigh,cmj", "--trials", "1"], cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        target = None
        while time.time() < deadline and target is None:
            found = list(tmp_path.glob("K01/*/02_cmj_1.h5"))
            target = found[0] if found else None
            time.sleep(0.2)
        assert target is not None, "the cmj trial never started"
        time.sleep(2.0)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
    data = load_session(target.parent)
    assert [t["step"] for t in data["trials"]] == ["weigh"]
    with open_trial(target.parent / data["trials"][0]["file"]) as t:
        assert t.status == "complete"
    with open_trial(target) as t:                   # the trial being written, as flushed
        assert t.status == "recording"
        assert len(t.stream("plate1").time_host_s) > 500
