"""Faults during a simulated session (real devices of the simulation, real files): the plate
unplugged mid-trial, a stalled stream, a full disk (a real 2 MB tmpfs), a SIGKILLed capture
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
            st.vplate.stall(at_sequence=st.vplate._k + 500, seconds=2.5, drop=True)
    session, said = _session(tmp_path, hook)
    data = load_session(session.folder)
    first, second = data["trials"]
    assert first["status"] == "aborted" and "no data" in first["verdict"]["reasons"][0]
    with open_trial(session.folder / first["file"]) as t:
        assert t.status == "aborted" and len(t.stream("plate1").time_host_s) >= 400
    assert second["status"] == "complete"


@pytest.mark.slow
@pytest.mark.xfail(run=False, reason="after ENOSPC, closing the broken HDF5 file (data.trial "
                   "TrialWriter flush/close) segfaults the process: needs a fix in the writer")
def test_full_disk_aborts_the_trial_and_leaves_the_session_readable(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        balloon = mnt / "balloon"

        def hook(st, rec, step, attempt):
            if attempt == 1:          # leave ~60 kB: the trial fills it within seconds
                free = os.statvfs(mnt).f_bavail * os.statvfs(mnt).f_frsize
                with open(balloon, "wb") as f:
                    f.write(b"\0" * max(0, free - 60_000))
        said = []
        st = SimulatedStation(seed=2, camera=False, say=said.append).open()
        try:
            cs = CaptureSession(st, load_protocol("jumps"), Athlete("F02", mass_kg=75.0), mnt,
                                None, CaptureOptions(steps=["cmj"], trials=1, skip_rest=True,
                                                     fault_hook=hook), out=said.append)
            session = cs.run()
        finally:
            st.close()
        rec = cs.outcomes[0].record
        assert rec.status == "aborted" and "disk is full" in rec.verdict.reasons[0]
        assert any("Free disk space" in s for s in said)
        balloon.unlink()
        load_session(session.folder)                 # still a readable session file
        with open_trial(session.folder / rec.file) as t:    # everything flushed before is there
            assert len(t.stream("plate1").time_host_s) > 100
    finally:
        subprocess.run(["umount", "-l", str(mnt)])


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
