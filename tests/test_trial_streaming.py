"""Streaming: a writer killed with SIGKILL leaves a readable trial holding everything flushed
before the kill; a live reader follows a trial while it is being written (real subprocesses)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from data.trial import TrialError, open_trial, validate_trial, write_results

REPO = Path(__file__).resolve().parents[1]
T0 = 1_795_000_000.0

# A writer process. Force block b (10 samples): value of sample k, channel c = 8 * k + c.
# Depth frame i: all pixels 1000 + i. Modes:
#   idle:  append N blocks, print "idle <samples> <frames>", then sleep (no explicit flush:
#          only the writer's own time-based flushing can save the data).
#   busy:  append forever; every 20 blocks flush() and print "flushed <samples> <frames>".
#   steps: append one block + frame per line read on stdin, flush, print "flushed ...".
WRITER = r"""
import sys, time, numpy as np
from data.trial import TrialWriter
path, mode, n_blocks = sys.argv[1], sys.argv[2], int(sys.argv[3])
T0 = 1_795_000_000.0
w = TrialWriter(path, metadata={"athlete_id": "K01", "protocol": "test", "step": "cmj",
                                "trial_kind": "cmj"}, flush_interval_s=0.5)
w.add_device("plate1", kind="force_plate")
w.add_device("camera", kind="depth_camera")
plate = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(8,), dtype="int32",
                        unit="count", nominal_rate_hz=1000.0)
depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(48, 64),
                        dtype="uint16", unit="mm", frame="camera_depth", nominal_rate_hz=90.0)
w.start()
b = 0
def block():
    global b
    k = np.arange(10 * b, 10 * b + 10)
    plate.append(8 * k[:, None] + np.arange(8)[None, :], sequence=k, time_device_s=k / 1000.0,
                 time_host_s=T0 + k / 1000.0)
    depth.append(np.full((48, 64), 1000 + b, np.uint16), sequence=b, time_device_s=b / 90.0,
                 time_host_s=T0 + b / 90.0)
    b += 1
if mode == "idle":
    for _ in range(n_blocks):
        block()
    print("idle", len(plate), len(depth), flush=True)
    time.sleep(600)
elif mode == "busy":
    while True:
        block()
        if b % 20 == 0:
            w.flush()
            print("flushed", len(plate), len(depth), flush=True)
        time.sleep(0.001)
else:
    print("ready", flush=True)
    for line in sys.stdin:
        block()
        w.flush()
        print("flushed", len(plate), len(depth), flush=True)
    w.add_calibration("time_sync", {"offset_s": 0.002})   # after start(): written at close
    w.close()
"""


def _start_writer(path, mode, n_blocks=0, stdin=None):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(path), mode, str(n_blocks)],
                            stdout=subprocess.PIPE, stdin=stdin, text=True, cwd=REPO)


def _read_line(proc, prefix):
    line = proc.stdout.readline()
    assert line.startswith(prefix), f"writer said {line!r}"
    _, a, b = line.split() if prefix != "ready" else (line, 0, 0)
    return int(a), int(b)


def _check_content(path, min_samples, min_frames):
    with open_trial(path) as t:
        assert t.status == "recording"
        plate, depth = t.stream("plate1"), t.stream("depth")
        n, m = len(plate), len(depth)
        assert n >= min_samples and m >= min_frames
        k = np.arange(n)
        np.testing.assert_array_equal(plate.read(), 8 * k[:, None] + np.arange(8)[None, :])
        np.testing.assert_array_equal(plate.sequence, k)
        np.testing.assert_allclose(plate.time_host_s, T0 + k / 1000.0)
        frames = depth.read()
        np.testing.assert_array_equal(frames[:, 0, 0], 1000 + np.arange(m))
        assert np.all(frames == frames[:, :1, :1])
    return n, m


def _inspect_json(path):
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "station"), "inspect", str(path), "--json"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    summary = json.loads(proc.stdout)
    return summary, {s["name"]: s for s in summary["streams"]}


def test_sigkill_after_idle_keeps_all_appended_data(tmp_trial_path):
    """Nothing calls flush(): the writer's own periodic flush must have saved every sample."""
    proc = _start_writer(tmp_trial_path, "idle", n_blocks=37)
    try:
        samples, frames = _read_line(proc, "idle")
        # Wait (at most 20 s) until a live reader sees the last block: only the writer's own
        # periodic flush can put it there. Then kill it.
        deadline = time.monotonic() + 20.0
        while time.monotonic() < deadline:
            with open_trial(tmp_trial_path, live=True) as t:
                if len(t.stream("plate1")) == samples and len(t.stream("depth")) == frames:
                    break
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert (samples, frames) == (370, 37)
    assert _check_content(tmp_trial_path, samples, frames) == (samples, frames)
    summary, streams = _inspect_json(tmp_trial_path)
    assert summary["status"] == "recording"
    assert streams["plate1"]["samples"] == 370 and streams["depth"]["samples"] == 37
    assert any("has not closed" in p for p in summary["problems"])
    cut = tmp_trial_path.with_name("cut.h5")           # an unfinished trial, copied halfway
    cut.write_bytes(tmp_trial_path.read_bytes()[: tmp_trial_path.stat().st_size // 2])
    with pytest.raises(TrialError, match="truncated"):
        open_trial(cut)


def test_sigkill_while_writing_keeps_everything_flushed_before(tmp_trial_path):
    proc = _start_writer(tmp_trial_path, "busy")
    try:
        for _ in range(3):
            samples, frames = _read_line(proc, "flushed")
    finally:
        proc.send_signal(signal.SIGKILL)        # while it keeps appending
        proc.wait()
    assert samples >= 600
    n, m = _check_content(tmp_trial_path, samples, frames)
    _, streams = _inspect_json(tmp_trial_path)
    assert streams["plate1"]["samples"] == n and streams["depth"]["samples"] == m
    with pytest.raises(TrialError, match="still being written"):
        write_results(tmp_trial_path, "force", arrays={"x": np.zeros(1)})


def test_live_reader_follows_the_writer(tmp_trial_path):
    proc = _start_writer(tmp_trial_path, "steps", stdin=subprocess.PIPE)
    try:
        _read_line(proc, "ready")
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert _read_line(proc, "flushed") == (10, 1)
        with open_trial(tmp_trial_path, live=True) as t:
            plate = t.stream("plate1")
            assert len(plate) == 10 and t.status == "recording"
            for step in range(2, 5):
                proc.stdin.write("go\n")
                proc.stdin.flush()
                assert _read_line(proc, "flushed") == (10 * step, step)
                t.refresh()
                assert len(plate) == 10 * step and len(t.stream("depth")) == step
                assert plate.read()[-1, 7] == 8 * (10 * step - 1) + 7
            proc.stdin.close()                      # the writer closes while we still read
            assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    with open_trial(tmp_trial_path) as t:
        assert t.status == "complete" and len(t.stream("plate1")) == 40
        assert t.calibrations()["time_sync"].attrs == {"offset_s": 0.002}
    assert validate_trial(tmp_trial_path) == []
