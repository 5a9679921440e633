"""Same inputs -> same trial file, byte for byte: the writer takes its times from the caller
(clock, close(end_time_utc=...)), and an offline writer (live=False) flushes only where the
calls say, so chunk placement does not follow the wall clock. `station simulate` relies on it
(issue 3, item 6: same seed -> same trial, bit for bit)."""
from __future__ import annotations

import datetime as dt
import hashlib
import time

import numpy as np
import pytest

from data.trial import TrialWriter, open_trial, validate_trial
from station.cli import main

T0 = 1_795_000_000.0


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(path, pause_s: float) -> None:
    """The same trial each time; `pause_s` of wall time passes in the middle (longer than the
    flush interval), as rendering or a slow machine would make it."""
    with TrialWriter(path, metadata={"athlete_id": "R01", "trial_kind": "cmj"},
                     clock=lambda: T0, live=False, flush_interval_s=0.1) as w:
        w.add_device("plate1", kind="force_plate")
        w.add_device("camera", kind="depth_camera")
        plate = w.create_stream("plate1", kind="force", device="plate1", sample_shape=(4,),
                                dtype="float64", unit="N", nominal_rate_hz=1000.0)
        depth = w.create_stream("depth", kind="depth", device="camera", sample_shape=(24, 32),
                                dtype="uint16", unit="mm", frame="camera_depth",
                                nominal_rate_hz=90.0)
        for i in range(8):
            k = np.arange(11 * i, 11 * i + 11)
            plate.append(np.outer(k, [1.0, 2.0, 3.0, 4.0]), sequence=k, time_device_s=k / 1e3,
                         time_host_s=T0 + k / 1e3)
            depth.append(np.full((24, 32), 1000 + i, np.uint16), sequence=i,
                         time_device_s=i / 90.0, time_host_s=T0 + i / 90.0)
            if i == 3:
                time.sleep(pause_s)
        w.add_fault("plate1", "crc_error", "packet 3")          # default time: the clock
        w.write_truth({"x_lab_m": np.arange(3.0)}, {"seed": 1})   # after start
        w.close(status="complete", end_time_utc=T0 + 0.5)


def test_same_calls_give_the_same_bytes_whatever_the_wall_clock(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    _write(a, pause_s=0.0)
    _write(b, pause_s=0.3)
    assert _sha(a) == _sha(b)
    assert validate_trial(a) == []
    with open_trial(a) as t:
        assert t.metadata["start_time_utc"] == "2026-11-18T11:06:40.000000+00:00"
        assert t.metadata["end_time_utc"] == "2026-11-18T11:06:40.500000+00:00"
        assert t.faults()[0].time_host_s == T0
        assert len(t.stream("plate1")) == 88 and len(t.stream("depth")) == 8
        assert t.truth().attrs == {"seed": 1}


def test_close_takes_the_end_time_in_any_utc_form(tmp_path):
    forms = [T0 + 1.25, dt.datetime.fromtimestamp(T0 + 1.25, dt.timezone.utc),
             "2026-11-18T13:06:41.25+02:00"]
    for i, end in enumerate(forms):
        path = tmp_path / f"t{i}.h5"
        w = TrialWriter(path, metadata={"athlete_id": "R01", "trial_kind": "cmj"})
        w.close(end_time_utc=end)
        with open_trial(path) as t:
            assert t.metadata["end_time_utc"] == "2026-11-18T11:06:41.250000+00:00"
    w = TrialWriter(tmp_path / "bad.h5", metadata={"athlete_id": "R01", "trial_kind": "cmj"})
    with pytest.raises(ValueError, match="no time zone"):
        w.close(end_time_utc="2026-11-18T11:06:41")
    w.close(end_time_utc=T0)


def _simulate(out, *extra) -> str:
    assert main(["simulate", "--kind", *extra, "--seed", "5", "--out", str(out)]) == 0
    return _sha(out)


def test_simulate_same_seed_same_file_without_images(tmp_path, capsys):
    a = _simulate(tmp_path / "A.h5", "cmj", "--no-images")
    b = _simulate(tmp_path / "B.h5", "cmj", "--no-images")
    assert a == b
    with open_trial(tmp_path / "A.h5") as t:          # the simulated end, not the wall clock
        start = dt.datetime.fromisoformat(t.metadata["start_time_utc"])
        end = dt.datetime.fromisoformat(t.metadata["end_time_utc"])
        assert start.year == 2026 and 0 < (end - start).total_seconds() < 60


@pytest.mark.slow
def test_simulate_same_seed_same_file_with_images(tmp_path, capsys):
    """Rendering takes wall time between appends: the flushes must not follow it."""
    a = _simulate(tmp_path / "A.h5", "stand", "--duration", "0.3")
    b = _simulate(tmp_path / "B.h5", "stand", "--duration", "0.3")
    assert a == b
    with open_trial(tmp_path / "A.h5") as t:
        assert len(t.stream("depth")) > 20 and len(t.stream("color")) > 5
